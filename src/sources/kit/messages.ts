/**
 * Messages without secrets, by construction: a source's messages are built only from parts that hold none — a
 * URL shown as `scheme://host:port/path` (no user info, query or fragment), user and database names, option
 * names, and a driver's error reduced to its code and its reason (the server's or Node's own words about what
 * failed, which never carry the credentials sent). Nothing is searched for and masked afterwards: masking a
 * password's every occurrence gives it away (`no prim***ry ***mong the 2 hosts` for the password `a`).
 */

/** Longest reason kept from a driver's error. */
const MAX_REASON = 300;
/** Longest text shown from an option value that is not a URL. */
const MAX_SHOWN = 80;

/**
 * `scheme://host:port/path` of `url`: never its user, password, query or fragment. `port` shows a default port
 * when the URL has none (e.g. 6379 for redis://host).
 */
export function urlForMessage(url: URL, port?: number): string {
  return `${originForMessage(url, port)}${url.pathname}`;
}

/** `scheme://host:port` of `url` (an HTTP endpoint, say): no path either. */
export function originForMessage(url: URL, port?: number): string {
  const shownPort = url.port !== '' ? `:${url.port}` : port !== undefined ? `:${port}` : '';
  return `${url.protocol}//${url.hostname}${shownPort}`;
}

/** `scheme://host:port,host:port/path` of one URL per host (a libpq multi-host URL), from the first one's scheme and path. */
export function hostsForMessage(urls: readonly URL[]): string {
  const first = urls[0];
  if (first === undefined) return '';
  return `${first.protocol}//${urls.map((u) => u.host).join(',')}${first.pathname}`;
}

/**
 * An option value meant to be a URL, for a message about it (the caller quotes it): `urlForMessage` when it
 * parses; otherwise the text without anything up to its last `@` (user info always precedes it), without query
 * or fragment, at most 80 characters — `mysql://u:pw@db:notaport` shows as `mysql://db:notaport`.
 */
export function urlTextForMessage(text: string): string {
  if (URL.canParse(text) && /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text)) return urlForMessage(new URL(text));
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(text)?.[0] ?? '';
  const rest = text.slice(scheme.length);
  const host = rest.slice(rest.lastIndexOf('@') + 1).split(/[?#]/, 1)[0]!;
  const shown = `${scheme}${host}`;
  if (scheme !== '' && URL.canParse(shown)) return urlForMessage(new URL(shown));
  return shown.length > MAX_SHOWN ? `${shown.slice(0, MAX_SHOWN)}…` : shown;
}

/** A driver's or Node's error, reduced to what helps. */
export interface ErrorFacts {
  /** Its code when it has one: a Node code (`ECONNREFUSED`), a SQLSTATE (`28P01`), a MySQL code (`ER_ACCESS_DENIED_ERROR`). */
  readonly code: string | undefined;
  /**
   * One line saying what failed, in the server's or Node's words: a MySQL server's `sqlMessage`; a system
   * error's `syscall code address:port`; else the error message's first line (at most 300 characters).
   */
  readonly reason: string;
}

/** The code and reason of `error` (any thrown value). */
export function errorFacts(error: unknown): ErrorFacts {
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown; errno?: unknown; syscall?: unknown; address?: unknown; port?: unknown; sqlMessage?: unknown; message?: unknown;
  };
  const code = typeof e.code === 'string' && e.code !== '' ? e.code : undefined;
  let reason: string;
  if (typeof e.sqlMessage === 'string') reason = e.sqlMessage;
  else if (typeof e.syscall === 'string' && code !== undefined) {
    const address = typeof e.address === 'string' ? ` ${e.address}${typeof e.port === 'number' ? `:${e.port}` : ''}` : '';
    reason = `${e.syscall} ${code}${address}`;
  } else reason = typeof e.message === 'string' ? e.message : typeof error === 'string' ? error : String(error);
  return { code, reason: firstLine(reason) };
}

/** The first line of `text`, at most 300 characters. */
function firstLine(text: string): string {
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  return line.length > MAX_REASON ? `${line.slice(0, MAX_REASON)}…` : line;
}
