/**
 * What a replication slot keeps on the publisher, read with the slot in the poll query (PostgreSQL 13+ for
 * `wal_status` and `safe_wal_size`; read through `to_jsonb` so that older servers accept the query and simply report
 * no state and no safe size): the WAL it retains (`pg_current_wal_lsn() − restart_lsn`), how much more WAL may be
 * written before it may be invalidated (`safe_wal_size`, NULL when `max_slot_wal_keep_size = -1`), and its
 * `wal_status`. @internal
 */
import type { LogRetention, Position, RetentionState } from '../../types.ts';
import { RETENTION_STATES } from '../../retention.ts';

/** A slot's retention columns, as the poll query returns them (text: exact). */
export interface SlotRetentionRow {
  restart_lsn: string | null;
  wal_status: string | null;
  safe_wal_size: string | null;
}

/** The poll query's fields of a slot `s` (of `pg_replication_slots`) for `SlotRetentionRow`, in a json_build_object. */
export const SLOT_RETENTION_FIELDS = `'wal_status', to_jsonb(s) ->> 'wal_status',
                 'safe_wal_size', to_jsonb(s) ->> 'safe_wal_size'`;

/**
 * The slot's retention against the publisher's position `leaderSeq`: retained = `leaderSeq − restart_lsn` (0 when
 * restart_lsn is NULL: a lost slot, or one that never reserved WAL, holds none; 0 when restart_lsn is ahead),
 * `safeSize` from `safe_wal_size` (none when NULL: unlimited, or lost), `state` from `wal_status`.
 * Undefined for a row without a slot (a walsender that uses none).
 */
export function slotRetention(row: SlotRetentionRow, hasSlot: boolean, leaderSeq: Position, parseLsn: (text: string) => bigint): LogRetention | undefined {
  if (!hasSlot) return undefined;
  const restart = row.restart_lsn === null ? undefined : parseLsn(row.restart_lsn);
  const leader = BigInt(leaderSeq);
  const retained = restart === undefined || restart >= leader ? 0 : Number(leader - restart);
  const safe = row.safe_wal_size === null || row.safe_wal_size === undefined ? undefined : Number(row.safe_wal_size);
  const state = RETENTION_STATES.includes(row.wal_status as RetentionState) ? (row.wal_status as RetentionState) : undefined;
  return {
    retained,
    ...(safe !== undefined && Number.isFinite(safe) ? { safeSize: safe } : {}),
    ...(state !== undefined ? { state } : {}),
  };
}
