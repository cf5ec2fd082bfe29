/** A real SDK pipeline kept in memory, for in-process tests of the instrumentation. */
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { CumulativeSums, type IsLiveNode } from '../../src/sdk/cumulative-sums.ts';
import {
  AggregationTemporality,
  DataPointType,
  InstrumentType,
  MeterProvider,
  MetricReader,
  type DataPoint,
  type MetricData,
} from '@opentelemetry/sdk-metrics';

/** Options of the in-memory pipeline. */
export interface PipelineOptions {
  /** Temporality of gauges (synchronous and observable). Default delta, as `startTelemetry` collects them. */
  gaugeTemporality?: AggregationTemporality;
  /** Series per instrument. Default 2000, the SDK's default. */
  cardinalityLimit?: number;
  /**
   * As `startTelemetry` does: collect counters with delta temporality and add them back up into cumulative
   * series of the nodes for which this answers true. Default: counters cumulative in the SDK.
   */
  isLive?: IsLiveNode;
}

/**
 * A pull reader: gauges delta (so unregistered nodes vanish), counters cumulative (added back up from deltas
 * for the live nodes when `isLive` is given), a chosen cardinality limit.
 */
export class TestReader extends MetricReader {
  readonly sums: CumulativeSums | undefined;
  constructor(options: PipelineOptions = {}) {
    super({
      aggregationTemporalitySelector: (type) => {
        if (type === InstrumentType.GAUGE || type === InstrumentType.OBSERVABLE_GAUGE) return options.gaugeTemporality ?? AggregationTemporality.DELTA;
        if (type === InstrumentType.COUNTER && options.isLive !== undefined) return AggregationTemporality.DELTA;
        return AggregationTemporality.CUMULATIVE;
      },
      cardinalitySelector: () => options.cardinalityLimit ?? 2000,
    });
    this.sums = options.isLive === undefined ? undefined : new CumulativeSums({ isLive: options.isLive });
  }
  override async collect(options?: Parameters<MetricReader['collect']>[0]): ReturnType<MetricReader['collect']> {
    const result = await super.collect(options);
    this.sums?.convert(result.resourceMetrics);
    return result;
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
export function inMemoryPipeline(options: PipelineOptions = {}) {
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
