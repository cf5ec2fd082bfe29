/**
 * ZooKeeper's four-letter words over the client port: one TCP (or TLS) connection per word, the word sent as is,
 * the answer read until the server closes the connection. No client library: the exchange is plain text.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

/** The words the source sends (each must be in the server's `4lw.commands.whitelist`; `srvr` is there by default). */
export type FourLetterWord = 'srvr' | 'conf' | 'mntr';

/** Where and how to send one word. */
export interface FourLetterWordRequest {
  readonly host: string;
  readonly port: number;
  /** Aborting it destroys the connection; the promise rejects with the signal's reason. */
  readonly signal: AbortSignal;
  /** Node TLS options for a `secureClientPort`; undefined: plaintext. */
  readonly tls?: ConnectionOptions;
}

/** Answers longer than this are cut off (a `conf` of a large ensemble is a few KiB). */
const MAX_ANSWER_BYTES = 1 << 20;

/**
 * Sends `word` and resolves to the server's whole answer. Rejects on a connection error, an abort, an empty answer
 * (a SIGSTOPped server accepts the connection but never answers: only the signal ends that wait), and on the
 * server's own refusals (not whitelisted, not serving) with a message that says what to do.
 */
export function sendFourLetterWord(word: FourLetterWord, request: FourLetterWordRequest): Promise<string> {
  const { host, port, signal, tls } = request;
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const socket: Socket = tls === undefined ? netConnect({ host, port }) : tlsConnect({ host, port, ...tls });
    const finish = (error: unknown, text?: string) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      if (error !== undefined) reject(error);
      else resolve(text!);
    };
    const onAbort = () => finish(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once(tls === undefined ? 'connect' : 'secureConnect', () => socket.write(word));
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_ANSWER_BYTES) chunks.push(chunk);
    });
    socket.on('error', (error) => finish(error));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      finish(refusal(word, text), text);
    });
  });
}

/** The server's refusal as an Error, or undefined for a real answer. */
function refusal(word: FourLetterWord, text: string): Error | undefined {
  if (text.trim() === '') return new Error(`${word}: the server closed the connection without an answer (is this a ZooKeeper client port? with TLS on a secureClientPort, pass tls)`);
  if (text.includes('is not executed because it is not in the whitelist')) {
    return new Error(`${word} is not in the server's 4lw.commands.whitelist: add it (4lw.commands.whitelist=srvr,conf in zoo.cfg)`);
  }
  if (text.startsWith('This ZooKeeper instance is not currently serving requests')) {
    return new Error('not serving requests (no quorum: an election is in progress, or it is syncing with the leader)');
  }
  return undefined;
}
