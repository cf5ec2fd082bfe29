/**
 * Subscribers of a PostgreSQL publisher (logical replication), read by `PostgresSource` when it is given their
 * URLs (`PostgresSourceOptions.subscribers`): each subscription of each subscriber is a follower, its position
 * the `latest_end_lsn` its apply worker last reported to the publisher (`pg_stat_subscription`), against the
 * publisher's `pg_current_wal_lsn()` of the same poll.
 *
 * Each subscriber is read over its own connection, in parallel with the publisher, and waited for at most
 * `SUBSCRIBER_WAIT_MS` (a `DeadlineReader`): a hung or stopped subscriber never delays the publisher's figures.
 * A subscription whose apply worker is not running (disabled, crashed) or whose subscriber cannot be read keeps
 * being reported at its last known position, so it turns stalled instead of vanishing. @internal
 */
import type { ConnectionOptions } from 'node:tls';
import {
  ATTR_DB_NAMESPACE, ATTR_POSTGRESQL_REPLICATION_SLOT, ATTR_POSTGRESQL_SUBSCRIPTION, ATTR_REPLICATION_SYSTEM, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT,
} from '../../semconv.ts';
import type { ApplyHealth, Position } from '../../types.ts';
import { DeadlineError, withDeadline } from '../kit/deadline.ts';
import { DeadlineReader } from '../kit/deadline-reader.ts';
import { LastKnownPositions, type NodeAttributes } from '../kit/last-known.ts';
import { urlForMessage } from '../kit/messages.ts';
import type { ReplicaPosition } from '../source.ts';
import type { SourceTlsOptions } from '../tls.ts';
import { PgConnection } from './connection.ts';
import { DEFAULT_PORT, pgHost, safeDecode } from './hosts.ts';
import { resolveTls } from './tls-policy.ts';

/** How long a poll waits for each subscriber, ms (the poll's `timeoutMs` when smaller). */
export const SUBSCRIBER_WAIT_MS = 1000;

/** One subscriber server, ready to connect to. Holds the password (in `url`): kept only in #private fields. */
export interface SubscriberServer {
  /** The URL pg gets: with the password, without TLS parameters. */
  readonly url: string;
  /** For messages: scheme://host:port/path. */
  readonly shown: string;
  /** Node TLS options, or undefined for plain TCP. */
  readonly tls: ConnectionOptions | undefined;
  /** The host as written in the URL (brackets removed), for node ids and `server.address`. */
  readonly host: string;
  readonly port: number;
}

/** One subscription, as the subscriber query returns it. */
interface SubscriptionRow {
  subname: string;
  slot: string | null;
  database: string | null;
  /** The main apply worker's pid; null when it does not run (disabled subscription, worker restarting). */
  pid: number | null;
  latest_end_lsn: string | null;
  /** `apply_error_count` of `pg_stat_subscription_stats` (PostgreSQL 15+; null before, or without a stats row). */
  apply_errors: string | null;
  /** `sync_error_count`, likewise. */
  sync_errors: string | null;
  /** Tables of the subscription per `srsubstate` letter of `pg_subscription_rel` (`{"r": 3, "d": 1}`). */
  tables: Record<string, number> | null;
}

/** `pg_subscription_rel.srsubstate` letters and the state names they are reported under. */
export const TABLE_STATES: Readonly<Record<string, string>> = Object.freeze({ i: 'init', d: 'copy', f: 'finished', s: 'synced', r: 'ready' });

/** The subscriber query's error and table columns; `withStats`: `pg_stat_subscription_stats` exists (PostgreSQL 15+). */
function healthColumns(withStats: boolean): string {
  const errors = withStats
    ? `(SELECT ss.apply_error_count::text FROM pg_stat_subscription_stats ss WHERE ss.subid = su.oid) AS apply_errors,
       (SELECT ss.sync_error_count::text FROM pg_stat_subscription_stats ss WHERE ss.subid = su.oid) AS sync_errors,`
    : `NULL::text AS apply_errors, NULL::text AS sync_errors,`;
  return `${errors}
       (SELECT json_object_agg(t.state, t.n) FROM (SELECT sr.srsubstate::text AS state, count(*)::int AS n
          FROM pg_subscription_rel sr WHERE sr.srsubid = su.oid GROUP BY sr.srsubstate) t) AS tables`;
}

/**
 * Every subscription of the subscriber's cluster (pg_subscription is shared by its databases), with its main apply
 * worker's row of `pg_stat_subscription` when one runs (`relid IS NULL`: not a table-sync worker; no `leader_pid`:
 * not a parallel apply worker of PostgreSQL 16+, read through `to_jsonb` so that older servers accept the query),
 * its error counts (`pg_stat_subscription_stats`, PostgreSQL 15+) and its tables per state (`pg_subscription_rel`).
 * All of it is readable by any role that may connect.
 */
const subscriberQuery = (withStats: boolean): string => `
SELECT su.subname,
       su.subslotname AS slot,
       d.datname AS database,
       st.pid,
       st.latest_end_lsn::text AS latest_end_lsn,
       ${healthColumns(withStats)}
  FROM pg_subscription su
  LEFT JOIN pg_database d ON d.oid = su.subdbid
  LEFT JOIN pg_stat_subscription st
         ON st.subid = su.oid AND st.relid IS NULL AND st.pid IS NOT NULL AND (to_jsonb(st) ->> 'leader_pid') IS NULL
 ORDER BY su.subname`;

/** What `Subscribers` needs from its `PostgresSource`. */
export interface SubscribersOptions {
  readonly servers: readonly SubscriberServer[];
  /** Bound on each read (connect + query), ms. */
  readonly timeoutMs: number;
  /** Turns an error into one naming `at` and the fix, without secrets (the source's own explanations). */
  readonly explain: (error: unknown, phase: string, at: string, budgetMs: number) => Error;
  readonly onReplicaError: ((replica: string, error: Error) => void) | undefined;
  readonly parseLsn: (text: string) => bigint;
}

/** The subscribers of one source: their connections, readers and last known positions. */
export class Subscribers {
  readonly #servers: readonly Subscriber[];
  readonly #readers: readonly DeadlineReader<SubscriptionRow[]>[];
  readonly #options: SubscribersOptions;
  readonly #waitMs: number;
  /** Per node id: the last known position and attributes (kept while the subscription exists or is unreadable). */
  readonly #known = new LastKnownPositions();

  constructor(options: SubscribersOptions) {
    this.#options = options;
    this.#servers = options.servers.map((s) => new Subscriber(s, options));
    this.#readers = options.servers.map(() => new DeadlineReader<SubscriptionRow[]>());
    this.#waitMs = Math.min(SUBSCRIBER_WAIT_MS, options.timeoutMs);
  }

  /** Starts a read of every subscriber (unless one is still in flight) and waits for each at most its deadline. Never rejects. */
  async wait(): Promise<void> {
    await Promise.all(this.#readers.map((reader, i) => reader.wait(() => this.#servers[i]!.read(), this.#waitMs)));
  }

  /**
   * The subscriptions' positions against `leaderSeq`, after `wait()`. An unreadable subscriber goes to
   * `onReplicaError` (named by its URL without credentials) and its subscriptions stay at their last known positions.
   */
  positions(leaderSeq: Position): ReplicaPosition[] {
    const out: ReplicaPosition[] = [];
    const known = this.#known;
    known.beginPoll();
    this.#readers.forEach((reader, i) => {
      const server = this.#servers[i]!;
      const { value, fresh, error, late } = reader.take();
      const prefix = `${server.server.host}:${server.server.port}/`;
      const ok = fresh && error === undefined;
      let failure: Error | undefined;
      if (error !== undefined) failure = error;
      else if (late && !fresh) failure = new Error(`${server.at}: did not answer within ${this.#waitMs} ms; its subscriptions are reported at their last known positions until it answers`);
      if (failure !== undefined) {
        try {
          this.#options.onReplicaError?.(server.server.shown, failure);
        } catch {
          // A throwing listener must not hide the other subscribers.
        }
      }
      if (!ok) {
        // Unreadable now: every subscription known of it stays where it was last seen.
        for (const id of known.knownIds((id) => id.startsWith(prefix))) {
          const seen = known.keep(id)!;
          out.push({ nodeId: id, leaderSeq, followerSeq: seen.followerSeq, attributes: seen.attributes });
        }
        return;
      }
      for (const row of value ?? []) {
        const nodeId = `${prefix}${row.subname}`;
        const before = known.get(nodeId);
        const running = row.pid !== null && row.latest_end_lsn !== null;
        const followerSeq = running ? this.#options.parseLsn(row.latest_end_lsn!) : before?.followerSeq;
        if (followerSeq === undefined) continue; // never seen running: no position to report yet
        const attributes: NodeAttributes = {
          [ATTR_REPLICATION_SYSTEM]: 'postgresql',
          [ATTR_SERVER_ADDRESS]: server.server.host,
          [ATTR_SERVER_PORT]: server.server.port,
          [ATTR_POSTGRESQL_SUBSCRIPTION]: row.subname,
          ...(row.slot !== null ? { [ATTR_POSTGRESQL_REPLICATION_SLOT]: row.slot } : {}),
          ...(row.database !== null ? { [ATTR_DB_NAMESPACE]: row.database } : {}),
        };
        known.record(nodeId, { followerSeq, attributes });
        out.push({ nodeId, leaderSeq, followerSeq, attributes, apply: applyHealth(row) });
      }
    });
    known.endPoll();
    return out;
  }

  /** Per subscription node id: whether its subscriber was read at the last poll. */
  readability(): ReadonlyMap<string, boolean> {
    return this.#known.readability();
  }

  /** Closes every subscriber's connection. Idempotent. */
  async close(): Promise<void> {
    await Promise.all(this.#servers.map((s) => s.close()));
  }
}

/** One subscriber's connection (a {@link PgConnection}), opened lazily and dropped after a failure. */
class Subscriber {
  readonly server: SubscriberServer;
  readonly at: string;
  readonly #options: SubscribersOptions;
  readonly #connection: PgConnection;
  /** The query for the server connected to (with error counts from PostgreSQL 15 on). */
  #query = subscriberQuery(false);

  constructor(server: SubscriberServer, options: SubscribersOptions) {
    this.server = server;
    this.at = `PostgreSQL subscriber ${server.shown}`;
    this.#options = options;
    this.#connection = new PgConnection(server, this.at, {
      afterConnect: async (client) => {
        const [row] = (await client.query<{ v: number }>("SELECT current_setting('server_version_num')::int AS v")).rows;
        this.#query = subscriberQuery((row?.v ?? 0) >= 150000);
      },
    });
  }

  /** The subscriptions, within `timeoutMs` (connect + query). @throws Error explained, without secrets. */
  async read(): Promise<SubscriptionRow[]> {
    const budgetMs = this.#options.timeoutMs;
    let phase = 'connecting';
    try {
      return await withDeadline(async () => {
        const client = await this.#connection.connect();
        phase = 'querying pg_stat_subscription';
        return (await client.query<SubscriptionRow>(this.#query)).rows;
      }, { timeoutMs: budgetMs, what: this.at });
    } catch (error) {
      this.#connection.discard();
      if (this.#connection.closed) throw new Error(`${this.at}: the source was closed during the poll`);
      if (error instanceof DeadlineError) {
        throw new Error(`${this.at}: no answer within ${budgetMs} ms while ${phase}: the subscriber is stopped, overloaded or unreachable (PostgresSourceOptions.timeoutMs)`);
      }
      throw this.#options.explain(error, phase, this.at, budgetMs);
    }
  }

  close(): Promise<void> {
    return this.#connection.close();
  }
}

/**
 * `PostgresSourceOptions.subscribers`, ready to connect to: one host per URL, TLS resolved per URL (as for the
 * publisher, with the source's `tls` minus its `servername`).
 * @throws TypeError / RangeError naming `PostgresSourceOptions.subscribers[i]`.
 */
export function subscriberServers(list: unknown, tls: SourceTlsOptions | undefined, password: string | undefined, option = 'PostgresSourceOptions.subscribers', role = 'subscriber'): SubscriberServer[] {
  if (!Array.isArray(list)) throw new TypeError(`${option} must be an array of postgres:// URLs, got ${typeof list}`);
  const { servername: _publisherName, ...shared } = tls ?? {};
  const seen = new Set<string>();
  return list.map((text: unknown, i) => {
    const opt = `${option}[${i}]`;
    if (typeof text !== 'string') throw new TypeError(`${opt} must be a postgres:// URL string, got ${typeof text}`);
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new RangeError(`${opt} must be a postgres:// URL, got a string that does not parse as a URL (not shown: it may hold a password)`);
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new RangeError(`${opt} must be a postgres:// or postgresql:// URL, got "${urlForMessage(url)}"`);
    if (url.hostname === '') throw new RangeError(`${opt} must name the ${role}'s host (one host:port), got "${urlForMessage(url)}"`);
    const host = safeDecode(url.hostname.replace(/^\[(.*)\]$/, '$1'));
    const port = url.port === '' ? DEFAULT_PORT : Number(url.port);
    if (seen.has(`${host}:${port}`)) throw new RangeError(`${opt}: ${host}:${port} is already listed${role === 'subscriber' ? " (a server's subscriptions are read once, from any of its databases)" : ''}`);
    seen.add(`${host}:${port}`);
    const effective = resolveTls(url.searchParams, tls === undefined ? undefined : shared, process.env.PGSSLMODE, opt);
    return { ...pgHost(url, effective, password), host, port };
  });
}


/**
 * A subscription's apply health: `errors` {apply, sync} from `pg_stat_subscription_stats` (omitted before PostgreSQL
 * 15, or while the statistics have no row for it), `tables` with every state of `TABLE_STATES` (0 when none).
 */
export function applyHealth(row: Pick<SubscriptionRow, 'apply_errors' | 'sync_errors' | 'tables'>): ApplyHealth {
  const count = (text: string | null): number | undefined => {
    const n = text === null || text === undefined ? Number.NaN : Number(text);
    return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
  };
  const apply = count(row.apply_errors);
  const sync = count(row.sync_errors);
  const tables: Record<string, number> = {};
  for (const name of Object.values(TABLE_STATES)) tables[name] = 0;
  for (const [letter, n] of Object.entries(row.tables ?? {})) {
    const name = TABLE_STATES[letter];
    if (name !== undefined && Number.isSafeInteger(n) && n >= 0) tables[name] = n;
  }
  return { ...(apply !== undefined && sync !== undefined ? { errors: { apply, sync } } : {}), tables };
}
