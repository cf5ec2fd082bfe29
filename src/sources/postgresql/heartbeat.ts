/**
 * The PostgreSQL heartbeat (`PostgresSourceOptions.heartbeat`): a row per heartbeat name in a table of the primary
 * (`CREATE TABLE IF NOT EXISTS`, in the URL's database, first schema of the search path unless the table is
 * schema-qualified), written every interval over a connection of its own, and read on each standby
 * (`PostgresSourceOptions.standbys`) over its own connection, waited for at most 1 s per poll (a `DeadlineReader`).
 *
 * A standby is reported under the node id of its `pg_stat_replication` row: the row whose physical slot is the
 * standby's `primary_slot_name`, else the one whose `application_name` is the standby walreceiver's (the
 * `application_name` of its `primary_conninfo`, else its `cluster_name`, else `walreceiver`). @internal
 */
import type pg from 'pg';
import { DeadlineError, withDeadline } from '../kit/deadline.ts';
import { DeadlineReader } from '../kit/deadline-reader.ts';
import { heartbeatDelaySeconds, type HeartbeatSettings } from '../kit/heartbeat.ts';
import { PgConnection } from './connection.ts';
import type { SubscriberServer } from './subscriber.ts';

/** How long a poll waits for each standby, ms (the poll's `timeoutMs` when smaller). */
export const STANDBY_WAIT_MS = 1000;

/** The statement that creates the heartbeat table (what the user runs when the monitor may not). */
export function pgHeartbeatTableSql(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (name text PRIMARY KEY, written_ms bigint NOT NULL)`;
}

/** The grants the monitoring role needs on the heartbeat table. */
export function pgHeartbeatGrantSql(table: string, role: string): string {
  return `GRANT SELECT, INSERT, UPDATE ON ${table} TO ${role}`;
}

function sqlState(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/**
 * Writes `nowMs` as heartbeat `settings.name` on the primary. On the first call, creates the table when it is
 * missing (`CREATE TABLE IF NOT EXISTS`), or fails with the statement to run when the role may not.
 * @throws Error naming `at` and the statement or grant that fixes it.
 */
export async function writePgHeartbeat(client: pg.Client, settings: HeartbeatSettings, nowMs: number, first: boolean, at: string): Promise<void> {
  const table = settings.target;
  if (first) {
    const { rows } = await client.query<{ present: boolean; role: string }>('SELECT to_regclass($1) IS NOT NULL AS present, quote_ident(current_user) AS role', [table]);
    const role = rows[0]?.role ?? '<role>';
    if (rows[0]?.present !== true) {
      try {
        await client.query(pgHeartbeatTableSql(table));
      } catch (error) {
        const code = sqlState(error);
        if (code === '42501' || code === '3F000' || code === '25006') {
          throw new Error(
            `${at}: the heartbeat table ${table} is missing and role ${role} may not create it (${(error as Error).message}): ` +
              `run as its owner "${pgHeartbeatTableSql(table)}; ${pgHeartbeatGrantSql(table, role)};" on the primary`,
          );
        }
        throw error;
      }
    }
  }
  try {
    await client.query(`INSERT INTO ${table} (name, written_ms) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET written_ms = EXCLUDED.written_ms`, [settings.name, nowMs]);
  } catch (error) {
    if (sqlState(error) === '42501') {
      const { rows } = await client.query<{ role: string }>('SELECT quote_ident(current_user) AS role');
      throw new Error(`${at}: the monitoring role may not write the heartbeat table ${table} (${(error as Error).message}): run "${pgHeartbeatGrantSql(table, rows[0]?.role ?? '<role>')};" on the primary`);
    }
    throw error;
  }
}

/** What a standby says at a poll: who it is to the primary, and the newest heartbeat it has applied. */
interface StandbyRead {
  /** `primary_slot_name` (empty: none). */
  readonly slot: string;
  /** The application_name its walreceiver connects with. */
  readonly applicationName: string;
  /** The heartbeat's `written_ms`, undefined when the standby has none (yet) of this name. */
  readonly shownMs: number | undefined;
  /** The newest heartbeat written when this read started. */
  readonly writtenMs: number | undefined;
}

/** Who a standby is to the primary: `primary_slot_name`, the walreceiver's conninfo, `cluster_name`. */
const STANDBY_IDENTITY_QUERY = `
SELECT pg_is_in_recovery() AS in_recovery,
       coalesce(current_setting('primary_slot_name', true), '') AS slot,
       current_setting('cluster_name') AS cluster_name,
       (SELECT conninfo FROM pg_stat_wal_receiver) AS conninfo`;

/** `application_name` (else `fallback_application_name`) of a conninfo string, as libpq parses `key=value` pairs. */
export function applicationNameOf(conninfo: string | null): string | undefined {
  if (conninfo === null) return undefined;
  const find = (key: string) => {
    const m = new RegExp(`(?:^|\\s)${key}\\s*=\\s*('(?:[^'\\\\]|\\\\.)*'|\\S+)`).exec(conninfo);
    if (m === null) return undefined;
    const v = m[1]!;
    return v.startsWith("'") ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v;
  };
  return find('application_name') ?? find('fallback_application_name');
}

/** A walsender row of the primary, as standbys are matched to it. */
export interface StandbyRow {
  readonly nodeId: string;
  readonly slot: string | null;
  readonly applicationName: string | null;
  /** Whether a walsender serves it now (a slot-only row has none). */
  readonly connected: boolean;
}

/** Options of `PgStandbys`. */
export interface PgStandbysOptions {
  readonly servers: readonly SubscriberServer[];
  readonly settings: HeartbeatSettings;
  /** Bound on each read (connect + queries), ms. */
  readonly timeoutMs: number;
  readonly explain: (error: unknown, phase: string, at: string, budgetMs: number) => Error;
  readonly onReplicaError: ((replica: string, error: Error) => void) | undefined;
  /** The newest heartbeat written (the writer's `writtenMs`), read when a standby read starts. */
  readonly writtenMs: () => number | undefined;
}

/** The standbys of one source: a connection and reader each, read at every poll for their heartbeat. */
export class PgStandbys {
  readonly #options: PgStandbysOptions;
  readonly #connections: readonly PgConnection[];
  readonly #readers: readonly DeadlineReader<StandbyRead>[];
  /** Per standby: its identity, read once per connection. */
  readonly #waitMs: number;

  constructor(options: PgStandbysOptions) {
    this.#options = options;
    this.#connections = options.servers.map((s) => new PgConnection(s, `PostgreSQL standby ${s.shown}`));
    this.#readers = options.servers.map(() => new DeadlineReader<StandbyRead>());
    this.#waitMs = Math.min(STANDBY_WAIT_MS, options.timeoutMs);
  }

  /** Starts a read of every standby (unless one is in flight) and waits for each at most its deadline. Never rejects. */
  async wait(): Promise<void> {
    await Promise.all(this.#readers.map((reader, i) => reader.wait(() => this.#read(this.#connections[i]!), this.#waitMs)));
  }

  /**
   * Per node id of `rows`: the heartbeat delay of the standby matched to it, from reads fresh at this poll. A standby
   * that cannot be read, or matches no row, goes to `onReplicaError` (by its URL without credentials).
   */
  delays(rows: readonly StandbyRow[]): Map<string, number> {
    const out = new Map<string, number>();
    this.#readers.forEach((reader, i) => {
      const connection = this.#connections[i]!;
      const { value, fresh, error, late } = reader.take();
      let failure: Error | undefined = error;
      if (failure === undefined && late && !fresh) failure = new Error(`${connection.at}: did not answer within ${this.#waitMs} ms; no heartbeat delay for it until it answers`);
      if (failure === undefined && value !== undefined && fresh) {
        const nodeId = matchStandby(value, rows);
        if (nodeId === undefined) {
          failure = new Error(
            `${connection.at}: matches no standby of the primary's pg_stat_replication (its primary_slot_name "${value.slot}", application_name "${value.applicationName}"): ` +
              'give each standby its own cluster_name (or application_name in primary_conninfo) or physical slot',
          );
        } else {
          const delay = heartbeatDelaySeconds(value.writtenMs, value.shownMs);
          if (delay !== undefined) out.set(nodeId, delay);
        }
      }
      if (failure !== undefined) {
        try {
          this.#options.onReplicaError?.(connection.server.shown, failure);
        } catch {
          // A throwing listener must not hide the other standbys.
        }
      }
    });
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.#connections.map((c) => c.close()));
  }

  async #read(connection: PgConnection): Promise<StandbyRead> {
    const budgetMs = this.#options.timeoutMs;
    const writtenMs = this.#options.writtenMs();
    const table = this.#options.settings.target;
    let phase = 'connecting';
    try {
      return await withDeadline(async () => {
        const client = await connection.connect();
        phase = 'reading its identity';
        const id = (await client.query<{ in_recovery: boolean; slot: string; cluster_name: string; conninfo: string | null }>(STANDBY_IDENTITY_QUERY)).rows[0];
        if (id === undefined) throw new Error('the identity query returned no row');
        if (!id.in_recovery) throw new Error(`${connection.at} is not a standby (pg_is_in_recovery() is false): list only standbys in PostgresSourceOptions.standbys`);
        phase = `reading the heartbeat table ${table}`;
        let shownMs: number | undefined;
        try {
          const row = (await client.query<{ written_ms: string }>(`SELECT written_ms::text AS written_ms FROM ${table} WHERE name = $1`, [this.#options.settings.name])).rows[0];
          shownMs = row === undefined ? undefined : Number(row.written_ms);
        } catch (error) {
          if (sqlState(error) === '42P01') shownMs = undefined; // not replayed here yet
          else if (sqlState(error) === '42501') throw new Error(`${connection.at}: the monitoring role may not read the heartbeat table ${table} (${(error as Error).message}): run "GRANT SELECT ON ${table} TO <role>;" on the primary`);
          else throw error;
        }
        const applicationName = applicationNameOf(id.conninfo) ?? (id.cluster_name !== '' ? id.cluster_name : 'walreceiver');
        return { slot: id.slot, applicationName, shownMs, writtenMs };
      }, { timeoutMs: budgetMs, what: connection.at });
    } catch (error) {
      connection.discard();
      if (connection.closed) throw new Error(`${connection.at}: the source was closed during the poll`);
      if (error instanceof DeadlineError) {
        throw new Error(`${connection.at}: no answer within ${budgetMs} ms while ${phase}: the standby is stopped, overloaded or unreachable (PostgresSourceOptions.timeoutMs)`);
      }
      throw this.#options.explain(error, phase, connection.at, budgetMs);
    }
  }
}

/** The node id of the row a standby is: by its slot, else by a unique application_name among connected rows. */
function matchStandby(read: StandbyRead, rows: readonly StandbyRow[]): string | undefined {
  if (read.slot !== '') {
    const bySlot = rows.find((r) => r.slot === read.slot);
    if (bySlot !== undefined) return bySlot.nodeId;
  }
  const byName = rows.filter((r) => r.connected && r.applicationName === read.applicationName);
  return byName.length === 1 ? byName[0]!.nodeId : undefined;
}
