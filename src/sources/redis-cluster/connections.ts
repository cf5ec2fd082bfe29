/**
 * Connections to the nodes of a Redis Cluster: one RESP connection per node address (the Redis source's client:
 * plaintext or TLS, actionable errors), authenticated once, reused across polls; every command is bounded in time,
 * and a connection that failed or timed out is destroyed (the next command opens a new one).
 */
import type { ConnectionOptions } from 'node:tls';
import { withDeadline } from '../kit/deadline.ts';
import { ReplyError, RespConnection, SERVER_HINTS, type Reply } from '../redis/resp.ts';
import { nodeTlsOptions, type SourceTlsOptions } from '../tls.ts';

/** Credentials and TLS shared by every node. */
export interface NodeAccess {
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** TLS options for every node (undefined: plaintext). */
  readonly tls: SourceTlsOptions | undefined;
}

/** One command's failure, as a message naming the node (never a password). */
export type Explain = (where: string, command: string, error: ReplyError) => Error;

/** Connections by node address. */
export class NodeConnections {
  private readonly open = new Map<string, { connection: RespConnection; ready: Promise<void> }>();
  private dropping: Promise<void> = Promise.resolve();
  private closed = false;

  private readonly access: NodeAccess;
  private readonly explain: Explain;

  constructor(access: NodeAccess, explain: Explain) {
    this.access = access;
    this.explain = explain;
  }

  /** How messages name a node. */
  where(host: string, port: number): string {
    const h = host.includes(':') ? `[${host}]` : host;
    return `Redis Cluster node ${this.access.tls === undefined ? 'redis' : 'rediss'}://${h}:${port}`;
  }

  /** Runs one command on the node within `timeoutMs` (connect + AUTH included). @throws Error naming the node. */
  async command(host: string, port: number, args: readonly string[], timeoutMs: number): Promise<Reply> {
    if (this.closed) throw new Error(`${this.where(host, port)}: the source is closed`);
    const key = `${host}|${port}`;
    let entry = this.open.get(key);
    if (entry !== undefined && !entry.connection.usable) {
      this.drop(key, new Error('unusable'));
      entry = undefined;
    }
    if (entry === undefined) entry = this.connect(key, host, port);
    const { connection, ready } = entry;
    const where = this.where(host, port);
    const command = args.slice(0, 2).join(' ');
    try {
      return await withDeadline(async () => {
        await ready;
        return await connection.command(args).catch((error: unknown) => {
          throw error instanceof ReplyError ? this.explain(where, command, error) : error;
        });
      }, { timeoutMs, what: `${where}: ${command}` });
    } catch (error) {
      this.drop(key, error as Error);
      throw error;
    }
  }

  /** Destroys every connection. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    for (const key of [...this.open.keys()]) this.drop(key, new Error('the source was closed'));
    await this.dropping;
  }

  private connect(key: string, host: string, port: number): { connection: RespConnection; ready: Promise<void> } {
    const tls: ConnectionOptions | undefined = this.access.tls === undefined ? undefined : nodeTlsOptions(this.access.tls, host);
    const connection = new RespConnection(host, port, this.where(host, port), tls, SERVER_HINTS);
    const { username, password } = this.access;
    const ready = password === undefined
      ? Promise.resolve()
      : connection.command(username === undefined ? ['AUTH', password] : ['AUTH', username, password]).then(() => undefined, (error: unknown) => {
        throw error instanceof ReplyError ? this.explain(this.where(host, port), 'AUTH', error) : error;
      });
    ready.catch(() => {}); // awaited by the command
    const entry = { connection, ready };
    this.open.set(key, entry);
    return entry;
  }

  private drop(key: string, reason: Error): void {
    const entry = this.open.get(key);
    if (entry === undefined) return;
    this.open.delete(key);
    this.dropping = Promise.all([this.dropping, entry.connection.destroy(reason)]).then(() => undefined);
  }
}
