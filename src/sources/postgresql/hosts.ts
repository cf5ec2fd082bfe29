/**
 * Multi-host URLs, as libpq takes them (`postgres://u@db1:5432,db2:5432/postgres`, which pg itself does not
 * support): split into one URL per host, each checked, and turned into what pg gets (`PgHost`).
 */
import type { ConnectionOptions } from 'node:tls';
import { urlForMessage } from '../kit/messages.ts';
import type { SourceTlsOptions } from '../tls.ts';
import { pgTlsOptions, URL_TLS_PARAMETERS } from './tls-policy.ts';

/** libpq's port, for a host listed without one in a multi-host URL. */
export const DEFAULT_PORT = 5432;
/** A URL split into scheme with `//`, authority (user info and hosts), and the rest (path, query, fragment). */
const URL_PARTS = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/s;
/** One `host[:port]` of a host list: a name or IPv4 address, or an IPv6 address in brackets. */
const HOST_ENTRY = /^(\[[^\][]*\]|[^:[\]]*)(?::([^:]*))?$/;
/** target_session_attrs values that ask for a primary (`any` taken as primary: only a primary can be polled). */
const PRIMARY_SESSION_ATTRS = ['read-write', 'primary', 'any'];
/** target_session_attrs values of libpq that ask for a standby. */
const STANDBY_SESSION_ATTRS = ['read-only', 'standby', 'prefer-standby'];

/** One host of the URL, as pg gets it. Holds the password: kept only in #private fields. */
export interface PgHost {
  /** The URL naming this host alone, with the password and without TLS parameters. */
  readonly url: string;
  /** For messages: scheme://host:port/path. */
  readonly shown: string;
  /** Node TLS options checking this host's name, or undefined for plain TCP. */
  readonly tls: ConnectionOptions | undefined;
}

/**
 * The URL once per host: as given when it names one host (exactly as before multi-host support), else one URL
 * per `host[:port]` of its comma-separated host list (port 5432 when missing), each with the same user, path and
 * parameters.
 * @throws RangeError for a URL that does not parse, an empty host, a bad port, an IPv6 address without brackets.
 */
export function urlPerHost(url: string): URL[] {
  const parts = URL_PARTS.exec(url);
  if (parts === null) return [parseUrl(url)];
  const [, scheme, authority, rest] = parts as unknown as [string, string, string, string];
  const userEnd = authority.lastIndexOf('@') + 1;
  const list = authority.slice(userEnd);
  if (!list.includes(',')) return [parseUrl(url)];
  const userInfo = authority.slice(0, userEnd);
  parseUrl(`${scheme}${userInfo}localhost${rest}`); // everything but the hosts parses
  const entries = list.split(',');
  return entries.map((entry, i) => {
    const hostPort = hostEntry(entry, `PostgresSourceOptions.url: host ${i + 1} of ${entries.length}`);
    try {
      return new URL(`${scheme}${userInfo}${hostPort}${rest}`);
    } catch {
      throw new RangeError(`PostgresSourceOptions.url: host ${i + 1} of ${entries.length} (${JSON.stringify(entry.slice(0, 80))}) is not a valid host name or address`);
    }
  });
}

function parseUrl(url: string): URL {
  try {
    return new URL(url);
  } catch {
    throw new RangeError('PostgresSourceOptions.url must be a postgres:// URL, got a string that does not parse as a URL (not shown: it may hold a password)');
  }
}

/**
 * `host:port` for one entry of a host list, port 5432 when missing. `which` names the entry in messages.
 * @throws RangeError for an empty entry or host, a port outside 1..65535, an IPv6 address without brackets.
 */
function hostEntry(entry: string, which: string): string {
  if (entry === '') throw new RangeError(`${which} is empty: separate hosts by single commas (postgres://user@db1:5432,db2:5432/postgres)`);
  const shown = JSON.stringify(entry.slice(0, 80));
  const m = HOST_ENTRY.exec(entry);
  if (m === null) throw new RangeError(`${which} (${shown}) is not host[:port]: write an IPv6 address in brackets ([fd00::1]:5432)`);
  const [, host, port] = m as unknown as [string, string, string | undefined];
  if (host === '' || host === '[]') throw new RangeError(`${which} (${shown}) has no host name`);
  if (port === undefined) return `${host}:${DEFAULT_PORT}`;
  const number = /^\d{1,5}$/.test(port) ? Number(port) : Number.NaN;
  if (!(number >= 1 && number <= 65535)) throw new RangeError(`${which} (${shown}) has a bad port ${JSON.stringify(port.slice(0, 20))}: expected 1..65535`);
  return `${host}:${number}`;
}

/** With several hosts, `host=` and `port=` parameters would apply to every one of them: refused as ambiguous. */
export function checkMultiHostParameters(params: URLSearchParams): void {
  for (const name of ['host', 'port']) {
    if (params.has(name)) throw new RangeError(`PostgresSourceOptions.url: a ${name}= parameter is ambiguous with several hosts: write each host:port in the host list`);
  }
}

/**
 * `target_session_attrs` must ask for a primary, the only server that reports its standbys: `read-write`,
 * `primary`, or `any` (taken as primary). @throws RangeError for a standby's value or an unknown one.
 */
export function checkSessionAttrs(params: URLSearchParams): void {
  for (const value of params.getAll('target_session_attrs')) {
    if (PRIMARY_SESSION_ATTRS.includes(value)) continue;
    const shown = JSON.stringify(value.slice(0, 40));
    if (STANDBY_SESSION_ATTRS.includes(value)) {
      throw new RangeError(`PostgresSourceOptions.url: target_session_attrs=${shown} asks for a standby, but the source reads the primary (which reports every standby): use read-write, primary or any`);
    }
    throw new RangeError(`PostgresSourceOptions.url: target_session_attrs=${shown} is not read-write, primary or any (the values the source accepts; all three mean the primary)`);
  }
}

/**
 * `url` ready for pg: without the parameters the source decides (TLS, target_session_attrs), with `password`
 * when the URL has none, and TLS options that check this host's name (a host= parameter wins over the URL's host,
 * as in pg-connection-string).
 */
export function pgHost(url: URL, tls: SourceTlsOptions | undefined, password: string | undefined): PgHost {
  const shown = urlForMessage(url);
  for (const name of [...URL_TLS_PARAMETERS, 'target_session_attrs']) if (url.searchParams.has(name)) url.searchParams.delete(name);
  if (url.password === '' && password !== undefined && password !== '') url.password = encodeURIComponent(password);
  const host = url.searchParams.get('host') ?? safeDecode(url.hostname.replace(/^\[(.*)\]$/, '$1'));
  return { url: url.href, shown, tls: tls === undefined ? undefined : pgTlsOptions(tls, host) };
}


export function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
