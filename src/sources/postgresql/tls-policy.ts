/**
 * TLS policy: the source decides TLS (the `tls` option, the URL's TLS parameters, PGSSLMODE; see
 * `PostgresSourceOptions.tls`) and always hands pg an explicit `ssl` and a URL without TLS parameters, because pg
 * lets any TLS parameter of the URL replace the whole `ssl` option (`sslmode=verify-ca` drops its `ca`,
 * `uselibpqcompat=true&sslmode=require` or `sslmode=no-verify` turn verification off, `ssl=false` means TLS).
 * One rule: the URL and PGSSLMODE can switch TLS on or off, never switch verification off.
 */
import { readFileSync } from 'node:fs';
import { checkServerIdentity, type ConnectionOptions } from 'node:tls';
import { nodeTlsOptions, validateTlsOptions, type SourceTlsOptions } from '../tls.ts';

/** URL parameters pg would turn into its `ssl` option: decided here, removed from the URL pg gets. */
export const URL_TLS_PARAMETERS = ['sslmode', 'ssl', 'sslrootcert', 'sslcert', 'sslkey', 'uselibpqcompat'] as const;
/** URL parameters naming PEM files, and the `SourceTlsOptions` field each one fills. */
const URL_TLS_FILES = [['sslrootcert', 'ca'], ['sslcert', 'cert'], ['sslkey', 'key']] as const;
const INSECURE_HINT = "the source verifies the server's certificate whenever it uses TLS; to encrypt without verifying, pass tls: { rejectUnauthorized: false }";

/**
 * The TLS to use (`tls` merged with the URL's certificate files), or undefined for plain TCP, following the rule
 * documented on `PostgresSourceOptions.tls`. Reads the files the URL names.
 * @throws RangeError on a contradiction, a request to skip verification, an unknown sslmode, an unreadable file.
 */
export function resolveTls(params: URLSearchParams, tls: SourceTlsOptions | undefined, envSslMode: string | undefined, opt = 'PostgresSourceOptions.url'): SourceTlsOptions | undefined {
  const wants: ['on' | 'off', string][] = [];
  const sslmode = params.get('sslmode');
  if (sslmode !== null) wants.push([sslModeWants(sslmode, `${opt}: sslmode`), `sslmode=${sslmode}`]);
  const ssl = params.get('ssl');
  if (ssl !== null) {
    if (ssl === 'true' || ssl === '1') wants.push(['on', `ssl=${ssl}`]);
    else if (ssl === 'false' || ssl === '0') wants.push(['off', `ssl=${ssl}`]);
    else if (ssl === 'no-verify') throw new RangeError(`${opt}: ssl=no-verify would turn certificate verification off: ${INSECURE_HINT}`);
    else throw new RangeError(`${opt}: ssl=${JSON.stringify(ssl.slice(0, 40))} is not true, false, 1 or 0 (or use sslmode)`);
  }
  if (params.get('sslnegotiation') === 'direct') wants.push(['on', 'sslnegotiation=direct']);
  const files = URL_TLS_FILES.filter(([param]) => params.has(param));
  const on = wants.find(([w]) => w === 'on');
  const off = wants.find(([w]) => w === 'off');
  if (off !== undefined) {
    const tlsToo = [...(on !== undefined ? [on[1]] : []), ...files.map(([param]) => param), ...(tls !== undefined ? ['PostgresSourceOptions.tls'] : [])];
    if (tlsToo.length > 0) throw new RangeError(`${opt}: ${off[1]} (no TLS) contradicts ${tlsToo.join(', ')} (TLS): keep one`);
    return undefined;
  }
  if (tls === undefined && files.length === 0 && on === undefined) {
    // Neither the options nor the URL say anything: PGSSLMODE, as pg (and libpq) would read it.
    if (envSslMode === undefined || envSslMode === '') return undefined;
    return sslModeWants(envSslMode, 'PGSSLMODE (environment)') === 'on' ? {} : undefined;
  }
  if (files.length === 0) return tls ?? {};
  const fromFiles: { -readonly [K in 'ca' | 'cert' | 'key']?: string } = {};
  for (const [param, field] of files) {
    const path = params.get(param)!;
    if (param === 'sslrootcert' && path === 'system') continue; // libpq's name for the system roots: Node's
    if (tls?.[field] !== undefined) throw new RangeError(`${opt}: ${param} and PostgresSourceOptions.tls.${field} both give the ${field}: keep one`);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new RangeError(`${opt}: ${param}=${path}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    if (!/-----BEGIN [A-Z0-9 ]+-----/.test(text)) throw new RangeError(`${opt}: ${param}=${path} holds no PEM block (-----BEGIN …-----)`);
    fromFiles[field] = text;
  }
  return validateTlsOptions({ ...tls, ...fromFiles }, `PostgresSourceOptions.tls with the URL's ${files.map(([param]) => param).join(', ')}`);
}

/** What an sslmode asks for. @throws RangeError for no-verify (which would skip verification) or an unknown mode. */
function sslModeWants(mode: string, where: string): 'on' | 'off' {
  switch (mode) {
    case 'disable':
      return 'off';
    case 'allow':
    case 'prefer':
    case 'require':
    case 'verify-ca':
    case 'verify-full':
      return 'on';
    case 'no-verify':
      throw new RangeError(`${where}=no-verify would turn certificate verification off: ${INSECURE_HINT}`);
    default:
      throw new RangeError(`${where}=${JSON.stringify(mode.slice(0, 40))} is not an sslmode (disable, allow, prefer, require, verify-ca, verify-full)`);
  }
}

/**
 * pg's `ssl` for `host`. pg sets `servername` to the host when it is a name, over any `servername` given, so an
 * explicit `tls.servername` is also enforced through `checkServerIdentity` (the name Node verifies).
 */
export function pgTlsOptions(tls: SourceTlsOptions, host: string): ConnectionOptions {
  const options = nodeTlsOptions(tls, host);
  const name = tls.servername;
  if (name === undefined) return options;
  return { ...options, checkServerIdentity: (_host, cert) => checkServerIdentity(name, cert) };
}

