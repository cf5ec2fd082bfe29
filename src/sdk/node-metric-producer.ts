/**
 * The per-node metrics of `startTelemetry` and `replag`, produced straight from the monitors' statuses through the
 * SDK's MetricProducer extension point, instead of being recorded into SDK instruments at each collection (the
 * SDK's per-point bookkeeping cost ~17× what encoding the points costs). The points are those of NODE_GAUGES /
 * forEachNodePoint, the description the drop-in instrumentation records into API instruments: the same names,
 * attributes, values and temporality (test/sdk/node-metric-producer.test.ts compares both paths).
 *
 * `replication.alerts` is counted here too, per live node and severity: churned node ids are forgotten at the
 * next collection, so they never push a live node or the counter into the overflow series.
 * @internal
 */
import { diag, ValueType, type HrTime } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import {
  AggregationTemporality,
  DataPointType,
  InstrumentType,
  type CollectionResult,
  type DataPoint,
  type MetricData,
  type MetricProducer,
  type ResourceMetrics,
  type ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import { CardinalityWatch } from '../cardinality-watch.ts';
import type { ReplicationLagMonitor } from '../monitor.ts';
import { forEachNodePoint, forEachNodeSum, NODE_GAUGES, NODE_SUMS, NodeAttributeCache, type PointAttributes } from '../node-points.ts';
import * as semconv from '../semconv.ts';
import type { LagAlert } from '../types.ts';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../version.ts';

/** A data point whose value a later point of the overflow series replaces (or adds to). */
type MutablePoint = { -readonly [K in keyof DataPoint<number>]: DataPoint<number>[K] };

type Monitor = Pick<ReplicationLagMonitor, 'forEachStatus' | 'getStatus' | 'onAlert'>;

const OVERFLOW: PointAttributes = Object.freeze({ 'otel.metric.overflow': true });

/** The instrumentation scope of every point of this package (the drop-in instrumentation's meter). */
export const NODE_POINTS_SCOPE = Object.freeze({ name: PACKAGE_NAME, version: PACKAGE_VERSION, schemaUrl: undefined as string | undefined });

interface AlertSeries {
  readonly nodeId: string;
  readonly attributes: PointAttributes;
  readonly startTime: HrTime;
  count: number;
}

interface Entry {
  readonly monitor: Monitor;
  readonly cache: NodeAttributeCache;
  readonly counterAttributes: PointAttributes;
  readonly alerts: Map<string, AlertSeries>;
  readonly unsubscribe: () => void;
}

/** How a reader wants its points: temporality per instrument type and series per metric. */
export interface NodePointsReaderOptions {
  temporality: (type: InstrumentType) => AggregationTemporality;
  cardinalityLimit: number;
}

/**
 * The monitors whose node points a telemetry pipeline exports (its own and those added by `replag --config`), with
 * their alert counts. One `producer()` per metric reader.
 */
export class NodePoints {
  private readonly _entries = new Map<string, Entry>();
  private _closed = false;

  constructor(main: Monitor) {
    this._entries.set('', this._entry(main, {}));
  }

  /**
   * Exports `monitor`'s nodes too; `counterAttributes` (e.g. `replication.source`) go on its alert counts (its
   * nodes' gauges carry what the nodes were registered with). Returns the undo.
   */
  add(source: string, monitor: Monitor, counterAttributes: PointAttributes = { [semconv.ATTR_REPLICATION_SOURCE]: source }): () => void {
    const key = `source:${source}`;
    this._entries.get(key)?.unsubscribe();
    const entry = this._entry(monitor, counterAttributes);
    this._entries.set(key, entry);
    return () => {
      if (this._entries.get(key) !== entry) return;
      entry.unsubscribe();
      this._entries.delete(key);
    };
  }

  /** Alert series held, over all monitors (for tests and benchmarks). */
  get alertSeries(): number {
    let n = 0;
    for (const entry of this._entries.values()) n += entry.alerts.size;
    return n;
  }

  /** Stops counting alerts. */
  close(): void {
    this._closed = true;
    for (const entry of this._entries.values()) entry.unsubscribe();
  }

  private _entry(monitor: Monitor, counterAttributes: PointAttributes): Entry {
    const alerts = new Map<string, AlertSeries>();
    // Series of nodes that are gone are dropped at each collection, and here too when the map doubles (a reader
    // that is never collected, e.g. a Prometheus endpoint nobody scrapes, must not grow with churned ids).
    let sweepAt = 1024;
    const unsubscribe = monitor.onAlert((alert: LagAlert) => {
      if (this._closed) return;
      const key = `${alert.severity}\u0000${alert.nodeId}`;
      let series = alerts.get(key);
      if (series === undefined) {
        if (alerts.size >= sweepAt) {
          for (const [k, s] of alerts) if (monitor.getStatus(s.nodeId) === undefined) alerts.delete(k);
          sweepAt = Math.max(1024, alerts.size * 2);
        }
        series = {
          nodeId: alert.nodeId,
          attributes: { ...counterAttributes, [semconv.ATTR_REPLICATION_NODE_ID]: alert.nodeId, [semconv.ATTR_REPLICATION_SEVERITY]: alert.severity },
          startTime: millisToHrTime(Date.now()),
          count: 0,
        };
        alerts.set(key, series);
      }
      series.count++;
    });
    return { monitor, cache: new NodeAttributeCache(), counterAttributes, alerts, unsubscribe };
  }

  /** A MetricProducer for one reader (`metricProducers` of a PeriodicExportingMetricReader or the PrometheusExporter). */
  producer(options: NodePointsReaderOptions): NodeMetricProducer {
    return new NodeMetricProducer(this, this._entries, options);
  }
}

/** The node points of one reader: gauges with the reader's temporality, alert counts cumulative or delta. */
export class NodeMetricProducer implements MetricProducer {
  private readonly _entries: Map<string, Entry>;
  private readonly _options: NodePointsReaderOptions;
  private _lastCollection: HrTime = millisToHrTime(Date.now());
  /** Delta alert counts: what the previous collection counted, per series. */
  private readonly _counted = new WeakMap<AlertSeries, number>();
  /**
   * Per-node sums (NODE_SUMS: totals the system counts), per series (its attributes object, cached with its node):
   * when this reader first exported it, or since the system's count last went down (a statistics reset), and the
   * total it last exported.
   */
  private readonly _sums = new WeakMap<PointAttributes, { start: HrTime; last: number }>();
  /** Whether the live nodes fitted in the cardinality limit at the last collection. */
  private readonly _cardinality = new CardinalityWatch();

  constructor(_points: NodePoints, entries: Map<string, Entry>, options: NodePointsReaderOptions) {
    this._entries = entries;
    this._options = options;
  }

  async collect(): Promise<CollectionResult> {
    return { resourceMetrics: { resource: undefined as never, scopeMetrics: [this.collectScope()] }, errors: [] };
  }

  /** One collection's points, synchronously. Never throws (a failure is said through diag and yields no points). */
  collectScope(): ScopeMetrics {
    try {
      return this._collect();
    } catch (error) {
      diag.error(`${PACKAGE_NAME}: collection failed`, error);
      return { scope: NODE_POINTS_SCOPE, metrics: [] };
    }
  }

  private _collect(): ScopeMetrics {
    const startTime = this._lastCollection;
    const endTime = millisToHrTime(Date.now());
    this._lastCollection = endTime;
    const own = this._options.cardinalityLimit - 1;
    const points: DataPoint<number>[][] = NODE_GAUGES.map(() => []);
    const overflow: (MutablePoint | undefined)[] = NODE_GAUGES.map(() => undefined);
    let live = 0;
    const cumulativeSums = this._options.temporality(InstrumentType.COUNTER) === AggregationTemporality.CUMULATIVE;
    const sumPoints: DataPoint<number>[][] = NODE_SUMS.map(() => []);
    const sumOverflow: (MutablePoint | undefined)[] = NODE_SUMS.map(() => undefined);
    const visitSum = (sum: number, total: number, attributes: PointAttributes) => {
      let series = this._sums.get(attributes);
      if (series === undefined || total < series.last) {
        series = { start: startTime, last: 0 };
        this._sums.set(attributes, series);
      }
      const value = cumulativeSums ? total : total - series.last;
      series.last = total;
      const pointStart = cumulativeSums ? series.start : startTime;
      const list = sumPoints[sum]!;
      if (list.length < own) {
        list.push({ attributes, startTime: pointStart, endTime, value });
        return;
      }
      const o = sumOverflow[sum];
      if (o === undefined) sumOverflow[sum] = { attributes: OVERFLOW, startTime: pointStart, endTime, value };
      else o.value += value;
    };
    const visit = (gauge: number, value: number, attributes: PointAttributes) => {
      const list = points[gauge]!;
      if (list.length < own) {
        list.push({ attributes, startTime, endTime, value });
        return;
      }
      const o = overflow[gauge];
      if (o === undefined) overflow[gauge] = { attributes: OVERFLOW, startTime, endTime, value };
      else o.value = value;
    };
    for (const entry of this._entries.values()) {
      const cache = entry.cache;
      cache.begin();
      entry.monitor.forEachStatus((status) => {
        live++;
        const attributes = cache.of(status);
        forEachNodePoint(status, attributes, visit);
        forEachNodeSum(status, attributes, visitSum);
      });
      cache.end();
    }
    const gaugeTemporality = this._options.temporality(InstrumentType.GAUGE);
    const metrics: MetricData[] = [];
    for (let g = 0; g < NODE_GAUGES.length; g++) {
      const o = overflow[g];
      if (o !== undefined) points[g]!.push(o);
      if (points[g]!.length === 0) continue;
      const d = NODE_GAUGES[g]!;
      metrics.push({
        descriptor: { name: d.name, unit: d.unit, description: d.description, valueType: d.valueType === 'int' ? ValueType.INT : ValueType.DOUBLE },
        aggregationTemporality: gaugeTemporality,
        dataPointType: DataPointType.GAUGE,
        dataPoints: points[g]!,
      });
    }
    for (let s = 0; s < NODE_SUMS.length; s++) {
      const o = sumOverflow[s];
      if (o !== undefined) sumPoints[s]!.push(o);
      if (sumPoints[s]!.length === 0) continue;
      const d = NODE_SUMS[s]!;
      metrics.push({
        descriptor: { name: d.name, unit: d.unit, description: d.description, valueType: d.valueType === 'int' ? ValueType.INT : ValueType.DOUBLE },
        aggregationTemporality: cumulativeSums ? AggregationTemporality.CUMULATIVE : AggregationTemporality.DELTA,
        dataPointType: DataPointType.SUM,
        isMonotonic: true,
        dataPoints: sumPoints[s]!,
      });
    }
    const alerts = this._alerts(startTime, endTime, own);
    if (alerts !== undefined) metrics.push(alerts);
    this._checkCardinality(live);
    return { scope: NODE_POINTS_SCOPE, metrics };
  }

  /** `replication.alerts` of the live nodes; series of nodes that are gone are forgotten. */
  private _alerts(startTime: HrTime, endTime: HrTime, own: number): MetricData | undefined {
    const temporality = this._options.temporality(InstrumentType.COUNTER);
    const cumulative = temporality === AggregationTemporality.CUMULATIVE;
    const points: DataPoint<number>[] = [];
    let overflow: MutablePoint | undefined;
    for (const entry of this._entries.values()) {
      for (const [key, series] of entry.alerts) {
        if (entry.monitor.getStatus(series.nodeId) === undefined) {
          entry.alerts.delete(key);
          continue;
        }
        let value = series.count;
        if (!cumulative) {
          value -= this._counted.get(series) ?? 0;
          this._counted.set(series, series.count);
          if (value === 0) continue;
        }
        if (points.length < own) points.push({ attributes: series.attributes, startTime: cumulative ? series.startTime : startTime, endTime, value });
        else if (overflow === undefined) overflow = { attributes: OVERFLOW, startTime: cumulative ? series.startTime : startTime, endTime, value };
        else overflow.value += value;
      }
    }
    if (overflow !== undefined) points.push(overflow);
    if (points.length === 0) return undefined;
    return {
      descriptor: { name: semconv.METRIC_REPLICATION_ALERTS, unit: semconv.UNIT_ALERT, description: semconv.DESCRIPTION[semconv.METRIC_REPLICATION_ALERTS], valueType: ValueType.INT },
      aggregationTemporality: temporality,
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
      dataPoints: points,
    };
  }

  /** One warning when the live nodes stop fitting in the cardinality limit, one note when they fit again. */
  private _checkCardinality(live: number): void {
    const change = this._cardinality.check(live, this._options.cardinalityLimit);
    if (change !== undefined) diag[change.level](change.message);
  }
}

const scopeKey = (scope: ScopeMetrics['scope']) => `${scope.name}\u0000${scope.version ?? ''}\u0000${scope.schemaUrl ?? ''}`;

/** Merges scope entries of the same scope (the SDK's and a producer's), in place. */
export function mergeScopes(resourceMetrics: ResourceMetrics): ResourceMetrics {
  if (resourceMetrics.scopeMetrics.length < 2) return resourceMetrics;
  const byKey = new Map<string, ScopeMetrics>();
  const merged: ScopeMetrics[] = [];
  for (const scope of resourceMetrics.scopeMetrics) {
    const key = scopeKey(scope.scope);
    const first = byKey.get(key);
    if (first === undefined) {
      byKey.set(key, scope);
      merged.push(scope);
    } else first.metrics = first.metrics.concat(scope.metrics);
  }
  resourceMetrics.scopeMetrics = merged;
  return resourceMetrics;
}
