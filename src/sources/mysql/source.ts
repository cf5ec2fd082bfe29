/**
 * The MySQL / MariaDB source: the primary's and every replica's GTID positions (`gtid.ts`), read from one
 * connection per server (`server.ts`) with mysql2; each replica waited for at most `replicaTimeoutMs` per poll
 * (a `DeadlineReader`), so one hung replica does not slow the sampling of the primary.
 * The primary needs no privilege beyond a login; replicas need REPLICA MONITOR (MariaDB) / REPLICATION CLIENT (MySQL).
 */
import { ATTR_REPLICATION_SYSTEM, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '../../semconv.ts';
import { DeadlineReader } from '../kit/deadline-reader.ts';
import { heartbeatDelaySeconds, HeartbeatWriter, sqlHeartbeatOption, type SqlHeartbeatOptions } from '../kit/heartbeat.ts';
import { callbackOption, objectOption, stringOption, timeoutOption } from '../kit/options.ts';
import type { ReplicaPosition, ReplicationSource } from '../source.ts';
import { validateTlsOptions, type SourceTlsOptions } from '../tls.ts';
import { mariadbGtidSeq, mysqlGtidCount } from './gtid.ts';
import { mysqlHeartbeatTable, readMySqlHeartbeat, writeMySqlHeartbeat, type MySqlHeartbeatTable } from './heartbeat.ts';
import { readPrimary, readReplica, Server, type Query, type ReplicaRead, type System } from './server.ts';

/** Options of `MySqlSource`. */
export interface MySqlSourceOptions {
  /** mysql:// URL of the primary (user, host, port; password may be in it). */
  primary: string;
  /** mysql:// URLs of the replicas to watch, at least one. */
  replicas: string[];
  /** Password for connections whose URL has none (the CLI passes MYSQL_PWD here). */
  password?: string;
  /** Bound on each read of a server (connect + queries), ms: the primary's read bounds the poll. Default 5000. */
  timeoutMs?: number;
  /**
   * How long a poll waits for each replica, ms (at most `timeoutMs`). Default 1000 (`timeoutMs` when smaller). A replica that has not answered
   * by then is reported at its last known position (so it ages, and turns stalled while the primary advances); its
   * read goes on in the background, up to `timeoutMs`, and its answer is used at the next poll. A replica that
   * missed this deadline is not waited for again until a read of it settles within it: one hung replica does not
   * slow the sampling of the primary.
   */
  replicaTimeoutMs?: number;
  /**
   * Called at each poll for each replica that could not be read: its read failed (the error of the newest attempt,
   * until one succeeds), or it has not answered within `replicaTimeoutMs`. A replica read before is still reported at
   * its last known position; one never read is left out. Without it, a replica whose read failed makes `poll()`
   * reject (one that is only late does not).
   */
  onReplicaError?: (replica: string, error: Error) => void;
  /**
   * TLS to every server (primary and replicas); without it, connections are plaintext. The URLs carry no TLS
   * settings: a query string such as `?ssl=true` is rejected, TLS is turned on only by this option.
   */
  tls?: SourceTlsOptions;
  /**
   * Opt-in heartbeat (see `heartbeat.ts` and the README): every `intervalMs` (default 1000) the source writes its
   * own clock's time in row `name` (default `mysql`) of `table` (default `replag_heartbeat` in the primary URL's
   * database, `mysql://user@host:3306/db`, or `db.table`; created with `CREATE TABLE IF NOT EXISTS` when missing and
   * the user may, otherwise the poll fails with the statement to run) on the primary, over a connection of its own,
   * and reads on each replica the newest heartbeat applied: its `heartbeatDelaySeconds`. Unset: nothing is created
   * or written anywhere.
   */
  heartbeat?: SqlHeartbeatOptions;
}

/** A replica's read with its heartbeat: the newest one it shows, and the newest written when the read started. */
interface ReplicaHeartbeatRead extends ReplicaRead {
  readonly heartbeatShownMs?: number | undefined;
  readonly heartbeatWrittenMs?: number | undefined;
}


const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_REPLICA_TIMEOUT_MS = 1000;

/**
 * Reports each replica of a MySQL 8 or MariaDB primary: `leaderSeq` and `followerSeq` count GTID transactions
 * (bigint), the node id is the replica's `host:port`, `reportedDelaySeconds` is the replica's own
 * `Seconds_Behind_Master` when it has one (not NULL) and was read for this poll. Connects on the first poll;
 * reconnects after a failure. A replica that cannot be read (hung, down, not replicating) keeps being reported at
 * its last known position against the advancing primary, without `reportedDelaySeconds`, so the monitor sees it age
 * and turn stalled; see `MySqlSourceOptions.replicaTimeoutMs` and `onReplicaError`.
 */
export class MySqlSource implements ReplicationSource {
  readonly name = 'mysql';
  private readonly primary: Server;
  private readonly replicas: readonly Server[];
  private readonly readers: readonly DeadlineReader<ReplicaHeartbeatRead>[];
  /** With `heartbeat`: where it lives, under which name, and its writer (over a primary connection of its own). */
  readonly #heartbeat: { table: MySqlHeartbeatTable; name: string; writer: HeartbeatWriter; server: Server } | undefined;
  private readonly timeoutMs: number;
  private readonly replicaTimeoutMs: number;
  private readonly onReplicaError: ((replica: string, error: Error) => void) | undefined;
  /** Per replica address: read at the last poll (fresh, no error). */
  private readonly readable = new Map<string, boolean>();
  private closed = false;

  /** @throws TypeError / RangeError naming the bad option; no I/O happens here. */
  constructor(options: MySqlSourceOptions) {
    objectOption(options, 'MySqlSourceOptions');
    const { replicas } = options;
    const tls = validateTlsOptions(options.tls, 'MySqlSourceOptions.tls');
    const password = stringOption(options.password, 'MySqlSourceOptions.password');
    const timeoutMs = timeoutOption(options.timeoutMs, 'MySqlSourceOptions.timeoutMs', DEFAULT_TIMEOUT_MS);
    const replicaTimeoutMs = timeoutOption(options.replicaTimeoutMs, 'MySqlSourceOptions.replicaTimeoutMs', Math.min(DEFAULT_REPLICA_TIMEOUT_MS, timeoutMs), { option: 'timeoutMs', ms: timeoutMs });
    const onReplicaError = callbackOption<(replica: string, error: Error) => void>(options.onReplicaError, 'MySqlSourceOptions.onReplicaError');
    if (!Array.isArray(replicas)) throw new TypeError(`MySqlSourceOptions.replicas must be an array of mysql:// URLs, got ${typeof replicas}`);
    if (replicas.length === 0) throw new RangeError('MySqlSourceOptions.replicas must list at least one replica URL');
    this.primary = new Server('primary', 'primary', options.primary, password, tls);
    const seen = new Set([this.primary.address]);
    this.replicas = replicas.map((url, i) => {
      const replica = new Server('replica', `replicas[${i}]`, url, password, tls);
      if (seen.has(replica.address)) throw new RangeError(`MySqlSourceOptions.replicas[${i}] is ${replica.address}, already given as the primary or another replica`);
      seen.add(replica.address);
      return replica;
    });
    this.readers = this.replicas.map(() => new DeadlineReader<ReplicaHeartbeatRead>());
    const settings = sqlHeartbeatOption(options.heartbeat, 'MySqlSourceOptions.heartbeat', this.name);
    if (settings !== undefined) {
      const table = mysqlHeartbeatTable(settings, options.primary, 'MySqlSourceOptions.heartbeat');
      const server = new Server('primary', 'primary', options.primary, password, tls);
      const write = (nowMs: number, first: boolean) => server.read(timeoutMs, (query) => writeMySqlHeartbeat(query, table, settings.name, nowMs, first));
      this.#heartbeat = { table, name: settings.name, writer: new HeartbeatWriter({ intervalMs: settings.intervalMs, write }), server };
    }
    this.timeoutMs = timeoutMs;
    this.replicaTimeoutMs = replicaTimeoutMs;
    this.onReplicaError = onReplicaError;
  }

  /**
   * Reads the primary (within `timeoutMs`) and every replica (each waited for at most `replicaTimeoutMs`), all at
   * once. Rejects when the primary cannot be read. A replica that cannot be read goes to `onReplicaError` and is
   * reported at its last known position (left out when it was never read).
   */
  async poll(): Promise<readonly ReplicaPosition[]> {
    if (this.closed) throw new Error('MySqlSource: poll() called after close()');
    // The first poll writes a heartbeat (creating the table when missing) before any replica is read; rejects when it cannot.
    await this.#heartbeat?.writer.start();
    const primaryRead = this.primary.read(this.timeoutMs, readPrimary);
    primaryRead.catch(() => {}); // awaited below, after the replicas' deadlines
    await Promise.all(this.readers.map((reader, i) => reader.wait(() => this.replicas[i]!.read(this.timeoutMs, (query, system) => this.readReplica(query, system)), this.replicaTimeoutMs)));
    const leader = await primaryRead;
    if (this.closed) throw new Error('MySqlSource: closed during poll()');
    let leaderSeq: bigint;
    try {
      leaderSeq = leader.system === 'mariadb' ? mariadbGtidSeq(leader.gtids) : mysqlGtidCount(leader.gtids);
    } catch (error) {
      throw new Error(`MySqlSource: primary ${this.primary.address}: ${(error as Error).message}`);
    }
    const positions: ReplicaPosition[] = [];
    const failures: [Server, Error, boolean][] = [];
    this.readers.forEach((reader, i) => {
      const replica = this.replicas[i]!;
      const { value, fresh, error, late } = reader.take();
      this.readable.set(replica.address, fresh && error === undefined);
      const fail = (e: unknown, rejects: boolean) => {
        const message = e instanceof Error ? e.message : String(e);
        failures.push([replica, new Error(message.startsWith('MySqlSource:') ? message : `MySqlSource: replica ${replica.address}: ${message}`), rejects]);
      };
      if (error !== undefined) fail(error, true);
      else if (late && !fresh) fail(`did not answer within ${this.replicaTimeoutMs} ms (replicaTimeoutMs); reported at its last known position until it answers`, false);
      if (value === undefined) return;
      try {
        if (value.system !== leader.system) throw new Error(`runs ${value.system} but the primary runs ${leader.system}: their GTIDs cannot be compared`);
        const followerSeq = value.system === 'mariadb' ? mariadbGtidSeq(value.gtids, leader.gtids) : mysqlGtidCount(value.gtids, leader.gtids);
        positions.push({
          nodeId: replica.address,
          leaderSeq,
          followerSeq,
          ...(fresh && error === undefined && value.secondsBehind !== undefined ? { reportedDelaySeconds: value.secondsBehind } : {}),
          ...heartbeatOf(fresh && error === undefined, value),
          attributes: { [ATTR_REPLICATION_SYSTEM]: value.system, [ATTR_SERVER_ADDRESS]: replica.host, [ATTR_SERVER_PORT]: replica.port },
        });
      } catch (e) {
        if (error === undefined) fail(e, true);
      }
    });
    const rejecting = failures.find(([, , rejects]) => rejects);
    if (this.onReplicaError === undefined && rejecting !== undefined) throw rejecting[1];
    for (const [replica, error] of failures) {
      try {
        this.onReplicaError?.(replica.address, error);
      } catch {
        // A throwing listener must not hide the other replicas.
      }
    }
    return positions;
  }

  /**
   * Per replica (`host:port`, its node id): whether the last poll read it — an answer within `replicaTimeoutMs`, or
   * a late answer to the poll before. Exported as `replication.replica.readable` through the poller's health.
   */
  replicaReadability(): ReadonlyMap<string, boolean> {
    return new Map(this.readable);
  }

  /** Closes every connection (QUIT, then the socket is destroyed if the server does not answer) and stops the heartbeat. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const graceMs = Math.min(this.timeoutMs, 1000);
    const heartbeat = this.#heartbeat;
    await heartbeat?.writer.stop();
    await Promise.all([this.primary, ...this.replicas, ...(heartbeat !== undefined ? [heartbeat.server] : [])].map((s) => s.close(graceMs)));
  }

  /** A replica's replication status and, with `heartbeat`, the newest heartbeat it shows. */
  private async readReplica(query: Query, system: System): Promise<ReplicaHeartbeatRead> {
    const heartbeat = this.#heartbeat;
    const writtenMs = heartbeat?.writer.writtenMs;
    const status = await readReplica(query, system);
    if (heartbeat === undefined) return status;
    return { ...status, heartbeatShownMs: await readMySqlHeartbeat(query, heartbeat.table, heartbeat.name), heartbeatWrittenMs: writtenMs };
  }
}

/** `heartbeatDelaySeconds` of a replica read at this poll (`fresh`), when it shows a heartbeat. */
function heartbeatOf(fresh: boolean, read: ReplicaHeartbeatRead): { heartbeatDelaySeconds?: number } {
  if (!fresh) return {};
  const delay = heartbeatDelaySeconds(read.heartbeatWrittenMs, read.heartbeatShownMs);
  return delay === undefined ? {} : { heartbeatDelaySeconds: delay };
}
