/**
 * ReplicationLagInstrumentation: a thin adapter from the monitor to OpenTelemetry.
 * Gauges are read from the monitor by one batch observable callback at collection time; each alert becomes
 * a log event (and, opt-in, a span event) in the active context. Imports only the OpenTelemetry API.
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
  type Meter,
  type ObservableGauge,
} from '@opentelemetry/api';
import { InstrumentationBase, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import type { ReplicationLagConfig } from './config.ts';
import { ReplicationLagMonitor } from './monitor.ts';
import * as semconv from './semconv.ts';
import { SEVERITIES } from './severity.ts';
import type { Poller } from './sources/poller.ts';
import type { LagAlert, LagSeverity, NodeAttributes, ReplicationStatus } from './types.ts';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.ts';

/** Configuration: the usual instrumentation options, the monitor's options, and these. */
export interface ReplicationLagInstrumentationConfig extends InstrumentationConfig, Partial<ReplicationLagConfig> {
  /** Observe this existing monitor instead of creating one (the monitor options above are then ignored). */
  monitor?: ReplicationLagMonitor;
  /** Also add each alert as a `replication.alert` event on the active recording span. Default false. */
  spanEvents?: boolean;
}

interface Instruments {
  lag: ObservableGauge;
  delay: ObservableGauge;
  predicted: ObservableGauge;
  catchUp: ObservableGauge;
  criticalTime: ObservableGauge;
  rate: ObservableGauge;
  severity: ObservableGauge;
  sourceUp: ObservableGauge;
  replicaReadable: ObservableGauge;
  alerts: Counter;
}

/** A source observed through its poller, with the attributes of its `replication.source.up` point. */
interface ObservedSource {
  poller: Pick<Poller, 'health'>;
  extra: Attributes;
  /** The source name `attributes` was built for. */
  name: string | undefined;
  attributes: Attributes;
}

/** Attribute objects of one node, built once and reused at every collection. */
interface NodeAttributeSet {
  source: NodeAttributes;
  base: Attributes;
  bySeverity: Attributes[];
  seen: number;
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
  declare private _attributeCache: Map<string, NodeAttributeSet>;
  declare private _collections: number;
  /** Where the batch callback is registered, so it is removed from that meter even after setMeterProvider. */
  declare private _registration: { meter: Meter; observables: ObservableGauge[] } | undefined;
  declare private _constructed: boolean;
  declare private _sources: Set<ObservedSource>;

  constructor(config: ReplicationLagInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
    const { monitor } = config;
    if (monitor !== undefined && !(monitor instanceof ReplicationLagMonitor)) {
      throw new TypeError('ReplicationLagInstrumentationConfig.monitor must be a ReplicationLagMonitor');
    }
    this._monitor = monitor ?? new ReplicationLagMonitor(config);
    this._attributeCache = new Map();
    this._collections = 0;
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
    this._instruments = {
      lag: meter.createObservableGauge(semconv.METRIC_REPLICATION_LAG, {
        unit: semconv.UNIT_ENTRY,
        description: semconv.DESCRIPTION[semconv.METRIC_REPLICATION_LAG],
        valueType: ValueType.INT,
      }),
      delay: meter.createObservableGauge(semconv.METRIC_REPLICATION_DELAY, {
        unit: semconv.UNIT_SECONDS,
        description: semconv.DESCRIPTION[semconv.METRIC_REPLICATION_DELAY],
        valueType: ValueType.DOUBLE,
      }),
      predicted: meter.createObservableGauge(semconv.METRIC_REPLICATION_DELAY_PREDICTED, {
        unit: semconv.UNIT_SECONDS,
        description: semconv.DESCRIPTION[semconv.METRIC_REPLICATION_DELAY_PREDICTED],
        valueType: ValueType.DOUBLE,
      }),
      catchUp: meter.createObservableGauge(semconv.METRIC_REPLICATION_CATCHUP_TIME, {
        unit: semconv.UNIT_SECONDS,
        description: semconv.DESCRIPTION[semconv.METRIC_REPLICATION_CATCHUP_TIME],
        valueType: ValueType.DOUBLE,
      }),
      criticalTime: meter.createObservableGauge(semconv.METRIC_REPLICATION_CRITICAL_TIME, {
        unit: semconv.UNIT_SECONDS,
        description: semconv.DESCRIPTION[semconv.METRIC_REPLICATION_CRITICAL_TIME],
        valueType: ValueType.DOUBLE,
      }),
      rate: meter.createObservableGauge(semconv.METRIC_REPLICATION_APPLY_RATE, {
        unit: semconv.UNIT_ENTRY_PER_SECOND,
        description: semconv.DESCRIPTION[semconv.METRIC_REPLICATION_APPLY_RATE],
        valueType: ValueType.DOUBLE,
      }),
      severity: meter.createObservableGauge(semconv.METRIC_REPLICATION_SEVERITY, {
        unit: semconv.UNIT_ONE,
        description: semconv.DESCRIPTION[semconv.METRIC_REPLICATION_SEVERITY],
        valueType: ValueType.INT,
      }),
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
      alerts: meter.createCounter(semconv.METRIC_REPLICATION_ALERTS, {
        unit: semconv.UNIT_ALERT,
        description: semconv.DESCRIPTION[semconv.METRIC_REPLICATION_ALERTS],
        valueType: ValueType.INT,
      }),
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
    const observables = [i.lag, i.delay, i.predicted, i.catchUp, i.criticalTime, i.rate, i.severity, i.sourceUp, i.replicaReadable];
    this.meter.addBatchObservableCallback(this._collect, observables);
    this._registration = { meter: this.meter, observables };
  }

  private _removeCallback(): void {
    const r = this._registration;
    if (r === undefined) return;
    r.meter.removeBatchObservableCallback(this._collect, r.observables);
    this._registration = undefined;
  }

  /** The batch observable callback. Runs inside the SDK's collection: never throws. */
  private readonly _collect = (result: BatchObservableResult): void => {
    const instruments = this._instruments;
    if (instruments === undefined) return;
    const generation = ++this._collections;
    try {
      this._monitor.forEachStatus((status) => {
        const attrs = this._attributesOf(status, generation);
        observeFinite(result, instruments.lag, status.lagEntries, attrs.base);
        observeFinite(result, instruments.delay, status.lagSeconds, attrs.base);
        if (status.predictedLagSeconds !== undefined) observeFinite(result, instruments.predicted, status.predictedLagSeconds, attrs.base);
        if (status.catchUpSeconds !== undefined) observeFinite(result, instruments.catchUp, status.catchUpSeconds, attrs.base);
        if (status.secondsToCritical !== undefined) observeFinite(result, instruments.criticalTime, status.secondsToCritical, attrs.base);
        observeFinite(result, instruments.rate, status.replicationRate, attrs.base);
        for (let i = 0; i < SEVERITIES.length; i++) {
          result.observe(instruments.severity, SEVERITIES[i] === status.severity ? 1 : 0, attrs.bySeverity[i]);
        }
      });
      if (this._attributeCache.size > 0) this._sweepAttributes(generation);
    } catch (error) {
      diag.error(`${PACKAGE_NAME}: collection failed`, error);
    }
    for (const source of this._sources) this._observeSource(result, instruments.sourceUp, source, instruments.replicaReadable);
  };

  /**
   * One source's `replication.source.up` point, and a `replication.replica.readable` point per replica when the source
   * reports them. Never throws (a broken poller is reported through diag).
   */
  private _observeSource(result: BatchObservableResult, gauge: ObservableGauge, source: ObservedSource, readableGauge: ObservableGauge): void {
    try {
      const health = source.poller.health();
      if (health.up === undefined) return;
      if (source.name !== health.source) {
        source.name = health.source;
        source.attributes = { ...source.extra, [semconv.ATTR_REPLICATION_SOURCE]: health.source };
      }
      result.observe(gauge, health.up ? 1 : 0, source.attributes);
      for (const [id, readable] of health.replicasReadable ?? []) {
        result.observe(readableGauge, readable ? 1 : 0, { ...source.attributes, [semconv.ATTR_REPLICATION_NODE_ID]: id });
      }
    } catch (error) {
      diag.error(`${PACKAGE_NAME}: reading a source's health failed`, error);
    }
  }

  private _attributesOf(status: ReplicationStatus, generation: number): NodeAttributeSet {
    let set = this._attributeCache.get(status.nodeId);
    if (set === undefined || set.source !== status.attributes) {
      const base: Attributes = { ...status.attributes, [semconv.ATTR_REPLICATION_NODE_ID]: status.nodeId };
      set = {
        source: status.attributes,
        base,
        bySeverity: SEVERITIES.map((severity) => ({ ...base, [semconv.ATTR_REPLICATION_SEVERITY]: severity })),
        seen: generation,
      };
      this._attributeCache.set(status.nodeId, set);
    }
    set.seen = generation;
    return set;
  }

  /** Drops cached attributes of nodes that were not collected this time (unregistered). */
  private _sweepAttributes(generation: number): void {
    for (const [id, set] of this._attributeCache) if (set.seen !== generation) this._attributeCache.delete(id);
  }

  /** Alert listener: one log event (and optional span event) per alert, in the active context. Never throws. */
  private readonly _onAlert = (alert: LagAlert): void => {
    try {
      const attributes: Attributes = {
        ...this._monitor.getStatus(alert.nodeId)?.attributes,
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
      this._instruments?.alerts.add(1, {
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

function observeFinite(result: BatchObservableResult, gauge: ObservableGauge, value: number, attributes: Attributes): void {
  if (Number.isFinite(value)) result.observe(gauge, value, attributes);
}
