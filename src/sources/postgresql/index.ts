/**
 * PostgreSQL streaming replication, read from the primary: every standby's applied position against the
 * primary's current WAL position, in one query per poll over one lazily opened connection.
 *
 * Positions are LSNs as bigint bytes of WAL. A standby that uses a physical replication slot keeps being
 * reported (frozen) while it is disconnected, so a stopped standby shows up as stalled instead of vanishing.
 *
 * Several hosts (a libpq multi-host URL, `postgres://u@db1:5432,db2:5432/postgres`, which pg itself does not
 * support): the source keeps its connection while it reaches a primary; otherwise it tries the hosts in order, each
 * within an equal share of what is left of the poll's `timeoutMs`, and keeps the first that is not in recovery. A
 * kept connection that fails or finds a standby (after a failover) is dropped and the hosts searched again, once,
 * in the same poll. So the source follows the primary across a failover (Patroni, repmgr, pg_auto_failover).
 *
 * TLS: the source decides it (the `tls` option, the URL's TLS parameters, PGSSLMODE; see
 * `PostgresSourceOptions.tls`) and always hands pg an explicit `ssl` and a URL without TLS parameters, because pg
 * lets any TLS parameter of the URL replace the whole `ssl` option (`sslmode=verify-ca` drops its `ca`,
 * `uselibpqcompat=true&sslmode=require` or `sslmode=no-verify` turn verification off, `ssl=false` means TLS).
 * With several hosts the same TLS applies to each, its certificate checked against the host connected to.
 */
import { readFileSync } from 'node:fs';
import { checkServerIdentity, type ConnectionOptions } from 'node:tls';
import pg from 'pg';
import type { Position } from '../../types.ts';
import type { ReplicaPosition, ReplicationSource } from '../source.ts';
import { describeTlsError, isClientCertificateAlert, nodeTlsOptions, validateTlsOptions, type SourceTlsOptions } from '../tls.ts';
import { LOGICAL_SLOTS_COLUMN, logicalReplicas, type LogicalSlotRow } from './logical.ts';
import { Subscribers, type SubscriberServer } from './subscriber.ts';

/** Options of `PostgresSource`. */
export interface PostgresSourceOptions {
  /**
   * postgres:// or postgresql:// URL of the PRIMARY: user, host, port, database (password may be in it).
   *
   * Or, as libpq takes it, of every node that may be the primary: `host[:port]` separated by commas
   * (`postgres://monitor@db1:5432,db2:5432,[fd00::3]/postgres`), a missing port meaning 5432 (not PGPORT, nor a
   * `port=` parameter: `host=` and `port=` parameters are a RangeError with several hosts). Each poll uses the
   * primary found before while it still is one, else the first host in order that is a primary (see the class).
   * `target_session_attrs` (with one host or several): `read-write`, `primary` and `any` all mean the primary,
   * since only a primary reports its standbys; `read-only`, `standby`, `prefer-standby` or any other value is a
   * RangeError. An empty host, a port outside 1..65535 or an IPv6 address without brackets is a RangeError.
   */
  url: string;
  /** Password when not in the URL (the CLI passes PGPASSWORD here). */
  password?: string;
  /** Bound on each poll (connect + query), ms. Default 5000. With several hosts: on the whole search, shared among them. */
  timeoutMs?: number;
  /**
   * TLS to the primary (PEM text; `replag --tls-*`). Given, the source connects with TLS and verifies the server's
   * certificate chain (against `ca`, else Node's roots) and name (`servername`, else the URL's host) unless
   * `rejectUnauthorized: false`. (pg sends the URL's host as SNI when it is a name; `servername` is what is checked.)
   *
   * The URL and PGSSLMODE follow one rule: they can switch TLS on or off, never switch verification off.
   * - `sslmode=require`, `verify-ca`, `verify-full`, also `prefer` and `allow` (and `ssl=true`,
   *   `sslnegotiation=direct`): TLS, verified as above, with or without `tls` (without: against Node's roots).
   *   That is stricter than libpq, as pg 8 is: `require`/`verify-ca` check the name too, and `prefer`/`allow`
   *   never fall back to an unencrypted connection (a server without TLS fails the poll, saying so).
   * - `sslrootcert`, `sslcert`, `sslkey`: files, read by the constructor, taken as `tls.ca`, `cert`, `key` (TLS);
   *   the same field given both ways is a RangeError. `sslrootcert=system` means Node's roots.
   * - `sslmode=disable` (or `ssl=false`/`ssl=0`): no TLS. With `tls` or certificate files: a RangeError.
   * - `sslmode=no-verify`, `ssl=no-verify` (pg's way to skip verification) or an unknown `sslmode`: a RangeError;
   *   encrypting without verifying takes `tls: { rejectUnauthorized: false }` (`replag --tls-insecure`).
   * - `uselibpqcompat` is ignored (its libpq meaning of `require` would skip verification).
   * - When neither `tls` nor the URL says anything about TLS: `PGSSLMODE` from the environment (read by the
   *   constructor, as pg would), with the same meanings.
   * - None of these: a plain TCP connection.
   */
  tls?: SourceTlsOptions;
  /**
   * Report every logical replication slot of the primary as a follower too (subscriptions, Debezium and other
   * CDC consumers; see `logical.ts`). Default true.
   */
  logicalSlots?: boolean;
  /**
   * postgres:// URLs of subscriber databases (one host each): every subscription of each is reported as a follower,
   * node id `host:port/subname`, at the `latest_end_lsn` of `pg_stat_subscription` (see `subscriber.ts`).
   * Password from the URL, else `password`; TLS by the same rules and `tls` option as the publisher (without its
   * `servername`). Each poll reads them in parallel with the publisher and waits for each at most 1 s (`timeoutMs`
   * when smaller): one that has not answered, is down, or whose apply worker does not run stays at its last known
   * position (so it turns stalled).
   */
  subscribers?: string[];
  /**
   * Called at each poll for each subscriber that could not be read (its redacted URL, the error, never a password).
   * Without it such a failure only shows in `replicaReadability()` and the subscription turning stalled: a subscriber
   * never fails the poll.
   */
  onReplicaError?: (replica: string, error: Error) => void;
}

const DEFAULT_TIMEOUT_MS = 5000;
/** libpq's port, for a host listed without one in a multi-host URL. */
const DEFAULT_PORT = 5432;
/** A URL split into scheme with `//`, authority (user info and hosts), and the rest (path, query, fragment). */
const URL_PARTS = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/s;
/** One `host[:port]` of a host list: a name or IPv4 address, or an IPv6 address in brackets. */
const HOST_ENTRY = /^(\[[^\][]*\]|[^:[\]]*)(?::([^:]*))?$/;
/** target_session_attrs values that ask for a primary (`any` taken as primary: only a primary can be polled). */
const PRIMARY_SESSION_ATTRS = ['read-write', 'primary', 'any'];
/** target_session_attrs values of libpq that ask for a standby. */
const STANDBY_SESSION_ATTRS = ['read-only', 'standby', 'prefer-standby'];
/** How long close() waits for a polite goodbye before destroying the socket. */
const CLOSE_GRACE_MS = 250;
const LSN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;
/** URL parameters pg would turn into its `ssl` option: decided here, removed from the URL pg gets. */
const URL_TLS_PARAMETERS = ['sslmode', 'ssl', 'sslrootcert', 'sslcert', 'sslkey', 'uselibpqcompat'] as const;
/** URL parameters naming PEM files, and the `SourceTlsOptions` field each one fills. */
const URL_TLS_FILES = [['sslrootcert', 'ca'], ['sslcert', 'cert'], ['sslkey', 'key']] as const;
const INSECURE_HINT = "the source verifies the server's certificate whenever it uses TLS; to encrypt without verifying, pass tls: { rejectUnauthorized: false } (replag --tls-insecure)";
const NEEDS_TLS_HINT = 'the server accepts this user from here only over TLS: connect with TLS (PostgresSourceOptions.tls, replag --tls-ca FILE for a private CA, or sslmode=verify-full in the URL)';

/**
 * The LSN written as PostgreSQL prints it, `X/Y` (two hexadecimal numbers of up to 8 digits), as a byte
 * position: `(X << 32) | Y`. Exact over the whole 64-bit range.
 * @throws RangeError when `text` is not an LSN.
 */
export function parseLsn(text: string): bigint {
  if (typeof text !== 'string') throw new TypeError(`parseLsn: expected a string like "16/B374D848", got ${typeof text}`);
  const m = LSN.exec(text);
  if (m === null) throw new RangeError(`parseLsn: ${JSON.stringify(text.slice(0, 40))} is not an LSN like "16/B374D848"`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

/** One walsender and/or physical slot, as the poll query returns it. */
interface WalSenderRow {
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

interface ServerRow {
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
const POLL_QUERY = `
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
                 'replay_lag', CASE WHEN (to_jsonb(r) ->> 'reply_time')::timestamptz >= clock_timestamp() - interval '${REPLY_FRESH_SECONDS} seconds'
                                    THEN extract(epoch FROM r.replay_lag)::float8 END)), '[]')
          FROM pg_stat_replication r
          FULL JOIN pg_replication_slots s ON s.active_pid = r.pid
         WHERE coalesce(s.slot_type, 'physical') = 'physical'
           AND coalesce(r.state, '') <> 'backup') AS replicas,${LOGICAL_SLOTS_COLUMN}`;

type Attributes = Readonly<Record<string, string | number | boolean>>;

/** What the source remembers of a replica it reported, so a disconnected one keeps its position and attributes. */
interface Seen {
  followerSeq: Position;
  attributes: Attributes;
}

/** One host of the URL, as pg gets it. Holds the password: kept only in #private fields. */
interface PgHost {
  /** The URL naming this host alone, with the password and without TLS parameters. */
  readonly url: string;
  /** Redacted, for messages: protocol//host:port/path. */
  readonly shown: string;
  /** Node TLS options checking this host's name, or undefined for plain TCP. */
  readonly tls: ConnectionOptions | undefined;
}

/** A primary found among the hosts, and its answer to the poll query. */
interface Found {
  readonly host: PgHost;
  readonly row: ServerRow;
}

/**
 * Reads replication positions from a PostgreSQL primary (PostgreSQL 10 or later).
 *
 * Per standby: `leaderSeq` is the primary's `pg_current_wal_lsn()`, `followerSeq` the standby's `replay_lsn`
 * in `pg_stat_replication` (what its readers see), `reportedDelaySeconds` its `replay_lag` when not NULL and the
 * standby's last reply is at most 2 s old (omitted for a slot without a walsender). Node id: the physical slot's name when the standby uses
 * one, else its `application_name`. Needs a role with `pg_monitor` (or `pg_read_all_stats`).
 *
 * With several hosts in the URL, a poll queries the connection it keeps while that still reaches a primary
 * (bounded by a share of `timeoutMs`); otherwise, or when it finds a standby there, it drops it and tries the hosts
 * in URL order, each bounded by an equal share of the time left, keeping the first primary. No primary: an error
 * listing every host and why it was not used. The positions are the same as with one host (no new attributes).
 */
export class PostgresSource implements ReplicationSource {
  readonly name = 'postgresql';
  /** The hosts, with the password in their URLs: a #private field, so that console.log never shows it. */
  readonly #hosts: readonly PgHost[];
  /** The host `client` is connected (or connecting) to. */
  #current: PgHost | undefined;
  private readonly timeoutMs: number;
  /** Redacted URL, for messages: protocol//host:port[,host:port…]/path. */
  private readonly server: string;
  /** Strings that must never appear in an error message. */
  readonly #secrets: string[];
  /** Whether the source connects with TLS. */
  private readonly tlsOn: boolean;
  /** Whether a client certificate is sent, for messages. */
  private readonly clientCertificate: boolean;
  private client: pg.Client | undefined;
  private connected: Promise<void> | undefined;
  private seen = new Map<string, Seen>();
  private readonly logicalSlots: boolean;
  private inFlight: Promise<readonly ReplicaPosition[]> | undefined;
  /** The subscribers to read beside the publisher, and the publisher's position at the last poll. */
  readonly #subscribers: Subscribers | undefined;
  #leaderSeq: Position = 0n;
  private closing: Promise<void> | undefined;

  /**
   * @throws TypeError / RangeError naming the invalid option. No network I/O; the only files read are the
   * certificate files a URL names (sslrootcert, sslcert, sslkey).
   */
  constructor(options: PostgresSourceOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('PostgresSourceOptions must be an object with a url');
    const { url, password, timeoutMs = DEFAULT_TIMEOUT_MS } = options;
    const tls = validateTlsOptions(options.tls, 'PostgresSourceOptions.tls');
    if (typeof url !== 'string') throw new TypeError(`PostgresSourceOptions.url must be a postgres:// URL string, got ${typeof url}`);
    const urls = urlPerHost(url);
    const parsed = urls[0]!;
    if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
      throw new RangeError(`PostgresSourceOptions.url must be a postgres:// or postgresql:// URL, got "${redactAll(urls)}"`);
    }
    if (parsed.hostname === '' && !parsed.searchParams.has('host')) {
      throw new RangeError(`PostgresSourceOptions.url must name the primary's host, got "${redact(parsed)}"`);
    }
    if (urls.length > 1) checkMultiHostParameters(parsed.searchParams);
    checkSessionAttrs(parsed.searchParams);
    if (password !== undefined && typeof password !== 'string') {
      throw new TypeError(`PostgresSourceOptions.password must be a string, got ${typeof password}`);
    }
    if (typeof timeoutMs !== 'number') throw new TypeError(`PostgresSourceOptions.timeoutMs must be a number of milliseconds, got ${typeof timeoutMs}`);
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > 2_147_483_647) {
      throw new RangeError(`PostgresSourceOptions.timeoutMs must be an integer in 1..2147483647 (ms), got ${timeoutMs}`);
    }
    this.server = redactAll(urls);
    const effective = resolveTls(parsed.searchParams, tls, process.env.PGSSLMODE);
    this.tlsOn = effective !== undefined;
    this.clientCertificate = effective?.cert !== undefined;
    this.#secrets = [password, parsed.password, safeDecode(parsed.password), effective?.key].filter((s): s is string => typeof s === 'string' && s !== '');
    this.#hosts = urls.map((u) => pgHost(u, effective, password));
    this.timeoutMs = timeoutMs;
    if (options.logicalSlots !== undefined && typeof options.logicalSlots !== 'boolean') {
      throw new TypeError(`PostgresSourceOptions.logicalSlots must be a boolean, got ${typeof options.logicalSlots}`);
    }
    this.logicalSlots = options.logicalSlots ?? true;
    const { subscribers, onReplicaError } = options;
    if (onReplicaError !== undefined && typeof onReplicaError !== 'function') throw new TypeError(`PostgresSourceOptions.onReplicaError must be a function, got ${typeof onReplicaError}`);
    if (subscribers !== undefined) {
      const servers = subscriberServers(subscribers, tls, password, this.#secrets);
      const explain = (error: unknown, phase: string, at: string, budgetMs: number) => this.explain(error, phase, at, budgetMs);
      this.#subscribers = new Subscribers({ servers, timeoutMs, explain, onReplicaError, parseLsn });
    }
  }

  /**
   * Positions of every standby, sorted by node id. Connects on first use and after a failure (with several
   * hosts: to the first primary among them); bounded by `timeoutMs`. Concurrent calls share one query.
   * @throws Error naming the server and the fix (privilege, password, standby instead of primary, timeout); with
   * several hosts and no primary among them, naming each host and why it was not used.
   */
  async poll(): Promise<readonly ReplicaPosition[]> {
    if (this.closing !== undefined) throw new Error(`PostgreSQL primary ${this.server}: the source is closed`);
    this.inFlight ??= this.pollAll().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  /** The publisher and, in parallel (each within its deadline), the subscribers. */
  private async pollAll(): Promise<readonly ReplicaPosition[]> {
    const subscribers = this.#subscribers;
    if (subscribers === undefined) return this.pollOnce();
    const [published] = await Promise.all([this.pollOnce(), subscribers.wait()]);
    return [...published, ...subscribers.positions(this.#leaderSeq)].sort((x, y) => (x.nodeId < y.nodeId ? -1 : x.nodeId > y.nodeId ? 1 : 0));
  }

  /** Per subscription node id (with `subscribers`): whether its subscriber was read at the last poll. */
  replicaReadability(): ReadonlyMap<string, boolean> {
    return this.#subscribers?.readability() ?? new Map();
  }

  private async pollOnce(): Promise<readonly ReplicaPosition[]> {
    if (this.#hosts.length > 1) return this.pollHosts();
    const at = `PostgreSQL primary ${this.server}`;
    const row = await this.query(this.#hosts[0]!, this.timeoutMs, at);
    return this.positionsOrDrop(row, at);
  }

  /** Several hosts: the kept connection while it reaches a primary, else the first primary in URL order. */
  private async pollHosts(): Promise<readonly ReplicaPosition[]> {
    const deadline = Date.now() + this.timeoutMs;
    const { host, row } = (await this.queryKept(deadline)) ?? (await this.search(deadline));
    return this.positionsOrDrop(row, `PostgreSQL primary ${host.shown}`);
  }

  /**
   * The poll row over the kept connection, within a share of the time left, when it is still to a primary. Else
   * (none kept, it failed, or the server is now a standby) drops it and returns undefined.
   */
  private async queryKept(deadline: number): Promise<Found | undefined> {
    const host = this.#current;
    if (this.client === undefined || host === undefined) return undefined;
    const budgetMs = Math.max(1, Math.floor((deadline - Date.now()) / (this.#hosts.length + 1)));
    try {
      const row = await this.query(host, budgetMs, host.shown);
      if (!row.in_recovery) return { host, row };
    } catch {
      if (this.closing !== undefined) throw this.closedDuringPoll();
    }
    this.discard();
    return undefined;
  }

  /**
   * Tries the hosts in URL order, each within an equal share of the time left until `deadline`, and keeps the
   * connection to the first that is not in recovery. @throws Error listing every host and why it was not used.
   */
  private async search(deadline: number): Promise<Found> {
    const hosts = this.#hosts;
    const reasons: string[] = [];
    for (const [i, host] of hosts.entries()) {
      if (this.closing !== undefined) throw this.closedDuringPoll();
      const leftMs = deadline - Date.now();
      if (leftMs < 1) {
        for (const skipped of hosts.slice(i)) reasons.push(`${skipped.shown}: not tried, timeoutMs (${this.timeoutMs} ms) spent`);
        break;
      }
      try {
        const row = await this.query(host, Math.max(1, Math.floor(leftMs / (hosts.length - i))), host.shown);
        if (!row.in_recovery) return { host, row };
        reasons.push(`${host.shown} is a standby (pg_is_in_recovery() is true)`);
      } catch (error) {
        if (this.closing !== undefined) throw this.closedDuringPoll();
        reasons.push((error as Error).message);
      }
      this.discard();
    }
    throw new Error(this.scrub(`PostgreSQL primary ${this.server}: no primary among the ${hosts.length} hosts (tried in order within timeoutMs ${this.timeoutMs} ms): ${reasons.join('; ')}`));
  }

  /**
   * Runs the poll query on `host` within `budgetMs`, over the kept connection or a new one (kept for later polls).
   * @throws Error explained with `at` (the connection is dropped).
   */
  private async query(host: PgHost, budgetMs: number, at: string): Promise<ServerRow> {
    let phase = 'connecting';
    let timer: NodeJS.Timeout | undefined;
    const work = (async () => {
      const client = await this.connect(host);
      phase = 'querying pg_stat_replication';
      const row = (await client.query<ServerRow>(POLL_QUERY)).rows[0];
      if (row === undefined) throw new Error('the status query returned no row');
      return row;
    })();
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError()), budgetMs);
    });
    try {
      return await Promise.race([work, deadline]);
    } catch (error) {
      work.catch(() => {}); // settles once the socket is destroyed
      this.discard();
      throw this.explain(error, phase, at, budgetMs);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The positions in `row`; on an error (a standby, a missing privilege) drops the connection and explains it. */
  private positionsOrDrop(row: ServerRow, at: string): ReplicaPosition[] {
    try {
      return this.positions(row, at);
    } catch (error) {
      this.discard();
      throw this.explain(error, 'querying pg_stat_replication', at, this.timeoutMs);
    }
  }

  /** Closes the connection (politely, then by force). Idempotent; `poll()` rejects afterwards. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const subscribers = this.#subscribers?.close();
      await this.closePublisher();
      await subscribers;
    })();
    return this.closing;
  }

  private async closePublisher(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.connected = undefined;
    this.#current = undefined;
    if (client === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([client.end().catch(() => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))]);
    clearTimeout(timer);
    client.connection.stream.destroy();
  }

  /** The kept client when it is to `host`, else a new one to `host` (replacing any other). */
  private connect(host: PgHost): Promise<pg.Client> {
    if (this.client !== undefined && this.connected !== undefined && this.#current === host) {
      const client = this.client;
      return this.connected.then(() => client);
    }
    this.discard();
    // ssl is always explicit (false included): pg would otherwise fall back to PGSSLMODE / pg.defaults.ssl.
    const ssl = host.tls === undefined ? false : { ...host.tls };
    const client = new pg.Client({ connectionString: host.url, application_name: 'otel-replication-lag', ssl });
    const lost = () => {
      if (this.client === client) this.discard();
    };
    client.on('error', lost);
    client.on('end', lost);
    this.client = client;
    this.#current = host;
    this.connected = client.connect().then(() => undefined);
    return this.connected.then(() => client);
  }

  /** Drops the connection at once (after a failure); the next poll reconnects. */
  private discard(): void {
    const client = this.client;
    this.client = undefined;
    this.connected = undefined;
    this.#current = undefined;
    client?.connection.stream.destroy();
  }

  private closedDuringPoll(): Error {
    return new Error(`PostgreSQL primary ${this.server}: the source was closed during the poll`);
  }

  private positions(row: ServerRow, at: string): ReplicaPosition[] {
    if (row.in_recovery) {
      throw new Error(`${at} is a standby (pg_is_in_recovery() is true): point PostgresSourceOptions.url at the primary, which reports every standby`);
    }
    if (!row.can_read_stats) {
      throw new Error(
        `${at}: role ${row.role} cannot read the standbys' positions (pg_stat_replication hides them without pg_read_all_stats): ` +
          `run "GRANT pg_monitor TO ${row.role};" on the primary as a superuser`,
      );
    }
    if (row.current_lsn === null) throw new Error('pg_current_wal_lsn() returned NULL');
    const leaderSeq = parseLsn(row.current_lsn);
    this.#leaderSeq = leaderSeq;
    const ids = nodeIds(row.replicas);
    const seen = new Map<string, Seen>();
    const out: ReplicaPosition[] = [];
    row.replicas.forEach((r, i) => {
      const nodeId = ids[i]!;
      const before = this.seen.get(nodeId);
      // A disconnected standby (slot only) keeps the position last seen; restart_lsn (its flush position) only
      // when this source never saw it connected. A walsender with no position yet is left out.
      const followerSeq = r.applied_lsn !== null ? parseLsn(r.applied_lsn) : (before?.followerSeq ?? (r.restart_lsn !== null ? parseLsn(r.restart_lsn) : undefined));
      if (followerSeq === undefined) return;
      const attributes = r.pid === null && before !== undefined ? before.attributes : attributesOf(r);
      seen.set(nodeId, { followerSeq, attributes });
      const reported = r.pid !== null && r.applied_lsn !== null ? reportedDelay(r.replay_lag) : undefined;
      out.push({ nodeId, leaderSeq, followerSeq, ...(reported !== undefined ? { reportedDelaySeconds: reported } : {}), attributes });
    });
    this.seen = seen;
    if (this.logicalSlots) out.push(...logicalReplicas(row.logical_slots, leaderSeq, parseLsn));
    return out.sort((x, y) => (x.nodeId < y.nodeId ? -1 : x.nodeId > y.nodeId ? 1 : 0));
  }

  /** An Error naming the server (`at`) and what to do, never containing the password; `budgetMs`: the attempt's bound. */
  private explain(error: unknown, phase: string, at: string, budgetMs: number): Error {
    const e = error instanceof Error ? error : new Error(String(error));
    const code = String((e as { code?: unknown }).code ?? '');
    const within = budgetMs < this.timeoutMs ? `${budgetMs} ms (its share of timeoutMs ${this.timeoutMs} ms)` : `${budgetMs} ms`;
    const tlsAdvice = describeTlsError(e);
    let message: string;
    if (this.closing !== undefined) message = `${at}: the source was closed during the poll`;
    else if (e instanceof TimeoutError) message = `${at}: no answer within ${within} while ${phase}: the server is stopped, overloaded or unreachable (PostgresSourceOptions.timeoutMs)`;
    else if (e.message.startsWith(`${at}`)) message = e.message;
    else if (tlsAdvice !== undefined) message = `${at}: ${tlsAdvice}`;
    else if (e.message === 'The server does not support SSL connections') {
      message = `${at}: the server does not accept TLS connections (ssl = off in its postgresql.conf): turn ssl on there, or connect without TLS (no tls option, no sslmode in the URL)`;
    } else if (code === '28000' && !this.tlsOn && /, no encryption$/.test(e.message)) message = `${at}: ${e.message}: ${NEEDS_TLS_HINT}`;
    else if (code === '28000' && /requires a valid client certificate/.test(e.message)) {
      message = `${at}: ${e.message}: pass a client certificate signed by a CA in the server's ssl_ca_file (PostgresSourceOptions.tls.cert and .key, replag --tls-cert FILE --tls-key FILE)`;
    } else if (code === '28000' && /^certificate authentication failed/.test(e.message)) {
      message = `${at}: ${e.message}: the client certificate's common name (CN) must be the user name, or be mapped to it in pg_ident.conf`;
    } else if (isClientCertificateAlert(code)) {
      message = this.clientCertificate
        ? `${at}: the server refused the client certificate (${code}): pass one signed by a CA in the server's ssl_ca_file`
        : `${at}: the server refused the TLS connection (${code}): it requires a client certificate: pass PostgresSourceOptions.tls.cert and .key (replag --tls-cert FILE --tls-key FILE)`;
    } else if (code.startsWith('ERR_SSL_')) message = `${at}: TLS handshake failed (${code}): ${e.message}`;
    else if (code === 'ECONNREFUSED') message = `${at}: connection refused: no server listens there; check the host and port`;
    else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') message = `${at}: host not found (${code})`;
    else if (code === '28P01') message = `${at}: ${e.message}: check the password (PostgresSourceOptions.password, PGPASSWORD, or the URL)`;
    else if (code === '28000') message = `${at}: ${e.message}: add a pg_hba.conf line that lets this user connect from here, then reload the server`;
    else if (code === '3D000') message = `${at}: ${e.message}: name an existing database in the URL path (e.g. /postgres)`;
    else if (/client password must be a string/.test(e.message)) message = `${at}: the server asks for a password and none was given: set PostgresSourceOptions.password (PGPASSWORD for the CLI) or put it in the URL`;
    else if (/^[0-9A-Z]{5}$/.test(code)) message = `${at}: ${e.message} (SQLSTATE ${code})`;
    else message = `${at}: ${phase} failed: ${e.message}`;
    return new Error(this.scrub(message));
  }

  private scrub(text: string): string {
    let out = text;
    for (const secret of this.#secrets) out = out.split(secret).join('***');
    return out;
  }
}

class TimeoutError extends Error {}

/**
 * Node ids: the slot name when the standby holds a physical slot (the same id whether it is connected or
 * not), else its application_name, else client_addr:client_port. Two slotless walsenders with the same name
 * get `#pid` appended (such ids change on reconnect: give each standby its own cluster_name or slot).
 */
function nodeIds(rows: readonly WalSenderRow[]): string[] {
  const base = rows.map((r) => r.slot ?? (r.application_name || (r.client_addr !== null ? `${r.client_addr}:${r.client_port}` : `pid-${r.pid}`)));
  const count = new Map<string, number>();
  for (const id of base) count.set(id, (count.get(id) ?? 0) + 1);
  return rows.map((r, i) => (r.slot === null && count.get(base[i]!)! > 1 ? `${base[i]}#${r.pid}` : base[i]!));
}

/** `replay_lag` as passed on: a finite number of seconds ≥ 0, else undefined (NULL, stale, or nonsense). */
function reportedDelay(seconds: unknown): number | undefined {
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

function attributesOf(r: WalSenderRow): Attributes {
  return {
    'replication.system': 'postgresql',
    ...(r.client_addr !== null ? { 'server.address': r.client_addr } : {}),
    ...(r.slot !== null ? { 'postgresql.replication.slot': r.slot } : {}),
  };
}

/**
 * The TLS to use (`tls` merged with the URL's certificate files), or undefined for plain TCP, following the rule
 * documented on `PostgresSourceOptions.tls`. Reads the files the URL names.
 * @throws RangeError on a contradiction, a request to skip verification, an unknown sslmode, an unreadable file.
 */
function resolveTls(params: URLSearchParams, tls: SourceTlsOptions | undefined, envSslMode: string | undefined, opt = 'PostgresSourceOptions.url'): SourceTlsOptions | undefined {
  const wants: ['on' | 'off', string][] = [];
  const sslmode = params.get('sslmode');
  if (sslmode !== null) wants.push([sslModeWants(sslmode, `${opt}: sslmode`), `sslmode=${sslmode}`]);
  const ssl = params.get('ssl');
  if (ssl !== null) {
    if (ssl === 'true' || ssl === '1') wants.push(['on', `ssl=${ssl}`]);
    else if (ssl === 'false' || ssl === '0') wants.push(['off', `ssl=${ssl}`]);
    else if (ssl === 'no-verify') throw new RangeError(`${opt}: ssl=no-verify would turn certificate verification off: ${INSECURE_HINT}`);
    else throw new RangeError(`${opt}: ssl=${JSON.stringify(ssl.slice(0, 40))} is not true, false, 1 or 0 (or use sslmode)`);
  }
  if (params.get('sslnegotiation') === 'direct') wants.push(['on', 'sslnegotiation=direct']);
  const files = URL_TLS_FILES.filter(([param]) => params.has(param));
  const on = wants.find(([w]) => w === 'on');
  const off = wants.find(([w]) => w === 'off');
  if (off !== undefined) {
    const tlsToo = [...(on !== undefined ? [on[1]] : []), ...files.map(([param]) => param), ...(tls !== undefined ? ['PostgresSourceOptions.tls'] : [])];
    if (tlsToo.length > 0) throw new RangeError(`${opt}: ${off[1]} (no TLS) contradicts ${tlsToo.join(', ')} (TLS): keep one`);
    return undefined;
  }
  if (tls === undefined && files.length === 0 && on === undefined) {
    // Neither the options nor the URL say anything: PGSSLMODE, as pg (and libpq) would read it.
    if (envSslMode === undefined || envSslMode === '') return undefined;
    return sslModeWants(envSslMode, 'PGSSLMODE (environment)') === 'on' ? {} : undefined;
  }
  if (files.length === 0) return tls ?? {};
  const fromFiles: { -readonly [K in 'ca' | 'cert' | 'key']?: string } = {};
  for (const [param, field] of files) {
    const path = params.get(param)!;
    if (param === 'sslrootcert' && path === 'system') continue; // libpq's name for the system roots: Node's
    if (tls?.[field] !== undefined) throw new RangeError(`${opt}: ${param} and PostgresSourceOptions.tls.${field} both give the ${field}: keep one`);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new RangeError(`${opt}: ${param}=${path}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    if (!/-----BEGIN [A-Z0-9 ]+-----/.test(text)) throw new RangeError(`${opt}: ${param}=${path} holds no PEM block (-----BEGIN …-----)`);
    fromFiles[field] = text;
  }
  return validateTlsOptions({ ...tls, ...fromFiles }, `PostgresSourceOptions.tls with the URL's ${files.map(([param]) => param).join(', ')}`);
}

/** What an sslmode asks for. @throws RangeError for no-verify (which would skip verification) or an unknown mode. */
function sslModeWants(mode: string, where: string): 'on' | 'off' {
  switch (mode) {
    case 'disable':
      return 'off';
    case 'allow':
    case 'prefer':
    case 'require':
    case 'verify-ca':
    case 'verify-full':
      return 'on';
    case 'no-verify':
      throw new RangeError(`${where}=no-verify would turn certificate verification off: ${INSECURE_HINT}`);
    default:
      throw new RangeError(`${where}=${JSON.stringify(mode.slice(0, 40))} is not an sslmode (disable, allow, prefer, require, verify-ca, verify-full)`);
  }
}

/**
 * pg's `ssl` for `host`. pg sets `servername` to the host when it is a name, over any `servername` given, so an
 * explicit `tls.servername` is also enforced through `checkServerIdentity` (the name Node verifies).
 */
function pgTlsOptions(tls: SourceTlsOptions, host: string): ConnectionOptions {
  const options = nodeTlsOptions(tls, host);
  const name = tls.servername;
  if (name === undefined) return options;
  return { ...options, checkServerIdentity: (_host, cert) => checkServerIdentity(name, cert) };
}

/**
 * The URL once per host: as given when it names one host (exactly as before multi-host support), else one URL
 * per `host[:port]` of its comma-separated host list (port 5432 when missing), each with the same user, path and
 * parameters.
 * @throws RangeError for a URL that does not parse, an empty host, a bad port, an IPv6 address without brackets.
 */
function urlPerHost(url: string): URL[] {
  const parts = URL_PARTS.exec(url);
  if (parts === null) return [parseUrl(url)];
  const [, scheme, authority, rest] = parts as unknown as [string, string, string, string];
  const userEnd = authority.lastIndexOf('@') + 1;
  const list = authority.slice(userEnd);
  if (!list.includes(',')) return [parseUrl(url)];
  const userInfo = authority.slice(0, userEnd);
  parseUrl(`${scheme}${userInfo}localhost${rest}`); // everything but the hosts parses
  const entries = list.split(',');
  return entries.map((entry, i) => {
    const hostPort = hostEntry(entry, `PostgresSourceOptions.url: host ${i + 1} of ${entries.length}`);
    try {
      return new URL(`${scheme}${userInfo}${hostPort}${rest}`);
    } catch {
      throw new RangeError(`PostgresSourceOptions.url: host ${i + 1} of ${entries.length} (${JSON.stringify(entry.slice(0, 80))}) is not a valid host name or address`);
    }
  });
}

function parseUrl(url: string): URL {
  try {
    return new URL(url);
  } catch {
    throw new RangeError('PostgresSourceOptions.url must be a postgres:// URL, got a string that does not parse as a URL (not shown: it may hold a password)');
  }
}

/**
 * `host:port` for one entry of a host list, port 5432 when missing. `which` names the entry in messages.
 * @throws RangeError for an empty entry or host, a port outside 1..65535, an IPv6 address without brackets.
 */
function hostEntry(entry: string, which: string): string {
  if (entry === '') throw new RangeError(`${which} is empty: separate hosts by single commas (postgres://user@db1:5432,db2:5432/postgres)`);
  const shown = JSON.stringify(entry.slice(0, 80));
  const m = HOST_ENTRY.exec(entry);
  if (m === null) throw new RangeError(`${which} (${shown}) is not host[:port]: write an IPv6 address in brackets ([fd00::1]:5432)`);
  const [, host, port] = m as unknown as [string, string, string | undefined];
  if (host === '' || host === '[]') throw new RangeError(`${which} (${shown}) has no host name`);
  if (port === undefined) return `${host}:${DEFAULT_PORT}`;
  const number = /^\d{1,5}$/.test(port) ? Number(port) : Number.NaN;
  if (!(number >= 1 && number <= 65535)) throw new RangeError(`${which} (${shown}) has a bad port ${JSON.stringify(port.slice(0, 20))}: expected 1..65535`);
  return `${host}:${number}`;
}

/** With several hosts, `host=` and `port=` parameters would apply to every one of them: refused as ambiguous. */
function checkMultiHostParameters(params: URLSearchParams): void {
  for (const name of ['host', 'port']) {
    if (params.has(name)) throw new RangeError(`PostgresSourceOptions.url: a ${name}= parameter is ambiguous with several hosts: write each host:port in the host list`);
  }
}

/**
 * `target_session_attrs` must ask for a primary, the only server that reports its standbys: `read-write`,
 * `primary`, or `any` (taken as primary). @throws RangeError for a standby's value or an unknown one.
 */
function checkSessionAttrs(params: URLSearchParams): void {
  for (const value of params.getAll('target_session_attrs')) {
    if (PRIMARY_SESSION_ATTRS.includes(value)) continue;
    const shown = JSON.stringify(value.slice(0, 40));
    if (STANDBY_SESSION_ATTRS.includes(value)) {
      throw new RangeError(`PostgresSourceOptions.url: target_session_attrs=${shown} asks for a standby, but the source reads the primary (which reports every standby): use read-write, primary or any`);
    }
    throw new RangeError(`PostgresSourceOptions.url: target_session_attrs=${shown} is not read-write, primary or any (the values the source accepts; all three mean the primary)`);
  }
}

/**
 * `url` ready for pg: without the parameters the source decides (TLS, target_session_attrs), with `password`
 * when the URL has none, and TLS options that check this host's name (a host= parameter wins over the URL's host,
 * as in pg-connection-string).
 */
function pgHost(url: URL, tls: SourceTlsOptions | undefined, password: string | undefined): PgHost {
  const shown = redact(url);
  for (const name of [...URL_TLS_PARAMETERS, 'target_session_attrs']) if (url.searchParams.has(name)) url.searchParams.delete(name);
  if (url.password === '' && password !== undefined && password !== '') url.password = encodeURIComponent(password);
  const host = url.searchParams.get('host') ?? safeDecode(url.hostname.replace(/^\[(.*)\]$/, '$1'));
  return { url: url.href, shown, tls: tls === undefined ? undefined : pgTlsOptions(tls, host) };
}

/**
 * `PostgresSourceOptions.subscribers`, ready to connect to: one host per URL, TLS resolved per URL (as for the
 * publisher, with the source's `tls` minus its `servername`). Adds their passwords to `secrets`.
 * @throws TypeError / RangeError naming `PostgresSourceOptions.subscribers[i]`.
 */
function subscriberServers(list: unknown, tls: SourceTlsOptions | undefined, password: string | undefined, secrets: string[]): SubscriberServer[] {
  if (!Array.isArray(list)) throw new TypeError(`PostgresSourceOptions.subscribers must be an array of postgres:// URLs, got ${typeof list}`);
  const { servername: _publisherName, ...shared } = tls ?? {};
  const seen = new Set<string>();
  return list.map((text: unknown, i) => {
    const opt = `PostgresSourceOptions.subscribers[${i}]`;
    if (typeof text !== 'string') throw new TypeError(`${opt} must be a postgres:// URL string, got ${typeof text}`);
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new RangeError(`${opt} must be a postgres:// URL, got a string that does not parse as a URL (not shown: it may hold a password)`);
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new RangeError(`${opt} must be a postgres:// or postgresql:// URL, got "${redact(url)}"`);
    if (url.hostname === '') throw new RangeError(`${opt} must name the subscriber's host (one host:port), got "${redact(url)}"`);
    const host = safeDecode(url.hostname.replace(/^\[(.*)\]$/, '$1'));
    const port = url.port === '' ? DEFAULT_PORT : Number(url.port);
    if (seen.has(`${host}:${port}`)) throw new RangeError(`${opt}: ${host}:${port} is already listed (a server's subscriptions are read once, from any of its databases)`);
    seen.add(`${host}:${port}`);
    secrets.push(...[url.password, safeDecode(url.password)].filter((s) => s !== ''));
    const effective = resolveTls(url.searchParams, tls === undefined ? undefined : shared, process.env.PGSSLMODE, opt);
    if (effective?.key !== undefined) secrets.push(effective.key);
    return { ...pgHost(url, effective, password), host, port };
  });
}

/** protocol//host:port/path: no user, password or query. */
function redact(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** protocol//host:port,host:port/path of every host's URL: no user, password or query. */
function redactAll(urls: readonly URL[]): string {
  return `${urls[0]!.protocol}//${urls.map((u) => u.host).join(',')}${urls[0]!.pathname}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
