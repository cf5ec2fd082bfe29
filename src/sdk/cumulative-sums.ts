/**
 * Cumulative counters whose series end with their node. The SDK keeps every series a cumulative counter ever had
 * (one per node id ever seen for `replication.alerts`); collected with delta temporality it keeps only what
 * changed since the last collection. `CumulativeSums` adds those deltas back up into cumulative series, and
 * forgets the series of nodes that are no longer live, so memory and exported series follow the live nodes.
 * @internal
 */
import { millisToHrTime } from '@opentelemetry/core';
import type { Attributes, HrTime } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type DataPoint, type MetricData, type ResourceMetrics, type ScopeMetrics, type SumMetricData } from '@opentelemetry/sdk-metrics';
import { ATTR_REPLICATION_NODE_ID } from '../semconv.ts';

/** Whether the node of a point (its `replication.node.id` and all its attributes) is still monitored. */
export type IsLiveNode = (nodeId: string, attributes: Attributes) => boolean;

interface Series {
  attributes: Attributes;
  startTime: HrTime;
  value: number;
}

interface SumState {
  scope: ScopeMetrics['scope'];
  /** The last descriptor and monotonicity seen, to re-emit the metric in a collection without new points. */
  template: SumMetricData;
  series: Map<string, Series>;
}

/** A stable key for an attribute set (the SDK hashes attributes the same way). */
function keyOf(attributes: Attributes): string {
  const keys = Object.keys(attributes).sort();
  return JSON.stringify(keys.map((k) => [k, attributes[k]]));
}

function scopeKey(scope: ScopeMetrics['scope']): string {
  return `${scope.name}\u0000${scope.version ?? ''}\u0000${scope.schemaUrl ?? ''}`;
}

/**
 * Turns the monotonic delta sums of each collection back into cumulative sums. A series that carries
 * `replication.node.id` is kept while `isLive(id)`; when its node is gone it is dropped, and a node that comes
 * back starts again from 0 with a new start time (a counter reset, which `rate()` / `increase()` handle).
 * Series without a node id (e.g. the SDK's own counters) are kept for the life of the process.
 * @internal
 */
export class CumulativeSums {
  private readonly _isLive: IsLiveNode;
  private readonly _sums = new Map<string, SumState>();

  constructor(options: { isLive: IsLiveNode }) {
    this._isLive = options.isLive;
  }

  /** Series currently held, over all converted instruments (for tests and benchmarks). */
  get seriesCount(): number {
    let n = 0;
    for (const state of this._sums.values()) n += state.series.size;
    return n;
  }

  /** Rewrites `resourceMetrics` in place: every monotonic delta sum becomes a cumulative sum of its live series. */
  convert(resourceMetrics: ResourceMetrics): ResourceMetrics {
    const now = millisToHrTime(Date.now());
    const seen = new Set<string>();
    for (const scope of resourceMetrics.scopeMetrics) {
      scope.metrics = scope.metrics.flatMap((metric): MetricData[] => {
        if (!isDeltaCounter(metric)) return [metric];
        const key = `${scopeKey(scope.scope)}\u0000${metric.descriptor.name}`;
        seen.add(key);
        let state = this._sums.get(key);
        if (state === undefined) {
          state = { scope: scope.scope, template: metric, series: new Map() };
          this._sums.set(key, state);
        }
        state.template = metric;
        for (const point of metric.dataPoints) {
          const k = keyOf(point.attributes);
          const series = state.series.get(k);
          if (series === undefined) state.series.set(k, { attributes: point.attributes, startTime: point.startTime, value: point.value });
          else series.value += point.value;
        }
        const cumulative = this._emit(state, metric.dataPoints[0]?.endTime ?? now);
        return cumulative.dataPoints.length > 0 ? [cumulative] : [];
      });
    }
    // Instruments with no new points this time still export their cumulative series.
    for (const [key, state] of this._sums) {
      if (seen.has(key)) continue;
      const metric = this._emit(state, now);
      if (metric.dataPoints.length === 0) continue;
      const sk = scopeKey(state.scope);
      let scope = resourceMetrics.scopeMetrics.find((s) => scopeKey(s.scope) === sk);
      if (scope === undefined) {
        scope = { scope: state.scope, metrics: [] };
        resourceMetrics.scopeMetrics.push(scope);
      }
      scope.metrics.push(metric);
    }
    return resourceMetrics;
  }

  /** Drops the series of nodes that are gone, then builds the cumulative metric. */
  private _emit(state: SumState, endTime: HrTime): SumMetricData {
    const points: DataPoint<number>[] = [];
    for (const [k, series] of state.series) {
      const nodeId = series.attributes[ATTR_REPLICATION_NODE_ID];
      if (nodeId !== undefined && !this._isLive(String(nodeId), series.attributes)) {
        state.series.delete(k);
        continue;
      }
      points.push({ attributes: series.attributes, startTime: series.startTime, endTime, value: series.value });
    }
    return { ...state.template, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPoints: points };
  }
}

function isDeltaCounter(metric: MetricData): metric is SumMetricData {
  return metric.dataPointType === DataPointType.SUM && metric.isMonotonic && metric.aggregationTemporality === AggregationTemporality.DELTA;
}
