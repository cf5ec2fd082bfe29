/** redis:// and rediss:// URLs of a master or a Sentinel, checked and split; what is shown of them holds no secret. */
import { urlForMessage } from '../kit/messages.ts';

/** The port of a Redis server URL without one. */
export const DEFAULT_PORT = 6379;
/** The port of a Sentinel URL without one. */
export const DEFAULT_SENTINEL_PORT = 26379;

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
  const shown = urlForMessage(url, port);
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
export function checkCredential(key: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'string') throw new TypeError(`RedisSourceOptions.${key} must be a string, got ${typeof value}`);
  if (value === '') throw new RangeError(`RedisSourceOptions.${key} must not be empty (omit it instead)`);
}

