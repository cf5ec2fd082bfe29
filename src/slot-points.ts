/**
 * The points of a node's replication slot and subscription facts (`ReplicationStatus.retention` / `.apply`): which
 * metric, value and attributes. Pure TypeScript, no OpenTelemetry import: the instrumentation records them.
 * - `replication.slot.retained`, `replication.slot.safe_size` (when limited), `replication.slot.loss.time` (when
 *   known), and the state set `replication.slot.wal_status`: one point per `postgresql.replication.slot.wal_status`,
 *   1 for the current state (no points when the system gives no state);
 * - `replication.subscription.errors` (a cumulative count, one point per `postgresql.subscription.error.kind`) and
 *   `replication.subscription.tables` (one point per `postgresql.subscription.table.state`).
 */
import { RETENTION_STATES } from './retention.ts';
import * as semconv from './semconv.ts';
import type { NodeAttributes, ReplicationStatus } from './types.ts';

/** Point attributes: the node's base attributes, plus the state or kind where it applies. */
export type SlotPointAttributes = Readonly<Record<string, string | number | boolean>>;

/** Receives one point: its metric's name (a `semconv` METRIC_* constant), value and attributes. */
export type SlotPointVisitor = (metric: string, value: number, attributes: SlotPointAttributes) => void;

/** The attribute objects of one node's slot and subscription points, built once per registered attribute set. */
export class SlotPointAttributeSet {
  /** The registered attributes these were built from. */
  readonly source: NodeAttributes;
  readonly base: SlotPointAttributes;
  readonly byWalStatus: readonly SlotPointAttributes[];
  readonly #byKey = new Map<string, SlotPointAttributes>();

  constructor(source: NodeAttributes, base: SlotPointAttributes) {
    this.source = source;
    this.base = base;
    this.byWalStatus = RETENTION_STATES.map((state) => ({ ...base, [semconv.ATTR_POSTGRESQL_REPLICATION_SLOT_WAL_STATUS]: state }));
  }

  /** The attributes of a point that carries `attribute` = `value` (an error kind, a table state); cached. */
  with(attribute: string, value: string): SlotPointAttributes {
    const key = `${attribute}\u0000${value}`;
    let attrs = this.#byKey.get(key);
    if (attrs === undefined) {
      attrs = { ...this.base, [attribute]: value };
      this.#byKey.set(key, attrs);
    }
    return attrs;
  }
}

/** Calls `visit` with each slot and subscription point of `status` (none for a node without such facts). */
export function forEachSlotPoint(status: ReplicationStatus, attributes: SlotPointAttributeSet, visit: SlotPointVisitor): void {
  const r = status.retention;
  if (r !== undefined) {
    finite(visit, semconv.METRIC_REPLICATION_SLOT_RETAINED, r.retained, attributes.base);
    if (r.safeSize !== undefined) finite(visit, semconv.METRIC_REPLICATION_SLOT_SAFE_SIZE, r.safeSize, attributes.base);
    if (r.lossSeconds !== undefined) finite(visit, semconv.METRIC_REPLICATION_SLOT_LOSS_TIME, r.lossSeconds, attributes.base);
    if (r.state !== undefined) {
      for (let i = 0; i < RETENTION_STATES.length; i++) visit(semconv.METRIC_REPLICATION_SLOT_WAL_STATUS, RETENTION_STATES[i] === r.state ? 1 : 0, attributes.byWalStatus[i]!);
    }
  }
  const a = status.apply;
  if (a !== undefined) {
    for (const kind in a.errors) finite(visit, semconv.METRIC_REPLICATION_SUBSCRIPTION_ERRORS, a.errors[kind]!, attributes.with(semconv.ATTR_POSTGRESQL_SUBSCRIPTION_ERROR_KIND, kind));
    for (const state in a.tables) finite(visit, semconv.METRIC_REPLICATION_SUBSCRIPTION_TABLES, a.tables[state]!, attributes.with(semconv.ATTR_POSTGRESQL_SUBSCRIPTION_TABLE_STATE, state));
  }
}

function finite(visit: SlotPointVisitor, metric: string, value: number, attributes: SlotPointAttributes): void {
  if (Number.isFinite(value)) visit(metric, value, attributes);
}
