/**
 * One MySQL / MariaDB server as the source reads it: its address and credentials from a mysql:// URL, one
 * connection over TCP opened on first use (upgraded to TLS before the credentials are sent when `tls` is given,
 * the certificate's name checked as Node's `tls` does), reads bounded by a deadline, and failures explained in the
 * user's terms without a secret: a server never repeats the password it was sent, and URLs are shown without
 * user info. Also the two reads: the primary's GTIDs and a replica's replication status.
 */
import { connect as connectSocket, type Socket } from 'node:net';
import { checkServerIdentity, type TLSSocket } from 'node:tls';
import { createConnection, type Connection, type RowDataPacket, type SslOptions } from 'mysql2';
import type { Connection as PromiseConnection } from 'mysql2/promise';
import { DeadlineError, withDeadline } from '../kit/deadline.ts';
import { errorFacts, urlTextForMessage } from '../kit/messages.ts';
import { describeTlsError, type SourceTlsOptions } from '../tls.ts';

/** The flavour of a server, from `VERSION()`. */
export type System = 'mariadb' | 'mysql';
/** What the source reads a server as. */
export type Role = 'primary' | 'replica';
/** Runs one SQL statement on a server's connection. */
export type Query = (sql: string) => Promise<RowDataPacket[]>;

const DEFAULT_PORT = 3306;
/** CLIENT_SSL: the server's handshake offers TLS. */
const CLIENT_SSL = 0x800;

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
    const shown = JSON.stringify(urlTextForMessage(url));
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
  async read<T>(timeoutMs: number, work: (query: Query, system: System) => Promise<T>): Promise<T> {
    let session: Session | undefined;
    try {
      return await withDeadline(async () => {
        const opened = (session = this.open(timeoutMs));
        const query: Query = async (sql) => (await opened.client.query<RowDataPacket[]>(sql))[0];
        opened.system ??= /mariadb/i.test(String((await query('SELECT VERSION() AS version'))[0]?.version)) ? 'mariadb' : 'mysql';
        return work(query, opened.system);
      }, { timeoutMs, what: `${this.role} ${this.address}` });
    } catch (error) {
      // Whatever failed, the next poll starts on a fresh connection (which also picks up new grants);
      // a server that did not answer in time will not answer a QUIT either: its socket is destroyed.
      const code = (error as { code?: unknown }).code;
      if (session !== undefined) this.drop(session, error instanceof DeadlineError || code === 'ETIMEDOUT' || code === 'HANDSHAKE_SSL_ERROR');
      throw this.explain(error, timeoutMs, session);
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
    const e = (error ?? {}) as { code?: unknown; tlsCode?: unknown };
    const { reason: serverSaid } = errorFacts(error);
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
      return '; or, if the account requires TLS (REQUIRE SSL), enable it: the tls option';
    }
    if (this.tls.cert === undefined) {
      return '; or, if the account requires a client certificate (REQUIRE X509), pass one: tls.cert and tls.key';
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
export async function readPrimary(query: Query, system: System): Promise<{ system: System; gtids: string }> {
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
export interface ReplicaRead {
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
export async function readReplica(query: Query, system: System): Promise<ReplicaRead> {
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
