/**
 * ReplicationLagInstrumentation: a thin adapter from the monitor to OpenTelemetry.
 * Gauges are read from the monitor by one batch observable callback at collection time; each alert becomes
 * a log event (and, opt-in, a span event) in the active context. Imports only the OpenTelemetry API.
 *
 * The per-node gauges are synchronous gauges recorded from that callback (hosted on `replication.source.up`),
 * not observable ones: the SDK remembers every attribute set an observable instrument ever reported (to
 * compute deltas), so churning node ids would grow memory and, past the cardinality limit, fold new nodes into
 * the overflow series. A synchronous gauge under delta temporality keeps only what was recorded since the
 * last collection: the live nodes.
 */
import {
  context,
  diag,
  SeverityNumber,
  trace,
  ValueType,
  type Attributes,
  type BatchObservableResult,
  type Counter,
  type Gauge,
  type Meter,
  type ObservableCounter,
  type ObservableGauge,
} from '@opentelemetry/api';
import { InstrumentationBase, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { CardinalityWatch } from './cardinality-watch.ts';
import type { ReplicationLagConfig } from './config.ts';
import { ReplicationLagMonitor } from './monitor.ts';
import * as semconv from './semconv.ts';
import { forEachNodePoint, forEachNodeSum, NODE_GAUGES, NODE_SUMS, NodeAttributeCache, SERIES_PER_NODE } from './node-points.ts';
import type { Poller } from './sources/poller.ts';
import type { LagAlert, LagSeverity } from './types.ts';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.ts';

/** Configuration: the usual instrumentation options, the monitor's options, and these. */
export interface ReplicationLagInstrumentationConfig extends InstrumentationConfig, Partial<ReplicationLagConfig> {
  /** Observe this existing monitor instead of creating one (the monitor options above are then ignored). */
  monitor?: ReplicationLagMonitor;
  /** Also add each alert as a `replication.alert` event on the active recording span. Default false. */
  spanEvents?: boolean;
  /**
   * The cardinality limit (series per instrument) of the SDK pipeline that exports this instrumentation, so that
   * nodes folded into the SDK's overflow series are said: one `diag.warn` when the live nodes stop fitting, one
   * `diag.info` when they fit again. Default 2000, the SDK's default; `startTelemetry` passes its own.
   */
  cardinalityLimit?: number;
  /**
   * @internal `startTelemetry` and `replag` produce the per-node gauges and `replication.alerts` themselves
   * (a MetricProducer of their own SDK, from the same NODE_GAUGES description); this instrumentation then records
   * only the sources' gauges and the alert events.
   */
  nodePointsProducedElsewhere?: boolean;
}

export { SERIES_PER_NODE };
export { nodesWithinCardinalityLimit } from './cardinality-watch.ts';

/** The SDK's default cardinality limit per instrument. */
const SDK_DEFAULT_CARDINALITY_LIMIT = 2000;

/** The cardinality limit under which `nodes` live nodes are all exported under their own id. */
export function cardinalityLimitFor(nodes: number): number {
  return nodes * SERIES_PER_NODE + 1;
}

interface Instruments {
  /** The per-node gauges, in NODE_GAUGES order (empty when the node points are produced elsewhere). */
  nodeGauges: Gauge[];
  /** The per-node sums, in NODE_SUMS order: observable counters of the system's totals, observed in the batch callback. */
  nodeSums: ObservableCounter[];
  /** Also hosts the batch callback that records the gauges above at collection time. */
  sourceUp: ObservableGauge;
  replicaReadable: ObservableGauge;
  /** Undefined when the node points (and alert counts) are produced elsewhere. */
  alerts: Counter | undefined;
}

/** A source observed through its poller, with the attributes of its `replication.source.up` point. */
interface ObservedSource {
  poller: Pick<Poller, 'health'>;
  extra: Attributes;
  /** The source name `attributes` was built for. */
  name: string | undefined;
  attributes: Attributes;
}

const LOG_SEVERITY: Record<LagSeverity, { number: SeverityNumber; text: string }> = {
  normal: { number: SeverityNumber.INFO, text: 'INFO' },
  warning: { number: SeverityNumber.WARN, text: 'WARN' },
  critical: { number: SeverityNumber.ERROR, text: 'ERROR' },
  stalled: { number: SeverityNumber.ERROR, text: 'ERROR' },
};

/**
 * Exports a `ReplicationLagMonitor` through OpenTelemetry:
 * ```ts
 * const lag = new ReplicationLagInstrumentation();
 * registerInstrumentations({ instrumentations: [lag] });   // or new NodeSDK({ instrumentations: [lag] })
 * lag.monitor.updateLag('replica-1', leaderIndex, followerIndex);
 * ```
 * Uses the global meter and logger providers unless `setMeterProvider` / `setLoggerProvider` are called.
 */
export class ReplicationLagInstrumentation extends InstrumentationBase<ReplicationLagInstrumentationConfig> {
  // The base constructor calls _updateMetricInstruments() and enable() before subclass fields exist,
  // so fields are declared (no initialisers, which would run after it and reset them) and set lazily.
  declare private _monitor: ReplicationLagMonitor;
  declare private _instruments: Instruments | undefined;
  declare private _unsubscribe: (() => void) | undefined;
  declare private _attributeCache: NodeAttributeCache;
  /** Where the batch callback is registered, so it is removed from that meter even after setMeterProvider. */
  declare private _registration: { meter: Meter; observables: ObservableGauge[] } | undefined;
  declare private _constructed: boolean;
  declare private _sources: Set<ObservedSource>;
  /** Whether the live nodes fitted in the cardinality limit at the last collection. */
  declare private _cardinality: CardinalityWatch;

  constructor(config: ReplicationLagInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
    const { monitor } = config;
    if (monitor !== undefined && !(monitor instanceof ReplicationLagMonitor)) {
      throw new TypeError('ReplicationLagInstrumentationConfig.monitor must be a ReplicationLagMonitor');
    }
    const { cardinalityLimit } = config;
    if (cardinalityLimit !== undefined && (typeof cardinalityLimit !== 'number' || !Number.isInteger(cardinalityLimit) || cardinalityLimit < 2)) {
      throw new RangeError(`ReplicationLagInstrumentationConfig.cardinalityLimit must be an integer >= 2, got ${String(cardinalityLimit)}`);
    }
    this._cardinality = new CardinalityWatch();
    this._monitor = monitor ?? new ReplicationLagMonitor(config);
    this._attributeCache = new NodeAttributeCache();
    this._sources = new Set();
    this._constructed = true;
    this._updateMetricInstruments();
    if (this.isEnabled()) this._attach();
  }

  /** The monitor this instrumentation observes: feed it with `updateLag`. */
  get monitor(): ReplicationLagMonitor {
    return this._monitor;
  }

  /**
   * Also exports `replication.source.up` for the source a poller reads: 1 while its last poll succeeded, 0 after a
   * failed one, when its replicas' gauges still hold the last positions read. Nothing until the first poll ends.
   * ```ts
   * const stopObserving = lag.observeSource(startPoller({ source, monitor: lag.monitor }));
   * ```
   * @param attributes added to the point, next to `replication.source` (the source's name).
   * @returns a function that stops exporting it.
   * @throws TypeError when `poller` has no `health()` method.
   */
  observeSource(poller: Pick<Poller, 'health'>, attributes: Attributes = {}): () => void {
    if (typeof poller?.health !== 'function') throw new TypeError('observeSource(poller): poller must be a Poller (from startPoller), with a health() method');
    if (attributes === null || typeof attributes !== 'object') throw new TypeError('observeSource(poller, attributes): attributes must be an object');
    const entry: ObservedSource = { poller, extra: { ...attributes }, name: undefined, attributes: {} };
    this._sources.add(entry);
    return () => {
      this._sources.delete(entry);
    };
  }

  /** The pollers observed through `observeSource`, oldest first (what `startTelemetry`'s status endpoints read). */
  observedPollers(): Pick<Poller, 'health'>[] {
    return [...this._sources].map((s) => s.poller);
  }

  protected init(): void {
    // Nothing to patch: this instrumentation observes a monitor rather than a module.
  }

  override enable(): void {
    super.enable();
    if (this._constructed) this._attach();
  }

  override disable(): void {
    super.disable();
    if (this._constructed) this._detach();
  }

  protected override _updateMetricInstruments(): void {
    if (!this._constructed) return;
    const wasAttached = this._registration !== undefined;
    if (wasAttached) this._removeCallback();
    const meter = this.meter;
    const own = this.getConfig().nodePointsProducedElsewhere !== true;
    this._instruments = {
      nodeGauges: own
        ? NODE_GAUGES.map((g) => meter.createGauge(g.name, { unit: g.unit, description: g.description, valueType: g.valueType === 'int' ? ValueType.INT : ValueType.DOUBLE }))
        : [],
      nodeSums: own
        ? NODE_SUMS.map((s) => meter.createObservableCounter(s.name, { unit: s.unit, description: s.description, valueType: s.valueType === 'int' ? ValueType.INT : ValueType.DOUBLE }))
        : [],
      sourceUp: meter.createObservableGauge(semconv.METRIC_REPLICATION_SOURCE_UP, {
        unit: semconv.UNIT_NONE,
        description: semconv.DESCRIPTION[semconv.METRIC_REPLICATION_SOURCE_UP],
        valueType: ValueType.INT,
      }),
      replicaReadable: meter.createObservableGauge(semconv.METRIC_REPLICATION_REPLICA_READABLE, {
        unit: semconv.UNIT_NONE,
        description: semconv.DESCRIPTION[semconv.METRIC_REPLICATION_REPLICA_READABLE],
        valueType: ValueType.INT,
      }),
      alerts: own
        ? meter.createCounter(semconv.METRIC_REPLICATION_ALERTS, {
            unit: semconv.UNIT_ALERT,
            description: semconv.DESCRIPTION[semconv.METRIC_REPLICATION_ALERTS],
            valueType: ValueType.INT,
          })
        : undefined,
    };
    if (wasAttached) this._addCallback();
  }

  private _attach(): void {
    if (this._unsubscribe !== undefined) return;
    this._addCallback();
    this._unsubscribe = this._monitor.onAlert(this._onAlert);
  }

  private _detach(): void {
    if (this._unsubscribe === undefined) return;
    this._unsubscribe();
    this._unsubscribe = undefined;
    this._removeCallback();
    this._attributeCache.clear();
  }

  private _addCallback(): void {
    const i = this._instruments;
    if (i === undefined || this._registration !== undefined) return;
    const observables = [i.sourceUp, i.replicaReadable, ...i.nodeSums];
    this.meter.addBatchObservableCallback(this._collect, observables);
    this._registration = { meter: this.meter, observables };
  }

  private _removeCallback(): void {
    const r = this._registration;
    if (r === undefined) return;
    r.meter.removeBatchObservableCallback(this._collect, r.observables);
    this._registration = undefined;
  }

  /**
   * The batch observable callback: records every live node's gauges (synchronous instruments, recorded here so
   * the values are those at collection time) and observes the sources. Runs inside the SDK's collection: never throws.
   */
  private readonly _collect = (result: BatchObservableResult): void => {
    const instruments = this._instruments;
    if (instruments === undefined) return;
    const gauges = instruments.nodeGauges;
    if (gauges.length > 0) {
      let live = 0;
      const cache = this._attributeCache;
      const record = (gauge: number, value: number, attributes: Attributes) => gauges[gauge]!.record(value, attributes);
      const sums = instruments.nodeSums;
      const observeSum = (sum: number, value: number, attributes: Attributes) => result.observe(sums[sum]!, value, attributes);
      try {
        cache.begin();
        this._monitor.forEachStatus((status) => {
          live++;
          const attributes = cache.of(status);
          forEachNodePoint(status, attributes, record);
          forEachNodeSum(status, attributes, observeSum);
        });
        cache.end();
        this._checkCardinality(live);
      } catch (error) {
        diag.error(`${PACKAGE_NAME}: collection failed`, error);
      }
    }
    for (const source of this._sources) this._observeSource(result, instruments, source);
  };

  /** One warning when the live nodes stop fitting in the cardinality limit, one note when they fit again. */
  private _checkCardinality(live: number): void {
    const change = this._cardinality.check(live, this.getConfig().cardinalityLimit ?? SDK_DEFAULT_CARDINALITY_LIMIT);
    if (change !== undefined) diag[change.level](change.message);
  }

  /**
   * One source's `replication.source.up` point, and a `replication.replica.readable` point per replica when the source
   * reports them. Never throws (a broken poller is reported through diag).
   */
  private _observeSource(result: BatchObservableResult, instruments: Instruments, source: ObservedSource): void {
    try {
      const health = source.poller.health();
      if (health.up === undefined) return;
      if (source.name !== health.source) {
        source.name = health.source;
        source.attributes = { ...source.extra, [semconv.ATTR_REPLICATION_SOURCE]: health.source };
      }
      result.observe(instruments.sourceUp, health.up ? 1 : 0, source.attributes);
      for (const [id, readable] of health.replicasReadable ?? []) {
        result.observe(instruments.replicaReadable, readable ? 1 : 0, { ...source.attributes, [semconv.ATTR_REPLICATION_NODE_ID]: id });
      }
    } catch (error) {
      diag.error(`${PACKAGE_NAME}: reading a source's health failed`, error);
    }
  }

  /** Alert listener: one log event (and optional span event) per alert, in the active context. Never throws. */
  private readonly _onAlert = (alert: LagAlert): void => {
    try {
      const status = this._monitor.getStatus(alert.nodeId);
      const walStatus = status?.retention?.state;
      const attributes: Attributes = {
        ...status?.attributes,
        // A replication slot's alert says where its WAL stands (`lost`: the consumer must be resynchronised).
        ...(walStatus !== undefined ? { [semconv.ATTR_POSTGRESQL_REPLICATION_SLOT_WAL_STATUS]: walStatus } : {}),
        [semconv.ATTR_REPLICATION_NODE_ID]: alert.nodeId,
        [semconv.ATTR_REPLICATION_SEVERITY]: alert.severity,
        [semconv.ATTR_REPLICATION_SEVERITY_PREVIOUS]: alert.previousSeverity,
        [semconv.ATTR_REPLICATION_LAG]: alert.lagEntries,
        [semconv.ATTR_REPLICATION_DELAY]: alert.lagSeconds,
      };
      const active = context.active();
      const level = LOG_SEVERITY[alert.severity];
      this.logger.emit({
        eventName: semconv.EVENT_REPLICATION_ALERT,
        severityNumber: level.number,
        severityText: level.text,
        body: alert.message,
        attributes,
        context: active,
      });
      this._instruments?.alerts?.add(1, {
        [semconv.ATTR_REPLICATION_NODE_ID]: alert.nodeId,
        [semconv.ATTR_REPLICATION_SEVERITY]: alert.severity,
      });
      if (this.getConfig().spanEvents === true) {
        const span = trace.getSpan(active);
        if (span?.isRecording()) span.addEvent(semconv.EVENT_REPLICATION_ALERT, attributes);
      }
    } catch (error) {
      diag.error(`${PACKAGE_NAME}: failed to export alert`, error);
    }
  };
}
