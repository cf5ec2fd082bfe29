/**
 * The Redis heartbeat (`RedisSourceOptions.heartbeat`): `HSET <key> <name> <ms>` on the master every interval over a
 * connection of its own, and `HGET <key> <name>` on each replica the master lists (its `ip:port`, with the master's
 * credentials and TLS settings), each read bounded by 1 s (the poll's time left when smaller). A replica that cannot
 * be read at a poll has no heartbeat delay at that poll. The ACL the monitoring user needs:
 * `+info +hset +hget ~<key>` (INFO for the positions). @internal
 */
import type { ConnectionOptions } from 'node:tls';
import { withDeadline } from '../kit/deadline.ts';
import { heartbeatDelaySeconds, type HeartbeatSettings } from '../kit/heartbeat.ts';
import { ReplyError, RespConnection, SERVER_HINTS } from './resp.ts';

/** How long a poll waits for each replica's heartbeat, ms. */
export const REPLICA_WAIT_MS = 1000;

/** A server to connect to: address, TLS options (undefined: plaintext), how messages name it. */
export interface RedisEndpoint {
  readonly host: string;
  readonly port: number;
  readonly tls: ConnectionOptions | undefined;
  readonly where: string;
}

/** Credentials for every connection of the heartbeat (the master's). */
export interface RedisCredentials {
  readonly username: string | undefined;
  readonly password: string | undefined;
}

/** A kept connection to one endpoint, authenticated. */
class Link {
  readonly endpoint: RedisEndpoint;
  #connection: RespConnection | undefined;
  #ready: Promise<RespConnection> | undefined;

  constructor(endpoint: RedisEndpoint) {
    this.endpoint = endpoint;
  }

  /** Runs one command (connecting and authenticating first when needed). */
  async command(args: readonly string[], credentials: RedisCredentials): Promise<unknown> {
    if (this.#connection === undefined || !this.#connection.usable) this.#ready = undefined;
    this.#ready ??= (async () => {
      const e = this.endpoint;
      const connection = (this.#connection = new RespConnection(e.host, e.port, e.where, e.tls, SERVER_HINTS));
      if (credentials.password !== undefined) {
        await connection.command(credentials.username === undefined ? ['AUTH', credentials.password] : ['AUTH', credentials.username, credentials.password]);
      }
      return connection;
    })();
    const connection = await this.#ready;
    return connection.command(args);
  }

  async drop(reason: Error): Promise<void> {
    const connection = this.#connection;
    this.#connection = undefined;
    this.#ready = undefined;
    await connection?.destroy(reason);
  }
}

/** The heartbeat of one Redis source: its writer's connection to the master, and one connection per replica. */
export class RedisHeartbeat {
  readonly settings: HeartbeatSettings;
  readonly #credentials: RedisCredentials;
  readonly #timeoutMs: number;
  #master: Link | undefined;
  readonly #replicas = new Map<string, Link>();
  #closed = false;

  constructor(settings: HeartbeatSettings, credentials: RedisCredentials, timeoutMs: number) {
    this.settings = settings;
    this.#credentials = credentials;
    this.#timeoutMs = timeoutMs;
  }

  /** `HSET key name nowMs` on `master` (a new connection when the master moved). @throws Error naming the master and the fix. */
  async write(master: RedisEndpoint, nowMs: number): Promise<void> {
    if (this.#closed) throw new Error(`${master.where}: the source is closed`);
    let link = this.#master;
    if (link === undefined || link.endpoint.host !== master.host || link.endpoint.port !== master.port) {
      void link?.drop(new Error(`${link.endpoint.where}: no longer the master`));
      link = this.#master = new Link(master);
    }
    const { target: key, name } = this.settings;
    try {
      await withDeadline(() => link.command(['HSET', key, name, String(Math.trunc(nowMs))], this.#credentials), { timeoutMs: this.#timeoutMs, what: master.where });
    } catch (error) {
      await link.drop(error instanceof Error ? error : new Error(String(error)));
      if (error instanceof ReplyError && error.code === 'NOPERM') {
        const user = this.#credentials.username ?? 'default';
        throw new Error(`${master.where}: user "${user}" may not write the heartbeat (${error.message}): allow it with \`ACL SETUSER ${user} +hset +hget ~${key}\``);
      }
      if (error instanceof ReplyError && error.code === 'WRONGTYPE') throw new Error(`${master.where}: the heartbeat key ${key} holds something other than a hash: give RedisSourceOptions.heartbeat.key a key of its own`);
      if (error instanceof ReplyError && error.code === 'READONLY') throw new Error(`${master.where}: is read-only (a replica?): the heartbeat is written on the master`);
      throw error instanceof Error && error.message.startsWith(master.where) ? error : new Error(`${master.where}: writing the heartbeat failed: ${(error as Error).message}`);
    }
  }

  /**
   * Per replica id: its heartbeat delay against `writtenMs` (the newest heartbeat written before the reads), for the
   * replicas read within `waitMs` that show one. Never rejects; a replica no longer listed loses its connection.
   */
  async delays(replicas: readonly (RedisEndpoint & { readonly id: string })[], writtenMs: number | undefined, waitMs: number): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const listed = new Set(replicas.map((r) => r.id));
    for (const [id, link] of this.#replicas) {
      if (!listed.has(id)) {
        this.#replicas.delete(id);
        void link.drop(new Error(`${link.endpoint.where}: no longer listed by the master`));
      }
    }
    const { target: key, name } = this.settings;
    await Promise.all(replicas.map(async (r) => {
      let link = this.#replicas.get(r.id);
      if (link === undefined) this.#replicas.set(r.id, (link = new Link(r)));
      try {
        const reply = await withDeadline(() => link.command(['HGET', key, name], this.#credentials), { timeoutMs: Math.max(1, Math.min(REPLICA_WAIT_MS, waitMs)), what: r.where });
        const shown = typeof reply === 'string' ? Number(reply) : undefined;
        const delay = heartbeatDelaySeconds(writtenMs, shown);
        if (delay !== undefined) out.set(r.id, delay);
      } catch (error) {
        await link.drop(error instanceof Error ? error : new Error(String(error)));
      }
    }));
    return out;
  }

  /** Closes every connection. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const reason = new Error('the source was closed');
    const links = [...this.#replicas.values(), ...(this.#master !== undefined ? [this.#master] : [])];
    this.#replicas.clear();
    this.#master = undefined;
    await Promise.all(links.map((l) => l.drop(reason)));
  }
}
