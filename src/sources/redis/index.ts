/**
 * Redis replication source: reads `INFO replication` on the master over a minimal RESP2 client (node:net, no
 * driver). The leader position is `master_repl_offset`, each replica's position the `offset=` of its `slaveN:`
 * line, i.e. the replication stream bytes the replica last acknowledged (replicas ACK once a second).
 * The only command needed besides AUTH is INFO: `ACL SETUSER replag on >password -@all +info`.
 * TLS (node:tls) when the URL is rediss:// or the `tls` option is given; plaintext (node:net) otherwise.
 *
 * Redis Sentinel, instead of `url`: `sentinels` + `masterName`. Whenever there is no usable master connection,
 * the poll asks the Sentinels in order `SENTINEL get-master-addr-by-name <masterName>` over a short-lived
 * connection each (one that fails, times out or does not know the name → the next; each gets an equal share of
 * the poll's remaining time, one share kept for the master) and connects to the first address given. A master
 * that says `role:slave` (a failover while the connection stayed open) → the Sentinels are asked again and the
 * read retried once, in the same poll. TLS: a Sentinel when its URL is rediss:// (every Sentinel URL has one
 * scheme), with the `tls` option's ca/cert/key/rejectUnauthorized but not its servername (that names the
 * master); the master found when `tls` is given or the Sentinel URLs are rediss://. `username`/`password` are
 * the master's; a Sentinel's password is in its URL or `sentinelPassword` (its own requirepass).
 */
import { Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { ReplicaPosition, ReplicationSource } from '../source.ts';
import { describeTlsError, isClientCertificateAlert, nodeTlsOptions, validateTlsOptions, type SourceTlsOptions } from '../tls.ts';

/** Options of `RedisSource`: exactly one of `url` or `sentinels` + `masterName`. */
export interface RedisSourceOptions {
  /** redis:// (or rediss:// for TLS) URL of the MASTER: host, port, optional user and password (redis://user:pass@host:6379). */
  url?: string;
  /**
   * Instead of `url`: redis:// or rediss:// URLs of Redis Sentinel processes (host:port, default port 26379,
   * optional `:password@`), asked in order for the address of the master `masterName`.
   */
  sentinels?: readonly string[];
  /** The name the Sentinels monitor the master under (`sentinel monitor <masterName> …`); required with `sentinels`. */
  masterName?: string;
  /** The Sentinels' own password (their `requirepass`), for Sentinel URLs without one. */
  sentinelPassword?: string;
  /** ACL user of the master when not in the URL. */
  username?: string;
  /** The master's password when not in the URL (the CLI passes REDISCLI_AUTH here). */
  password?: string;
  /** Bound on each poll (asking the Sentinels + connect + AUTH + INFO), ms. Default 5000. */
  timeoutMs?: number;
  /**
   * TLS to the master (PEM text). Given, TLS is used even with a redis:// URL; a rediss:// URL without it uses
   * Node's public roots. Also the CA and client certificate for rediss:// Sentinels (not `servername`).
   */
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
const DEFAULT_SENTINEL_PORT = 26379;
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

export function hostPort(host: string, port: string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** An error reply (`-CODE message`) from the server. */
export class ReplyError extends Error {
  readonly code: string;
  constructor(text: string) {
    super(text);
    this.code = /^\S+/.exec(text)?.[0] ?? 'ERR';
  }
}

/** A RESP2 reply; an array's items may be error replies. */
export type Reply = string | bigint | null | readonly (Reply | ReplyError)[];

/** Where a connection is: TCP connecting, in the TLS handshake, or ready for commands. */
type Phase = 'connecting' | 'handshake' | 'ready';

const PLAINTEXT_HINT = 'if the server accepts only TLS, use a rediss:// URL (with tls.ca, replag --tls-ca FILE, for a private CA)';
const SENTINEL_PLAINTEXT_HINT = 'if the Sentinel accepts only TLS, use rediss:// Sentinel URLs (with tls.ca, replag --tls-ca FILE, for a private CA)';
const DISCOVERED_PLAINTEXT_HINT = 'if the server accepts only TLS, give the tls option (replag --tls-ca FILE) or rediss:// Sentinel URLs';
const TLS_ON_PLAINTEXT_HINT = 'is this a plaintext (non-TLS) port? Then connect without TLS (a redis:// URL and no tls option)';

/** How a connection names what it connects to in its hints. */
export interface ConnectionHints {
  /** The program expected to listen there, e.g. `redis-server`. */
  readonly program: string;
  /** Advice when a plaintext connection is closed before any reply (likely a TLS-only port). */
  readonly plaintext: string;
}

export const SERVER_HINTS: ConnectionHints = { program: 'redis-server', plaintext: PLAINTEXT_HINT };

/** One RESP2 connection (plaintext, or TLS when `tls` is given), one command at a time. Closes itself on the first error. */
export class RespConnection {
  private readonly socket: Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private pending: { resolve: (reply: Reply) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;
  /** Settles on the socket's 'close' event (`socket.closed` turns true already at destroy()). */
  private readonly closedEvent: Promise<void>;
  private readonly where: string;
  private readonly tls: ConnectionOptions | undefined;
  private readonly hints: ConnectionHints;
  /** Whether any byte came from the server. */
  private replied = false;
  phase: Phase = 'connecting';

  constructor(host: string, port: number, where: string, tls: ConnectionOptions | undefined, hints: ConnectionHints = SERVER_HINTS) {
    this.where = where;
    this.tls = tls;
    this.hints = hints;
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
    if (this.tls !== undefined && isClientCertificateAlert(code)) {
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
    if (this.phase === 'connecting') return new Error(`${this.where}: cannot connect (${error.message}): is ${this.hints.program} running and listening there?`);
    if (this.tls === undefined && !this.replied) return new Error(`${this.where}: cannot connect (${detail} before any reply): ${this.hints.plaintext}`);
    return new Error(`${this.where}: connection lost (${detail})`);
  }

  /** The server ended the connection (FIN): before any reply on a plaintext connection, likely a TLS-only port. */
  private closedByServer(): Error {
    if (this.tls === undefined && !this.replied) return new Error(`${this.where}: cannot connect (the server closed the connection before any reply): ${this.hints.plaintext}`);
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

/** One RESP2 reply at the start of `buf`, or undefined if incomplete. */
function parseReply(buf: Buffer): { reply: Reply | ReplyError; length: number } | undefined {
  const parsed = parseReplyAt(buf, 0, 0);
  return parsed === undefined ? undefined : { reply: parsed.reply, length: parsed.end };
}

/** Nesting bound of array replies (the source's replies are flat). */
const MAX_ARRAY_DEPTH = 4;

/**
 * The reply starting at `start` (simple string, error, integer, bulk string, array; `$-1`/`*-1` are null) and
 * the offset after it, or undefined if incomplete.
 */
function parseReplyAt(buf: Buffer, start: number, depth: number): { reply: Reply | ReplyError; end: number } | undefined {
  const end = buf.indexOf('\r\n', start);
  if (end < 0) return undefined;
  const line = buf.toString('utf8', start + 1, end);
  switch (buf[start]) {
    case 0x2b: // '+'
      return { reply: line, end: end + 2 };
    case 0x2d: // '-'
      return { reply: new ReplyError(line), end: end + 2 };
    case 0x3a: // ':'
      if (!/^-?\d+$/.test(line)) throw new Error('malformed integer reply');
      return { reply: BigInt(line), end: end + 2 };
    case 0x24: { // '$'
      if (line === '-1') return { reply: null, end: end + 2 };
      if (!UNSIGNED.test(line)) throw new Error('malformed bulk string reply');
      if (Number(line) > MAX_REPLY_BYTES) throw new Error(`reply larger than ${MAX_REPLY_BYTES} bytes`);
      const from = end + 2;
      const stop = from + Number(line);
      if (buf.length < stop + 2) return undefined;
      return { reply: buf.toString('utf8', from, stop), end: stop + 2 };
    }
    case 0x2a: { // '*'
      if (line === '-1') return { reply: null, end: end + 2 };
      if (!UNSIGNED.test(line) || Number(line) > MAX_REPLY_BYTES) throw new Error('malformed array reply');
      if (depth >= MAX_ARRAY_DEPTH) throw new Error(`array reply nested deeper than ${MAX_ARRAY_DEPTH}`);
      const items: (Reply | ReplyError)[] = [];
      let at = end + 2;
      for (let i = 0; i < Number(line); i++) {
        const item = parseReplyAt(buf, at, depth + 1);
        if (item === undefined) return undefined;
        items.push(item.reply);
        at = item.end;
      }
      return { reply: items, end: at };
    }
    default:
      throw new Error(`unexpected RESP reply type ${JSON.stringify(String.fromCharCode(buf[start] ?? 0))}`);
  }
}

/** `protocol//host:port/path` of a URL: never its user, password or query. */
function redact(url: URL, port: number): string {
  return `${url.protocol}//${url.hostname}:${port}${url.pathname}`;
}

/** A checked redis:// or rediss:// URL, split; `shown` is safe to print. */
export interface RedisUrl {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** The URL without user and password. */
  readonly shown: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
}

/**
 * Checks the redis:// or rediss:// URL given as `option`: a master's may have a database number as path, a
 * Sentinel's (default port 26379) no path.
 * @throws TypeError / RangeError naming `option`, never quoting a password.
 */
export function parseRedisUrl(text: unknown, option: string, role: 'master' | 'sentinel'): RedisUrl {
  if (typeof text !== 'string') throw new TypeError(`${option} must be a string, got ${typeof text}`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RangeError(`${option} is not a valid URL: expected redis://[user[:password]@]host[:port]`);
  }
  const port = url.port !== '' ? Number(url.port) : role === 'master' ? DEFAULT_PORT : DEFAULT_SENTINEL_PORT;
  const shown = redact(url, port);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new RangeError(`${option} must be a redis:// ${role === 'sentinel' ? 'or rediss:// ' : ''}URL, got "${shown}"`);
  }
  if (url.hostname === '') throw new RangeError(`${option} has no host, got "${shown}"`);
  const path = role === 'master' ? /^\/?\d*$/ : /^\/?$/;
  if (!path.test(url.pathname) || url.search !== '' || url.hash !== '') {
    throw new RangeError(role === 'master'
      ? `${option} must be ${url.protocol}//host:port with at most a database number as path, got "${shown}"`
      : `${option} must be ${url.protocol}//host:port without a path (a Sentinel has no database), got "${shown}"`);
  }
  let username: string;
  let password: string;
  try {
    username = decodeURIComponent(url.username);
    password = decodeURIComponent(url.password);
  } catch {
    throw new RangeError(`${option} has a badly percent-encoded user or password ("${shown}")`);
  }
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    tls: url.protocol === 'rediss:',
    shown,
    username: username === '' ? undefined : username,
    password: password === '' ? undefined : password,
  };
}

/** @throws TypeError / RangeError when the credential option `key` is given but not a non-empty string. */
function checkCredential(key: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'string') throw new TypeError(`RedisSourceOptions.${key} must be a string, got ${typeof value}`);
  if (value === '') throw new RangeError(`RedisSourceOptions.${key} must not be empty (omit it instead)`);
}

/** The master to read: its address, Node TLS options (undefined: plaintext) and how messages name it. */
interface MasterEndpoint {
  readonly host: string;
  readonly port: number;
  readonly tls: ConnectionOptions | undefined;
  readonly where: string;
  readonly hints: ConnectionHints;
}

/** A Sentinel to ask: its address, credentials and Node TLS options (undefined: plaintext). */
interface SentinelEndpoint {
  readonly host: string;
  readonly port: number;
  /** `Sentinel redis://host:port`, for messages. */
  readonly where: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: ConnectionOptions | undefined;
}

/** The master found through Sentinels. */
interface SentinelTarget {
  readonly kind: 'sentinel';
  readonly masterName: string;
  readonly sentinels: readonly SentinelEndpoint[];
  /** TLS options for the master found, or undefined for plaintext. */
  readonly masterTls: SourceTlsOptions | undefined;
}

/** Where the master is: fixed by `url`, or found through Sentinels. */
type Target = { readonly kind: 'url'; readonly master: MasterEndpoint } | SentinelTarget;

const SENTINEL_HINTS: ConnectionHints = { program: 'redis-sentinel', plaintext: SENTINEL_PLAINTEXT_HINT };
const DISCOVERED_HINTS: ConnectionHints = { program: 'redis-server', plaintext: DISCOVERED_PLAINTEXT_HINT };
const DISCOVERY_STEP = 'asking the Sentinels';

/**
 * Checks `sentinels`, `masterName` and `sentinelPassword` (the caller has checked that `url` is absent).
 * Sentinels use TLS for rediss:// URLs, with the `tls` option's ca/cert/key/rejectUnauthorized but their own
 * host name; the master found uses TLS when `tls` is given or the Sentinel URLs are rediss://.
 * @throws TypeError / RangeError naming the option, never quoting a password.
 */
function sentinelTarget(options: RedisSourceOptions, tls: SourceTlsOptions | undefined): SentinelTarget {
  const { sentinels, masterName, sentinelPassword } = options;
  if (!Array.isArray(sentinels)) {
    throw new TypeError(`RedisSourceOptions.sentinels must be an array of redis:// or rediss:// Sentinel URLs, got ${sentinels === null ? 'null' : typeof sentinels}`);
  }
  if (sentinels.length === 0) throw new RangeError('RedisSourceOptions.sentinels is empty: list at least one Sentinel URL (redis://host:26379)');
  if (typeof masterName !== 'string') {
    throw new TypeError(`RedisSourceOptions.masterName must be a string (the name in the Sentinels' "sentinel monitor" line), got ${typeof masterName}`);
  }
  if (masterName.trim() === '' || /[\r\n]/.test(masterName)) throw new RangeError('RedisSourceOptions.masterName must be a non-empty name without line breaks');
  checkCredential('sentinelPassword', sentinelPassword);
  const urls = sentinels.map((text, i) => parseRedisUrl(text, `RedisSourceOptions.sentinels[${i}]`, 'sentinel'));
  if (urls.some((u) => u.tls !== urls[0]!.tls)) throw new RangeError('RedisSourceOptions.sentinels mixes redis:// and rediss:// URLs: use one scheme for every Sentinel');
  // tls.servername names the master's certificate; a Sentinel's is checked against its own host.
  const sentinelTls: SourceTlsOptions = { ...tls, servername: undefined };
  const endpoints = urls.map((u, i): SentinelEndpoint => {
    const password = u.password ?? sentinelPassword;
    if (u.username !== undefined && password === undefined) {
      throw new TypeError(`RedisSourceOptions.sentinels[${i}] has user "${u.username}" but no password (put it in the URL or give sentinelPassword)`);
    }
    return { host: u.host, port: u.port, where: `Sentinel ${u.shown}`, username: u.username, password, tls: u.tls ? nodeTlsOptions(sentinelTls, u.host) : undefined };
  });
  return { kind: 'sentinel', masterName, sentinels: endpoints, masterTls: tls ?? (urls[0]!.tls ? {} : undefined) };
}

/**
 * The `[host, port]` reply of `SENTINEL get-master-addr-by-name`.
 * @throws Error for a null reply (the Sentinel does not know `masterName`) or any other shape.
 */
function masterAddress(reply: Reply, where: string, masterName: string): { host: string; port: number } {
  if (reply === null) {
    throw new Error(`${where} does not know a master named "${masterName}" (SENTINEL get-master-addr-by-name returned null): check masterName against the Sentinel's "sentinel monitor" lines`);
  }
  if (Array.isArray(reply) && reply.length === 2) {
    const [host, port] = reply as readonly unknown[];
    if (typeof host === 'string' && host !== '' && typeof port === 'string' && /^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535) {
      return { host, port: Number(port) };
    }
  }
  throw new Error(`${where}: unexpected reply to SENTINEL get-master-addr-by-name (expected [host, port]): is this a Sentinel?`);
}

/** One poll's state: its deadline, and whether it is over (then nothing may open a connection for it). */
interface PollRun {
  readonly deadline: number;
  over: boolean;
}

/**
 * Reports the replicas of one Redis master from its `INFO replication`: one `ReplicaPosition` per `slaveN:`
 * line, node id `ip:port` as the master lists the replica. Positions are bigints (64-bit byte offsets).
 * Connects on the first poll (over TLS for rediss:// or `tls`) and keeps the connection; after any error the
 * next poll reconnects. With `sentinels` + `masterName`, each (re)connection first asks the Sentinels where the
 * master is; the positions then carry the attribute `redis.sentinel.master`.
 */
export class RedisSource implements ReplicationSource {
  readonly name = 'redis';
  private readonly username: string | undefined;
  private readonly password: string | undefined;
  private readonly timeoutMs: number;
  private readonly target: Target;
  /** Every password the source knows, masked in server text. */
  private readonly secrets: readonly string[];
  /** How messages name the source: the master's redacted URL, or the master name given to the Sentinels. */
  private readonly label: string;
  /** The master last connected to (fixed with `url`), for messages. */
  private master: MasterEndpoint | undefined;
  private connection: RespConnection | undefined;
  /** Sentinel connections open for a question; a failed poll and close() destroy them. */
  private readonly asking = new Set<RespConnection>();
  /** Sockets being torn down after a failed poll; close() waits for them. */
  private dropping: Promise<void> = Promise.resolve();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** @throws TypeError / RangeError naming the bad option; never opens a connection. */
  constructor(options: RedisSourceOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('RedisSourceOptions must be an object');
    const { url: text, username, password, timeoutMs = DEFAULT_TIMEOUT_MS } = options;
    const tls = validateTlsOptions(options.tls, 'RedisSourceOptions.tls');
    const viaSentinel = options.sentinels !== undefined || options.masterName !== undefined || options.sentinelPassword !== undefined;
    if (viaSentinel && text !== undefined) throw new RangeError('RedisSourceOptions: give either url, or sentinels and masterName, not both');
    if (!viaSentinel && text === undefined) throw new TypeError('RedisSourceOptions.url must be a string, got undefined: give url, or sentinels and masterName');
    const url = viaSentinel ? undefined : parseRedisUrl(text, 'RedisSourceOptions.url', 'master');
    checkCredential('username', username);
    checkCredential('password', password);
    if (typeof timeoutMs !== 'number') throw new TypeError(`RedisSourceOptions.timeoutMs must be a number, got ${typeof timeoutMs}`);
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > 2_147_483_647) {
      throw new RangeError(`RedisSourceOptions.timeoutMs must be an integer in 1..2147483647, got ${timeoutMs}`);
    }
    // As with redis-cli, credentials in the URL win over the separate options.
    this.username = url?.username ?? username;
    this.password = url?.password ?? password;
    if (this.username !== undefined && this.password === undefined) {
      throw new TypeError(`RedisSourceOptions.username "${this.username}" needs a password (RedisSourceOptions.password or the URL)`);
    }
    this.timeoutMs = timeoutMs;
    if (url === undefined) {
      const target = sentinelTarget(options, tls);
      this.target = target;
      this.label = `Redis Sentinel master "${target.masterName}"`;
      this.secrets = [this.password, ...target.sentinels.map((s) => s.password)].filter((p) => p !== undefined);
    } else {
      // rediss:// or an explicit tls option: TLS (the option is explicit, so it wins over a redis:// scheme).
      const useTls = url.tls || tls !== undefined;
      this.label = `Redis ${url.shown}${useTls && !url.tls ? ' (TLS)' : ''}`;
      this.master = { host: url.host, port: url.port, tls: useTls ? nodeTlsOptions(tls ?? {}, url.host) : undefined, where: this.label, hints: SERVER_HINTS };
      this.target = { kind: 'url', master: this.master };
      this.secrets = this.password === undefined ? [] : [this.password];
    }
  }

  /** Reads `INFO replication` on the master. Rejects (within `timeoutMs`) on any failure, with an actionable message. */
  poll(): Promise<readonly ReplicaPosition[]> {
    if (this.closed) return Promise.reject(new Error(`${this.label}: the source is closed`));
    const deadline = Date.now() + this.timeoutMs;
    const run = this.queue.then(() => this.pollUntil({ deadline, over: false }));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Closes every connection (the master's, and a Sentinel's being asked). Idempotent; later polls reject. */
  async close(): Promise<void> {
    this.closed = true;
    const reason = new Error(`${this.label}: the source was closed`);
    this.dropConnection(reason);
    for (const connection of this.asking) this.drop(connection, reason);
    await this.dropping;
  }

  /** How messages name the master: the one last connected to, else the label. */
  private get where(): string {
    return this.master?.where ?? this.label;
  }

  private async pollUntil(run: PollRun): Promise<ReplicaPosition[]> {
    if (this.closed) throw new Error(`${this.label}: the source is closed`);
    let step = 'connecting';
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(this.timeoutError(step));
      }, Math.max(0, run.deadline - Date.now()));
    });
    try {
      return await Promise.race([timeout, this.read(run, (s) => (step = s))]);
    } catch (error) {
      run.over = true;
      this.dropConnection(error as Error);
      for (const connection of this.asking) this.drop(connection, error as Error);
      throw error;
    } finally {
      run.over = true;
      clearTimeout(timer);
    }
  }

  private drop(connection: RespConnection, reason: Error): void {
    this.dropping = Promise.all([this.dropping, connection.destroy(reason)]).then(() => undefined);
  }

  private dropConnection(reason: Error): void {
    const connection = this.connection;
    this.connection = undefined;
    if (connection !== undefined) this.drop(connection, reason);
  }

  /** Throws once the source is closed or the poll is over (timed out), so that nothing opens a connection after. */
  private checkRun(run: PollRun): void {
    if (this.closed) throw new Error(`${this.label}: the source was closed`);
    if (run.over) throw new Error(`${this.label}: the poll is over`);
  }

  private timeoutError(step: string): Error {
    if (step === DISCOVERY_STEP) {
      return new Error(`${this.label}: timed out after ${this.timeoutMs} ms ${DISCOVERY_STEP} for the master's address: are they stopped, overloaded or unreachable?`);
    }
    const phase = this.connection?.phase ?? 'connecting';
    if (phase === 'handshake') {
      return new Error(`${this.where}: timed out after ${this.timeoutMs} ms in the TLS handshake: is the server stopped or overloaded, or ${TLS_ON_PLAINTEXT_HINT}`);
    }
    return new Error(`${this.where}: timed out after ${this.timeoutMs} ms ${phase === 'ready' ? `waiting for the reply to ${step}` : 'connecting'}: is the server stopped, overloaded or unreachable?`);
  }

  private async read(run: PollRun, setStep: (step: string) => void): Promise<ReplicaPosition[]> {
    let info = await this.readInfo(run, setStep);
    if (info.role !== 'master' && this.target.kind === 'sentinel') {
      // A failover while the connection stayed open, or a Sentinel answering mid-failover: ask again, once.
      this.dropConnection(new Error(`${this.where} is no longer the master`));
      info = await this.readInfo(run, setStep);
    }
    if (info.role !== 'master') throw this.replicaError(info);
    const sentinel: Record<string, string> = this.target.kind === 'sentinel' ? { 'redis.sentinel.master': this.target.masterName } : {};
    return info.replicas.map((r) => ({
      nodeId: r.id,
      leaderSeq: info.masterReplOffset,
      followerSeq: r.offset,
      attributes: { 'replication.system': 'redis', 'server.address': r.ip, 'server.port': r.port, ...sentinel },
    }));
  }

  /** `INFO replication` on the kept connection, or on a new one (to the master the Sentinels name, with them). */
  private async readInfo(run: PollRun, setStep: (step: string) => void): Promise<RedisReplicationInfo> {
    let connection = this.connection;
    if (connection === undefined || !connection.usable) connection = await this.connect(run, setStep);
    setStep('INFO replication');
    const reply = await connection.command(['INFO', 'replication']).catch((error: unknown) => {
      throw error instanceof ReplyError ? this.infoError(error) : error;
    });
    if (typeof reply !== 'string') throw new Error(`${this.where}: INFO replication returned no text (is this a Redis server?)`);
    try {
      return parseReplicationInfo(reply);
    } catch (error) {
      throw new Error(`${this.where}: ${(error as Error).message}`);
    }
  }

  /** Opens the master connection (after asking the Sentinels where the master is) and authenticates. */
  private async connect(run: PollRun, setStep: (step: string) => void): Promise<RespConnection> {
    if (this.target.kind === 'sentinel') setStep(DISCOVERY_STEP);
    const master = this.target.kind === 'url' ? this.target.master : await this.discover(this.target, run);
    this.checkRun(run);
    this.master = master;
    setStep('connecting');
    const connection = this.connection = new RespConnection(master.host, master.port, master.where, master.tls, master.hints);
    if (this.password !== undefined) {
      setStep('AUTH');
      const auth = this.username === undefined ? ['AUTH', this.password] : ['AUTH', this.username, this.password];
      await connection.command(auth).catch((error: unknown) => {
        throw error instanceof ReplyError ? this.authError(error) : error;
      });
    }
    return connection;
  }

  /**
   * Asks the Sentinels in order; the first address wins. Each gets an equal share of the poll's remaining time,
   * one share kept for the master. @throws Error listing every Sentinel's failure.
   */
  private async discover(target: SentinelTarget, run: PollRun): Promise<MasterEndpoint> {
    const { sentinels, masterName, masterTls } = target;
    const failures: string[] = [];
    for (const [i, sentinel] of sentinels.entries()) {
      this.checkRun(run);
      const budgetMs = Math.max(1, Math.floor((run.deadline - Date.now()) / (sentinels.length - i + 1)));
      try {
        const { host, port } = await this.askSentinel(sentinel, masterName, budgetMs);
        const shown = `${masterTls === undefined ? 'redis' : 'rediss'}://${hostPort(host, String(port))}`;
        return {
          host,
          port,
          tls: masterTls === undefined ? undefined : nodeTlsOptions(masterTls, host),
          where: `Redis ${shown} (master "${masterName}" from ${sentinel.where})`,
          hints: DISCOVERED_HINTS,
        };
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
    this.checkRun(run);
    throw new Error(`${this.label}: no Sentinel gave the master's address (${sentinels.length} asked): ${failures.join('; ')}`);
  }

  /** `SENTINEL get-master-addr-by-name` on one Sentinel, over a connection of its own, within `budgetMs`. */
  private async askSentinel(sentinel: SentinelEndpoint, masterName: string, budgetMs: number): Promise<{ host: string; port: number }> {
    const connection = new RespConnection(sentinel.host, sentinel.port, sentinel.where, sentinel.tls, SENTINEL_HINTS);
    this.asking.add(connection);
    let step = 'connecting';
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.sentinelTimeoutError(sentinel, connection, step, budgetMs)), budgetMs);
    });
    try {
      return await Promise.race([timeout, this.querySentinel(connection, sentinel, masterName, (s) => (step = s))]);
    } finally {
      clearTimeout(timer);
      this.asking.delete(connection);
      this.drop(connection, new Error(`${sentinel.where}: asked`));
    }
  }

  private async querySentinel(connection: RespConnection, sentinel: SentinelEndpoint, masterName: string, setStep: (step: string) => void): Promise<{ host: string; port: number }> {
    if (sentinel.password !== undefined) {
      setStep('AUTH');
      const auth = sentinel.username === undefined ? ['AUTH', sentinel.password] : ['AUTH', sentinel.username, sentinel.password];
      await connection.command(auth).catch((error: unknown) => {
        throw error instanceof ReplyError ? this.sentinelAuthError(sentinel, error) : error;
      });
    }
    setStep('SENTINEL get-master-addr-by-name');
    const reply = await connection.command(['SENTINEL', 'get-master-addr-by-name', masterName]).catch((error: unknown) => {
      throw error instanceof ReplyError ? this.sentinelError(sentinel, error) : error;
    });
    return masterAddress(reply, sentinel.where, masterName);
  }

  private sentinelTimeoutError(sentinel: SentinelEndpoint, connection: RespConnection, step: string, budgetMs: number): Error {
    const doing = connection.phase === 'ready' ? `waiting for the reply to ${step}` : connection.phase === 'handshake' ? 'in the TLS handshake' : 'connecting';
    return new Error(`${sentinel.where}: timed out after ${budgetMs} ms (its share of timeoutMs) ${doing}`);
  }

  private sentinelAuthError(sentinel: SentinelEndpoint, error: ReplyError): Error {
    const said = this.scrub(error.message);
    if (said.includes('without any password configured')) {
      return new Error(`${sentinel.where}: a password was given but the Sentinel has none (${said}): omit sentinelPassword and the password in its URL`);
    }
    return new Error(`${sentinel.where}: authentication failed (${said}): check the Sentinel's own password (its requirepass, in the Sentinel URL or sentinelPassword)`);
  }

  private sentinelError(sentinel: SentinelEndpoint, error: ReplyError): Error {
    const said = this.scrub(error.message);
    if (error.code === 'NOAUTH') {
      return new Error(`${sentinel.where}: the Sentinel requires a password (${said}): put it in the Sentinel URL (redis://:password@host:26379) or give sentinelPassword`);
    }
    if (/unknown command/i.test(said)) {
      return new Error(`${sentinel.where}: not a Sentinel (${said}): list Sentinel processes (port 26379 by default), not Redis servers`);
    }
    return new Error(`${sentinel.where}: SENTINEL get-master-addr-by-name failed (${said})`);
  }

  private replicaError(info: RedisReplicationInfo): Error {
    const of = info.master === undefined ? '' : ` of ${info.master}`;
    if (this.target.kind === 'url') {
      return new Error(`${this.where} is a replica (role:${info.role})${of}, not the master: point the source's url at the master`);
    }
    return new Error(`${this.where} is a replica (role:${info.role})${of}, although the Sentinel names it as master "${this.target.masterName}" (asked twice in this poll): a failover in progress? The next poll asks again`);
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

  /** Server text with every password masked, should a server ever echo one. */
  private scrub(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join('***');
    return out;
  }
}
