/**
 * NATS JetStream as a replication source, over the NATS client protocol (see `connection.ts`) and the JetStream
 * API: per watched stream, the stream leader's own view (`$JS.API.STREAM.INFO`, answered by the leader only — a
 * follower's view of the other replicas is wrong): the leader's `last_seq` is the leader position, each replica is
 * at `last_seq − lag`. Every durable consumer of a watched stream is a follower too, at its ack floor's stream
 * sequence against the stream's `last_seq`. A stream that cannot be read (no leader during an election) fails for
 * that stream only: its replicas and consumers stay at their last known positions, the error goes to
 * `onReplicaError`; the poll rejects only when no stream at all could be read.
 */
import { DeadlineError } from '../kit/deadline.ts';
import { LastKnownPositions, type NodeAttributes } from '../kit/last-known.ts';
import { errorFacts } from '../kit/messages.ts';
import { byNodeId } from '../kit/node-order.ts';
import { booleanOption, callbackOption, objectOption, stringOption, timeoutOption } from '../kit/options.ts';
import { ATTR_NATS_CLUSTER, ATTR_NATS_CONSUMER, ATTR_NATS_SERVER_NAME, ATTR_NATS_STREAM, ATTR_REPLICATION_SYSTEM } from '../../semconv.ts';
import type { ReplicaPosition, ReplicationSource } from '../source.ts';
import { validateTlsOptions, type SourceTlsOptions } from '../tls.ts';
import { NatsConnection, NoRespondersError } from './connection.ts';
import { consumerInfo, consumerNames, JetStreamApiError, streamInfo, streamNames, type StreamInfo } from './jetstream.ts';
import { parseNatsUrl } from './urls.ts';

/** Options of `NatsSource`. */
export interface NatsSourceOptions {
  /** `nats://host:port` of one or more servers (`tls://` for TLS always); the poll uses the first that connects. */
  url: string | string[];
  /** User and password (`authorization { user, password }` or an account's users). */
  user?: string;
  password?: string;
  /** Token (`authorization { token }`), instead of user and password. */
  token?: string;
  /** Streams to watch; default every stream of the account. */
  streams?: string[];
  /** Watch every durable consumer of the watched streams too. Default true. */
  consumers?: boolean;
  /** Bound on each poll, ms. Default 5000. */
  timeoutMs?: number;
  /** TLS (private CA, client certificate, servername, rejectUnauthorized); makes TLS required. */
  tls?: SourceTlsOptions;
  /** A stream, or one consumer (`<stream>/consumer/<name>`), could not be read at this poll. */
  onReplicaError?: (replica: string, error: Error) => void;
}

const DEFAULT_TIMEOUT_MS = 5000;
/** The share of the poll's deadline spent waiting for answers (the rest: asking a stream leader again). */
const WAIT_SHARE = 0.75;
/** How long a request unanswered at the last poll is waited for. */
const SUSPECT_WAIT_MS = 200;
const OPTIONS = 'NatsSourceOptions';
/** Client URLs learnt from the servers' INFO (`connect_urls`), at most. */
const MAX_LEARNT_URLS = 32;
const NAME = /^[^\s.*>]+$/;

/** The stream replicas and durable consumers of a NATS JetStream account. */
export class NatsSource implements ReplicationSource {
  readonly name = 'nats';
  private readonly urls: readonly URL[];
  private readonly learnt = new Map<string, URL>();
  private readonly credentials: { user?: string; password?: string; token?: string };
  private readonly streams: readonly string[] | undefined;
  private readonly consumers: boolean;
  private readonly timeoutMs: number;
  private readonly tls: SourceTlsOptions | undefined;
  private readonly onReplicaError: ((replica: string, error: Error) => void) | undefined;
  private readonly closing = new AbortController();
  private readonly known = new LastKnownPositions();
  /** Per stream: its leader position at the last poll that read it. */
  private readonly leaderSeqs = new Map<string, bigint>();
  /** The streams of the last poll that listed them (for a poll that cannot list them). */
  private listed: string[] | undefined;
  private inFlight: Promise<unknown> = Promise.resolve();
  /** Streams and consumers whose request went unanswered at the last poll: waited for briefly only. */
  private readonly suspects = new Set<string>();

  /** Validates the options; no I/O happens before the first `poll()`. @throws TypeError / RangeError naming the option, never a secret. */
  constructor(options: NatsSourceOptions) {
    const o = objectOption(options, OPTIONS, '({ url, user, password, token, streams, consumers, timeoutMs, tls })');
    const urls = typeof o.url === 'string' ? [o.url] : o.url;
    if (!Array.isArray(urls)) throw new TypeError(`${OPTIONS}.url must be a nats:// URL or an array of them, got ${o.url === null ? 'null' : typeof o.url}`);
    if (urls.length === 0) throw new RangeError(`${OPTIONS}.url must list at least one nats:// URL`);
    const parsed = new Map<string, URL>();
    urls.forEach((u: unknown, i) => {
      const url = parseNatsUrl(u, Array.isArray(o.url) ? `${OPTIONS}.url[${i}]` : `${OPTIONS}.url`);
      parsed.set(url.host, url);
    });
    this.urls = [...parsed.values()];
    const user = stringOption(o.user, `${OPTIONS}.user`);
    const password = stringOption(o.password, `${OPTIONS}.password`);
    const token = stringOption(o.token, `${OPTIONS}.token`);
    if (token !== undefined && (user !== undefined || password !== undefined)) throw new RangeError(`${OPTIONS}: token and user/password exclude each other: give one`);
    if (password !== undefined && user === undefined) throw new RangeError(`${OPTIONS}.password is set without user`);
    this.credentials = { ...(user !== undefined ? { user } : {}), ...(password !== undefined ? { password } : {}), ...(token !== undefined ? { token } : {}) };
    if (o.streams !== undefined) {
      if (!Array.isArray(o.streams)) throw new TypeError(`${OPTIONS}.streams must be an array of stream names, got ${o.streams === null ? 'null' : typeof o.streams}`);
      if (o.streams.length === 0) throw new RangeError(`${OPTIONS}.streams must list at least one stream (omit it to watch every stream)`);
      o.streams.forEach((s: unknown, i) => {
        if (typeof s !== 'string' || !NAME.test(s)) throw new RangeError(`${OPTIONS}.streams[${i}] must be a stream name (no spaces, '.', '*' or '>'), got ${typeof s === 'string' ? JSON.stringify(s.slice(0, 64)) : typeof s}`);
      });
      this.streams = [...new Set(o.streams as string[])];
    }
    this.consumers = booleanOption(o.consumers, `${OPTIONS}.consumers`, true);
    this.timeoutMs = timeoutOption(o.timeoutMs, `${OPTIONS}.timeoutMs`, DEFAULT_TIMEOUT_MS);
    this.tls = validateTlsOptions(o.tls, `${OPTIONS}.tls`);
    this.onReplicaError = callbackOption(o.onReplicaError, `${OPTIONS}.onReplicaError`);
  }

  /** Reads every watched stream and its durable consumers. Resolves or rejects within `timeoutMs`. */
  poll(): Promise<readonly ReplicaPosition[]> {
    if (this.closing.signal.aborted) return Promise.reject(new Error('nats: poll() called after close()'));
    const signal = AbortSignal.any([this.closing.signal, timeoutSignal(this.timeoutMs)]);
    const result = this.read(signal).catch((error: unknown) => {
      throw new Error(`nats: ${this.explain(error, signal)}`, { cause: error });
    });
    this.inFlight = result.catch(() => undefined);
    return result;
  }

  /** Per follower node id: whether the last poll read it (false: kept at its last known position). */
  replicaReadability(): ReadonlyMap<string, boolean> {
    return this.known.readability();
  }

  /** Aborts a poll in flight (closing its connection); the source holds no connection between polls. Idempotent. */
  async close(): Promise<void> {
    this.closing.abort(new Error('the source was closed'));
    await this.inFlight;
  }

  private async read(signal: AbortSignal): Promise<ReplicaPosition[]> {
    const connection = await this.connect(signal);
    // Answers are waited for until 3/4 of the deadline; the rest is for asking a stream leader again (see readStream).
    const waitSignal = AbortSignal.any([signal, timeoutSignal(Math.max(1, Math.round(WAIT_SHARE * this.timeoutMs)))]);
    try {
      const streams = await this.watchedStreams(connection, waitSignal);
      const reads = await Promise.all(streams.map((s) => this.readStream(connection, s, waitSignal, signal)));
      if (this.closing.signal.aborted) throw new Error('the source was closed during the poll');
      const positions: ReplicaPosition[] = [];
      const failures: [string, Error][] = [];
      for (const read of reads) {
        positions.push(...read.positions);
        failures.push(...read.failures);
      }
      const failedStreams = reads.filter((r) => r.streamError !== undefined);
      if (streams.length > 0 && failedStreams.length === streams.length) {
        throw new Error(failedStreams.map((r) => r.streamError!.message).join('; '));
      }
      this.known.endPoll();
      for (const [replica, error] of failures) {
        try {
          this.onReplicaError?.(replica, error);
        } catch {
          // A throwing listener must not hide the other streams.
        }
      }
      return byNodeId(positions);
    } finally {
      connection.close();
    }
  }

  /** Connects to every known URL at once; the first handshake wins, the others are closed. */
  private async connect(signal: AbortSignal): Promise<NatsConnection> {
    const urls = [...this.urls, ...[...this.learnt.values()].filter((u) => !this.urls.some((c) => c.host === u.host))];
    const race = new AbortController();
    const raceSignal = AbortSignal.any([signal, race.signal]);
    const failures: string[] = [];
    let winner: NatsConnection | undefined;
    try {
      winner = await new Promise<NatsConnection>((resolve, reject) => {
        let pending = urls.length;
        for (const url of urls) {
          NatsConnection.open({ url, ...this.credentials, ...(this.tls !== undefined ? { tls: this.tls } : {}), signal: raceSignal })
            .then((c) => {
              if (winner === undefined && !race.signal.aborted) {
                winner = c;
                resolve(c);
              } else c.close();
            }, (error: unknown) => {
              if (!race.signal.aborted) failures.push(`${url.protocol}//${url.host}: ${this.explain(error, signal)}`);
            })
            .finally(() => {
              if (--pending === 0) reject(new Error(`no server accepted the connection: ${failures.join('; ')}`));
            });
        }
      });
    } finally {
      race.abort();
    }
    this.learn(winner.info.connect_urls, winner.info.tls_required === true || this.tls !== undefined ? 'tls:' : 'nats:');
    return winner;
  }

  /** Remembers the cluster's other client URLs (INFO `connect_urls`), so a later poll can reach them when the given ones are down. */
  private learn(urls: unknown, protocol: string): void {
    if (!Array.isArray(urls)) return;
    for (const u of urls) {
      if (typeof u !== 'string' || this.learnt.size >= MAX_LEARNT_URLS || !URL.canParse(`${protocol}//${u}`)) continue;
      const url = new URL(`${protocol}//${u}`);
      this.learnt.set(url.host, url);
    }
  }

  /** The configured streams, or every stream of the account (the last list when it cannot be listed now). */
  private async watchedStreams(connection: NatsConnection, signal: AbortSignal): Promise<readonly string[]> {
    if (this.streams !== undefined) return this.streams;
    try {
      this.listed = (await streamNames(connection, signal)).sort();
    } catch (error) {
      if (this.listed === undefined) {
        const hint = error instanceof NoRespondersError || signal.aborted ? ' (is JetStream enabled for this user\'s account? the system account has none)' : '';
        throw new Error(`cannot list the streams ($JS.API.STREAM.NAMES): ${this.explain(error, signal)}${hint}`, { cause: error });
      }
      this.report('$JS.API.STREAM.NAMES', new Error(`nats: cannot list the streams (${this.explain(error, signal)}); watching the ${this.listed.length} listed before`));
    }
    return this.listed;
  }

  /** One stream: its replicas from the leader's view and its durable consumers; on failure, its last known positions. */
  private async readStream(
    connection: NatsConnection,
    stream: string,
    signal: AbortSignal,
    pollSignal: AbortSignal,
  ): Promise<{ positions: ReplicaPosition[]; failures: [string, Error][]; streamError?: Error }> {
    const consumersRead = this.consumers ? this.readConsumers(connection, stream, signal) : undefined;
    consumersRead?.catch(() => {}); // awaited below
    let info: StreamInfo;
    const streamSignal = this.boundFor(stream, signal);
    try {
      info = await this.suspicious(stream, streamInfo(connection, stream, streamSignal), streamSignal);
      if (info.leader === undefined && info.numReplicas > 1) throw new Error(`stream ${stream} has no leader (an election is under way)`);
    } catch (error) {
      const streamError = new Error(`nats: ${this.streamFailure(stream, error, streamSignal)}; its replicas and consumers are kept at their last known positions`);
      await consumersRead?.catch(() => undefined);
      return { positions: this.keepStream(stream), failures: [[stream, streamError]], streamError };
    }
    const consumersOrError = consumersRead === undefined ? undefined : await consumersRead.catch((error: unknown) => error as Error);
    if (consumersOrError instanceof Error || consumersOrError?.some((c) => c.error !== undefined)) {
      // A consumer request was waited for: the leader's view is as old as the wait. Its view now, so that a
      // replica that stopped shows behind at once instead of caught up at the position of the poll's start.
      const again = await streamInfo(connection, stream, pollSignal).catch(() => undefined);
      if (again !== undefined && again.leader === info.leader && again.lastSeq >= info.lastSeq) info = again;
    }
    const leaderSeq = info.lastSeq;
    const before = this.leaderSeqs.get(stream);
    this.leaderSeqs.set(stream, leaderSeq);
    const positions: ReplicaPosition[] = [];
    const failures: [string, Error][] = [];
    const cluster: Record<string, string> = info.cluster === undefined ? {} : { [ATTR_NATS_CLUSTER]: info.cluster };
    const replicaIds = new Set<string>();
    for (const replica of info.replicas) {
      const nodeId = `${stream}/${replica.name}`;
      replicaIds.add(nodeId);
      let followerSeq = replica.lag >= leaderSeq ? 0n : leaderSeq - replica.lag;
      // The lag counts raft entries, a few of which are not messages: never let that move a replica backwards.
      const previous = this.known.get(nodeId)?.followerSeq;
      if (typeof previous === 'bigint' && before !== undefined && leaderSeq >= before && followerSeq < previous && previous <= leaderSeq) followerSeq = previous;
      const attributes: NodeAttributes = { [ATTR_REPLICATION_SYSTEM]: 'nats', [ATTR_NATS_STREAM]: stream, [ATTR_NATS_SERVER_NAME]: replica.name, ...cluster };
      this.known.record(nodeId, { followerSeq, attributes });
      positions.push({ nodeId, leaderSeq, followerSeq, attributes });
    }
    // A replica the leader no longer lists while the stream still has that many replicas stays at its last position.
    if (info.replicas.length + 1 < info.numReplicas) {
      for (const id of this.known.knownIds((id) => id.startsWith(`${stream}/`) && !id.startsWith(`${stream}/consumer/`) && !replicaIds.has(id) && id !== `${stream}/${info.leader}`)) {
        const kept = this.known.keep(id);
        if (kept !== undefined) positions.push({ nodeId: id, leaderSeq, followerSeq: kept.followerSeq, attributes: kept.attributes });
      }
    }
    if (consumersOrError !== undefined) {
      const consumers = consumersOrError;
      if (consumers instanceof Error) {
        failures.push([stream, new Error(`nats: stream ${stream}: cannot list its consumers ($JS.API.CONSUMER.NAMES): ${this.explain(consumers, signal)}; they are kept at their last known positions`)]);
        for (const id of this.known.knownIds((id) => id.startsWith(`${stream}/consumer/`))) {
          const kept = this.known.keep(id)!;
          positions.push({ nodeId: id, leaderSeq, followerSeq: kept.followerSeq, attributes: kept.attributes });
        }
      } else {
        for (const c of consumers) {
          const nodeId = `${stream}/consumer/${c.name}`;
          if (c.error === undefined) {
            if (!c.durable) continue;
            const attributes: NodeAttributes = { [ATTR_REPLICATION_SYSTEM]: 'nats', [ATTR_NATS_STREAM]: stream, [ATTR_NATS_CONSUMER]: c.name, ...cluster };
            this.known.record(nodeId, { followerSeq: c.ackFloor, attributes });
            positions.push({ nodeId, leaderSeq, followerSeq: c.ackFloor, attributes });
            continue;
          }
          const kept = this.known.keep(nodeId);
          if (kept === undefined) continue; // never read (or not durable): nothing to report
          failures.push([nodeId, new Error(`nats: consumer ${stream}/${c.name}: ${this.explain(c.error, signal)}; kept at its last known position`)]);
          positions.push({ nodeId, leaderSeq, followerSeq: kept.followerSeq, attributes: kept.attributes });
        }
      }
    }
    return { positions, failures };
  }

  /** Every consumer of `stream` with its ack floor, or the error reading it. @throws when the names cannot be read. */
  private async readConsumers(connection: NatsConnection, stream: string, signal: AbortSignal) {
    const names = await consumerNames(connection, stream, signal);
    return Promise.all(names.map(async (name) => {
      const key = `${stream}/consumer/${name}`;
      const bound = this.boundFor(key, signal);
      try {
        const info = await this.suspicious(key, consumerInfo(connection, stream, name, bound), bound);
        return { name, durable: info.durable, ackFloor: info.ackFloorStreamSeq, error: undefined };
      } catch (error) {
        return { name, durable: true, ackFloor: 0n, error: error as Error };
      }
    }));
  }

  /**
   * The signal a request about `key` (a stream, or `<stream>/consumer/<name>`) is bounded by: the poll's wait, or a
   * short one when that request went unanswered at the last poll (a hung leader costs the poll that finds it, not
   * every poll after; an answer within the short wait clears the suspicion).
   */
  private boundFor(key: string, signal: AbortSignal): AbortSignal {
    return this.suspects.has(key) ? AbortSignal.any([signal, timeoutSignal(SUSPECT_WAIT_MS)]) : signal;
  }

  /** `request`'s outcome, noting whether `key` went unanswered (its signal aborted on a deadline). */
  private async suspicious<T>(key: string, request: Promise<T>, signal: AbortSignal): Promise<T> {
    try {
      const value = await request;
      this.suspects.delete(key);
      return value;
    } catch (error) {
      if (signal.aborted && signal.reason instanceof DeadlineError) this.suspects.add(key);
      else this.suspects.delete(key);
      throw error;
    }
  }

  /** Every follower of `stream` known before, at its last known position against the stream's last known leader position. */
  private keepStream(stream: string): ReplicaPosition[] {
    const leaderSeq = this.leaderSeqs.get(stream);
    if (leaderSeq === undefined) return [];
    const positions: ReplicaPosition[] = [];
    for (const id of this.known.knownIds((id) => id.startsWith(`${stream}/`))) {
      const kept = this.known.keep(id)!;
      positions.push({ nodeId: id, leaderSeq, followerSeq: kept.followerSeq, attributes: kept.attributes });
    }
    return positions;
  }

  private streamFailure(stream: string, error: unknown, signal: AbortSignal): string {
    if (error instanceof JetStreamApiError && error.errCode === 10059) return `stream ${stream} not found (${error.message})`;
    if (error instanceof JetStreamApiError && (error.code === 503 || error.errCode === 10008)) return `stream ${stream} has no leader (${error.message})`;
    if (error instanceof NoRespondersError) return `no responders to $JS.API.STREAM.INFO.${stream}: JetStream is not enabled for this account, or the stream has no leader (an election is under way)`;
    if (signal.aborted && !this.closing.signal.aborted) return `stream ${stream} has no leader (an election is under way) or its leader does not answer: no answer to $JS.API.STREAM.INFO.${stream} within ${waitedMs(signal, this.timeoutMs)} ms`;
    const message = this.explain(error, signal);
    return message.startsWith(`stream ${stream}`) ? message : `stream ${stream}: ${message}`;
  }

  /** A failure as a short reason without secrets (the credentials are never in an error: they are only written to the socket). */
  private explain(error: unknown, signal: AbortSignal): string {
    if (signal.aborted && this.closing.signal.aborted) return 'the source was closed';
    if (error instanceof DeadlineError) return `no answer within ${error.timeoutMs} ms`;
    if (signal.aborted && error === signal.reason) return `no answer within ${waitedMs(signal, this.timeoutMs)} ms`;
    const { code, reason } = errorFacts(error);
    if (code === 'ECONNREFUSED') return 'connection refused (is nats-server listening on this client port?)';
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
    return reason;
  }

  private report(replica: string, error: Error): void {
    try {
      this.onReplicaError?.(replica, error);
    } catch {
      // nowhere else to report it
    }
  }
}

/** How long a signal that aborted with a DeadlineError allowed (`fallback` for another reason). */
function waitedMs(signal: AbortSignal, fallback: number): number {
  const reason: unknown = signal.reason;
  return reason instanceof DeadlineError ? reason.timeoutMs : fallback;
}

/** An AbortSignal that aborts after `ms` with a DeadlineError. */
function timeoutSignal(ms: number): AbortSignal {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DeadlineError('the poll', ms)), ms);
  timer.unref();
  return controller.signal;
}
