/**
 * Logical replication slots of a PostgreSQL publisher, read by `PostgresSource` in the same query and over the
 * same connection as the physical standbys: each slot is a follower whose position is the slot's
 * `confirmed_flush_lsn` (what its consumer — a subscription, Debezium, … — has confirmed), against the
 * publisher's `pg_current_wal_lsn()`. A slot whose consumer is gone stays (it retains WAL until the disk fills),
 * so it is reported at its last confirmed position and turns stalled instead of vanishing. @internal
 */
import {
  ATTR_DB_NAMESPACE, ATTR_POSTGRESQL_REPLICATION_PLUGIN, ATTR_POSTGRESQL_REPLICATION_SLOT, ATTR_POSTGRESQL_REPLICATION_SLOT_ACTIVE,
  ATTR_POSTGRESQL_REPLICATION_SLOT_TYPE, ATTR_REPLICATION_SYSTEM,
} from '../../semconv.ts';
import type { Position } from '../../types.ts';
import type { ReplicaPosition } from '../source.ts';
import { SLOT_RETENTION_FIELDS, slotRetention, type SlotRetentionRow } from './slots.ts';

/** One logical slot, as the poll query returns it. */
export interface LogicalSlotRow extends SlotRetentionRow {
  slot: string;
  plugin: string | null;
  database: string | null;
  active: boolean;
  confirmed_flush_lsn: string | null;
}

/**
 * The poll query's column of logical slots. Temporary slots (they die with their session) and the transient
 * slots a subscription creates to copy a table's initial data (`pg_<oid>_sync_<relid>_<sysid>`, dropped once the
 * table is synchronised) are left out: they are not followers an operator watches, and would churn series.
 */
export const LOGICAL_SLOTS_COLUMN = `
       (SELECT coalesce(json_agg(json_build_object(
                 'slot', s.slot_name,
                 'plugin', s.plugin,
                 'database', s.database,
                 'active', s.active,
                 'confirmed_flush_lsn', s.confirmed_flush_lsn::text,
                 'restart_lsn', s.restart_lsn::text,
                 ${SLOT_RETENTION_FIELDS})), '[]')
          FROM pg_replication_slots s
         WHERE s.slot_type = 'logical'
           AND NOT s.temporary
           AND s.slot_name !~ '^pg_[0-9]+_sync_[0-9]+_[0-9]+$') AS logical_slots`;

/**
 * Followers of the logical slots: node id = the slot name (unique among a server's slots of both kinds).
 * Attributes: `postgresql.replication.slot`, `postgresql.replication.slot.type` = `logical`,
 * `postgresql.replication.plugin` (the output plugin, e.g. `pgoutput`), `db.namespace` (the slot's database),
 * `postgresql.replication.slot.active` (a consumer is connected now). A slot not yet confirmed anything is skipped.
 * Retention (`slots.ts`): what the slot keeps from its `restart_lsn`, which lags `confirmed_flush_lsn`.
 */
export function logicalReplicas(rows: readonly LogicalSlotRow[], leaderSeq: Position, parseLsn: (text: string) => bigint): ReplicaPosition[] {
  const out: ReplicaPosition[] = [];
  for (const r of rows) {
    if (r.confirmed_flush_lsn === null) continue;
    out.push({
      nodeId: r.slot,
      leaderSeq,
      followerSeq: parseLsn(r.confirmed_flush_lsn),
      retention: slotRetention(r, true, leaderSeq, parseLsn),
      attributes: {
        [ATTR_REPLICATION_SYSTEM]: 'postgresql',
        [ATTR_POSTGRESQL_REPLICATION_SLOT]: r.slot,
        [ATTR_POSTGRESQL_REPLICATION_SLOT_TYPE]: 'logical',
        ...(r.plugin !== null ? { [ATTR_POSTGRESQL_REPLICATION_PLUGIN]: r.plugin } : {}),
        ...(r.database !== null ? { [ATTR_DB_NAMESPACE]: r.database } : {}),
        [ATTR_POSTGRESQL_REPLICATION_SLOT_ACTIVE]: r.active,
      },
    });
  }
  return out;
}
