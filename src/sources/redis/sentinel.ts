/**
 * Redis Sentinel discovery: the Sentinels (redis:// or rediss:// URLs) are asked in order
 * `SENTINEL get-master-addr-by-name <masterName>`, each over a short-lived connection of its own within its share
 * of the poll's time; the first address given wins. TLS: a Sentinel when its URL is rediss:// (every Sentinel URL
 * has one scheme), with the `tls` option's ca/cert/key/rejectUnauthorized but not its servername (that names the
 * master); the master found when `tls` is given or the Sentinel URLs are rediss://.
 */
import type { ConnectionOptions } from 'node:tls';
import { DeadlineError, withDeadline } from '../kit/deadline.ts';
import { nodeTlsOptions, type SourceTlsOptions } from '../tls.ts';
import { hostPort } from './info.ts';
import { ReplyError, RespConnection, type ConnectionHints, type Reply } from './resp.ts';
import { checkCredential, parseRedisUrl } from './url.ts';

/** A Sentinel to ask: its address, credentials and Node TLS options (undefined: plaintext). */
export interface SentinelEndpoint {
  readonly host: string;
  readonly port: number;
  /** `Sentinel redis://host:port`, for messages. */
  readonly where: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: ConnectionOptions | undefined;
}

/** The master found through Sentinels. */
export interface SentinelTarget {
  readonly kind: 'sentinel';
  readonly masterName: string;
  readonly sentinels: readonly SentinelEndpoint[];
  /** TLS options for the master found, or undefined for plaintext. */
  readonly masterTls: SourceTlsOptions | undefined;
}

/** The master a Sentinel named, and how messages name it. */
export interface DiscoveredMaster {
  readonly host: string;
  readonly port: number;
  readonly tls: ConnectionOptions | undefined;
  readonly where: string;
  readonly hints: ConnectionHints;
}

/** What `discoverMaster` needs from its source: where its connections go while open, and how they are dropped. */
export interface SentinelConnections {
  readonly open: Set<RespConnection>;
  drop(connection: RespConnection, reason: Error): void;
  /** Throws once the source is closed or the poll is over. */
  check(): void;
}

const SENTINEL_HINTS: ConnectionHints = { program: 'redis-sentinel', plaintext: 'if the Sentinel accepts only TLS, use rediss:// Sentinel URLs (with tls.ca for a private CA)' };
const DISCOVERED_HINTS: ConnectionHints = { program: 'redis-server', plaintext: 'if the server accepts only TLS, give the tls option or rediss:// Sentinel URLs' };
/** The step a poll is at while asking the Sentinels. */
export const DISCOVERY_STEP = 'asking the Sentinels';

/**
 * Checks `sentinels`, `masterName` and `sentinelPassword` (the caller has checked that `url` is absent).
 * @throws TypeError / RangeError naming the option, never quoting a password.
 */
export function sentinelTarget(options: { sentinels?: unknown; masterName?: unknown; sentinelPassword?: unknown }, tls: SourceTlsOptions | undefined): SentinelTarget {
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
  const urls = sentinels.map((text: unknown, i) => parseRedisUrl(text, `RedisSourceOptions.sentinels[${i}]`, 'sentinel'));
  if (urls.some((u) => u.tls !== urls[0]!.tls)) throw new RangeError('RedisSourceOptions.sentinels mixes redis:// and rediss:// URLs: use one scheme for every Sentinel');
  // tls.servername names the master's certificate; a Sentinel's is checked against its own host.
  const sentinelTls: SourceTlsOptions = { ...tls, servername: undefined };
  const endpoints = urls.map((u, i): SentinelEndpoint => {
    const password = u.password ?? (sentinelPassword as string | undefined);
    if (u.username !== undefined && password === undefined) {
      throw new TypeError(`RedisSourceOptions.sentinels[${i}] has user "${u.username}" but no password (put it in the URL or give sentinelPassword)`);
    }
    return { host: u.host, port: u.port, where: `Sentinel ${u.shown}`, username: u.username, password, tls: u.tls ? nodeTlsOptions(sentinelTls, u.host) : undefined };
  });
  return { kind: 'sentinel', masterName, sentinels: endpoints, masterTls: tls ?? (urls[0]!.tls ? {} : undefined) };
}

/**
 * Asks the Sentinels in order; the first address wins. Each gets an equal share of the time left until
 * `deadline` (a `Date.now()` time), one share kept for the master. @throws Error listing every Sentinel's failure.
 */
export async function discoverMaster(target: SentinelTarget, deadline: number, label: string, connections: SentinelConnections): Promise<DiscoveredMaster> {
  const { sentinels, masterName, masterTls } = target;
  const failures: string[] = [];
  for (const [i, sentinel] of sentinels.entries()) {
    connections.check();
    const budgetMs = Math.max(1, Math.floor((deadline - Date.now()) / (sentinels.length - i + 1)));
    try {
      const { host, port } = await askSentinel(sentinel, masterName, budgetMs, connections);
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
  connections.check();
  throw new Error(`${label}: no Sentinel gave the master's address (${sentinels.length} asked): ${failures.join('; ')}`);
}

/** `SENTINEL get-master-addr-by-name` on one Sentinel, over a connection of its own, within `budgetMs`. */
async function askSentinel(sentinel: SentinelEndpoint, masterName: string, budgetMs: number, connections: SentinelConnections): Promise<{ host: string; port: number }> {
  const connection = new RespConnection(sentinel.host, sentinel.port, sentinel.where, sentinel.tls, SENTINEL_HINTS);
  connections.open.add(connection);
  let step = 'connecting';
  try {
    return await withDeadline(() => querySentinel(connection, sentinel, masterName, (s) => (step = s)), { timeoutMs: budgetMs, what: sentinel.where });
  } catch (error) {
    if (!(error instanceof DeadlineError)) throw error;
    const doing = connection.phase === 'ready' ? `waiting for the reply to ${step}` : connection.phase === 'handshake' ? 'in the TLS handshake' : 'connecting';
    throw new Error(`${sentinel.where}: timed out after ${budgetMs} ms (its share of timeoutMs) ${doing}`);
  } finally {
    connections.open.delete(connection);
    connections.drop(connection, new Error(`${sentinel.where}: asked`));
  }
}

async function querySentinel(connection: RespConnection, sentinel: SentinelEndpoint, masterName: string, setStep: (step: string) => void): Promise<{ host: string; port: number }> {
  if (sentinel.password !== undefined) {
    setStep('AUTH');
    const auth = sentinel.username === undefined ? ['AUTH', sentinel.password] : ['AUTH', sentinel.username, sentinel.password];
    await connection.command(auth).catch((error: unknown) => {
      throw error instanceof ReplyError ? sentinelAuthError(sentinel, error) : error;
    });
  }
  setStep('SENTINEL get-master-addr-by-name');
  const reply = await connection.command(['SENTINEL', 'get-master-addr-by-name', masterName]).catch((error: unknown) => {
    throw error instanceof ReplyError ? sentinelError(sentinel, error) : error;
  });
  return masterAddress(reply, sentinel.where, masterName);
}

/** The Sentinel's reply to AUTH (its code and reason: a server never repeats the password it was sent). */
function sentinelAuthError(sentinel: SentinelEndpoint, error: ReplyError): Error {
  const said = error.message;
  if (said.includes('without any password configured')) {
    return new Error(`${sentinel.where}: a password was given but the Sentinel has none (${said}): omit sentinelPassword and the password in its URL`);
  }
  return new Error(`${sentinel.where}: authentication failed (${said}): check the Sentinel's own password (its requirepass, in the Sentinel URL or sentinelPassword)`);
}

function sentinelError(sentinel: SentinelEndpoint, error: ReplyError): Error {
  const said = error.message;
  if (error.code === 'NOAUTH') {
    return new Error(`${sentinel.where}: the Sentinel requires a password (${said}): put it in the Sentinel URL (redis://:password@host:26379) or give sentinelPassword`);
  }
  if (/unknown command/i.test(said)) {
    return new Error(`${sentinel.where}: not a Sentinel (${said}): list Sentinel processes (port 26379 by default), not Redis servers`);
  }
  return new Error(`${sentinel.where}: SENTINEL get-master-addr-by-name failed (${said})`);
}

/**
 * The `[host, port]` reply of `SENTINEL get-master-addr-by-name`.
 * @throws Error for a null reply (the Sentinel does not know `masterName`) or any other shape.
 */
export function masterAddress(reply: Reply, where: string, masterName: string): { host: string; port: number } {
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
