/**
 * A minimal NATS client connection: the handshake (INFO, optional TLS upgrade, CONNECT with user/password or
 * token, PING/PONG), one inbox subscription, and request/reply over it. Enough for the JetStream API, nothing
 * more: no reconnects (the source opens a connection per poll), no publishing without a reply.
 */
import { randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { PACKAGE_VERSION } from '../../version.ts';
import { describeTlsError, nodeTlsOptions, type SourceTlsOptions } from '../tls.ts';
import { encodePub, ServerOpParser, type ServerOp } from './protocol.ts';

/** How to reach and authenticate with one server. */
export interface NatsConnectOptions {
  /** `nats://host:port` (TLS when the server requires it) or `tls://host:port` (TLS always). */
  readonly url: URL;
  readonly user?: string;
  readonly password?: string;
  readonly token?: string;
  /** TLS options (CA, client certificate, servername, rejectUnauthorized); also makes TLS required. */
  readonly tls?: SourceTlsOptions;
  /** Bounds the handshake; aborting it later closes the connection. */
  readonly signal: AbortSignal;
}

/** A request nobody subscribes to (the server answers 503 "no responders"). */
export class NoRespondersError extends Error {
  override readonly name = 'NoRespondersError';
}

/** One open connection. */
export class NatsConnection {
  /** The INFO the server sent (server_name, cluster, connect_urls, …). */
  readonly info: Readonly<Record<string, unknown>>;
  readonly #socket: Socket;
  readonly #parser: ServerOpParser;
  readonly #inbox: string;
  #next = 1;
  readonly #pending = new Map<string, { resolve: (payload: Buffer) => void; reject: (error: Error) => void }>();
  #failure: Error | undefined;

  private constructor(socket: Socket, parser: ServerOpParser, info: Record<string, unknown>, inbox: string) {
    this.#socket = socket;
    this.#parser = parser;
    this.info = info;
    this.#inbox = inbox;
  }

  /** Connects, upgrades to TLS when asked or required, authenticates, subscribes to its inbox. */
  static async open(options: NatsConnectOptions): Promise<NatsConnection> {
    const { url, signal } = options;
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = Number(url.port || 4222);
    let socket: Socket = netConnect({ host, port });
    const parser = new ServerOpParser();
    const abort = () => socket.destroy();
    signal.addEventListener('abort', abort, { once: true });
    try {
      let reader = new HandshakeReader(socket, parser);
      const first = await reader.next(signal);
      if (first.op !== 'INFO') throw new Error('the server did not start with INFO (not a NATS client port?)');
      const info = first.info;
      const wantTls = options.tls !== undefined || url.protocol === 'tls:';
      if (info.tls_required === true || wantTls) {
        if (info.tls_required !== true && info.tls_available !== true) throw new Error('the server does not offer TLS (tls:// or tls options given): use nats:// without tls');
        reader.detach();
        socket = await upgrade(socket, host, options.tls ?? {}, signal);
        reader = new HandshakeReader(socket, parser);
      }
      const inbox = `_INBOX.${randomBytes(12).toString('hex')}`;
      const connect = {
        verbose: false, pedantic: false, tls_required: info.tls_required === true || wantTls, name: 'replag', lang: 'node', version: PACKAGE_VERSION,
        protocol: 1, headers: true, no_responders: true,
        ...(options.user !== undefined ? { user: options.user, pass: options.password ?? '' } : {}),
        ...(options.token !== undefined ? { auth_token: options.token } : {}),
      };
      socket.write(`CONNECT ${JSON.stringify(connect)}\r\nPING\r\n`);
      for (let i = 0; ; i++) {
        if (i >= 10) throw new Error('no PONG to the handshake PING (not a NATS server?)');
        const op = await reader.next(signal);
        if (op.op === 'PONG') break;
        if (op.op === 'ERR') throw new Error(authHint(op.message, options));
        if (op.op === 'PING') socket.write('PONG\r\n');
      }
      socket.write(`SUB ${inbox}.* 1\r\n`);
      const leftover = reader.detach();
      const connection = new NatsConnection(socket, parser, info, inbox);
      connection.#listen();
      for (const op of leftover) connection.#handle(op);
      signal.removeEventListener('abort', abort);
      return connection;
    } catch (error) {
      signal.removeEventListener('abort', abort);
      socket.destroy();
      throw signal.aborted ? signal.reason : error;
    }
  }

  /**
   * Publishes `body` to `subject` with a reply inbox and resolves to the first reply's payload.
   * @throws NoRespondersError when nobody listens on `subject`; the signal's reason when it aborts first.
   */
  request(subject: string, body: string, signal: AbortSignal): Promise<Buffer> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (signal.aborted) return Promise.reject(signal.reason);
    const token = String(this.#next++);
    return new Promise<Buffer>((resolve, reject) => {
      const onAbort = () => {
        this.#pending.delete(token);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(token, {
        resolve: (payload) => {
          signal.removeEventListener('abort', onAbort);
          resolve(payload);
        },
        reject: (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
      this.#socket.write(encodePub(subject, `${this.#inbox}.${token}`, body));
    });
  }

  /** Closes the connection (requests in flight reject). Idempotent. */
  close(): void {
    this.#fail(new Error('connection closed'));
    this.#socket.destroy();
  }

  #listen(): void {
    this.#socket.on('data', (chunk: Buffer) => {
      let ops: ServerOp[];
      try {
        ops = this.#parser.push(chunk);
      } catch (error) {
        this.#fail(error as Error);
        this.#socket.destroy();
        return;
      }
      for (const op of ops) this.#handle(op);
    });
    this.#socket.on('error', (error) => this.#fail(error));
    this.#socket.on('close', () => this.#fail(new Error('the server closed the connection')));
  }

  #handle(op: ServerOp): void {
    if (op.op === 'PING') this.#socket.write('PONG\r\n');
    else if (op.op === 'ERR') this.#fail(new Error(`the server reported an error: ${op.message}`));
    else if (op.op === 'MSG' && op.subject.startsWith(`${this.#inbox}.`)) {
      const token = op.subject.slice(this.#inbox.length + 1);
      const waiting = this.#pending.get(token);
      if (waiting === undefined) return;
      this.#pending.delete(token);
      if (op.status === 503) waiting.reject(new NoRespondersError('no responders'));
      else if (op.status !== undefined && op.status >= 400) waiting.reject(new Error(`status ${op.status} ${op.description}`.trim()));
      else waiting.resolve(op.payload);
    }
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const waiting of this.#pending.values()) waiting.reject(error);
    this.#pending.clear();
  }
}

/** Operations read from a socket during the handshake, one at a time. */
class HandshakeReader {
  readonly #socket: Socket;
  readonly #parser: ServerOpParser;
  readonly #queue: ServerOp[] = [];
  #waiter: { resolve: (op: ServerOp) => void; reject: (error: unknown) => void } | undefined;
  #failure: unknown;
  readonly #onData = (chunk: Buffer) => {
    try {
      this.#queue.push(...this.#parser.push(chunk));
    } catch (error) {
      this.#settle(error);
      return;
    }
    this.#settle();
  };
  readonly #onError = (error: Error) => this.#settle(error);
  readonly #onClose = () => this.#settle(new Error('the server closed the connection during the handshake'));

  constructor(socket: Socket, parser: ServerOpParser) {
    this.#socket = socket;
    this.#parser = parser;
    socket.on('data', this.#onData);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
  }

  /** The next operation; rejects on a socket error, a close or the signal. */
  next(signal: AbortSignal): Promise<ServerOp> {
    const op = this.#queue.shift();
    if (op !== undefined) return Promise.resolve(op);
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#waiter = undefined;
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiter = {
        resolve: (o) => {
          signal.removeEventListener('abort', onAbort);
          resolve(o);
        },
        reject: (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
    });
  }

  /** Stops reading; returns what was read and not yet taken. */
  detach(): ServerOp[] {
    this.#socket.off('data', this.#onData);
    this.#socket.off('error', this.#onError);
    this.#socket.off('close', this.#onClose);
    return this.#queue.splice(0);
  }

  #settle(error?: unknown): void {
    if (error !== undefined) this.#failure ??= error;
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    const op = this.#queue.shift();
    if (op !== undefined) {
      this.#waiter = undefined;
      waiter.resolve(op);
    } else if (this.#failure !== undefined) {
      this.#waiter = undefined;
      waiter.reject(this.#failure);
    }
  }
}

/** Starts TLS on `socket` (after the server's INFO, as NATS does). */
function upgrade(socket: Socket, host: string, tls: SourceTlsOptions, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    socket.removeAllListeners('data');
    const secure = tlsConnect({ socket, ...nodeTlsOptions(tls, host) });
    const onAbort = () => secure.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    secure.once('secureConnect', () => {
      signal.removeEventListener('abort', onAbort);
      secure.removeAllListeners('error');
      resolve(secure);
    });
    secure.once('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      reject(new Error(describeTlsError(error) ?? `TLS handshake failed: ${error.message}`, { cause: error }));
    });
  });
}

/** The server's `-ERR` during the handshake, as a sentence without the credentials. */
function authHint(message: string, options: NatsConnectOptions): string {
  if (/authorization violation/i.test(message)) {
    if (options.token === undefined && options.user === undefined) return 'authorization violation: the server requires credentials: set user and password (NATS_PASSWORD), or token (NATS_TOKEN)';
    const given = options.token !== undefined ? 'the token' : `user "${options.user}" and its password`;
    return `authorization violation: the server refused ${given}`;
  }
  if (/tls required/i.test(message)) return 'the server requires TLS: use tls:// or pass tls options';
  return `the server refused the connection: ${message}`;
}
