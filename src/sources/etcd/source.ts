/**
 * The etcd source: the Raft leader's view of each follower, read over the members' client URLs (http://, or
 * https:// with `tls`) with `node:http` / `node:https` (`http.ts`) and no client library (Node's fetch cannot take
 * a private CA or a client certificate). A poll asks the given endpoints who the leader is
 * (`POST /v3/maintenance/status`), maps member ids to names and client URLs (`POST /v3/cluster/member/list`), then
 * reads the leader's `raft.status` from `GET /debug/vars` (`raft-status.ts`): the leader's last log index and, per
 * follower, the `match` index (the highest entry the leader knows the follower has stored), from one snapshot.
 */
import { describe } from '../../config.ts';
import { ATTR_ETCD_MEMBER_ID, ATTR_REPLICATION_SYSTEM, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '../../semconv.ts';
import { deadlineSignal } from '../kit/deadline.ts';
import { originForMessage, urlForMessage, urlTextForMessage } from '../kit/messages.ts';
import { byNodeId } from '../kit/node-order.ts';
import { objectOption, timeoutOption } from '../kit/options.ts';
import type { ReplicaPosition, ReplicationSource } from '../source.ts';
import { nodeTlsOptions, validateTlsOptions, type SourceTlsOptions } from '../tls.ts';
import { failureReason, httpHint, send } from './http.ts';
import { idFromDecimal, parseEtcdDebugVars, parseMembers, type Member } from './raft-status.ts';

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


const DEFAULT_TIMEOUT_MS = 5000;
const OPTIONS = 'EtcdSourceOptions';

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
    objectOption(options, OPTIONS);
    const { endpoints } = options;
    if (!Array.isArray(endpoints)) throw new TypeError(`${OPTIONS}.endpoints must be an array of client URLs, got ${describe(endpoints)}`);
    if (endpoints.length === 0) throw new RangeError(`${OPTIONS}.endpoints must list at least one client URL`);
    const urls = new Map<string, URL>();
    endpoints.forEach((e: unknown, i) => {
      const url = parseEndpoint(e, `${OPTIONS}.endpoints[${i}]`);
      urls.set(url.origin, url);
    });
    const tls = validateTlsOptions(options.tls, `${OPTIONS}.tls`);
    this.protocol = checkSchemes([...urls.values()], tls);
    const timeoutMs = timeoutOption(options.timeoutMs, `${OPTIONS}.timeoutMs`, DEFAULT_TIMEOUT_MS);
    this.endpoints = [...urls.values()];
    this.timeoutMs = timeoutMs;
    this.tls = tls;
  }

  /** Every follower's match index against the leader's last log index. Rejects within `timeoutMs`. */
  poll(): Promise<readonly ReplicaPosition[]> {
    if (this.closing.signal.aborted) return Promise.reject(new Error('etcd: poll() called after close()'));
    const signal = deadlineSignal({ timeoutMs: this.timeoutMs, what: 'etcd', signal: this.closing.signal });
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
      throw new Error(`${label} (${originForMessage(leaderUrl)}) is no longer the leader (it is ${raft.raftState}); leadership changed during the poll`);
    }
    const leaderSeq = raft.progress.get(raft.id);
    if (leaderSeq === undefined) throw new Error(`${label} (${originForMessage(leaderUrl)}) reports no progress for itself in raft.status`);

    const names = new Map<string, number>();
    for (const m of members.values()) if (m.name !== '') names.set(m.name, (names.get(m.name) ?? 0) + 1);
    const out: ReplicaPosition[] = [];
    for (const [id, followerSeq] of raft.progress) {
      if (id === raft.id) continue;
      const member = members.get(id);
      const attributes: Record<string, string | number> = { [ATTR_REPLICATION_SYSTEM]: 'etcd', [ATTR_ETCD_MEMBER_ID]: id };
      const url = member?.clientUrls.find((u) => u.protocol === this.protocol) ?? member?.clientUrls[0];
      if (url !== undefined) {
        attributes[ATTR_SERVER_ADDRESS] = url.hostname.replace(/^\[(.*)\]$/, '$1');
        attributes[ATTR_SERVER_PORT] = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
      }
      // A name is the id unless the member has none yet (added, never started) or shares it with another.
      const nodeId = member !== undefined && member.name !== '' && names.get(member.name) === 1 ? member.name : id;
      out.push({ nodeId, leaderSeq, followerSeq, attributes });
    }
    return byNodeId(out);
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
              if (leader === '0') failures.push(`${originForMessage(url)} reports no leader`);
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
    const advertised = member.clientUrls.map(originForMessage).join(', ');
    if (member.clientUrls.length > 0 && this.protocol === 'http:') {
      throw new Error(`the leader ${name} advertises only TLS client URLs (${advertised}): list https:// endpoints (with tls.ca for a private CA)`);
    }
    if (member.clientUrls.length > 0) throw new Error(`the leader ${name} advertises only plaintext client URLs (${advertised}), and the endpoints are https://: the source does not fall back to plaintext`);
    throw new Error(`the leader ${name} advertises no client URL`);
  }

  /** POSTs `{}` to a v3 gateway path or GETs any other path, bounded by `signal`; errors name the request. */
  private async request<T>(base: URL, path: string, signal: AbortSignal, parse: (body: string) => T, label?: string): Promise<T> {
    const method = path.startsWith('/v3/') ? 'POST' : 'GET';
    const what = `${method} ${originForMessage(base)}${path}${label === undefined ? '' : ` (${label})`}`;
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
    throw new RangeError(`${option} must be an http:// or https:// URL, got "${urlTextForMessage(value)}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError(`${option} must be an http:// or https:// URL, got "${urlTextForMessage(value)}"`);
  if (url.username !== '' || url.password !== '') throw new RangeError(`${option} must not contain credentials (${originForMessage(url)}): the etcd source needs none`);
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new RangeError(`${option} must be a client URL without path, query or fragment (http://host:2379), got "${urlForMessage(url)}"`);
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
    throw new RangeError(`${OPTIONS}.endpoints mixes http:// (${originForMessage(plain)}) and https:// (${originForMessage(secure)}) URLs: list every member the same way`);
  }
  if (plain !== undefined && tls !== undefined) {
    throw new RangeError(`${OPTIONS}.tls is set but the endpoints are http:// (${originForMessage(plain)}): TLS options apply to https:// endpoints only`);
  }
  return plain === undefined ? 'https:' : 'http:';
}

