/**
 * The Redis source: reads `INFO replication` on the master over the RESP client (`resp.ts`). The leader position
 * is `master_repl_offset`, each replica's position the `offset=` of its `slaveN:` line, i.e. the replication stream
 * bytes the replica last acknowledged (replicas ACK once a second). The only command needed besides AUTH is INFO:
 * `ACL SETUSER replag on >password -@all +info`. TLS (node:tls) when the URL is rediss:// or the `tls` option is
 * given; plaintext (node:net) otherwise.
 *
 * Redis Sentinel, instead of `url`: `sentinels` + `masterName` (`sentinel.ts`). Whenever there is no usable master
 * connection, the poll asks the Sentinels where the master is and connects to the first address given. A master
 * that says `role:slave` (a failover while the connection stayed open) → the Sentinels are asked again and the
 * read retried once, in the same poll. `username`/`password` are the master's; a Sentinel's password is in its URL
 * or `sentinelPassword` (its own requirepass).
 */
import type { ConnectionOptions } from 'node:tls';
import { ATTR_REDIS_SENTINEL_MASTER, ATTR_REPLICATION_SYSTEM, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '../../semconv.ts';
import { DeadlineError, withDeadline } from '../kit/deadline.ts';
import { HeartbeatWriter, redisHeartbeatOption, type RedisHeartbeatOptions } from '../kit/heartbeat.ts';
import { objectOption, timeoutOption } from '../kit/options.ts';
import type { ReplicaPosition, ReplicationSource } from '../source.ts';
import { nodeTlsOptions, validateTlsOptions, type SourceTlsOptions } from '../tls.ts';
import { RedisHeartbeat } from './heartbeat.ts';
import { parseReplicationInfo, type RedisReplicationInfo } from './info.ts';
import { ReplyError, RespConnection, SERVER_HINTS, TLS_ON_PLAINTEXT_HINT, type ConnectionHints } from './resp.ts';
import { DISCOVERY_STEP, discoverMaster, sentinelTarget, type SentinelTarget } from './sentinel.ts';
import { checkCredential, parseRedisUrl } from './url.ts';

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
  /**
   * Opt-in heartbeat (see `heartbeat.ts` and the README): every `intervalMs` (default 1000) the source writes its
   * own clock's time as field `name` (default `redis`) of the hash `key` (default `replag:heartbeat`) on the master,
   * over a connection of its own, and reads it at each poll on every replica the master lists (at its `ip:port`, with
   * the master's credentials and TLS): its `heartbeatDelaySeconds`. Needs `+hset +hget ~<key>` besides `+info`.
   * Unset: nothing is written anywhere.
   */
  heartbeat?: RedisHeartbeatOptions;
}

const DEFAULT_TIMEOUT_MS = 5000;

/** The master to read: its address, Node TLS options (undefined: plaintext) and how messages name it. */
interface MasterEndpoint {
  readonly host: string;
  readonly port: number;
  readonly tls: ConnectionOptions | undefined;
  readonly where: string;
  readonly hints: ConnectionHints;
}

/** Where the master is: fixed by `url`, or found through Sentinels. */
type Target = { readonly kind: 'url'; readonly master: MasterEndpoint } | SentinelTarget;

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


  /** How messages name the source: the master's URL without credentials, or the master name given to the Sentinels. */
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
  /** With `heartbeat`: its connections and its writer; the TLS option the replicas are read with. */
  readonly #heartbeat: { readonly links: RedisHeartbeat; readonly writer: HeartbeatWriter } | undefined;
  readonly #tls: SourceTlsOptions | undefined;

  /** @throws TypeError / RangeError naming the bad option; never opens a connection. */
  constructor(options: RedisSourceOptions) {
    objectOption(options, 'RedisSourceOptions');
    const { url: text, username, password } = options;
    const tls = validateTlsOptions(options.tls, 'RedisSourceOptions.tls');
    const viaSentinel = options.sentinels !== undefined || options.masterName !== undefined || options.sentinelPassword !== undefined;
    if (viaSentinel && text !== undefined) throw new RangeError('RedisSourceOptions: give either url, or sentinels and masterName, not both');
    if (!viaSentinel && text === undefined) throw new TypeError('RedisSourceOptions.url must be a string, got undefined: give url, or sentinels and masterName');
    const url = viaSentinel ? undefined : parseRedisUrl(text, 'RedisSourceOptions.url', 'master');
    checkCredential('username', username);
    checkCredential('password', password);
    const timeoutMs = timeoutOption(options.timeoutMs, 'RedisSourceOptions.timeoutMs', DEFAULT_TIMEOUT_MS);
    // As with redis-cli, credentials in the URL win over the separate options.
    this.username = url?.username ?? username;
    this.password = url?.password ?? password;
    if (this.username !== undefined && this.password === undefined) {
      throw new TypeError(`RedisSourceOptions.username "${this.username}" needs a password (RedisSourceOptions.password or the URL)`);
    }
    this.timeoutMs = timeoutMs;
    this.#tls = tls;
    const heartbeat = redisHeartbeatOption(options.heartbeat, 'RedisSourceOptions.heartbeat', this.name);
    if (heartbeat !== undefined) {
      const links = new RedisHeartbeat(heartbeat, { username: this.username, password: this.password }, timeoutMs);
      const write = (nowMs: number) => {
        const master = this.master;
        if (master === undefined) return Promise.reject(new Error(`${this.label}: no master found yet to write the heartbeat on`));
        return links.write(master, nowMs);
      };
      this.#heartbeat = { links, writer: new HeartbeatWriter({ intervalMs: heartbeat.intervalMs, write }) };
    }
    if (url === undefined) {
      const target = sentinelTarget(options, tls);
      this.target = target;
      this.label = `Redis Sentinel master "${target.masterName}"`;
    } else {
      // rediss:// or an explicit tls option: TLS (the option is explicit, so it wins over a redis:// scheme).
      const useTls = url.tls || tls !== undefined;
      this.label = `Redis ${url.shown}${useTls && !url.tls ? ' (TLS)' : ''}`;
      this.master = { host: url.host, port: url.port, tls: useTls ? nodeTlsOptions(tls ?? {}, url.host) : undefined, where: this.label, hints: SERVER_HINTS };
      this.target = { kind: 'url', master: this.master };
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
    await this.#heartbeat?.writer.stop();
    await this.#heartbeat?.links.close();
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
    try {
      return await withDeadline(() => this.read(run, (s) => (step = s)), { timeoutMs: Math.max(0, run.deadline - Date.now()), what: this.where });
    } catch (error) {
      const failure = error instanceof DeadlineError ? this.timeoutError(step) : (error as Error);
      run.over = true;
      this.dropConnection(failure);
      for (const connection of this.asking) this.drop(connection, failure);
      throw failure;
    } finally {
      run.over = true;
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
    const sentinel: Record<string, string> = this.target.kind === 'sentinel' ? { [ATTR_REDIS_SENTINEL_MASTER]: this.target.masterName } : {};
    const delays = this.#heartbeat === undefined ? undefined : await this.heartbeatDelays(info, run);
    return info.replicas.map((r) => ({
      nodeId: r.id,
      leaderSeq: info.masterReplOffset,
      followerSeq: r.offset,
      ...(delays?.has(r.id) === true ? { heartbeatDelaySeconds: delays.get(r.id)! } : {}),
      attributes: { [ATTR_REPLICATION_SYSTEM]: 'redis', [ATTR_SERVER_ADDRESS]: r.ip, [ATTR_SERVER_PORT]: r.port, ...sentinel },
    }));
  }

  /**
   * The heartbeat: the first poll writes one on the master (rejecting when it cannot), then each replica listed is
   * read (each within 1 s, or the poll's time left) for the newest heartbeat it shows.
   */
  private async heartbeatDelays(info: RedisReplicationInfo, run: PollRun): Promise<Map<string, number>> {
    const { links, writer } = this.#heartbeat!;
    await writer.start();
    const writtenMs = writer.writtenMs;
    const tls = this.master?.tls === undefined ? undefined : (({ servername: _servername, ...shared }) => shared)(this.#tls ?? {});
    const replicas = info.replicas.map((r) => ({ id: r.id, host: r.ip, port: r.port, tls: tls === undefined ? undefined : nodeTlsOptions(tls, r.ip), where: `Redis replica ${r.id}` }));
    return links.delays(replicas, writtenMs, run.deadline - Date.now());
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
    const master = this.target.kind === 'url' ? this.target.master : await discoverMaster(this.target, run.deadline, this.label, { open: this.asking, drop: (c, reason) => this.drop(c, reason), check: () => this.checkRun(run) });
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

  private replicaError(info: RedisReplicationInfo): Error {
    const of = info.master === undefined ? '' : ` of ${info.master}`;
    if (this.target.kind === 'url') {
      return new Error(`${this.where} is a replica (role:${info.role})${of}, not the master: point the source's url at the master`);
    }
    return new Error(`${this.where} is a replica (role:${info.role})${of}, although the Sentinel names it as master "${this.target.masterName}" (asked twice in this poll): a failover in progress? The next poll asks again`);
  }

  private authError(error: ReplyError): Error {
    const user = this.username ?? 'default';
    const said = error.message;
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
    const said = error.message;
    if (error.code === 'NOAUTH') {
      return new Error(`${this.where}: the server requires authentication (${said}): give the password of a user allowed to run INFO (REDISCLI_AUTH, RedisSourceOptions.password or redis://user:password@host)`);
    }
    if (error.code === 'NOPERM') {
      return new Error(`${this.where}: user "${user}" may not run INFO (${said}): allow it with \`ACL SETUSER ${user} +info\` (INFO is the only command the source needs)`);
    }
    return new Error(`${this.where}: INFO replication failed: ${said}`);
  }
}
