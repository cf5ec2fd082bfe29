/**
 * PostgreSQL streaming replication, read from the primary: every standby's applied position against the
 * primary's current WAL position, in one query per poll (`query.ts`) over one lazily opened connection.
 *
 * Positions are LSNs as bigint bytes of WAL (`lsn.ts`). A standby that uses a physical replication slot keeps
 * being reported (frozen, `LastKnownPositions`) while it is disconnected, so a stopped standby shows up as stalled
 * instead of vanishing. Logical slots (`logical.ts`) and subscribers (`subscriber.ts`) are followers too.
 *
 * Several hosts (`hosts.ts`): the source keeps its connection while it reaches a primary; otherwise it tries the
 * hosts in order, each within an equal share of what is left of the poll's `timeoutMs`, and keeps the first that is
 * not in recovery. So the source follows the primary across a failover (Patroni, repmgr, pg_auto_failover).
 * TLS: decided by the source (`tls-policy.ts`). Failures are worded in `errors.ts`.
 */
import pg from 'pg';
import type { Position } from '../../types.ts';
import { settlesWithin, withDeadline } from '../kit/deadline.ts';
import { HeartbeatWriter, sqlHeartbeatOption, type HeartbeatSettings, type SqlHeartbeatOptions } from '../kit/heartbeat.ts';
import { LastKnownPositions } from '../kit/last-known.ts';
import { hostsForMessage, urlForMessage, urlTextForMessage } from '../kit/messages.ts';
import { byNodeId } from '../kit/node-order.ts';
import { booleanOption, callbackOption, objectOption, stringOption, timeoutOption } from '../kit/options.ts';
import type { ReplicaPosition, ReplicationSource } from '../source.ts';
import { validateTlsOptions, type SourceTlsOptions } from '../tls.ts';
import { PgConnection } from './connection.ts';
import { explainPgError } from './errors.ts';
import { PgStandbys, writePgHeartbeat, type StandbyRow } from './heartbeat.ts';
import { checkMultiHostParameters, checkSessionAttrs, pgHost, urlPerHost, type PgHost } from './hosts.ts';
import { logicalReplicas } from './logical.ts';
import { parseLsn } from './lsn.ts';
import { attributesOf, nodeIds, POLL_QUERY, reportedDelay, type ServerRow } from './query.ts';
import { slotRetention } from './slots.ts';
import { subscriberServers, Subscribers } from './subscriber.ts';
import { resolveTls } from './tls-policy.ts';

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
   * TLS to the primary (PEM text). Given, the source connects with TLS and verifies the server's
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
   *   encrypting without verifying takes `tls: { rejectUnauthorized: false }`.
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
   * Called at each poll for each subscriber that could not be read (its URL without credentials, and the error).
   * Without it such a failure only shows in `replicaReadability()` and the subscription turning stalled: a subscriber
   * never fails the poll.
   */
  onReplicaError?: (replica: string, error: Error) => void;
  /**
   * Opt-in heartbeat (see `heartbeat.ts` and the README): every `intervalMs` (default 1000) the source writes its
   * own clock's time in row `name` (default `postgresql`) of `table` (default `replag_heartbeat`, created with
   * `CREATE TABLE IF NOT EXISTS` in the URL's database when missing and the role may; otherwise the poll fails
   * with the statement to run) on the primary, over a connection of its own, and reads on each of `standbys` the
   * newest heartbeat applied: its `heartbeatDelaySeconds`. Unset: nothing is created or written anywhere.
   */
  heartbeat?: SqlHeartbeatOptions;
  /**
   * postgres:// URLs of the standbys (one host each), read at each poll over their own connection for their
   * heartbeat (needs `heartbeat`): each is reported under the node id of its `pg_stat_replication` row, matched
   * by its `primary_slot_name`, else by its walreceiver's `application_name` (from `primary_conninfo`, else its
   * `cluster_name`). Password, TLS and waiting (1 s at most per poll) as for `subscribers`.
   */
  standbys?: string[];
}


const DEFAULT_TIMEOUT_MS = 5000;
/** How long close() waits for a polite goodbye before destroying the socket. */
const CLOSE_GRACE_MS = 250;

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
  /** For messages: scheme://host:port[,host:port…]/path (no credentials, no query). */
  private readonly server: string;
  /** Whether the source connects with TLS. */
  private readonly tlsOn: boolean;
  /** Whether a client certificate is sent, for messages. */
  private readonly clientCertificate: boolean;
  private client: pg.Client | undefined;
  private connected: Promise<void> | undefined;
  /** Standbys last seen, so that one disconnected (slot only) keeps its position and attributes. */
  readonly #standbys = new LastKnownPositions();
  private readonly logicalSlots: boolean;
  private inFlight: Promise<readonly ReplicaPosition[]> | undefined;
  /** The subscribers to read beside the publisher, and the publisher's position at the last poll. */
  readonly #subscribers: Subscribers | undefined;
  #leaderSeq: Position = 0n;
  private closing: Promise<void> | undefined;
  /** With `heartbeat`: its settings, its writer, the standbys read for it and the primary's rows they match. */
  readonly #heartbeat: HeartbeatSettings | undefined;
  readonly #writer: HeartbeatWriter | undefined;
  readonly #standbyReads: PgStandbys | undefined;
  #standbyRows: StandbyRow[] = [];
  /** The primary found by the last poll (written to), and the heartbeat's connection to it. */
  #primary: PgHost | undefined;
  #writeConnection: { host: PgHost; connection: PgConnection } | undefined;

  /**
   * @throws TypeError / RangeError naming the invalid option. No network I/O; the only files read are the
   * certificate files a URL names (sslrootcert, sslcert, sslkey).
   */
  constructor(options: PostgresSourceOptions) {
    objectOption(options, 'PostgresSourceOptions', 'with a url');
    const { url } = options;
    const tls = validateTlsOptions(options.tls, 'PostgresSourceOptions.tls');
    if (typeof url !== 'string') throw new TypeError(`PostgresSourceOptions.url must be a postgres:// URL string, got ${typeof url}`);
    const urls = urlPerHost(url);
    const parsed = urls[0]!;
    if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
      throw new RangeError(`PostgresSourceOptions.url must be a postgres:// or postgresql:// URL, got "${urlTextForMessage(url)}"`);
    }
    if (parsed.hostname === '' && !parsed.searchParams.has('host')) {
      throw new RangeError(`PostgresSourceOptions.url must name the primary's host, got "${urlForMessage(parsed)}"`);
    }
    if (urls.length > 1) checkMultiHostParameters(parsed.searchParams);
    checkSessionAttrs(parsed.searchParams);
    const password = stringOption(options.password, 'PostgresSourceOptions.password');
    const timeoutMs = timeoutOption(options.timeoutMs, 'PostgresSourceOptions.timeoutMs', DEFAULT_TIMEOUT_MS);
    this.server = hostsForMessage(urls);
    const effective = resolveTls(parsed.searchParams, tls, process.env.PGSSLMODE);
    this.tlsOn = effective !== undefined;
    this.clientCertificate = effective?.cert !== undefined;
    this.#hosts = urls.map((u) => pgHost(u, effective, password));
    this.timeoutMs = timeoutMs;
    this.logicalSlots = booleanOption(options.logicalSlots, 'PostgresSourceOptions.logicalSlots', true);
    const onReplicaError = callbackOption<(replica: string, error: Error) => void>(options.onReplicaError, 'PostgresSourceOptions.onReplicaError');
    if (options.subscribers !== undefined) {
      const servers = subscriberServers(options.subscribers, tls, password);
      const explain = (error: unknown, phase: string, at: string, budgetMs: number) => this.explain(error, phase, at, budgetMs);
      this.#subscribers = new Subscribers({ servers, timeoutMs, explain, onReplicaError, parseLsn });
    }
    this.#heartbeat = sqlHeartbeatOption(options.heartbeat, 'PostgresSourceOptions.heartbeat', this.name);
    if (options.standbys !== undefined && this.#heartbeat === undefined) {
      throw new RangeError('PostgresSourceOptions.standbys are read for their heartbeat: give PostgresSourceOptions.heartbeat too');
    }
    const heartbeat = this.#heartbeat;
    if (heartbeat !== undefined) {
      const writer = new HeartbeatWriter({ intervalMs: heartbeat.intervalMs, write: (nowMs, first) => this.writeHeartbeat(heartbeat, nowMs, first) });
      this.#writer = writer;
      if (options.standbys !== undefined) {
        const servers = subscriberServers(options.standbys, tls, password, 'PostgresSourceOptions.standbys', 'standby');
        const explain = (error: unknown, phase: string, at: string, budgetMs: number) => this.explain(error, phase, at, budgetMs);
        this.#standbyReads = new PgStandbys({ servers, settings: heartbeat, timeoutMs, explain, onReplicaError, writtenMs: () => writer.writtenMs });
      }
    }
  }

  /** Writes one heartbeat on the primary found by the last poll, over the heartbeat's own connection. */
  private async writeHeartbeat(settings: HeartbeatSettings, nowMs: number, first: boolean): Promise<void> {
    const host = this.#primary;
    if (host === undefined) throw new Error(`PostgreSQL primary ${this.server}: no primary found yet to write the heartbeat on`);
    let kept = this.#writeConnection;
    if (kept?.host !== host) {
      void kept?.connection.close();
      kept = this.#writeConnection = { host, connection: new PgConnection(host, `PostgreSQL primary ${host.shown}`) };
    }
    const { connection } = kept;
    let phase = 'connecting';
    try {
      await withDeadline(async () => {
        const client = await connection.connect();
        phase = `writing the heartbeat table ${settings.target}`;
        await writePgHeartbeat(client, settings, nowMs, first, connection.at);
      }, { timeoutMs: this.timeoutMs, what: connection.at });
    } catch (error) {
      connection.discard();
      throw this.explain(error, phase, connection.at, this.timeoutMs);
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
    const published = subscribers === undefined ? await this.pollOnce() : (await Promise.all([this.pollOnce(), subscribers.wait()]))[0];
    const all = subscribers === undefined ? published : byNodeId([...published, ...subscribers.positions(this.#leaderSeq)]);
    return this.#writer === undefined ? all : this.withHeartbeat(all, this.#writer);
  }

  /**
   * The heartbeat: the first poll writes one (creating the table when missing) and rejects when it cannot; then
   * the writer's timer keeps writing. Each standby read gives its node's `heartbeatDelaySeconds`.
   */
  private async withHeartbeat(positions: readonly ReplicaPosition[], writer: HeartbeatWriter): Promise<readonly ReplicaPosition[]> {
    await writer.start();
    const standbys = this.#standbyReads;
    if (standbys === undefined) return positions;
    await standbys.wait();
    const delays = standbys.delays(this.#standbyRows);
    return positions.map((p) => {
      const delay = delays.get(p.nodeId);
      return delay === undefined ? p : { ...p, heartbeatDelaySeconds: delay };
    });
  }

  /** Per subscription node id (with `subscribers`): whether its subscriber was read at the last poll. */
  replicaReadability(): ReadonlyMap<string, boolean> {
    return this.#subscribers?.readability() ?? new Map();
  }

  private async pollOnce(): Promise<readonly ReplicaPosition[]> {
    if (this.#hosts.length > 1) return this.pollHosts();
    const at = `PostgreSQL primary ${this.server}`;
    const row = await this.query(this.#hosts[0]!, this.timeoutMs, at);
    const positions = this.positionsOrDrop(row, at);
    this.#primary = this.#hosts[0]!;
    return positions;
  }

  /** Several hosts: the kept connection while it reaches a primary, else the first primary in URL order. */
  private async pollHosts(): Promise<readonly ReplicaPosition[]> {
    const deadline = Date.now() + this.timeoutMs;
    const { host, row } = (await this.queryKept(deadline)) ?? (await this.search(deadline));
    const positions = this.positionsOrDrop(row, `PostgreSQL primary ${host.shown}`);
    this.#primary = host;
    return positions;
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
    throw new Error(`PostgreSQL primary ${this.server}: no primary among the ${hosts.length} hosts (tried in order within timeoutMs ${this.timeoutMs} ms): ${reasons.join('; ')}`);
  }

  /**
   * Runs the poll query on `host` within `budgetMs`, over the kept connection or a new one (kept for later polls).
   * @throws Error explained with `at` (the connection is dropped).
   */
  private async query(host: PgHost, budgetMs: number, at: string): Promise<ServerRow> {
    let phase = 'connecting';
    try {
      return await withDeadline(async () => {
        const client = await this.connect(host);
        phase = 'querying pg_stat_replication';
        const row = (await client.query<ServerRow>(POLL_QUERY)).rows[0];
        if (row === undefined) throw new Error('the status query returned no row');
        return row;
      }, { timeoutMs: budgetMs, what: at });
    } catch (error) {
      this.discard(); // also ends a connection attempt still in flight
      throw this.explain(error, phase, at, budgetMs);
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
      await this.#writer?.stop();
      const heartbeat = Promise.all([this.#writeConnection?.connection.close(), this.#standbyReads?.close()]);
      await this.closePublisher();
      await subscribers;
      await heartbeat;
    })();
    return this.closing;
  }

  private async closePublisher(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.connected = undefined;
    this.#current = undefined;
    if (client === undefined) return;
    await settlesWithin(client.end(), CLOSE_GRACE_MS); // a polite goodbye, if the server answers in time
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
    const standbys = this.#standbys;
    const out: ReplicaPosition[] = [];
    this.#standbyRows = row.replicas.map((r, i) => ({ nodeId: ids[i]!, slot: r.slot, applicationName: r.application_name, connected: r.pid !== null }));
    row.replicas.forEach((r, i) => {
      const nodeId = ids[i]!;
      const before = standbys.get(nodeId);
      // A disconnected standby (slot only) keeps the position last seen; restart_lsn (its flush position) only
      // when this source never saw it connected. A walsender with no position yet is left out.
      const followerSeq = r.applied_lsn !== null ? parseLsn(r.applied_lsn) : (before?.followerSeq ?? (r.restart_lsn !== null ? parseLsn(r.restart_lsn) : undefined));
      if (followerSeq === undefined) return;
      const attributes = r.pid === null && before !== undefined ? before.attributes : attributesOf(r);
      const reported = r.pid !== null && r.applied_lsn !== null ? reportedDelay(r.replay_lag) : undefined;
      const retention = slotRetention(r, r.slot !== null, leaderSeq, parseLsn);
      out.push({ nodeId, leaderSeq, followerSeq, ...(reported !== undefined ? { reportedDelaySeconds: reported } : {}), attributes, ...(retention !== undefined ? { retention } : {}) });
    });
    // Recorded once every row is read: a row that fails to parse leaves the last known positions as they were.
    standbys.beginPoll();
    for (const p of out) standbys.record(p.nodeId, { followerSeq: p.followerSeq, attributes: p.attributes! });
    standbys.endPoll();
    if (this.logicalSlots) out.push(...logicalReplicas(row.logical_slots, leaderSeq, parseLsn));
    return byNodeId(out);
  }

  /** An Error naming the server (`at`) and what to do; `budgetMs`: the attempt's bound. */
  private explain(error: unknown, phase: string, at: string, budgetMs: number): Error {
    return explainPgError(error, { phase, at, budgetMs, timeoutMs: this.timeoutMs, tlsOn: this.tlsOn, clientCertificate: this.clientCertificate, closing: this.closing !== undefined });
  }
}
