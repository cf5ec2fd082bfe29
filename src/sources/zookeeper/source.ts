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
import { parseConfServer, parseSrvr, type ConfMember, type SrvrAnswer } from './parse.ts';
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

/** What one read of a server gives. */
interface ServerRead {
  /** Its server id (`serverId=` in its `conf`), read with TLS only (plaintext addresses come from `conf` itself). */
  readonly serverId: number | undefined;
  readonly srvr: SrvrAnswer;
}

const DEFAULT_TIMEOUT_MS = 5000;
/** The share of the poll's deadline spent waiting for the servers' answers. */
const WAIT_SHARE = 0.75;
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
  /** Per address read (`host:port`): its reader, kept across polls while the address is read. */
  private readonly readers = new Map<string, { readonly address: ServerAddress; readonly reader: DeadlineReader<ServerRead> }>();
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
    const confAddresses = new Map<string, ServerAddress>(this.seeds.map((s) => [formatAddress(s), s]));
    for (const [key, r] of this.readers) confAddresses.set(key, r.address);
    const { members, secureClientPort } = await discoverMembers([...confAddresses.values()], signal, this.tlsFor.bind(this));

    // Read every member: on its client address (plaintext); with TLS on the configured addresses, matched to
    // members by server id, and on the member's host and the secureClientPort for members not configured.
    // Servers are waited for until 3/4 of the deadline: the rest is for asking the leader again when one is late.
    const remaining = () => Math.max(1, WAIT_SHARE * this.timeoutMs - (performance.now() - started));
    const outcomes = new Map<string, DeadlineReadOutcome<ServerRead>>();
    const readAll = async (addresses: readonly ServerAddress[]) => {
      const fresh = addresses.filter((a) => !outcomes.has(formatAddress(a)));
      await Promise.all(fresh.map((a) => this.readerOf(a).wait(() => this.readServer(a), remaining())));
      for (const a of fresh) outcomes.set(formatAddress(a), this.readerOf(a).take());
    };
    /** Member id → the key of the address it is read on (undefined: no address known for it). */
    const plan = new Map<string, string | undefined>();
    if (this.tls === undefined) {
      await readAll(members);
      for (const m of members) plan.set(formatAddress(m), formatAddress(m));
    } else {
      await readAll(this.seeds);
      const bySid = (sid: number) => [...outcomes].find(([, o]) => o.value?.serverId === sid)?.[0];
      const unmatched = members.filter((m) => bySid(m.sid) === undefined);
      const fallback = (m: ConfMember) => (secureClientPort === undefined ? undefined : { host: m.host, port: secureClientPort });
      await readAll(unmatched.map(fallback).filter((a) => a !== undefined));
      for (const m of members) {
        const key = bySid(m.sid);
        const other = fallback(m);
        plan.set(formatAddress(m), key ?? (other === undefined ? undefined : formatAddress(other)));
      }
    }
    for (const key of this.readers.keys()) if (!outcomes.has(key)) this.readers.delete(key);
    if (this.closing.signal.aborted) throw new Error('the source was closed during the poll');

    const outcomeOf = (m: ConfMember) => {
      const key = plan.get(formatAddress(m));
      return key === undefined ? undefined : outcomes.get(key);
    };
    const leaders = members.filter((m) => {
      const o = outcomeOf(m);
      return o !== undefined && o.fresh && o.error === undefined && o.value?.srvr.mode === 'leader' && (o.value.serverId === undefined || o.value.serverId === m.sid);
    });
    if (leaders.length > 1) throw new Error(`${leaders.map(formatAddress).join(' and ')} both answer as leader (an election is under way)`);
    const leader = leaders[0];
    if (leader === undefined) throw new Error(`no member answers as leader (an election is under way, or the leader cannot be read): ${this.whyNoLeader(members, outcomeOf)}`);
    let leaderZxid = outcomeOf(leader)!.value!.srvr.zxid;
    if (members.some((m) => m !== leader && outcomeOf(m)?.late === true && outcomeOf(m)?.fresh === false)) {
      // A server was waited for: the leader's answer is as old as the wait. Its position now, so that a hung
      // follower shows behind at once instead of caught up at the leader's position of the poll's start.
      const again = await this.readServer(this.readers.get(plan.get(formatAddress(leader))!)!.address, signal).catch(() => undefined);
      if (again !== undefined && again.srvr.mode === 'leader' && again.srvr.zxid > leaderZxid && (again.serverId ?? leader.sid) === leader.sid) leaderZxid = again.srvr.zxid;
    }
    const leaderSeq = this.line.leader(leaderZxid);

    const positions: ReplicaPosition[] = [];
    const failures: [string, Error][] = [];
    for (const member of members) {
      const id = formatAddress(member);
      if (member === leader) continue; // not a follower (and, a follower again later, it starts from its next read)
      const outcome = outcomeOf(member);
      const attributes = {
        [ATTR_REPLICATION_SYSTEM]: 'zookeeper',
        [ATTR_SERVER_ADDRESS]: member.host,
        [ATTR_SERVER_PORT]: member.port,
        [ATTR_ZOOKEEPER_SERVER_ID]: member.sid,
        [ATTR_ZOOKEEPER_ROLE]: member.role === 'observer' ? 'observer' : 'follower',
      };
      const value = outcome?.fresh && outcome.error === undefined ? outcome.value : undefined;
      const sameServer = value !== undefined && (value.serverId === undefined || value.serverId === member.sid);
      let position = sameServer ? this.line.follower(value.srvr.zxid) : undefined;
      const why = outcome === undefined
        ? `no TLS address known for it (server.${member.sid}): list its secureClientPort address in servers`
        : outcome.error !== undefined
          ? outcome.error.message
          : outcome.late && !outcome.fresh
            ? `srvr not answered within the poll deadline (${this.timeoutMs} ms)`
            : value !== undefined && !sameServer
              ? `its address ${plan.get(id)} answers as server ${value.serverId}, not server.${member.sid}: list its own secureClientPort address in servers`
              : value !== undefined && position === undefined
                ? `it reports a newer epoch than the leader ${formatAddress(leader)} (an election is under way)`
                : undefined;
      if (position !== undefined) {
        if (position > leaderSeq) position = leaderSeq; // read a moment after the leader
        this.known.record(id, { followerSeq: position, attributes });
      } else if (this.known.keep(id) === undefined) {
        if (why !== undefined) failures.push([id, new Error(`zookeeper: server ${id}: ${why}; not reported until it is read`)]);
        continue; // never read: nothing to report yet
      }
      if (why !== undefined) failures.push([id, new Error(`zookeeper: server ${id}: ${why}; reported at its last known position`)]);
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

  /** The reader of one address, made on first use. */
  private readerOf(address: ServerAddress): DeadlineReader<ServerRead> {
    const key = formatAddress(address);
    let r = this.readers.get(key);
    if (r === undefined) this.readers.set(key, (r = { address, reader: new DeadlineReader<ServerRead>() }));
    return r.reader;
  }

  /**
   * One server's `srvr` (and, with TLS, its `conf` for its server id), bounded by `timeoutMs` on its own: an
   * answer after the poll's deadline serves the next poll.
   */
  private async readServer(address: ServerAddress, bound?: AbortSignal): Promise<ServerRead> {
    const signal = AbortSignal.any([this.closing.signal, bound ?? AbortSignal.timeout(this.timeoutMs)]);
    const request = { host: address.host, port: address.port, signal, tls: this.tlsFor(address) };
    try {
      const [srvr, conf] = await Promise.all([
        sendFourLetterWord('srvr', request).then(parseSrvr),
        this.tls === undefined ? undefined : sendFourLetterWord('conf', request).then(parseConfServer),
      ]);
      return { serverId: conf?.serverId, srvr };
    } catch (error) {
      throw new Error(reason(error, signal), { cause: error });
    }
  }

  private tlsFor(address: ServerAddress) {
    return this.tls === undefined ? undefined : nodeTlsOptions(this.tls, address.host);
  }

  private whyNoLeader(members: readonly ConfMember[], outcomeOf: (m: ConfMember) => DeadlineReadOutcome<ServerRead> | undefined): string {
    return members
      .map((m) => {
        const id = formatAddress(m);
        const o = outcomeOf(m);
        if (o === undefined) return `${id}: no TLS address known for it`;
        if (o.error !== undefined) return `${id}: ${o.error.message}`;
        if (!o.fresh) return `${id}: no answer within the poll deadline`;
        return `${id}: mode ${o.value!.srvr.mode}`;
      })
      .join('; ');
  }
}
