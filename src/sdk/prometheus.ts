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
