/**
 * Finding the ensemble from one address: `conf` asked of every address known (the configured servers and the
 * members found before), the first answer wins and the other connections are closed.
 */
import type { ConnectionOptions } from 'node:tls';
import { describe } from '../../config.ts';
import { describeTlsError } from '../tls.ts';
import { sendFourLetterWord } from './four-letter-word.ts';
import { parseConf, parseConfServer, type ConfMember } from './parse.ts';

/** A client address `host:port`. */
export interface ServerAddress {
  readonly host: string;
  readonly port: number;
}

/** `host:port` (IPv6 hosts in brackets): the node id form. */
export function formatAddress(address: ServerAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/**
 * Parses a `host:port` client address (`[v6]:port` for IPv6). No scheme, no credentials: ZooKeeper's four-letter
 * words take none. @throws TypeError / RangeError naming `option`.
 */
export function parseServerAddress(value: unknown, option: string): ServerAddress {
  if (typeof value !== 'string') throw new TypeError(`${option} must be a "host:port" string, got ${describe(value)}`);
  const m = /^(?:\[([^\]]+)\]|([^:/@\s[\]]+)):(\d{1,5})$/.exec(value.trim());
  const port = Number(m?.[3]);
  if (m === null || !(port > 0 && port <= 65_535)) {
    throw new RangeError(`${option} must be a client address "host:port" (e.g. 127.0.0.1:2181), got ${describe(value.includes('@') ? '***' : value)}`);
  }
  return { host: (m[1] ?? m[2])!, port };
}

/**
 * The ensemble's members as `conf` lists them, from the first of `addresses` that answers, with that server's
 * `secureClientPort` (the port TLS clients use; the same on every server in a usual deployment).
 * @throws Error naming every address and why it did not answer.
 */
export async function discoverMembers(
  addresses: readonly ServerAddress[],
  signal: AbortSignal,
  tlsFor: (address: ServerAddress) => ConnectionOptions | undefined,
): Promise<{ members: ConfMember[]; secureClientPort: number | undefined }> {
  const race = new AbortController();
  const raceSignal = AbortSignal.any([signal, race.signal]);
  const failures: string[] = [];
  try {
    return await new Promise((resolve, reject) => {
      let pending = addresses.length;
      for (const address of addresses) {
        sendFourLetterWord('conf', { host: address.host, port: address.port, signal: raceSignal, tls: tlsFor(address) })
          .then((text) => ({ members: parseConf(text), secureClientPort: parseConfServer(text).secureClientPort }))
          .then(resolve, (error: unknown) => {
            if (!race.signal.aborted) failures.push(`${formatAddress(address)}: ${reason(error, signal)}`);
          })
          .finally(() => {
            if (--pending === 0) reject(new Error(`no server answered conf: ${failures.join('; ')}`));
          });
      }
    });
  } finally {
    race.abort();
  }
}

/** An error as a short reason; a deadline as "no answer in time". */
export function reason(error: unknown, signal: AbortSignal): string {
  if (signal.aborted && signal.reason instanceof Error && signal.reason.name === 'TimeoutError') return 'no answer within the poll deadline';
  const certificate = describeTlsError(error);
  if (certificate !== undefined) return certificate;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ECONNREFUSED') return 'connection refused (is ZooKeeper listening on this client port?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (code === 'ECONNRESET') return 'connection reset (a TLS secureClientPort reached without tls, or the reverse?)';
  return error instanceof Error ? error.message : String(error);
}
