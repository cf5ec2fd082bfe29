/** The `url` option: `nats://host:port` or `tls://host:port`, without credentials (they go in user/password/token). */
import { urlTextForMessage } from '../kit/messages.ts';

/**
 * Parses one server URL. Credentials in the URL are refused (they would end up in logs): use the `user`,
 * `password` or `token` options (or NATS_PASSWORD / NATS_TOKEN). @throws TypeError / RangeError naming `option`.
 */
export function parseNatsUrl(value: unknown, option: string): URL {
  if (typeof value !== 'string') throw new TypeError(`${option} must be a nats:// URL string, got ${value === null ? 'null' : typeof value}`);
  let url: URL | undefined;
  if (URL.canParse(value)) url = new URL(value);
  if (url === undefined || (url.protocol !== 'nats:' && url.protocol !== 'tls:') || url.hostname === '') {
    throw new RangeError(`${option} must be a nats://host:port (or tls://host:port) URL, got ${urlTextForMessage(value)}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new RangeError(`${option} must not hold credentials (${url.protocol}//${url.host}): give them as user and password, or token (or NATS_PASSWORD / NATS_TOKEN)`);
  }
  if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') {
    throw new RangeError(`${option} must be a server URL without path, query or fragment (nats://host:4222), got ${url.protocol}//${url.host}${url.pathname}`);
  }
  if (url.port === '') url.port = '4222';
  return url;
}
