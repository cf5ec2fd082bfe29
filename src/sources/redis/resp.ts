/**
 * A minimal RESP2 client over node:net or node:tls (no driver): one connection, one command at a time, replies
 * parsed as simple strings, errors, integers, bulk strings and arrays. Its errors name the server by a label
 * given by the caller (never holding a secret) and say what to check (a TLS-only port, a client certificate).
 */
import { Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { describeTlsError, isClientCertificateAlert } from '../tls.ts';

/** Largest reply accepted, bytes. */
export const MAX_REPLY_BYTES = 16 * 1024 * 1024;
const UNSIGNED = /^\d+$/;

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
export type Phase = 'connecting' | 'handshake' | 'ready';

/** Advice when TLS fails on what may be a plaintext port. */
export const TLS_ON_PLAINTEXT_HINT = 'is this a plaintext (non-TLS) port? Then connect without TLS (a redis:// URL and no tls option)';

/** How a connection names what it connects to in its hints. */
export interface ConnectionHints {
  /** The program expected to listen there, e.g. `redis-server`. */
  readonly program: string;
  /** Advice when a plaintext connection is closed before any reply (likely a TLS-only port). */
  readonly plaintext: string;
}

/** Hints for a Redis server given by URL. */
export const SERVER_HINTS: ConnectionHints = { program: 'redis-server', plaintext: 'if the server accepts only TLS, use a rediss:// URL (with tls.ca for a private CA)' };

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
        ? `${this.where}: cannot connect (the server refused the TLS connection: ${code}): it requires a client certificate: pass tls.cert and tls.key`
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

