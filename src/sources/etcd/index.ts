/**
 * etcd as a replication source: the Raft leader's view of each follower, read over the members' client URLs
 * (http://, or https:// with `tls`) with `node:http` / `node:https` and no client library (Node's fetch cannot
 * take a private CA or a client certificate); one connection per request. A poll asks the given endpoints who
 * the leader is (`POST /v3/maintenance/status`), maps member ids to names and client URLs (`POST /v3/cluster/member/list`),
 * then reads the leader's `raft.status` from `GET /debug/vars`: the leader's last log index and, per follower,
 * the `match` index (the highest entry the leader knows the follower has stored), from one consistent snapshot.
 */
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import { describe } from '../../config.ts';
import type { ReplicaPosition, ReplicationSource } from '../source.ts';
import { describeTlsError, isClientCertificateAlert, nodeTlsOptions, validateTlsOptions, type SourceTlsOptions } from '../tls.ts';

/** Options of `EtcdSource`. */
export interface EtcdSourceOptions {
  /** Client URLs of one or more members, all http:// or all https:// (host:2379); the source finds the leader among them. */
  endpoints: string[];
  /** Bound on each poll, ms. Default 5000. */
  timeoutMs?: number;
  /**
   * TLS for https:// endpoints (and the leader's advertised URLs): a private CA, a client certificate for
   * etcd's `--client-cert-auth`, servername, rejectUnauthorized. Without it https:// is verified against Node's
   * public roots. Not allowed with http:// endpoints.
   */
  tls?: SourceTlsOptions;
}

/** The part of a member's `raft.status` (from `/debug/vars`) the source reads; ids are lowercase hex. */
export interface EtcdRaftStatus {
  /** Hex id of the member that served the status. */
  readonly id: string;
  /** `StateLeader`, `StateFollower`, `StateCandidate` or `StatePreCandidate`. */
  readonly raftState: string;
  /** Hex id of the leader this member knows of; `0` for none. */
  readonly lead: string;
  readonly commit: bigint;
  /** Hex member id → match index. Filled on the leader only (including the leader itself: its last log index). */
  readonly progress: ReadonlyMap<string, bigint>;
}

interface Member {
  readonly name: string;
  readonly clientUrls: readonly URL[];
}

const DEFAULT_TIMEOUT_MS = 5000;
const OPTIONS = 'EtcdSourceOptions';

/**
 * Parses a `/debug/vars` body into its `raft.status`. Indexes are exact: integers beyond 2^53 − 1 are read from
 * the JSON source text as bigint (a plain `JSON.parse` would round them). Throws an Error saying what is missing.
 */
export function parseEtcdDebugVars(body: string): EtcdRaftStatus {
  let vars: unknown;
  try {
    vars = JSON.parse(body, exactIntegers);
  } catch {
    throw new Error('/debug/vars is not JSON');
  }
  const raft = isObject(vars) ? vars['raft.status'] : undefined;
  if (!isObject(raft)) throw new Error('/debug/vars has no "raft.status" object (is this an etcd client URL, and has its Raft node started?)');
  const progress = new Map<string, bigint>();
  if (raft.progress !== undefined && raft.progress !== null) {
    if (!isObject(raft.progress)) throw new Error('raft.status.progress is not an object');
    for (const [id, p] of Object.entries(raft.progress)) progress.set(idFromHex(id, 'raft.status.progress key'), raftIndex(isObject(p) ? p.match : undefined, `raft.status.progress.${id}.match`));
  }
  return {
    id: idFromHex(raft.id, 'raft.status.id'),
    raftState: typeof raft.raftState === 'string' ? raft.raftState : 'unknown',
    lead: idFromHex(raft.lead, 'raft.status.lead'),
    commit: raftIndex(raft.commit, 'raft.status.commit'),
    progress,
  };
}

/** The followers of an etcd cluster, as seen by its Raft leader. */
export class EtcdSource implements ReplicationSource {
  readonly name = 'etcd';
  private readonly endpoints: readonly URL[];
  private readonly timeoutMs: number;
  private readonly tls: SourceTlsOptions | undefined;
  /** `http:` or `https:`, the same for every endpoint. */
  private readonly protocol: string;
  private readonly closing = new AbortController();
  private inFlight: Promise<unknown> = Promise.resolve();

  /** Validates the options; no I/O happens before the first `poll()`. */
  constructor(options: EtcdSourceOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError(`${OPTIONS} must be an object, got ${describe(options)}`);
    const { endpoints, timeoutMs = DEFAULT_TIMEOUT_MS } = options;
    if (!Array.isArray(endpoints)) throw new TypeError(`${OPTIONS}.endpoints must be an array of client URLs, got ${describe(endpoints)}`);
    if (endpoints.length === 0) throw new RangeError(`${OPTIONS}.endpoints must list at least one client URL`);
    const urls = new Map<string, URL>();
    endpoints.forEach((e: unknown, i) => {
      const url = parseEndpoint(e, `${OPTIONS}.endpoints[${i}]`);
      urls.set(url.origin, url);
    });
    const tls = validateTlsOptions(options.tls, `${OPTIONS}.tls`);
    this.protocol = checkSchemes([...urls.values()], tls);
    if (typeof timeoutMs !== 'number') throw new TypeError(`${OPTIONS}.timeoutMs must be a number, got ${describe(timeoutMs)}`);
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > 2_147_483_647) {
      throw new RangeError(`${OPTIONS}.timeoutMs must be a number of milliseconds > 0, got ${timeoutMs}`);
    }
    this.endpoints = [...urls.values()];
    this.timeoutMs = timeoutMs;
    this.tls = tls;
  }

  /** Every follower's match index against the leader's last log index. Rejects within `timeoutMs`. */
  poll(): Promise<readonly ReplicaPosition[]> {
    if (this.closing.signal.aborted) return Promise.reject(new Error('etcd: poll() called after close()'));
    const signal = AbortSignal.any([this.closing.signal, AbortSignal.timeout(this.timeoutMs)]);
    const result = this.read(signal).catch((error: unknown) => {
      throw new Error(`etcd: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    });
    this.inFlight = result.catch(() => undefined);
    return result;
  }

  /** Aborts a poll in flight; the source holds no connection between polls. Idempotent. */
  async close(): Promise<void> {
    this.closing.abort(new Error('the source was closed'));
    await this.inFlight;
  }

  private async read(signal: AbortSignal): Promise<ReplicaPosition[]> {
    const found = await this.findLeader(signal);
    const members = await this.request(found.url, '/v3/cluster/member/list', signal, parseMembers);
    const leader = members.get(found.leader);
    const leaderUrl = found.member === found.leader ? found.url : this.clientUrlOf(leader, found.leader);
    const label = `the leader ${leader?.name || found.leader}`;
    const raft = await this.request(leaderUrl, '/debug/vars', signal, parseEtcdDebugVars, label);
    if (raft.raftState !== 'StateLeader' || raft.id !== found.leader) {
      throw new Error(`${label} (${redact(leaderUrl)}) is no longer the leader (it is ${raft.raftState}); leadership changed during the poll`);
    }
    const leaderSeq = raft.progress.get(raft.id);
    if (leaderSeq === undefined) throw new Error(`${label} (${redact(leaderUrl)}) reports no progress for itself in raft.status`);

    const names = new Map<string, number>();
    for (const m of members.values()) if (m.name !== '') names.set(m.name, (names.get(m.name) ?? 0) + 1);
    const out: ReplicaPosition[] = [];
    for (const [id, followerSeq] of raft.progress) {
      if (id === raft.id) continue;
      const member = members.get(id);
      const attributes: Record<string, string | number> = { 'replication.system': 'etcd', 'etcd.member.id': id };
      const url = member?.clientUrls.find((u) => u.protocol === this.protocol) ?? member?.clientUrls[0];
      if (url !== undefined) {
        attributes['server.address'] = url.hostname.replace(/^\[(.*)\]$/, '$1');
        attributes['server.port'] = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
      }
      // A name is the id unless the member has none yet (added, never started) or shares it with another.
      const nodeId = member !== undefined && member.name !== '' && names.get(member.name) === 1 ? member.name : id;
      out.push({ nodeId, leaderSeq, followerSeq, attributes });
    }
    return out.sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }

  /** Asks every endpoint at once; the first that names a leader wins and the other requests are aborted. */
  private async findLeader(signal: AbortSignal): Promise<{ url: URL; member: string; leader: string }> {
    const race = new AbortController();
    const raceSignal = AbortSignal.any([signal, race.signal]);
    const failures: string[] = [];
    try {
      return await new Promise((resolve, reject) => {
        let pending = this.endpoints.length;
        for (const url of this.endpoints) {
          this.request(url, '/v3/maintenance/status', raceSignal, (body) => {
            const status = JSON.parse(body) as { header?: { member_id?: unknown }; leader?: unknown };
            return { leader: idFromDecimal(status.leader, 'leader'), member: idFromDecimal(status.header?.member_id, 'header.member_id') };
          })
            .then(({ leader, member }) => {
              if (leader === '0') failures.push(`${redact(url)} reports no leader`);
              else resolve({ url, member, leader });
            })
            .catch((error: unknown) => failures.push(error instanceof Error ? error.message : String(error)))
            .finally(() => {
              if (--pending > 0) return;
              const why = failures.some((f) => f.endsWith('reports no leader')) ? 'no leader (an election is in progress or quorum is lost)' : 'no endpoint answered';
              reject(new Error(`${why}: ${failures.join('; ')}`));
            });
        }
      });
    } finally {
      race.abort();
    }
  }

  /**
   * The leader's client URL: one of the configured endpoints if it advertises it, else its first URL of the
   * endpoints' scheme (an https:// source never falls back to plaintext; TLS options apply to it as well).
   */
  private clientUrlOf(member: Member | undefined, hex: string): URL {
    if (member === undefined) throw new Error(`the leader ${hex} is not in the member list`);
    const name = member.name || hex;
    const configured = member.clientUrls.find((u) => this.endpoints.some((e) => e.origin === u.origin));
    const url = configured ?? member.clientUrls.find((u) => u.protocol === this.protocol);
    if (url !== undefined) return url;
    const advertised = member.clientUrls.map(redact).join(', ');
    if (member.clientUrls.length > 0 && this.protocol === 'http:') {
      throw new Error(`the leader ${name} advertises only TLS client URLs (${advertised}): list https:// endpoints (with tls.ca, replag --tls-ca, for a private CA)`);
    }
    if (member.clientUrls.length > 0) throw new Error(`the leader ${name} advertises only plaintext client URLs (${advertised}), and the endpoints are https://: the source does not fall back to plaintext`);
    throw new Error(`the leader ${name} advertises no client URL`);
  }

  /** POSTs `{}` to a v3 gateway path or GETs any other path, bounded by `signal`; errors name the request. */
  private async request<T>(base: URL, path: string, signal: AbortSignal, parse: (body: string) => T, label?: string): Promise<T> {
    const method = path.startsWith('/v3/') ? 'POST' : 'GET';
    const what = `${method} ${redact(base)}${path}${label === undefined ? '' : ` (${label})`}`;
    const url = new URL(path, base);
    const tls = url.protocol === 'https:' ? nodeTlsOptions(this.tls ?? {}, url.hostname.replace(/^\[(.*)\]$/, '$1')) : undefined;
    let response: { status: number; body: string };
    try {
      response = await send(url, method, method === 'POST' ? '{}' : undefined, signal, tls);
    } catch (error) {
      throw new Error(`${what}: ${failureReason(error, signal, this.timeoutMs, url, this.tls)}`, { cause: error });
    }
    const { status, body } = response;
    if (status < 200 || status > 299) throw new Error(`${what} returned HTTP ${status}${httpHint(path, status, body, url)}`);
    try {
      return parse(body);
    } catch (error) {
      throw new Error(`${what}: ${error instanceof SyntaxError ? 'the response is not JSON' : (error as Error).message}`, { cause: error });
    }
  }
}

function parseEndpoint(value: unknown, option: string): URL {
  if (typeof value !== 'string') throw new TypeError(`${option} must be a string, got ${describe(value)}`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new RangeError(`${option} must be an http:// or https:// URL, got "${redactText(value)}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError(`${option} must be an http:// or https:// URL, got "${redactText(value)}"`);
  if (url.username !== '' || url.password !== '') throw new RangeError(`${option} must not contain credentials (${redact(url)}): the etcd source needs none`);
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new RangeError(`${option} must be a client URL without path, query or fragment (http://host:2379), got "${redact(url)}"`);
  }
  return url;
}

/**
 * The endpoints' one scheme. Mixed http:// and https:// are refused (TLS would hold for some members only), and
 * so is `tls` with http:// endpoints (it would go unused).
 */
function checkSchemes(urls: readonly URL[], tls: SourceTlsOptions | undefined): string {
  const plain = urls.find((u) => u.protocol === 'http:');
  const secure = urls.find((u) => u.protocol === 'https:');
  if (plain !== undefined && secure !== undefined) {
    throw new RangeError(`${OPTIONS}.endpoints mixes http:// (${redact(plain)}) and https:// (${redact(secure)}) URLs: list every member the same way`);
  }
  if (plain !== undefined && tls !== undefined) {
    throw new RangeError(`${OPTIONS}.tls is set but the endpoints are http:// (${redact(plain)}): TLS options apply to https:// endpoints only`);
  }
  return plain === undefined ? 'https:' : 'http:';
}

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
function send(url: URL, method: string, body: string | undefined, signal: AbortSignal, tls: ConnectionOptions | undefined): Promise<{ status: number; body: string }> {
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

/** protocol//host:port/path only: never user info, query or fragment. */
function redact(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
}

/** For strings that are not URLs: drops anything that looks like user info, and bounds the length. */
function redactText(text: string): string {
  const cut = text.replace(/\/\/[^/]*@/, '//***@');
  return cut.length > 80 ? `${cut.slice(0, 80)}…` : cut;
}

function failureReason(error: unknown, signal: AbortSignal, timeoutMs: number, url: URL, tls: SourceTlsOptions | undefined): string {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof Error && reason.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
    return reason instanceof Error ? reason.message : 'aborted';
  }
  const failed = error instanceof RequestError ? error : new RequestError(error instanceof Error ? error : new Error(String(error)), false, false);
  const code = (failed.error as { code?: unknown }).code;
  const certificate = describeTlsError(failed.error);
  if (certificate !== undefined) return certificate;
  if (isClientCertificateAlert(code)) {
    return tls?.cert === undefined
      ? `etcd requires a client certificate (--client-cert-auth) (${code}): pass one and its key (tls.cert and tls.key, replag --tls-cert/--tls-key)`
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
      if (url.protocol === 'http:' && !failed.answered) return 'the server closed the connection without an answer (an https-only etcd client URL? then use https://, with its CA: tls.ca, replag --tls-ca)';
      return 'connection reset';
  }
  return failed.message;
}

function httpHint(path: string, status: number, body: string, url: URL): string {
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

function parseMembers(body: string): Map<string, Member> {
  const list = (JSON.parse(body) as { members?: unknown }).members;
  if (!Array.isArray(list)) throw new Error('member list response has no "members" array');
  const members = new Map<string, Member>();
  for (const m of list as { ID?: unknown; name?: unknown; clientURLs?: unknown }[]) {
    const hex = idFromDecimal(m.ID, 'member ID');
    const clientUrls: URL[] = [];
    for (const u of Array.isArray(m.clientURLs) ? m.clientURLs : []) {
      if (typeof u === 'string' && URL.canParse(u)) clientUrls.push(new URL(u));
    }
    members.set(hex, { name: typeof m.name === 'string' ? m.name : '', clientUrls });
  }
  return members;
}

/** A uint64 id from the v3 JSON gateway (a decimal string; omitted when zero) as lowercase hex. */
function idFromDecimal(value: unknown, field: string): string {
  if (value === undefined) return '0';
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value).toString(16);
  throw new Error(`${field} is not a uint64 decimal string: ${describe(value)}`);
}

/** A member id from `/debug/vars` (hex, as etcd prints it), normalized. */
function idFromHex(value: unknown, field: string): string {
  if (typeof value === 'string' && /^[0-9a-fA-F]{1,16}$/.test(value)) return BigInt(`0x${value}`).toString(16);
  throw new Error(`${field} is not a hex member id: ${describe(value)}`);
}

function raftIndex(value: unknown, field: string): bigint {
  if (typeof value === 'bigint' && value >= 0n) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  throw new Error(`${field} is not an exact non-negative integer: ${describe(value)}`);
}

/** JSON.parse reviver: integers beyond 2^53 − 1 become bigint, read from the source text (Node ≥ 21). */
function exactIntegers(_key: string, value: unknown, context?: { source?: string }): unknown {
  const source = context?.source;
  if (typeof value === 'number' && !Number.isSafeInteger(value) && source !== undefined && /^\d+$/.test(source)) return BigInt(source);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
