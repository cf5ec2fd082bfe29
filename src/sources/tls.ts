/**
 * TLS options shared by the database sources: one shape, validated once, turned into Node's `tls` options.
 * Messages name the options (`tls.ca`), never a CLI flag: the CLI maps them to its flags.
 * Certificates and keys are PEM text; a private key never appears in an error message.
 */
import type { ConnectionOptions } from 'node:tls';

/** TLS to a source's servers, as PEM text (the CLI reads it from files). */
export interface SourceTlsOptions {
  /** CA certificate(s) that sign the server's certificate, instead of Node's bundled public roots. */
  readonly ca?: string;
  /** Client certificate, for servers that require one (mutual TLS); needs `key`. */
  readonly cert?: string;
  /** The client certificate's private key. */
  readonly key?: string;
  /** Name to check the server's certificate against (and to send as SNI); default the host being connected to. */
  readonly servername?: string;
  /** Verify the server's certificate chain and name. Default true; false encrypts without authenticating the server. */
  readonly rejectUnauthorized?: boolean;
}

const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]+-----/;

/**
 * Checks `value` as `SourceTlsOptions`; returns a frozen copy, or undefined when `value` is undefined.
 * @param option the option's full name for messages, e.g. `PostgresSourceOptions.tls`.
 * @throws TypeError / RangeError naming the field; never quoting a key.
 */
export function validateTlsOptions(value: unknown, option: string): SourceTlsOptions | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TypeError(`${option} must be an object ({ ca, cert, key, servername, rejectUnauthorized })`);
  const v = value as Record<string, unknown>;
  const known = new Set(['ca', 'cert', 'key', 'servername', 'rejectUnauthorized']);
  for (const name of Object.keys(v)) {
    if (!known.has(name)) throw new RangeError(`${option}.${name} is not a TLS option (expected ca, cert, key, servername, rejectUnauthorized)`);
  }
  const out: { -readonly [K in keyof SourceTlsOptions]: SourceTlsOptions[K] } = {};
  for (const name of ['ca', 'cert', 'key'] as const) {
    const pem = v[name];
    if (pem === undefined) continue;
    if (typeof pem !== 'string') throw new TypeError(`${option}.${name} must be PEM text (a string), got ${pem === null ? 'null' : typeof pem}`);
    if (!PEM_BLOCK.test(pem)) throw new RangeError(`${option}.${name} is not PEM text (no "-----BEGIN …-----" line): pass the file's contents, not its path`);
    out[name] = pem;
  }
  if ((out.cert === undefined) !== (out.key === undefined)) throw new RangeError(`${option}: cert and key go together (a client certificate needs its private key)`);
  if (v.servername !== undefined) {
    if (typeof v.servername !== 'string' || v.servername.trim() === '') throw new TypeError(`${option}.servername must be a non-empty string`);
    out.servername = v.servername;
  }
  if (v.rejectUnauthorized !== undefined) {
    if (typeof v.rejectUnauthorized !== 'boolean') throw new TypeError(`${option}.rejectUnauthorized must be a boolean`);
    out.rejectUnauthorized = v.rejectUnauthorized;
  }
  return Object.freeze(out);
}

/**
 * Node `tls.connect` options for `host`: verification on unless turned off, SNI only for names (not IP
 * addresses, which SNI forbids).
 */
export function nodeTlsOptions(options: SourceTlsOptions, host: string): ConnectionOptions {
  const servername = options.servername ?? host;
  return {
    ...(options.ca !== undefined ? { ca: options.ca } : {}),
    ...(options.cert !== undefined ? { cert: options.cert, key: options.key } : {}),
    rejectUnauthorized: options.rejectUnauthorized ?? true,
    ...(isIpAddress(servername) ? {} : { servername }),
  };
}

function isIpAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}

/** TLS alerts a server sends when it requires a client certificate or refuses the one given. */
const CLIENT_CERTIFICATE_ALERT = /^ERR_SSL_.*ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|HANDSHAKE_FAILURE|ACCESS_DENIED)$/;

/**
 * Whether an error code is the server's TLS alert about the client certificate (missing or refused); each source
 * words the advice for its server's settings.
 */
export function isClientCertificateAlert(code: unknown): boolean {
  return typeof code === 'string' && CLIENT_CERTIFICATE_ALERT.test(code);
}

/**
 * A TLS failure as a sentence that says what to do, e.g. for an unknown CA: pass the CA that signed the server's
 * certificate. Returns undefined when `error` is not a TLS error.
 */
export function describeTlsError(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  switch (code) {
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return `the server's TLS certificate is not signed by a trusted CA (${code}): pass the CA that signed it (tls.ca)`;
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `the server's TLS certificate is not valid for this host name (${code}): connect with a name the certificate lists, or set tls.servername`;
    case 'CERT_HAS_EXPIRED':
      return `the server's TLS certificate has expired (${code})`;
    case 'CERT_NOT_YET_VALID':
      return `the server's TLS certificate is not valid yet (${code}): check the clocks`;
    default:
      return undefined;
  }
}
