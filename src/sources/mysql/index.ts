/**
 * MySQL / MariaDB replication source: GTID positions of a primary and of its replicas, read with mysql2.
 *
 * Positions count transactions, so they are monotonic across binary log rotations:
 * - MariaDB: the sum over replication domains of the highest seq_no, from `@@GLOBAL.gtid_binlog_pos` on the
 *   primary and `Gtid_Slave_Pos` (transactions applied by the replica) from `SHOW ALL REPLICAS STATUS`.
 * - MySQL 8: the number of transactions in `@@GLOBAL.gtid_executed` on the primary and, on the replica, in
 *   `Executed_Gtid_Set` from `SHOW REPLICA STATUS` that the primary also has.
 * The primary needs no privilege beyond a login; replicas need REPLICA MONITOR (MariaDB) / REPLICATION CLIENT (MySQL).
 *
 * Connections: one per server, over TCP, opened on first use. With `tls`, every connection (primary and replicas)
 * is upgraded to TLS before the credentials are sent; the server's certificate chain and its name (the host of the
 * URL, or `tls.servername`) are verified as Node's `tls` does, unless `tls.rejectUnauthorized` is false.
 */
import { connect as connectSocket, type Socket } from 'node:net';
import { checkServerIdentity, type TLSSocket } from 'node:tls';
import { createConnection, type Connection, type RowDataPacket, type SslOptions } from 'mysql2';
import type { Connection as PromiseConnection } from 'mysql2/promise';
import { DeadlineReader } from '../deadline-reader.ts';
import type { ReplicaPosition, ReplicationSource } from '../source.ts';
import { describeTlsError, validateTlsOptions, type SourceTlsOptions } from '../tls.ts';

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
}

export type System = 'mariadb' | 'mysql';
export type Role = 'primary' | 'replica';

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_REPLICA_TIMEOUT_MS = 1000;
const MAX_TIMEOUT_MS = 2_147_483_647;
const DEFAULT_PORT = 3306;
const MAX_UINT32 = 0xffff_ffffn;
const MAX_UINT64 = 0xffff_ffff_ffff_ffffn;
const MAX_GNO = 0x7fff_ffff_ffff_ffffn;
/** CLIENT_SSL: the server's handshake offers TLS. */
const CLIENT_SSL = 0x800;

/**
 * Position of a MariaDB GTID list such as `@@gtid_binlog_pos` (`0-1-42,1-2-7`): the sum over replication domains
 * of the highest seq_no seen in each domain. With `cappedBy` (the primary's list), only domains present there
 * count, each at most at its seq_no there. Empty list → 0n. @throws RangeError on a malformed list.
 */
export function mariadbGtidSeq(gtidList: string, cappedBy?: string): bigint {
  const own = parseMariadbGtids(gtidList);
  const cap = cappedBy === undefined ? undefined : parseMariadbGtids(cappedBy);
  let sum = 0n;
  for (const [domain, seq] of own) {
    if (cap === undefined) sum += seq;
    else {
      const limit = cap.get(domain);
      if (limit !== undefined) sum += seq < limit ? seq : limit;
    }
  }
  return sum;
}

/**
 * Number of transactions in a MySQL GTID set such as `@@gtid_executed` (`uuid:1-10:12,uuid2:1-3`, tags allowed).
 * With `within` (the primary's set), only transactions also in that set count. Empty set → 0n.
 * @throws RangeError on a malformed set.
 */
export function mysqlGtidCount(gtidSet: string, within?: string): bigint {
  const own = parseMysqlGtidSet(gtidSet);
  const other = within === undefined ? undefined : parseMysqlGtidSet(within);
  let count = 0n;
  for (const [source, intervals] of own) {
    const limits = other === undefined ? undefined : (other.get(source) ?? []);
    for (const [start, end] of intervals) {
      if (limits === undefined) count += end - start + 1n;
      else {
        for (const [s, e] of limits) {
          const from = s > start ? s : start;
          const to = e < end ? e : end;
          if (to >= from) count += to - from + 1n;
        }
      }
    }
  }
  return count;
}

/** Highest seq_no per domain of a MariaDB GTID list. */
function parseMariadbGtids(text: string): Map<bigint, bigint> {
  if (typeof text !== 'string') throw new TypeError(`a MariaDB GTID list must be a string, got ${typeof text}`);
  const byDomain = new Map<bigint, bigint>();
  if (text.trim() === '') return byDomain;
  for (const part of text.split(',')) {
    const m = /^(\d{1,10})-(\d{1,10})-(\d{1,20})$/.exec(part.trim());
    const [domain, server, seq] = m === null ? [] : [BigInt(m[1]!), BigInt(m[2]!), BigInt(m[3]!)];
    if (domain === undefined || server === undefined || seq === undefined || domain > MAX_UINT32 || server > MAX_UINT32 || seq > MAX_UINT64) {
      throw new RangeError(`malformed MariaDB GTID ${JSON.stringify(part.trim())} in ${quote(text)}: expected domain-server-seq_no`);
    }
    const seen = byDomain.get(domain);
    if (seen === undefined || seq > seen) byDomain.set(domain, seq);
  }
  return byDomain;
}

/** Disjoint, sorted [start, end] intervals per `uuid` or `uuid:tag` of a MySQL GTID set. */
function parseMysqlGtidSet(text: string): Map<string, [bigint, bigint][]> {
  if (typeof text !== 'string') throw new TypeError(`a MySQL GTID set must be a string, got ${typeof text}`);
  const sets = new Map<string, [bigint, bigint][]>();
  if (text.trim() === '') return sets;
  for (const part of text.split(',')) {
    const bad = (why: string) => new RangeError(`malformed MySQL GTID set ${JSON.stringify(part.trim())} in ${quote(text)}: ${why}`);
    const [uuid = '', ...fields] = part.trim().toLowerCase().split(':');
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(uuid)) throw bad('expected a UUID');
    let key = uuid;
    let intervalsSinceKey = 0;
    for (const field of fields) {
      const m = /^(\d{1,19})(?:-(\d{1,19}))?$/.exec(field);
      if (m !== null) {
        const start = BigInt(m[1]!);
        const end = m[2] === undefined ? start : BigInt(m[2]);
        if (start < 1n || end < start || end > MAX_GNO) throw bad(`bad interval ${field}`);
        let list = sets.get(key);
        if (list === undefined) sets.set(key, (list = []));
        list.push([start, end]);
        intervalsSinceKey++;
      } else if (/^[a-z_][a-z0-9_]{0,31}$/.test(field) && (intervalsSinceKey > 0 || key === uuid)) {
        key = `${uuid}:${field}`;
        intervalsSinceKey = 0;
      } else throw bad(`unexpected ${JSON.stringify(field)}`);
    }
    if (intervalsSinceKey === 0) throw bad('expected at least one interval after each UUID or tag');
  }
  for (const [key, list] of sets) {
    list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const merged: [bigint, bigint][] = [];
    for (const [start, end] of list) {
      const last = merged.at(-1);
      if (last !== undefined && start <= last[1] + 1n) last[1] = end > last[1] ? end : last[1];
      else merged.push([start, end]);
    }
    sets.set(key, merged);
  }
  return sets;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

/** An open (or opening) connection to one server. */
interface Session {
  readonly conn: Connection;
  readonly client: PromiseConnection;
  /** Our own socket, so that a hung server's connection can be destroyed at once. */
  readonly socket: Socket;
  /** From `VERSION()`, read once per connection. */
  system?: System;
}

/** An error whose message already says what went wrong in the user's terms. */
export class ExplainedError extends Error {}

/** Parts of a mysql2 connection that its typings leave out. */
interface Mysql2Internals {
  /** Upgrades the connection to TLS; `onSecure` then sends the credentials, or fails the handshake with the error. */
  startTLS(onSecure: (error?: Error) => void): void;
  /** The TLS socket once `startTLS` ran. */
  stream: TLSSocket;
  /** From the server's handshake packet. */
  serverCapabilityFlags?: number;
}

/** mysql2's `ssl` option. A new object per connection, so that mysql2 never resumes a TLS session we did not check. */
function mysql2Ssl(tls: SourceTlsOptions): SslOptions {
  return {
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert, key: tls.key } : {}),
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
    verifyIdentity: false, // its check uses "localhost" for IP hosts: checkTlsUpgrade checks the name instead
  };
}

/**
 * Hooks `conn`'s TLS upgrade: with `verify`, the server certificate's name must match `name` (like Node's `tls`)
 * before mysql2 sends any credential; a failure keeps Node's error code as `tlsCode` (mysql2 replaces `code` with
 * HANDSHAKE_SSL_ERROR).
 */
function checkTlsUpgrade(conn: Connection, name: string, verify: boolean): void {
  const internals = conn as unknown as Mysql2Internals;
  const startTLS = internals.startTLS;
  if (typeof startTLS !== 'function') throw new Error('MySqlSource: this mysql2 version has no startTLS(): the server certificate\'s name cannot be checked');
  internals.startTLS = function (this: Mysql2Internals, onSecure: (error?: Error) => void): void {
    startTLS.call(this, (error?: Error) => {
      const failed = error ?? (verify ? checkServerIdentity(name, internals.stream.getPeerCertificate(true)) : undefined);
      if (failed !== undefined) Object.assign(failed, { tlsCode: (failed as { code?: unknown }).code });
      onSecure(failed);
    });
  };
}

/**
 * The address of a URL for messages, without credentials or query: `mysql://host:port/path`. Everything up to
 * the last `@` goes first, so that even a password with unencoded `/`, `#` or `@` in it is never shown.
 */
function redact(url: string): string {
  const stripped = url.replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/is, '$1');
  try {
    const u = new URL(stripped);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return stripped.slice(0, 100);
  }
}

/** One server: its address, credentials and the connection opened on first use. */
export class Server {
  readonly role: Role;
  /** host:port as given in the URL (brackets kept for IPv6); the node id of a replica. */
  readonly address: string;
  /** Host without IPv6 brackets, for `server.address`. */
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string | undefined;
  private readonly tls: SourceTlsOptions | undefined;
  private session: Session | undefined;
  private closed = false;

  constructor(role: Role, option: string, url: unknown, fallbackPassword: string | undefined, tls: SourceTlsOptions | undefined) {
    if (typeof url !== 'string') throw new TypeError(`MySqlSourceOptions.${option} must be a mysql:// URL string, got ${typeof url}`);
    const shown = JSON.stringify(redact(url));
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new RangeError(`MySqlSourceOptions.${option} must be a mysql:// URL, got ${shown}`);
    }
    if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') throw new RangeError(`MySqlSourceOptions.${option} must be a mysql:// URL, got ${shown}`);
    if (u.hostname === '') throw new RangeError(`MySqlSourceOptions.${option} must name a host (mysql://user@host:port), got ${shown}`);
    if (u.username === '') throw new RangeError(`MySqlSourceOptions.${option} must name the monitoring user (mysql://user@host:port), got ${shown}`);
    if (u.search !== '' || u.hash !== '') {
      throw new RangeError(`MySqlSourceOptions.${option} must not have a query string or fragment (no connection parameters are supported; TLS is the tls option), got ${shown}`);
    }
    try {
      this.user = decodeURIComponent(u.username);
      this.password = u.password === '' ? fallbackPassword : decodeURIComponent(u.password);
    } catch {
      throw new RangeError(`MySqlSourceOptions.${option} has a badly percent-encoded user or password: ${shown}`);
    }
    this.role = role;
    this.tls = tls;
    this.port = u.port === '' ? DEFAULT_PORT : Number(u.port);
    if (this.port === 0) throw new RangeError(`MySqlSourceOptions.${option} must have a port in 1-65535, got ${shown}`);
    this.address = `${u.hostname}:${this.port}`;
    this.host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  }

  /** Runs `work` on this server's connection (opened if needed), bounded by `timeoutMs`; errors name the server. */
  async read<T>(timeoutMs: number, work: (query: (sql: string) => Promise<RowDataPacket[]>, system: System) => Promise<T>): Promise<T> {
    const session = this.open(timeoutMs);
    const query = async (sql: string) => (await session.client.query<RowDataPacket[]>(sql))[0];
    const attempt = (async () => {
      session.system ??= /mariadb/i.test(String((await query('SELECT VERSION() AS version'))[0]?.version)) ? 'mariadb' : 'mysql';
      return work(query, session.system);
    })();
    attempt.catch(() => {}); // settled after a timeout: nobody waits for it any more
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
      }, timeoutMs);
    });
    try {
      return await Promise.race([attempt, timeout]);
    } catch (error) {
      // Whatever failed, the next poll starts on a fresh connection (which also picks up new grants);
      // a server that did not answer in time will not answer a QUIT either: its socket is destroyed.
      const code = (error as { code?: unknown }).code;
      this.drop(session, timedOut || code === 'ETIMEDOUT' || code === 'HANDSHAKE_SSL_ERROR');
      throw this.explain(error, timeoutMs, session);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the connection: QUIT when the server answers within `graceMs`, then the socket is destroyed. */
  async close(graceMs: number): Promise<void> {
    this.closed = true;
    const session = this.session;
    this.session = undefined;
    if (session !== undefined) await release(session, graceMs);
  }

  private open(timeoutMs: number): Session {
    if (this.closed) throw new ExplainedError('MySqlSource is closed');
    if (this.session !== undefined) return this.session;
    const socket = connectSocket({ host: this.host, port: this.port });
    socket.setNoDelay(true);
    const name = this.tls?.servername ?? this.host;
    const conn = createConnection({
      host: name, // with our own stream, mysql2 uses the host only as the TLS server name (SNI, not for IPs)
      port: this.port,
      user: this.user,
      password: this.password ?? '',
      stream: socket,
      connectTimeout: timeoutMs,
      connectAttributes: { program_name: 'otel-replication-lag' },
      ...(this.tls !== undefined ? { ssl: mysql2Ssl(this.tls) } : {}),
    });
    if (this.tls !== undefined) {
      try {
        checkTlsUpgrade(conn, name, this.tls.rejectUnauthorized ?? true);
      } catch (error) {
        conn.destroy();
        socket.destroy();
        throw error;
      }
    }
    const session: Session = { conn, client: conn.promise(), socket };
    // The connection broke or the server closed it: the next poll reconnects. On 'end', mysql2 still fails the
    // commands in flight with PROTOCOL_CONNECTION_LOST when the socket closes, so it is not destroyed here.
    conn.on('error', () => this.drop(session, true));
    conn.on('end', () => {
      if (this.session === session) this.session = undefined;
    });
    this.session = session;
    return session;
  }

  private drop(session: Session, destroy: boolean): void {
    if (this.session === session) this.session = undefined;
    if (destroy) {
      session.conn.destroy();
      session.socket.destroy();
    } else void release(session, 1000);
  }

  private explain(error: unknown, timeoutMs: number, session: Session | undefined): Error {
    const e = (error ?? {}) as { code?: unknown; message?: unknown; sqlMessage?: unknown; tlsCode?: unknown };
    const serverSaid = typeof e.sqlMessage === 'string' ? e.sqlMessage : String(e.message);
    let what: string;
    if (error instanceof ExplainedError) what = error.message;
    else if (e.code === 'ETIMEDOUT') what = `did not answer within ${timeoutMs} ms (timeoutMs): the server may be hung, overloaded or unreachable`;
    else if (e.code === 'ECONNREFUSED') what = 'connection refused: is the server running and listening on this address?';
    else if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') what = 'host name not found';
    else if (e.code === 'ECONNRESET' || e.code === 'EPIPE' || e.code === 'PROTOCOL_CONNECTION_LOST') what = 'connection lost (the server closed it); the next poll reconnects';
    else if (e.code === 'HANDSHAKE_SSL_ERROR') what = `TLS handshake failed: ${describeTlsError({ code: e.tlsCode }) ?? serverSaid}`;
    else if (e.code === 'HANDSHAKE_NO_SSL_SUPPORT') what = 'the server does not offer TLS but the tls option is set: enable TLS on the server (ssl_cert, ssl_key) or remove the tls option';
    else if (e.code === 'ER_ACCESS_DENIED_ERROR') what = `authentication failed for user '${this.user}': check the user name and password (server said: ${serverSaid})${this.tlsHint(session)}`;
    else what = `${serverSaid}${typeof e.code === 'string' ? ` (${e.code})` : ''}`;
    if (this.password !== undefined && this.password.length >= 4) what = what.split(this.password).join('***');
    return new Error(`MySqlSource: ${this.role} ${this.address}: ${what}`);
  }

  /**
   * After "Access denied": the server gives the same answer to an account that requires TLS (REQUIRE SSL) reached
   * without it, or a client certificate (REQUIRE X509) reached without one; says so when that may be the cause.
   */
  private tlsHint(session: Session | undefined): string {
    if (this.tls === undefined) {
      const flags = (session?.conn as unknown as Mysql2Internals | undefined)?.serverCapabilityFlags ?? 0;
      if ((flags & CLIENT_SSL) === 0) return ''; // the server offers no TLS: that is not the cause
      return '; or, if the account requires TLS (REQUIRE SSL), enable it: the tls option (replag --tls-ca FILE)';
    }
    if (this.tls.cert === undefined) {
      return '; or, if the account requires a client certificate (REQUIRE X509), pass one: tls.cert and tls.key (replag --tls-cert FILE --tls-key FILE)';
    }
    return '';
  }
}

/** Sends QUIT and waits up to `graceMs` for the server to close, then destroys the socket. */
async function release(session: Session, graceMs: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, graceMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    try {
      session.conn.end(done);
    } catch {
      done();
    }
  });
  session.conn.destroy();
  session.socket.destroy();
}

/** The primary's GTID text: `@@gtid_binlog_pos` (MariaDB) or `@@gtid_executed` (MySQL); checks it writes GTIDs. */
async function readPrimary(query: (sql: string) => Promise<RowDataPacket[]>, system: System): Promise<{ system: System; gtids: string }> {
  if (system === 'mariadb') {
    const [row] = await query('SELECT @@GLOBAL.gtid_binlog_pos AS gtids, @@GLOBAL.log_bin AS log_bin');
    if (Number(row?.log_bin) !== 1) throw new ExplainedError('binary logging is off (log_bin=0), so this server is not a replication primary: check the primary URL');
    return { system, gtids: String(row?.gtids ?? '') };
  }
  const [row] = await query('SELECT @@GLOBAL.gtid_executed AS gtids, @@GLOBAL.gtid_mode AS gtid_mode');
  if (row?.gtid_mode !== 'ON') throw new ExplainedError(`gtid_mode is ${String(row?.gtid_mode)}: this source counts GTIDs and needs gtid_mode=ON (and enforce_gtid_consistency=ON) on the primary`);
  return { system, gtids: String(row?.gtids ?? '') };
}

/** What a replica's replication status says. */
interface ReplicaRead {
  readonly system: System;
  /** Applied GTIDs: `Gtid_Slave_Pos` (MariaDB) or `Executed_Gtid_Set` (MySQL). */
  readonly gtids: string;
  /** `Seconds_Behind_Master` (`Seconds_Behind_Source`); undefined when NULL (a replication thread stopped). */
  readonly secondsBehind: number | undefined;
}

/**
 * `Seconds_Behind_Master` (MariaDB, MySQL before 8.0.22) or `Seconds_Behind_Source` of the status rows: undefined
 * when NULL in any row (a replication thread stopped), else the largest (MariaDB multi-source: one row per connection).
 */
export function secondsBehindOf(rows: readonly Record<string, unknown>[]): number | undefined {
  let worst: number | undefined;
  for (const row of rows) {
    const raw = row.Seconds_Behind_Master ?? row.Seconds_Behind_Source;
    if (raw === null || raw === undefined || raw === '') return undefined;
    const seconds = Number(raw);
    if (!Number.isFinite(seconds) || seconds < 0) return undefined;
    worst = worst === undefined || seconds > worst ? seconds : worst;
  }
  return worst;
}

/** The replica's applied GTIDs from its replication status; a permission error says which GRANT fixes it. */
async function readReplica(query: (sql: string) => Promise<RowDataPacket[]>, system: System): Promise<ReplicaRead> {
  const statement = system === 'mariadb' ? 'SHOW ALL REPLICAS STATUS' : 'SHOW REPLICA STATUS';
  let rows: RowDataPacket[];
  try {
    rows = await query(statement);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ER_SPECIFIC_ACCESS_DENIED_ERROR') throw error;
    const account = String((await query('SELECT CURRENT_USER() AS account'))[0]?.account ?? '');
    const at = account.lastIndexOf('@');
    const grantee = at < 0 ? '<user>@<host>' : `'${account.slice(0, at).replaceAll("'", "''")}'@'${account.slice(at + 1).replaceAll("'", "''")}'`;
    const privilege = system === 'mariadb' ? 'REPLICA MONITOR' : 'REPLICATION CLIENT';
    throw new ExplainedError(
      `the monitoring user may not run ${statement} (server said: ${(error as { sqlMessage?: unknown }).sqlMessage}): ` +
        `run GRANT ${privilege} ON *.* TO ${grantee} on the primary (the grant replicates to its replicas)`,
    );
  }
  if (rows.length === 0) throw new ExplainedError(`is not a replica: ${statement} returned no row; configure replication on it or remove it from the replicas`);
  const gtids = system === 'mariadb' ? rows[0]!.Gtid_Slave_Pos : rows[0]!.Executed_Gtid_Set;
  return { system, gtids: String(gtids ?? ''), secondsBehind: secondsBehindOf(rows) };
}

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
  private readonly readers: readonly DeadlineReader<ReplicaRead>[];
  private readonly timeoutMs: number;
  private readonly replicaTimeoutMs: number;
  private readonly onReplicaError: ((replica: string, error: Error) => void) | undefined;
  /** Per replica address: read at the last poll (fresh, no error). */
  private readonly readable = new Map<string, boolean>();
  private closed = false;

  /** @throws TypeError / RangeError naming the bad option; no I/O happens here. */
  constructor(options: MySqlSourceOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError(`MySqlSourceOptions must be an object, got ${options === null ? 'null' : typeof options}`);
    const { password, timeoutMs = DEFAULT_TIMEOUT_MS, onReplicaError, replicas } = options;
    const tls = validateTlsOptions(options.tls, 'MySqlSourceOptions.tls');
    if (password !== undefined && typeof password !== 'string') throw new TypeError(`MySqlSourceOptions.password must be a string, got ${typeof password}`);
    if (typeof timeoutMs !== 'number') throw new TypeError(`MySqlSourceOptions.timeoutMs must be a number, got ${typeof timeoutMs}`);
    if (!(timeoutMs > 0 && timeoutMs <= MAX_TIMEOUT_MS)) throw new RangeError(`MySqlSourceOptions.timeoutMs must be > 0 and <= ${MAX_TIMEOUT_MS} ms, got ${timeoutMs}`);
    const replicaTimeoutMs = options.replicaTimeoutMs ?? Math.min(DEFAULT_REPLICA_TIMEOUT_MS, timeoutMs);
    if (typeof replicaTimeoutMs !== 'number') throw new TypeError(`MySqlSourceOptions.replicaTimeoutMs must be a number, got ${typeof replicaTimeoutMs}`);
    if (!(replicaTimeoutMs > 0 && replicaTimeoutMs <= timeoutMs)) {
      throw new RangeError(`MySqlSourceOptions.replicaTimeoutMs must be > 0 and <= timeoutMs (${timeoutMs} ms), got ${replicaTimeoutMs}`);
    }
    if (onReplicaError !== undefined && typeof onReplicaError !== 'function') throw new TypeError(`MySqlSourceOptions.onReplicaError must be a function, got ${typeof onReplicaError}`);
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
    this.readers = this.replicas.map(() => new DeadlineReader<ReplicaRead>());
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
    const primaryRead = this.primary.read(this.timeoutMs, readPrimary);
    primaryRead.catch(() => {}); // awaited below, after the replicas' deadlines
    await Promise.all(this.readers.map((reader, i) => reader.wait(() => this.replicas[i]!.read(this.timeoutMs, readReplica), this.replicaTimeoutMs)));
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
          attributes: { 'replication.system': value.system, 'server.address': replica.host, 'server.port': replica.port },
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

  /** Closes every connection (QUIT, then the socket is destroyed if the server does not answer). Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const graceMs = Math.min(this.timeoutMs, 1000);
    await Promise.all([this.primary, ...this.replicas].map((s) => s.close(graceMs)));
  }
}
