/**
 * The one description of a node's exported points: which per-node gauges exist (name, unit, description, value
 * type) and, from a node's status, which points it has (gauge, value, attributes). Pure TypeScript, no
 * OpenTelemetry import: the drop-in instrumentation records these points into API instruments (the user's SDK),
 * and `startTelemetry` / `replag` turn them straight into metric data (their own SDK's MetricProducer).
 * Adding a per-node gauge is one entry in NODE_GAUGES and one line in `forEachNodePoint`.
 *
 * PostgreSQL replication slots and subscriptions (a status's `retention` and `apply`) add the slot gauges, the
 * `replication.slot.wal_status` state set, `replication.subscription.tables` (one point per table state), and the
 * one per-node sum, `replication.subscription.errors` (NODE_SUMS: a total the system counts, one point per kind).
 */
import * as semconv from './semconv.ts';
import { RETENTION_STATES } from './retention.ts';
import { SEVERITIES } from './severity.ts';
import { slotPointAttributes } from './slot-points.ts';
import type { NodeAttributes, ReplicationStatus } from './types.ts';

/** A per-node gauge. */
export interface NodeGauge {
  readonly name: string;
  readonly unit: string;
  readonly description: string;
  /** Integer or floating-point values (OpenTelemetry's ValueType). */
  readonly valueType: 'int' | 'double';
}

const gauge = (name: keyof typeof semconv.DESCRIPTION, unit: string, valueType: 'int' | 'double'): NodeGauge =>
  Object.freeze({ name, unit, description: semconv.DESCRIPTION[name], valueType });

/** The per-node gauges, in the order their points are produced. The index is a point's `gauge`. */
export const NODE_GAUGES: readonly NodeGauge[] = Object.freeze([
  gauge(semconv.METRIC_REPLICATION_LAG, semconv.UNIT_ENTRY, 'int'),
  gauge(semconv.METRIC_REPLICATION_DELAY, semconv.UNIT_SECONDS, 'double'),
  gauge(semconv.METRIC_REPLICATION_DELAY_PREDICTED, semconv.UNIT_SECONDS, 'double'),
  gauge(semconv.METRIC_REPLICATION_CATCHUP_TIME, semconv.UNIT_SECONDS, 'double'),
  gauge(semconv.METRIC_REPLICATION_CRITICAL_TIME, semconv.UNIT_SECONDS, 'double'),
  gauge(semconv.METRIC_REPLICATION_HEARTBEAT_DELAY, semconv.UNIT_SECONDS, 'double'),
  gauge(semconv.METRIC_REPLICATION_APPLY_RATE, semconv.UNIT_ENTRY_PER_SECOND, 'double'),
  gauge(semconv.METRIC_REPLICATION_SEVERITY, semconv.UNIT_ONE, 'int'),
  gauge(semconv.METRIC_REPLICATION_SLOT_RETAINED, semconv.UNIT_BYTES, 'int'),
  gauge(semconv.METRIC_REPLICATION_SLOT_SAFE_SIZE, semconv.UNIT_BYTES, 'int'),
  gauge(semconv.METRIC_REPLICATION_SLOT_LOSS_TIME, semconv.UNIT_SECONDS, 'double'),
  gauge(semconv.METRIC_REPLICATION_SLOT_WAL_STATUS, semconv.UNIT_ONE, 'int'),
  gauge(semconv.METRIC_REPLICATION_SUBSCRIPTION_TABLES, semconv.UNIT_TABLE, 'int'),
]);

/**
 * The per-node sums: monotonic counters whose value is a total the system counts (not increments of ours). The
 * index is a sum point's `sum`.
 */
export const NODE_SUMS: readonly NodeGauge[] = Object.freeze([gauge(semconv.METRIC_REPLICATION_SUBSCRIPTION_ERRORS, semconv.UNIT_ERROR, 'int')]);

const LAG = 0;
const DELAY = 1;
const PREDICTED = 2;
const CATCHUP = 3;
const CRITICAL_TIME = 4;
const HEARTBEAT_DELAY = 5;
const RATE = 6;
const SEVERITY = 7;
const SLOT_RETAINED = 8;
const SLOT_SAFE_SIZE = 9;
const SLOT_LOSS_TIME = 10;
const SLOT_WAL_STATUS = 11;
const SUBSCRIPTION_TABLES = 12;
const SUBSCRIPTION_ERRORS = 0;

/** The most series one node adds to one gauge: the `replication.severity` state set. */
export const SERIES_PER_NODE = SEVERITIES.length;

/** Point attributes: the node's registered attributes plus `replication.node.id` (and severity where it applies). */
export type PointAttributes = Readonly<Record<string, string | number | boolean>>;

/** Attribute objects of one node, built once and reused while its registered attributes stay the same. */
export interface NodePointAttributes {
  /** The registered attributes these were built from. */
  readonly source: NodeAttributes;
  /** The attributes of its gauges other than severity. */
  readonly base: PointAttributes;
  /** The `replication.severity` state set's attributes, in SEVERITIES order. */
  readonly bySeverity: readonly PointAttributes[];
}

/** The attributes of a node's points. */
export function nodePointAttributes(status: Pick<ReplicationStatus, 'nodeId' | 'attributes'>, extra?: PointAttributes): NodePointAttributes {
  const base: PointAttributes = { ...extra, ...status.attributes, [semconv.ATTR_REPLICATION_NODE_ID]: status.nodeId };
  return {
    source: status.attributes,
    base,
    bySeverity: SEVERITIES.map((severity) => ({ ...base, [semconv.ATTR_REPLICATION_SEVERITY]: severity })),
  };
}

/**
 * Caches each node's attribute objects between collections and forgets nodes not collected in the last one.
 * `extra` (e.g. `replication.source`) is added to every attribute set.
 */
export class NodeAttributeCache {
  private readonly _sets = new Map<string, NodePointAttributes & { seen: number }>();
  private _generation = 0;
  private readonly _extra: PointAttributes | undefined;

  constructor(extra?: PointAttributes) {
    this._extra = extra;
  }

  /** Starts a collection. */
  begin(): void {
    this._generation++;
  }

  /** The node's attributes for this collection. */
  of(status: Pick<ReplicationStatus, 'nodeId' | 'attributes'>): NodePointAttributes {
    let set = this._sets.get(status.nodeId);
    if (set === undefined || set.source !== status.attributes) {
      set = { ...nodePointAttributes(status, this._extra), seen: this._generation };
      this._sets.set(status.nodeId, set);
    }
    set.seen = this._generation;
    return set;
  }

  /** Ends a collection: drops the nodes it did not see (unregistered). */
  end(): void {
    for (const [id, set] of this._sets) if (set.seen !== this._generation) this._sets.delete(id);
  }

  clear(): void {
    this._sets.clear();
  }

  get size(): number {
    return this._sets.size;
  }
}

/** Receives one point: the index of its gauge in NODE_GAUGES, its value and its attributes. */
export type NodePointVisitor = (gauge: number, value: number, attributes: PointAttributes) => void;

/**
 * Whether the node's delay is unknown: no estimate of the monitor's own, no figure reported by the system and no
 * heartbeat delay (`lagSeconds` is then only a lower bound). Its `replication.delay` has no point and its severity
 * is provisional.
 */
export function delayUnknown(status: Pick<ReplicationStatus, 'delayEstimated' | 'delayReported' | 'heartbeatDelaySeconds'>): boolean {
  return !status.delayEstimated && status.delayReported !== true && status.heartbeatDelaySeconds === undefined;
}

/**
 * Calls `visit` with each point of one node, in NODE_GAUGES order. Non-finite values and figures that are not
 * known (no forecast yet, not gaining, an unknown delay) have no point.
 */
export function forEachNodePoint(status: ReplicationStatus, attributes: NodePointAttributes, visit: NodePointVisitor): void {
  const base = attributes.base;
  finite(visit, LAG, status.lagEntries, base);
  if (!delayUnknown(status)) finite(visit, DELAY, status.lagSeconds, base);
  if (status.predictedLagSeconds !== undefined) finite(visit, PREDICTED, status.predictedLagSeconds, base);
  if (status.catchUpSeconds !== undefined) finite(visit, CATCHUP, status.catchUpSeconds, base);
  if (status.secondsToCritical !== undefined) finite(visit, CRITICAL_TIME, status.secondsToCritical, base);
  if (status.heartbeatDelaySeconds !== undefined) finite(visit, HEARTBEAT_DELAY, status.heartbeatDelaySeconds, base);
  finite(visit, RATE, status.replicationRate, base);
  const bySeverity = attributes.bySeverity;
  for (let i = 0; i < SEVERITIES.length; i++) visit(SEVERITY, SEVERITIES[i] === status.severity ? 1 : 0, bySeverity[i]!);
  const r = status.retention;
  if (r !== undefined) {
    finite(visit, SLOT_RETAINED, r.retained, base);
    if (r.safeSize !== undefined) finite(visit, SLOT_SAFE_SIZE, r.safeSize, base);
    if (r.lossSeconds !== undefined) finite(visit, SLOT_LOSS_TIME, r.lossSeconds, base);
    if (r.state !== undefined) {
      const byWalStatus = slotPointAttributes(base).byWalStatus;
      for (let i = 0; i < RETENTION_STATES.length; i++) visit(SLOT_WAL_STATUS, RETENTION_STATES[i] === r.state ? 1 : 0, byWalStatus[i]!);
    }
  }
  const tables = status.apply?.tables;
  if (tables !== undefined) {
    const slot = slotPointAttributes(base);
    for (const state in tables) finite(visit, SUBSCRIPTION_TABLES, tables[state]!, slot.with(semconv.ATTR_POSTGRESQL_SUBSCRIPTION_TABLE_STATE, state));
  }
}

/**
 * Calls `visit` with each sum point of one node (its index in NODE_SUMS, the system's total, attributes): a
 * subscription's errors per kind. Nothing for a node without such counts.
 */
export function forEachNodeSum(status: ReplicationStatus, attributes: NodePointAttributes, visit: NodePointVisitor): void {
  const errors = status.apply?.errors;
  if (errors === undefined) return;
  const slot = slotPointAttributes(attributes.base);
  for (const kind in errors) finite(visit, SUBSCRIPTION_ERRORS, errors[kind]!, slot.with(semconv.ATTR_POSTGRESQL_SUBSCRIPTION_ERROR_KIND, kind));
}

function finite(visit: NodePointVisitor, gauge: number, value: number, attributes: PointAttributes): void {
  if (Number.isFinite(value)) visit(gauge, value, attributes);
}
