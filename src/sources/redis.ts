/**
 * Redis replication source: reads `INFO replication` on the master over a minimal RESP2 client (node:net, no
 * driver). The leader position is `master_repl_offset`, each replica's position the `offset=` of its `slaveN:`
 * line, i.e. the replication stream bytes the replica last acknowledged (replicas ACK once a second).
 * The only command needed besides AUTH is INFO: `ACL SETUSER replag on >password -@all +info`.
 * TLS (node:tls) when the URL is rediss:// or the `tls` option is given; plaintext (node:net) otherwise.
 */
import { Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { ReplicaPosition, ReplicationSource } from './source.ts';
import { describeTlsError, nodeTlsOptions, validateTlsOptions, type SourceTlsOptions } from './tls.ts';

/** Options of `RedisSource`. */
export interface RedisSourceOptions {
  /** redis:// (or rediss:// for TLS) URL of the MASTER: host, port, optional user and password (redis://user:pass@host:6379). */
  url: string;
  /** ACL user when not in the URL. */
  username?: string;
  /** Password when not in the URL (the CLI passes REDISCLI_AUTH here). */
  password?: string;
  /** Bound on each poll (connect + AUTH + INFO), ms. Default 5000. */
  timeoutMs?: number;
  /** TLS to the master (PEM text). Given, TLS is used even with a redis:// URL; a rediss:// URL without it uses Node's public roots. */
  tls?: SourceTlsOptions;
}

/** One `slaveN:` line of `INFO replication`, as the master reports its replica. */
export interface RedisReplicaInfo {
  /** `ip:port` (`[ip]:port` for IPv6): the replica's address and announced listening port. */
  readonly id: string;
  readonly ip: string;
  readonly port: number;
  /** `online` once synced; `wait_bgsave` / `send_bulk` during a full resynchronization. */
  readonly state: string;
  /** Replication offset the replica last acknowledged. */
  readonly offset: bigint;
}

/** The fields of `INFO replication` the source uses. */
export interface RedisReplicationInfo {
  /** `master` or `slave`. */
  readonly role: string;
  /** Bytes of replication stream the server has produced (a replica: received and passed on). */
  readonly masterReplOffset: bigint;
  readonly replicas: readonly RedisReplicaInfo[];
  /** `host:port` of this server's master, when it is itself a replica. */
  readonly master?: string;
}

const DEFAULT_PORT = 6379;
const DEFAULT_TIMEOUT_MS = 5000;
const MAX_REPLY_BYTES = 16 * 1024 * 1024;
const UNSIGNED = /^\d+$/;

/**
 * Parses the text of `INFO replication` (CRLF or LF lines). Offsets are exact bigints.
 * @throws Error when `role` or `master_repl_offset` is missing or a `slaveN:` line is malformed.
 */
export function parseReplicationInfo(text: string): RedisReplicationInfo {
  const fields = new Map<string, string>();
  const replicas: RedisReplicaInfo[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1);
    if (/^slave\d+$/.test(key)) replicas.push(parseReplicaLine(key, value));
    else fields.set(key, value);
  }
  const role = fields.get('role');
  if (role === undefined) throw new Error('INFO replication has no role field');
  const offset = fields.get('master_repl_offset');
  if (offset === undefined || !UNSIGNED.test(offset)) throw new Error(`INFO replication: master_repl_offset is not an unsigned integer: ${JSON.stringify(offset)}`);
  const host = fields.get('master_host');
  const port = fields.get('master_port');
  return {
    role,
    masterReplOffset: BigInt(offset),
    replicas,
    ...(host !== undefined && port !== undefined ? { master: hostPort(host, port) } : {}),
  };
}

function parseReplicaLine(key: string, value: string): RedisReplicaInfo {
  const kv = new Map(value.split(',').map((pair) => {
    const eq = pair.indexOf('=');
    return [pair.slice(0, eq), pair.slice(eq + 1)] as const;
  }));
  const ip = kv.get('ip');
  const port = Number(kv.get('port'));
  const offset = kv.get('offset');
  if (ip === undefined || ip === '' || !Number.isInteger(port) || port <= 0 || port > 65535 || offset === undefined || !UNSIGNED.test(offset)) {
    throw new Error(`INFO replication: malformed ${key} line: ${JSON.stringify(value)}`);
  }
  return { id: hostPort(ip, String(port)), ip, port, state: kv.get('state') ?? 'unknown', offset: BigInt(offset) };
}

function hostPort(host: string, port: string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** An error reply (`-CODE message`) from the server. */
class ReplyError extends Error {
  readonly code: string;
  constructor(text: string) {
    super(text);
    this.code = /^\S+/.exec(text)?.[0] ?? 'ERR';
  }
}

type Reply = string | bigint | null;

/** Where a connection is: TCP connecting, in the TLS handshake, or ready for commands. */
type Phase = 'connecting' | 'handshake' | 'ready';

/** TLS alerts a server sends when it requires a client certificate or refuses the one given. */
const CLIENT_CERT_ALERT = /ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|HANDSHAKE_FAILURE|ACCESS_DENIED)$/;
const PLAINTEXT_HINT = 'if the server accepts only TLS, use a rediss:// URL (with tls.ca, replag --tls-ca FILE, for a private CA)';
const TLS_ON_PLAINTEXT_HINT = 'is this a plaintext (non-TLS) port? Then connect without TLS (a redis:// URL and no tls option)';

/** One RESP2 connection (plaintext, or TLS when `tls` is given), one command at a time. Closes itself on the first error. */
class RespConnection {
  private readonly socket: Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private pending: { resolve: (reply: Reply) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;
  /** Settles on the socket's 'close' event (`socket.closed` turns true already at destroy()). */
  private readonly closedEvent: Promise<void>;
  private readonly where: string;
  private readonly tls: ConnectionOptions | undefined;
  /** Whether any byte came from the server. */
  private replied = false;
  phase: Phase = 'connecting';

  constructor(host: string, port: number, where: string, tls: ConnectionOptions | undefined) {
    this.where = where;
    this.tls = tls;
    if (tls === undefined) {
      this.socket = new Socket();
      this.socket.on('connect', () => (this.phase = 'ready'));
    } else {
      this.socket = tlsConnect({ ...tls, host, port });
      this.socket.on('connect', () => (this.phase = 'handshake'));
      this.socket.on('secureConnect', () => (this.phase = 'ready'));
    }
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (error: Error) => this.fail(this.socketError(error)));
    this.closedEvent = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    const closedByServer = () => this.fail(this.closedByServer());
    this.socket.on('end', closedByServer);
    this.socket.on('close', closedByServer);
    if (tls === undefined) this.socket.connect({ host, port });
  }

  /** A socket or TLS error as an actionable message naming the server (never the password: it is not in them). */
  private socketError(error: Error): Error {
    const code = (error as { code?: unknown }).code;
    const detail = typeof code === 'string' && code.startsWith('ERR_SSL_') ? code : error.message;
    const advice = describeTlsError(error);
    if (advice !== undefined) return new Error(`${this.where}: cannot connect (TLS handshake failed): ${advice}`);
    if (this.tls !== undefined && typeof code === 'string' && CLIENT_CERT_ALERT.test(code)) {
      return new Error(this.tls.cert === undefined
        ? `${this.where}: cannot connect (the server refused the TLS connection: ${code}): it requires a client certificate: pass tls.cert and tls.key (replag --tls-cert FILE --tls-key FILE)`
        : `${this.where}: cannot connect (the server refused the client certificate: ${code}): pass one signed by a CA the server trusts (its tls-ca-cert-file)`);
    }
    if (this.tls !== undefined && this.phase !== 'ready' && typeof code === 'string' && code.startsWith('ERR_SSL_')) {
      return new Error(`${this.where}: cannot connect (TLS handshake failed: ${detail}): ${TLS_ON_PLAINTEXT_HINT}`);
    }
    if (this.tls !== undefined && this.phase === 'handshake') {
      return new Error(`${this.where}: cannot connect (the server closed the connection during the TLS handshake: ${detail}): does it require a client certificate (tls.cert, tls.key), or is it not a TLS port?`);
    }
    if (this.phase === 'connecting') return new Error(`${this.where}: cannot connect (${error.message}): is redis-server running and listening there?`);
    if (this.tls === undefined && !this.replied) return new Error(`${this.where}: cannot connect (${detail} before any reply): ${PLAINTEXT_HINT}`);
    return new Error(`${this.where}: connection lost (${detail})`);
  }

  /** The server ended the connection (FIN): before any reply on a plaintext connection, likely a TLS-only port. */
  private closedByServer(): Error {
    if (this.tls === undefined && !this.replied) return new Error(`${this.where}: cannot connect (the server closed the connection before any reply): ${PLAINTEXT_HINT}`);
    if (this.tls !== undefined && this.phase !== 'ready') return new Error(`${this.where}: cannot connect (the server closed the connection during the TLS handshake): ${TLS_ON_PLAINTEXT_HINT}`);
    return new Error(`${this.where}: the server closed the connection`);
  }

  /** Whether the connection can take another command. */
  get usable(): boolean {
    return this.failure === undefined;
  }

  /** Sends one command; resolves with its reply, rejects with a ReplyError for an error reply. */
  command(args: readonly string[]): Promise<Reply> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.pending !== undefined) return Promise.reject(new Error(`${this.where}: a command is already in flight`));
    let frame = `*${args.length}\r\n`;
    for (const arg of args) frame += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
    return new Promise<Reply>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(frame);
    });
  }

  /** Destroys the socket; resolves once it is closed. Idempotent. */
  async destroy(reason: Error): Promise<void> {
    this.fail(reason);
    await this.closedEvent;
  }

  private fail(error: Error): void {
    if (this.failure === undefined) this.failure = error;
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(this.failure);
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.replied = true;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (this.buffer.length > MAX_REPLY_BYTES) return this.fail(new Error(`${this.where}: reply larger than ${MAX_REPLY_BYTES} bytes`));
    let parsed: { reply: Reply | ReplyError; length: number } | undefined;
    try {
      parsed = parseReply(this.buffer);
    } catch (error) {
      return this.fail(new Error(`${this.where}: ${(error as Error).message} (is this a Redis server?)`));
    }
    if (parsed === undefined) return;
    this.buffer = this.buffer.subarray(parsed.length);
    const pending = this.pending;
    if (pending === undefined || this.buffer.length > 0) return this.fail(new Error(`${this.where}: unexpected data from the server`));
    this.pending = undefined;
    if (parsed.reply instanceof ReplyError) pending.reject(parsed.reply);
    else pending.resolve(parsed.reply);
  }
}

/** One RESP2 reply at the start of `buf` (simple string, error, integer, bulk string), or undefined if incomplete. */
function parseReply(buf: Buffer): { reply: Reply | ReplyError; length: number } | undefined {
  const end = buf.indexOf('\r\n');
  if (end < 0) return undefined;
  const line = buf.toString('utf8', 1, end);
  switch (buf[0]) {
    case 0x2b: // '+'
      return { reply: line, length: end + 2 };
    case 0x2d: // '-'
      return { reply: new ReplyError(line), length: end + 2 };
    case 0x3a: // ':'
      if (!/^-?\d+$/.test(line)) throw new Error('malformed integer reply');
      return { reply: BigInt(line), length: end + 2 };
    case 0x24: { // '$'
      if (line === '-1') return { reply: null, length: end + 2 };
      if (!UNSIGNED.test(line)) throw new Error('malformed bulk string reply');
      if (Number(line) > MAX_REPLY_BYTES) throw new Error(`reply larger than ${MAX_REPLY_BYTES} bytes`);
      const start = end + 2;
      const stop = start + Number(line);
      if (buf.length < stop + 2) return undefined;
      return { reply: buf.toString('utf8', start, stop), length: stop + 2 };
    }
    default:
      throw new Error(`unexpected RESP reply type ${JSON.stringify(String.fromCharCode(buf[0] ?? 0))}`);
  }
}

/** `protocol//host:port/path` of a URL: never its user, password or query. */
function redact(url: URL, port: number): string {
  return `${url.protocol}//${url.hostname}:${port}${url.pathname}`;
}

/**
 * Reports the replicas of one Redis master from its `INFO replication`: one `ReplicaPosition` per `slaveN:`
 * line, node id `ip:port` as the master lists the replica. Positions are bigints (64-bit byte offsets).
 * Connects on the first poll (over TLS for rediss:// or `tls`) and keeps the connection; after any error the
 * next poll reconnects.
 */
export class RedisSource implements ReplicationSource {
  readonly name = 'redis';
  private readonly host: string;
  private readonly port: number;
  private readonly username: string | undefined;
  private readonly password: string | undefined;
  private readonly timeoutMs: number;
  /** Node TLS options, or undefined for plaintext. */
  private readonly tls: ConnectionOptions | undefined;
  /** The master's redacted URL, for messages. */
  private readonly where: string;
  private connection: RespConnection | undefined;
  /** Sockets being torn down after a failed poll; close() waits for them. */
  private dropping: Promise<void> = Promise.resolve();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** @throws TypeError / RangeError naming the bad option; never opens a connection. */
  constructor(options: RedisSourceOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('RedisSourceOptions must be an object');
    const { url: text, username, password, timeoutMs = DEFAULT_TIMEOUT_MS } = options;
    const tls = validateTlsOptions(options.tls, 'RedisSourceOptions.tls');
    if (typeof text !== 'string') throw new TypeError(`RedisSourceOptions.url must be a string, got ${typeof text}`);
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new RangeError('RedisSourceOptions.url is not a valid URL: expected redis://[user[:password]@]host[:port]');
    }
    const port = url.port === '' ? DEFAULT_PORT : Number(url.port);
    const shown = redact(url, port);
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new RangeError(`RedisSourceOptions.url must be a redis:// URL, got "${shown}"`);
    if (url.hostname === '') throw new RangeError(`RedisSourceOptions.url has no host, got "${shown}"`);
    if (!/^\/?\d*$/.test(url.pathname) || url.search !== '' || url.hash !== '') {
      throw new RangeError(`RedisSourceOptions.url must be ${url.protocol}//host:port with at most a database number as path, got "${shown}"`);
    }
    for (const [key, value] of [['username', username], ['password', password]] as const) {
      if (value === undefined) continue;
      if (typeof value !== 'string') throw new TypeError(`RedisSourceOptions.${key} must be a string, got ${typeof value}`);
      if (value === '') throw new RangeError(`RedisSourceOptions.${key} must not be empty (omit it instead)`);
    }
    if (typeof timeoutMs !== 'number') throw new TypeError(`RedisSourceOptions.timeoutMs must be a number, got ${typeof timeoutMs}`);
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > 2_147_483_647) {
      throw new RangeError(`RedisSourceOptions.timeoutMs must be an integer in 1..2147483647, got ${timeoutMs}`);
    }
    let urlUser: string;
    let urlPassword: string;
    try {
      urlUser = decodeURIComponent(url.username);
      urlPassword = decodeURIComponent(url.password);
    } catch {
      throw new RangeError(`RedisSourceOptions.url has a badly percent-encoded user or password ("${shown}")`);
    }
    // As with redis-cli, credentials in the URL win over the separate options.
    this.username = urlUser !== '' ? urlUser : username;
    this.password = urlPassword !== '' ? urlPassword : password;
    if (this.username !== undefined && this.password === undefined) {
      throw new TypeError(`RedisSourceOptions.username "${this.username}" needs a password (RedisSourceOptions.password or the URL)`);
    }
    this.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = port;
    this.timeoutMs = timeoutMs;
    // rediss:// or an explicit tls option: TLS (the option is explicit, so it wins over a redis:// scheme).
    const useTls = url.protocol === 'rediss:' || tls !== undefined;
    this.tls = useTls ? nodeTlsOptions(tls ?? {}, this.host) : undefined;
    this.where = `Redis ${shown}${useTls && url.protocol === 'redis:' ? ' (TLS)' : ''}`;
  }

  /** Reads `INFO replication` on the master. Rejects (within `timeoutMs`) on any failure, with an actionable message. */
  poll(): Promise<readonly ReplicaPosition[]> {
    if (this.closed) return Promise.reject(new Error(`${this.where}: the source is closed`));
    const deadline = Date.now() + this.timeoutMs;
    const run = this.queue.then(() => this.pollUntil(deadline));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Closes the connection. Idempotent; later polls reject. */
  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    this.connection = undefined;
    await connection?.destroy(new Error(`${this.where}: the source was closed`));
    await this.dropping;
  }

  private async pollUntil(deadline: number): Promise<ReplicaPosition[]> {
    if (this.closed) throw new Error(`${this.where}: the source is closed`);
    let step = 'connecting';
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(this.timeoutError(step));
      }, Math.max(0, deadline - Date.now()));
    });
    try {
      return await Promise.race([timeout, this.read((s) => (step = s))]);
    } catch (error) {
      const connection = this.connection;
      this.connection = undefined;
      if (connection !== undefined) this.dropping = Promise.all([this.dropping, connection.destroy(error as Error)]).then(() => undefined);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private timeoutError(step: string): Error {
    const phase = this.connection?.phase ?? 'connecting';
    if (phase === 'handshake') {
      return new Error(`${this.where}: timed out after ${this.timeoutMs} ms in the TLS handshake: is the server stopped or overloaded, or ${TLS_ON_PLAINTEXT_HINT}`);
    }
    return new Error(`${this.where}: timed out after ${this.timeoutMs} ms ${phase === 'ready' ? `waiting for the reply to ${step}` : 'connecting'}: is the server stopped, overloaded or unreachable?`);
  }

  private async read(setStep: (step: string) => void): Promise<ReplicaPosition[]> {
    let connection = this.connection;
    if (connection === undefined || !connection.usable) {
      connection = this.connection = new RespConnection(this.host, this.port, this.where, this.tls);
      if (this.password !== undefined) {
        setStep('AUTH');
        const auth = this.username === undefined ? ['AUTH', this.password] : ['AUTH', this.username, this.password];
        await connection.command(auth).catch((error: unknown) => {
          throw error instanceof ReplyError ? this.authError(error) : error;
        });
      }
    }
    setStep('INFO replication');
    const reply = await connection.command(['INFO', 'replication']).catch((error: unknown) => {
      throw error instanceof ReplyError ? this.infoError(error) : error;
    });
    if (typeof reply !== 'string') throw new Error(`${this.where}: INFO replication returned no text (is this a Redis server?)`);
    let info: RedisReplicationInfo;
    try {
      info = parseReplicationInfo(reply);
    } catch (error) {
      throw new Error(`${this.where}: ${(error as Error).message}`);
    }
    if (info.role !== 'master') {
      const of = info.master === undefined ? '' : ` of ${info.master}`;
      throw new Error(`${this.where} is a replica (role:${info.role})${of}, not the master: point the source's url at the master`);
    }
    return info.replicas.map((r) => ({
      nodeId: r.id,
      leaderSeq: info.masterReplOffset,
      followerSeq: r.offset,
      attributes: { 'replication.system': 'redis', 'server.address': r.ip, 'server.port': r.port },
    }));
  }

  private authError(error: ReplyError): Error {
    const user = this.username ?? 'default';
    const said = this.scrub(error.message);
    if (error.code === 'WRONGPASS') {
      return new Error(`${this.where}: authentication failed for user "${user}" (${said}): check the password and that the ACL user exists and is "on"`);
    }
    if (said.includes('without any password configured')) {
      return new Error(`${this.where}: a password was given but the default user has none (${said}): omit the password, or give the ACL user it belongs to`);
    }
    return new Error(`${this.where}: AUTH as user "${user}" was refused (${said})`);
  }

  private infoError(error: ReplyError): Error {
    const user = this.username ?? 'default';
    const said = this.scrub(error.message);
    if (error.code === 'NOAUTH') {
      return new Error(`${this.where}: the server requires authentication (${said}): give the password of a user allowed to run INFO (REDISCLI_AUTH, RedisSourceOptions.password or redis://user:password@host)`);
    }
    if (error.code === 'NOPERM') {
      return new Error(`${this.where}: user "${user}" may not run INFO (${said}): allow it with \`ACL SETUSER ${user} +info\` (INFO is the only command the source needs)`);
    }
    return new Error(`${this.where}: INFO replication failed: ${said}`);
  }

  /** Server text with the password masked, should a server ever echo it. */
  private scrub(text: string): string {
    return this.password === undefined ? text : text.split(this.password).join('***');
  }
}
