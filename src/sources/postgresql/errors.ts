/**
 * How the PostgreSQL source words a failure: naming the server (`at`, built from a URL without credentials) and
 * what to do, from the error's code and reason (the server's or Node's words: a server never repeats the password
 * it was sent). Nothing is masked afterwards.
 */
import { DeadlineError } from '../kit/deadline.ts';
import { errorFacts } from '../kit/messages.ts';
import { describeTlsError, isClientCertificateAlert } from '../tls.ts';

const NEEDS_TLS_HINT = 'the server accepts this user from here only over TLS: connect with TLS (PostgresSourceOptions.tls, with tls.ca for a private CA, or sslmode=verify-full in the URL)';

/** What the wording depends on besides the error. */
export interface ExplainContext {
  /** What was being done: `connecting`, `querying pg_stat_replication`, … */
  readonly phase: string;
  /** The server, safe to print (e.g. `PostgreSQL primary postgres://db:5432/postgres`). */
  readonly at: string;
  /** The attempt's bound, ms. */
  readonly budgetMs: number;
  /** The poll's bound, ms (`budgetMs` is a share of it when smaller). */
  readonly timeoutMs: number;
  /** Whether the source connects with TLS, and sends a client certificate. */
  readonly tlsOn: boolean;
  readonly clientCertificate: boolean;
  /** The source is closing. */
  readonly closing: boolean;
}

/** An Error naming the server and what to do. */
export function explainPgError(error: unknown, context: ExplainContext): Error {
  const { phase, at, budgetMs, timeoutMs } = context;
  const e = error instanceof Error ? error : new Error(String(error));
  const { code = '', reason } = errorFacts(e);
  const within = budgetMs < timeoutMs ? `${budgetMs} ms (its share of timeoutMs ${timeoutMs} ms)` : `${budgetMs} ms`;
  const tlsAdvice = describeTlsError(e);
  let message: string;
  if (context.closing) message = `${at}: the source was closed during the poll`;
  else if (e instanceof DeadlineError) message = `${at}: no answer within ${within} while ${phase}: the server is stopped, overloaded or unreachable (PostgresSourceOptions.timeoutMs)`;
  else if (e.message.startsWith(`${at}`)) message = e.message;
  else if (tlsAdvice !== undefined) message = `${at}: ${tlsAdvice}`;
  else if (reason === 'The server does not support SSL connections') {
    message = `${at}: the server does not accept TLS connections (ssl = off in its postgresql.conf): turn ssl on there, or connect without TLS (no tls option, no sslmode in the URL)`;
  } else if (code === '28000' && !context.tlsOn && /, no encryption$/.test(reason)) message = `${at}: ${reason}: ${NEEDS_TLS_HINT}`;
  else if (code === '28000' && /requires a valid client certificate/.test(reason)) {
    message = `${at}: ${reason}: pass a client certificate signed by a CA in the server's ssl_ca_file (PostgresSourceOptions.tls.cert and .key)`;
  } else if (code === '28000' && /^certificate authentication failed/.test(reason)) {
    message = `${at}: ${reason}: the client certificate's common name (CN) must be the user name, or be mapped to it in pg_ident.conf`;
  } else if (isClientCertificateAlert(code)) {
    message = context.clientCertificate
      ? `${at}: the server refused the client certificate (${code}): pass one signed by a CA in the server's ssl_ca_file`
      : `${at}: the server refused the TLS connection (${code}): it requires a client certificate: pass PostgresSourceOptions.tls.cert and .key`;
  } else if (code.startsWith('ERR_SSL_')) message = `${at}: TLS handshake failed (${code}): ${reason}`;
  else if (code === 'ECONNREFUSED') message = `${at}: connection refused: no server listens there; check the host and port`;
  else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') message = `${at}: host not found (${code})`;
  else if (code === '28P01') message = `${at}: ${reason}: check the password (PostgresSourceOptions.password, PGPASSWORD, or the URL)`;
  else if (code === '28000') message = `${at}: ${reason}: add a pg_hba.conf line that lets this user connect from here, then reload the server`;
  else if (code === '3D000') message = `${at}: ${reason}: name an existing database in the URL path (e.g. /postgres)`;
  else if (/client password must be a string/.test(reason)) message = `${at}: the server asks for a password and none was given: set PostgresSourceOptions.password (PGPASSWORD for the CLI) or put it in the URL`;
  else if (/^[0-9A-Z]{5}$/.test(code)) message = `${at}: ${reason} (SQLSTATE ${code})`;
  else message = `${at}: ${phase} failed: ${reason}`;
  return new Error(message);
}
