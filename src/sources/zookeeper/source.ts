/**
 * ZooKeeper as a replication source: every member's last processed zxid, asked of each server with the
 * four-letter word `srvr` on its client port, the members found with `conf` from any one address. The leader is
 * the member in mode `leader`; participants that follow it and observers are the followers. The leader does not
 * expose its followers' zxids, so each server is read on its own: a follower that does not answer is kept at its
 * last known position (and stalls while the leader advances) for as long as `conf` lists it.
 */
import { DeadlineReader, type DeadlineReadOutcome } from '../kit/deadline-reader.ts';
import { LastKnownPositions } from '../kit/last-known.ts';
import { byNodeId } from '../kit/node-order.ts';
import { callbackOption, objectOption, timeoutOption } from '../kit/options.ts';
import { ATTR_REPLICATION_SYSTEM, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT, ATTR_ZOOKEEPER_ROLE, ATTR_ZOOKEEPER_SERVER_ID } from '../../semconv.ts';
import type { ReplicaPosition, ReplicationSource } from '../source.ts';
import { nodeTlsOptions, validateTlsOptions, type SourceTlsOptions } from '../tls.ts';
import { discoverMembers, formatAddress, parseServerAddress, reason, type ServerAddress } from './discovery.ts';
import { sendFourLetterWord } from './four-letter-word.ts';
import { parseSrvr, type ConfMember, type SrvrAnswer } from './parse.ts';
import { ZxidLine } from './zxid-line.ts';

/** Options of `ZooKeeperSource`. */
export interface ZooKeeperSourceOptions {
  /** Client addresses `host:port` of one or more servers; the others are found with `conf`. */
  servers: string[];
  /** Bound on each poll, ms. Default 5000. */
  timeoutMs?: number;
  /**
   * TLS to the servers' `secureClientPort` (list those ports in `servers`): a private CA, a client certificate
   * (ZooKeeper's `ssl.clientAuth`), servername, rejectUnauthorized. Omitted: plaintext.
   */
  tls?: SourceTlsOptions;
  /** A follower could not be read at this poll (it is reported at its last known position). */
  onReplicaError?: (replica: string, error: Error) => void;
}

/** One member between polls. */
interface Tracked {
  readonly member: ConfMember;
  readonly reader: DeadlineReader<SrvrAnswer>;
}

const DEFAULT_TIMEOUT_MS = 5000;
const OPTIONS = 'ZooKeeperSourceOptions';

/** The followers and observers of a ZooKeeper ensemble. */
export class ZooKeeperSource implements ReplicationSource {
  readonly name = 'zookeeper';
  private readonly seeds: readonly ServerAddress[];
  private readonly timeoutMs: number;
  private readonly tls: SourceTlsOptions | undefined;
  private readonly onReplicaError: ((replica: string, error: Error) => void) | undefined;
  private readonly closing = new AbortController();
  private readonly line = new ZxidLine();
  /** Members by node id (`host:port`), as `conf` listed them at the last poll. */
  private tracked = new Map<string, Tracked>();
  /** Followers' line positions at their last read, for the polls they cannot be read. */
  private readonly known = new LastKnownPositions();
  private inFlight: Promise<unknown> = Promise.resolve();

  /** Validates the options; no I/O happens before the first `poll()`. @throws TypeError / RangeError naming the option. */
  constructor(options: ZooKeeperSourceOptions) {
    const { servers, timeoutMs, onReplicaError, tls } = objectOption(options, OPTIONS, '({ servers, timeoutMs, tls })');
    if (!Array.isArray(servers)) throw new TypeError(`${OPTIONS}.servers must be an array of "host:port" client addresses, got ${servers === null ? 'null' : typeof servers}`);
    if (servers.length === 0) throw new RangeError(`${OPTIONS}.servers must list at least one client address`);
    const seeds = new Map<string, ServerAddress>();
    servers.forEach((s: unknown, i) => {
      const address = parseServerAddress(s, `${OPTIONS}.servers[${i}]`);
      seeds.set(formatAddress(address), address);
    });
    this.seeds = [...seeds.values()];
    this.timeoutMs = timeoutOption(timeoutMs, `${OPTIONS}.timeoutMs`, DEFAULT_TIMEOUT_MS);
    this.tls = validateTlsOptions(tls, `${OPTIONS}.tls`);
    this.onReplicaError = callbackOption(onReplicaError, `${OPTIONS}.onReplicaError`);
  }

  /**
   * Every follower's and observer's position against the leader's, in transactions of the leader's epoch line
   * (see `ZxidLine`). Rejects within `timeoutMs` when no member answers `conf` or no member answers as leader.
   */
  poll(): Promise<readonly ReplicaPosition[]> {
    if (this.closing.signal.aborted) return Promise.reject(new Error('zookeeper: poll() called after close()'));
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const signal = AbortSignal.any([this.closing.signal, deadline]);
    const started = performance.now();
    const result = this.read(signal, started).catch((error: unknown) => {
      throw new Error(`zookeeper: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    });
    this.inFlight = result.catch(() => undefined);
    return result;
  }

  /**
   * Per follower node id: whether the last poll read it (false: reported at its last known position). Exported as
   * `replication.replica.readable` through the poller's health.
   */
  replicaReadability(): ReadonlyMap<string, boolean> {
    return this.known.readability();
  }

  /** Aborts a poll in flight; the source holds no connection between polls. Idempotent. */
  async close(): Promise<void> {
    this.closing.abort(new Error('the source was closed'));
    await this.inFlight;
  }

  private async read(signal: AbortSignal, started: number): Promise<ReplicaPosition[]> {
    const addresses = new Map<string, ServerAddress>(this.seeds.map((s) => [formatAddress(s), s]));
    for (const [id, t] of this.tracked) addresses.set(id, t.member);
    const members = await discoverMembers([...addresses.values()], signal, this.tlsFor.bind(this));
    this.track(members);

    const remaining = Math.max(1, this.timeoutMs - (performance.now() - started));
    await Promise.all([...this.tracked.entries()].map(([, t]) => t.reader.wait(() => this.srvr(t.member), remaining)));
    if (this.closing.signal.aborted) throw new Error('the source was closed during the poll');

    const outcomes = new Map([...this.tracked].map(([id, t]) => [id, t.reader.take()]));
    const leaders = [...outcomes].filter(([, o]) => o.fresh && o.error === undefined && o.value?.mode === 'leader');
    if (leaders.length > 1) throw new Error(`${leaders.map(([id]) => id).join(' and ')} both answer as leader (an election is under way)`);
    const leader = leaders[0];
    if (leader === undefined) throw new Error(`no member answers as leader (an election is under way, or the leader cannot be read): ${this.whyNoLeader(outcomes)}`);
    const leaderSeq = this.line.leader(leader[1].value!.zxid);

    const positions: ReplicaPosition[] = [];
    const failures: [string, Error][] = [];
    for (const [id, t] of this.tracked) {
      if (id === leader[0]) continue; // not a follower (and, a follower again later, it starts from its next read)
      const { value, fresh, error, late } = outcomes.get(id)!;
      const attributes = {
        [ATTR_REPLICATION_SYSTEM]: 'zookeeper',
        [ATTR_SERVER_ADDRESS]: t.member.host,
        [ATTR_SERVER_PORT]: t.member.port,
        [ATTR_ZOOKEEPER_SERVER_ID]: t.member.sid,
        [ATTR_ZOOKEEPER_ROLE]: t.member.role === 'observer' ? 'observer' : 'follower',
      };
      let position = fresh && error === undefined && value !== undefined ? this.line.follower(value.zxid) : undefined;
      if (position !== undefined) {
        if (position > leaderSeq) position = leaderSeq; // read a moment after the leader
        this.known.record(id, { followerSeq: position, attributes });
      } else if (this.known.keep(id) === undefined) {
        continue; // never read: nothing to report yet
      }
      if (error !== undefined) failures.push([id, new Error(`zookeeper: server ${id}: ${error.message}; reported at its last known position`)]);
      else if (late && !fresh) failures.push([id, new Error(`zookeeper: server ${id}: srvr not answered within the poll deadline (${this.timeoutMs} ms); reported at its last known position`)]);
      else if (fresh && position === undefined) failures.push([id, new Error(`zookeeper: server ${id} reports a newer epoch than the leader ${leader[0]} (an election is under way); reported at its last known position`)]);
      const known = this.known.get(id)!;
      positions.push({ nodeId: id, leaderSeq, followerSeq: known.followerSeq, attributes: known.attributes });
    }
    this.known.endPoll();
    for (const [replica, error] of failures) {
      try {
        this.onReplicaError?.(replica, error);
      } catch {
        // A throwing listener must not hide the other followers.
      }
    }
    return byNodeId(positions);
  }

  /** Keeps the readers (and last positions) of members still listed; adds new ones; forgets the others. */
  private track(members: readonly ConfMember[]): void {
    const next = new Map<string, Tracked>();
    for (const member of members) {
      const id = formatAddress(member);
      const before = this.tracked.get(id);
      next.set(id, before !== undefined && before.member.sid === member.sid && before.member.role === member.role ? before : { member, reader: new DeadlineReader<SrvrAnswer>() });
    }
    this.tracked = next;
  }

  /** One `srvr`, bounded by `timeoutMs` on its own (an answer after the poll's deadline serves the next poll). */
  private async srvr(address: ServerAddress): Promise<SrvrAnswer> {
    const signal = AbortSignal.any([this.closing.signal, AbortSignal.timeout(this.timeoutMs)]);
    try {
      return parseSrvr(await sendFourLetterWord('srvr', { host: address.host, port: address.port, signal, tls: this.tlsFor(address) }));
    } catch (error) {
      throw new Error(reason(error, signal), { cause: error });
    }
  }

  private tlsFor(address: ServerAddress) {
    return this.tls === undefined ? undefined : nodeTlsOptions(this.tls, address.host);
  }

  private whyNoLeader(outcomes: ReadonlyMap<string, DeadlineReadOutcome<SrvrAnswer>>): string {
    return [...outcomes]
      .map(([id, o]) => {
        if (o.error !== undefined) return `${id}: ${o.error.message}`;
        if (!o.fresh) return `${id}: no answer within the poll deadline`;
        return `${id}: mode ${o.value!.mode}`;
      })
      .join('; ');
  }
}
