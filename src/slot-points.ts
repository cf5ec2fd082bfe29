/**
 * Attribute objects of a node's replication slot and subscription points (`node-points.ts` describes the points):
 * the `postgresql.replication.slot.wal_status` state set's, and one per error kind or table state, built once per
 * node attribute set and cached with it. Pure TypeScript, no OpenTelemetry import. @internal
 */
import { RETENTION_STATES } from './retention.ts';
import * as semconv from './semconv.ts';

/** Point attributes (as `node-points.ts`'s `PointAttributes`). */
export type SlotPointAttributes = Readonly<Record<string, string | number | boolean>>;

/** The attribute objects of one node's slot and subscription points. */
export class SlotPointAttributeSet {
  readonly base: SlotPointAttributes;
  /** The `replication.slot.wal_status` state set's attributes, in RETENTION_STATES order. */
  readonly byWalStatus: readonly SlotPointAttributes[];
  readonly #byKey = new Map<string, SlotPointAttributes>();

  constructor(base: SlotPointAttributes) {
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

/** Per node attribute set (its `base` object): its slot point attributes, built on first use. */
const cache = new WeakMap<SlotPointAttributes, SlotPointAttributeSet>();

/** The slot point attributes of a node whose other points carry `base`. */
export function slotPointAttributes(base: SlotPointAttributes): SlotPointAttributeSet {
  let set = cache.get(base);
  if (set === undefined) {
    set = new SlotPointAttributeSet(base);
    cache.set(base, set);
  }
  return set;
}
