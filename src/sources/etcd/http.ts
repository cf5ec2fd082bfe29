/**
 * One HTTP(S) request to an etcd member on its own connection, bounded by an `AbortSignal`, and its failure worded
 * for the operator (a plaintext/TLS mix-up, a missing client certificate, the gateway's own errors).
 */
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import { DeadlineError } from '../kit/deadline.ts';
import { errorFacts } from '../kit/messages.ts';
import { describeTlsError, isClientCertificateAlert, type SourceTlsOptions } from '../tls.ts';

/** Where a request got to before it failed, for the error message. */
class RequestError extends Error {
  readonly error: Error;
  /** The TLS handshake completed (https only). */
  readonly secured: boolean;
  /** The response headers arrived. */
  readonly answered: boolean;
  constructor(error: Error, secured: boolean, answered: boolean) {
    super(error.message, { cause: error });
    this.error = error;
    this.secured = secured;
    this.answered = answered;
  }
}

/**
 * One HTTP(S) request on its own connection (no agent: the socket is destroyed with the request, so none
 * outlives a poll and a restarted member is never a stale socket). Aborting `signal` destroys the request and
 * its socket. Resolves with the status and the UTF-8 body, whatever the status; 3xx are not followed.
 */
export function send(url: URL, method: string, body: string | undefined, signal: AbortSignal, tls: ConnectionOptions | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const headers: OutgoingHttpHeaders = { connection: 'close' };
    if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    const req = tls === undefined ? httpRequest(url, { method, headers, agent: false }) : httpsRequest(url, { method, headers, agent: false, ...tls });
    let secured = false;
    let answered = false;
    const onAbort = () => req.destroy(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    const fail = (error: Error) => {
      signal.removeEventListener('abort', onAbort);
      reject(new RequestError(error, secured, answered));
    };
    req.once('socket', (socket) => socket.once('secureConnect', () => (secured = true)));
    req.on('error', fail);
    req.once('response', (res: IncomingMessage) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', fail);
      res.once('close', () => {
        if (!res.complete) return fail(new Error('the connection closed before the response ended'));
        signal.removeEventListener('abort', onAbort);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end(body);
  });
}

export function failureReason(error: unknown, signal: AbortSignal, timeoutMs: number, url: URL, tls: SourceTlsOptions | undefined): string {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof DeadlineError) return `no answer within ${timeoutMs} ms`;
    return reason instanceof Error ? reason.message : 'aborted';
  }
  const failed = error instanceof RequestError ? error : new RequestError(error instanceof Error ? error : new Error(String(error)), false, false);
  const code = (failed.error as { code?: unknown }).code;
  const certificate = describeTlsError(failed.error);
  if (certificate !== undefined) return certificate;
  if (isClientCertificateAlert(code)) {
    return tls?.cert === undefined
      ? `etcd requires a client certificate (--client-cert-auth) (${code}): pass one and its key (tls.cert and tls.key)`
      : `etcd refused the client certificate (${code}): pass one signed by a CA in etcd's --trusted-ca-file`;
  }
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is etcd running and listening there?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ERR_SSL_PACKET_LENGTH_TOO_LONG':
      return `the server does not speak TLS (${code}): for a plaintext client URL use http://`;
    case 'ECONNRESET':
      if (url.protocol === 'https:' && !failed.secured) return 'the server closed the connection during the TLS handshake (a plaintext etcd client URL? then use http://)';
      if (url.protocol === 'http:' && !failed.answered) return 'the server closed the connection without an answer (an https-only etcd client URL? then use https://, with its CA: tls.ca)';
      return 'connection reset';
  }
  return errorFacts(failed.error).reason;
}

export function httpHint(path: string, status: number, body: string, url: URL): string {
  if (status === 404 && path === '/debug/vars') {
    return ': this member does not serve /debug/vars on its client URL (disabled, or moved to another listener); the etcd source needs it to read follower progress';
  }
  if (status === 404) return ': the v3 JSON gateway is not served on this URL (not an etcd ≥ 3.4 client URL, or the gateway is disabled)';
  let message: unknown;
  try {
    message = (JSON.parse(body) as { message?: unknown }).message;
  } catch {
    // not a gateway error body
  }
  if (typeof message !== 'string') return '';
  // etcd 3.4's gateway dials its own gRPC server presenting --cert-file: with --client-cert-auth, that needs clientAuth.
  const gateway = status === 503 && url.protocol === 'https:' && message === 'connection closed'
    ? " (etcd's v3 gateway could not reach its own gRPC server; with --client-cert-auth, etcd 3.4 presents its --cert-file as the gateway's client certificate, so that certificate needs extendedKeyUsage clientAuth as well as serverAuth)"
    : '';
  // etcd 3.5.28+ and 3.6 with auth enabled refuse maintenance/status (and 3.5.29+ the member list) without credentials.
  const auth = /user name is empty|permission denied|invalid auth token/.test(message)
    ? ' (etcd auth is enabled and this etcd version requires credentials for this request; the etcd source sends none)'
    : '';
  return `: ${message.slice(0, 200)}${auth}${gateway}`;
}

