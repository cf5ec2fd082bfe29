/**
 * The publisher's poll query (one round trip: recovery state, role, privilege, current WAL position, every
 * walsender and physical slot, every logical slot) and how its rows become node ids and attributes.
 */
import { ATTR_POSTGRESQL_REPLICATION_SLOT, ATTR_REPLICATION_SYSTEM, ATTR_SERVER_ADDRESS } from '../../semconv.ts';
import type { NodeAttributes } from '../kit/last-known.ts';
import { LOGICAL_SLOTS_COLUMN, type LogicalSlotRow } from './logical.ts';
import { SLOT_RETENTION_FIELDS, type SlotRetentionRow } from './slots.ts';

/** One walsender and/or physical slot, as the poll query returns it. */
export interface WalSenderRow extends SlotRetentionRow {
  pid: number | null;
  slot: string | null;
  application_name: string | null;
  client_addr: string | null;
  client_port: number | null;
  applied_lsn: string | null;
  restart_lsn: string | null;
  /** `replay_lag` in seconds when the standby's last reply is recent (see REPLY_FRESH_SECONDS), else null. */
  replay_lag: number | null;
}


/** The poll query's one row. */
export interface ServerRow {
  in_recovery: boolean;
  role: string;
  can_read_stats: boolean;
  current_lsn: string | null;
  replicas: WalSenderRow[];
  logical_slots: LogicalSlotRow[];
}

/**
 * A standby's `replay_lag` is passed on (as `reportedDelaySeconds`) only when its last reply (`reply_time`, in the
 * standby's clock) is at most this old: a standby that stopped answering keeps its last figure in
 * `pg_stat_replication`, which then no longer says anything about now.
 */
const REPLY_FRESH_SECONDS = 2;

/**
 * The whole poll, one round trip. `reply_time` is read through `to_jsonb(r)` so that the query also runs on
 * PostgreSQL 10 and 11, which lack the column (`replay_lag` is then never passed on). Walsenders (minus base backups and logical decoding) are joined to the
 * physical slot they hold (`active_pid`), and inactive physical slots are kept as rows of their own.
 */
export const POLL_QUERY = `
SELECT pg_is_in_recovery() AS in_recovery,
       quote_ident(current_user) AS role,
       pg_has_role('pg_read_all_stats', 'USAGE') AS can_read_stats,
       CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS current_lsn,
       (SELECT coalesce(json_agg(json_build_object(
                 'pid', r.pid,
                 'slot', s.slot_name,
                 'application_name', r.application_name,
                 'client_addr', host(r.client_addr),
                 'client_port', r.client_port,
                 'applied_lsn', coalesce(r.replay_lsn, r.flush_lsn)::text,
                 'restart_lsn', s.restart_lsn::text,
                 ${SLOT_RETENTION_FIELDS},
                 'replay_lag', CASE WHEN (to_jsonb(r) ->> 'reply_time')::timestamptz >= clock_timestamp() - interval '${REPLY_FRESH_SECONDS} seconds'
                                    THEN extract(epoch FROM r.replay_lag)::float8 END)), '[]')
          FROM pg_stat_replication r
          FULL JOIN pg_replication_slots s ON s.active_pid = r.pid
         WHERE coalesce(s.slot_type, 'physical') = 'physical'
           AND coalesce(r.state, '') <> 'backup') AS replicas,${LOGICAL_SLOTS_COLUMN}`;


/**
 * Node ids: the slot name when the standby holds a physical slot (the same id whether it is connected or
 * not), else its application_name, else client_addr:client_port. Two slotless walsenders with the same name
 * get `#pid` appended (such ids change on reconnect: give each standby its own cluster_name or slot).
 */
export function nodeIds(rows: readonly WalSenderRow[]): string[] {
  const base = rows.map((r) => r.slot ?? (r.application_name || (r.client_addr !== null ? `${r.client_addr}:${r.client_port}` : `pid-${r.pid}`)));
  const count = new Map<string, number>();
  for (const id of base) count.set(id, (count.get(id) ?? 0) + 1);
  return rows.map((r, i) => (r.slot === null && count.get(base[i]!)! > 1 ? `${base[i]}#${r.pid}` : base[i]!));
}

/** `replay_lag` as passed on: a finite number of seconds ≥ 0, else undefined (NULL, stale, or nonsense). */
export function reportedDelay(seconds: unknown): number | undefined {
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

export function attributesOf(r: WalSenderRow): NodeAttributes {
  return {
    [ATTR_REPLICATION_SYSTEM]: 'postgresql',
    ...(r.client_addr !== null ? { [ATTR_SERVER_ADDRESS]: r.client_addr } : {}),
    ...(r.slot !== null ? { [ATTR_POSTGRESQL_REPLICATION_SLOT]: r.slot } : {}),
  };
}

