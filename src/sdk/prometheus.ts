/** The optional Prometheus pull endpoint: `@opentelemetry/exporter-prometheus` with standard names and no stale series. */
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import {
  AggregationTemporality,
  DataPointType,
  InstrumentType,
  type CollectionResult,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import type { ReplicationLagMonitor } from '../monitor.ts';
import { CumulativeSums, type IsLiveNode } from './cumulative-sums.ts';
import { mergeScopes, type NodePoints } from './node-metric-producer.ts';
import { prometheusName, type PrometheusMetricKind } from './prometheus-names.ts';

/** Options of the Prometheus pull endpoint. */
export interface PrometheusEndpointOptions {
  /** Port to listen on. Default 9464 (the registered OpenTelemetry Prometheus exporter port). */
  port?: number;
  /** Interface to listen on. Default `0.0.0.0` (all IPv4 interfaces); use `127.0.0.1` to keep it local. */
  host?: string;
  /** Path. Default `/metrics`. */
  endpoint?: string;
  /** Series per instrument before the SDK folds the rest into an overflow series. Default from startTelemetry. */
  cardinalityLimit?: number;
}

function kindOf(metric: MetricData): PrometheusMetricKind {
  if (metric.dataPointType === DataPointType.GAUGE) return 'gauge';
  if (metric.dataPointType === DataPointType.SUM) return metric.isMonotonic ? 'counter' : 'gauge';
  return 'other';
}

/**
 * A PrometheusExporter that (1) names series by the standard OTLP→Prometheus translation, so the shipped
 * rules match, (2) collects gauges with delta temporality, so an unregistered node's series disappears from the
 * next scrape instead of lingering (opentelemetry-js issue 4096) and the SDK forgets it, and (3) with a
 * monitor, collects counters with delta temporality and adds them back up for the live nodes only, so that
 * `replication_alerts_total` has series for the live nodes, not for every node id ever seen.
 * @internal
 */
export class StandardNamePrometheusExporter extends PrometheusExporter {
  declare private readonly _cardinalityLimit: number;
  declare private readonly _sums: CumulativeSums | undefined;
  /** The URL Prometheus scrapes, e.g. `http://127.0.0.1:9464/metrics`. */
  declare readonly address: string;

  constructor(
    options: PrometheusEndpointOptions & { cardinalityLimit: number; monitor?: Pick<ReplicationLagMonitor, 'getStatus'>; isLiveNode?: IsLiveNode; nodePoints?: NodePoints | undefined },
  ) {
    const temporality = (type: InstrumentType) => self.selectAggregationTemporality(type);
    super({
      port: options.port ?? 9464,
      host: options.host ?? '0.0.0.0',
      endpoint: options.endpoint ?? '/metrics',
      preventServerStart: true,
      metricProducers: options.nodePoints === undefined ? [] : [options.nodePoints.producer({ temporality, cardinalityLimit: options.cardinalityLimit })],
    });
    const self = this;
    leanSerialization(this);
    this._cardinalityLimit = options.cardinalityLimit;
    const { monitor } = options;
    const isLive = options.isLiveNode ?? (monitor === undefined ? undefined : (id: string) => monitor.getStatus(id) !== undefined);
    this._sums = isLive === undefined ? undefined : new CumulativeSums({ isLive });
    this.address = `http://${options.host ?? '0.0.0.0'}:${options.port ?? 9464}${options.endpoint ?? '/metrics'}`;
  }

  override selectAggregationTemporality(instrumentType: InstrumentType): AggregationTemporality {
    if (instrumentType === InstrumentType.GAUGE || instrumentType === InstrumentType.OBSERVABLE_GAUGE) return AggregationTemporality.DELTA;
    // Counters are added back up into cumulative series by collect() (Prometheus counters are cumulative).
    if (instrumentType === InstrumentType.COUNTER && this._sums !== undefined) return AggregationTemporality.DELTA;
    return AggregationTemporality.CUMULATIVE;
  }

  override selectCardinalityLimit(_instrumentType: InstrumentType): number {
    return this._cardinalityLimit;
  }

  override async collect(options?: Parameters<PrometheusExporter['collect']>[0]): Promise<CollectionResult> {
    const result = await super.collect(options);
    this._sums?.convert(result.resourceMetrics);
    mergeScopes(result.resourceMetrics);
    for (const scope of result.resourceMetrics.scopeMetrics) {
      scope.metrics = scope.metrics.map((metric) => {
        const name = prometheusName(metric.descriptor.name, metric.descriptor.unit, kindOf(metric));
        return { ...metric, descriptor: { ...metric.descriptor, name } } as MetricData;
      });
    }
    return result;
  }
}

/** A label set in the SDK serializer's text (`a="x",b="y"`), for attribute objects reused between scrapes. */
const labelText = new WeakMap<object, string>();

function escapeLabel(value: unknown): string {
  const text = typeof value === 'string' ? value : value === undefined ? '' : String(JSON.stringify(value));
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelsOf(attributes: Record<string, unknown>): string {
  let text = '';
  for (const key in attributes) {
    if (!Object.prototype.hasOwnProperty.call(attributes, key)) continue;
    const name = key.replace(/[^a-z0-9_]/gi, '_').replace(/_{2,}/g, '_');
    text += `${text.length > 0 ? ',' : ''}${name}="${escapeLabel(attributes[key])}"`;
  }
  return text;
}

/**
 * The SDK's Prometheus text serializer spends most of a scrape escaping and sanitising the same labels again for
 * every point (BENCHMARKS.md, "Collection path"). The per-node attribute objects are reused between collections,
 * so their label text is kept (weakly) and each point is one concatenation; the output is byte for byte the
 * serializer's own (the golden test compares scrapes). Points whose attributes are not reused are serialized
 * the same way, only without the gain. Left as is if the SDK's serializer changes shape.
 */
function leanSerialization(exporter: PrometheusExporter): void {
  const serializer = (exporter as unknown as { _serializer?: Record<string, unknown> })._serializer;
  if (serializer === undefined || typeof serializer._serializeSingularDataPoint !== 'function' || serializer._appendTimestamp !== false) return;
  let lastExtra: object | undefined;
  let lastExtraText = '';
  serializer._serializeSingularDataPoint = (name: string, _data: unknown, point: { value: number; attributes: Record<string, unknown> }, extra?: Record<string, unknown>): string => {
    let labels = labelText.get(point.attributes);
    if (labels === undefined) {
      labels = labelsOf(point.attributes);
      labelText.set(point.attributes, labels);
    }
    if (extra !== lastExtra) {
      lastExtra = extra;
      lastExtraText = extra === undefined ? '' : labelsOf(extra);
    }
    const all = labels.length > 0 && lastExtraText.length > 0 ? `${labels},${lastExtraText}` : labels + lastExtraText;
    const value = point.value === Infinity ? '+Inf' : point.value === -Infinity ? '-Inf' : `${point.value}`;
    return all.length > 0 ? `${name}{${all}} ${value}\n` : `${name} ${value}\n`;
  };
}
