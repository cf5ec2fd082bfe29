/** A real SDK pipeline kept in memory, for in-process tests of the instrumentation. */
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import {
  AggregationTemporality,
  DataPointType,
  InstrumentType,
  MeterProvider,
  MetricReader,
  type DataPoint,
  type MetricData,
} from '@opentelemetry/sdk-metrics';

/** A pull reader: gauges delta (so unregistered nodes vanish), counters cumulative, a chosen cardinality limit. */
export class TestReader extends MetricReader {
  constructor(options: { gaugeTemporality?: AggregationTemporality; cardinalityLimit?: number } = {}) {
    super({
      aggregationTemporalitySelector: (type) =>
        type === InstrumentType.OBSERVABLE_GAUGE ? (options.gaugeTemporality ?? AggregationTemporality.DELTA) : AggregationTemporality.CUMULATIVE,
      cardinalitySelector: () => options.cardinalityLimit ?? 2000,
    });
  }
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

export interface Point {
  value: number;
  attributes: Record<string, unknown>;
}

export interface CollectedMetric {
  name: string;
  unit: string;
  description: string;
  type: DataPointType;
  isMonotonic: boolean | undefined;
  points: Point[];
}

/** Collects once and indexes metrics by name. Rejects if the SDK reports collection errors. */
export async function collect(reader: MetricReader): Promise<Map<string, CollectedMetric>> {
  const { resourceMetrics, errors } = await reader.collect();
  if (errors.length > 0) throw new AggregateError(errors, 'collection errors');
  const out = new Map<string, CollectedMetric>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) out.set(metric.descriptor.name, toCollected(metric));
  }
  return out;
}

function toCollected(metric: MetricData): CollectedMetric {
  return {
    name: metric.descriptor.name,
    unit: metric.descriptor.unit,
    description: metric.descriptor.description,
    type: metric.dataPointType,
    isMonotonic: metric.dataPointType === DataPointType.SUM ? metric.isMonotonic : undefined,
    points: (metric.dataPoints as DataPoint<number>[]).map((p) => ({ value: p.value, attributes: { ...p.attributes } })),
  };
}

/** The points of one node (by `replication.node.id`). */
export function pointsOf(metric: CollectedMetric | undefined, nodeId: string): Point[] {
  return (metric?.points ?? []).filter((p) => p.attributes['replication.node.id'] === nodeId);
}

/** A MeterProvider + reader and a LoggerProvider with a synchronous in-memory log exporter. */
export function inMemoryPipeline(options: { gaugeTemporality?: AggregationTemporality; cardinalityLimit?: number } = {}) {
  const reader = new TestReader(options);
  const meterProvider = new MeterProvider({ readers: [reader] });
  const logExporter = new InMemoryLogRecordExporter();
  const loggerProvider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: logExporter })] });
  return {
    reader,
    meterProvider,
    loggerProvider,
    logExporter,
    collect: () => collect(reader),
    async shutdown() {
      await Promise.all([meterProvider.shutdown(), loggerProvider.shutdown()]);
    },
  };
}
