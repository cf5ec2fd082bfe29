/**
 * Galera (MariaDB Galera Cluster, Percona XtraDB Cluster) source. Galera is leaderless and every node commits every
 * writeset in one global order: each node is a follower at its own `wsrep_last_committed`, the leader position is
 * the highest `wsrep_last_committed` among the nodes of the Primary component (same `wsrep_cluster_state_uuid`,
 * newest view). Nodes are found from one address: every node lists the SQL addresses of all members in
 * `wsrep_incoming_addresses`. Each node is read on its own connection (`SHOW GLOBAL STATUS`, no grant needed),
 * all at once, each waited for at most `nodeTimeoutMs`.
 */
import { ATTR_GALERA_CLUSTER_STATUS, ATTR_GALERA_STATE, ATTR_REPLICATION_SYSTEM, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '../../semconv.ts';
import { heartbeatDelaySeconds, HeartbeatWriter, sqlHeartbeatOption, type SqlHeartbeatOptions } from '../kit/heartbeat.ts';
import { byNodeId } from '../kit/node-order.ts';
import { mysqlHeartbeatTable, readMySqlHeartbeat, writeMySqlHeartbeat } from '../mysql/heartbeat.ts';
import { Server } from '../mysql/server.ts';
import { callbackOption, objectOption, stringOption, timeoutOption } from '../kit/options.ts';
import type { ReplicaPosition, ReplicationSource } from '../source.ts';
import { validateTlsOptions, type SourceTlsOptions } from '../tls.ts';
import { keepWatching, primaryView, type NodeRead, type PrimaryView } from './discovery.ts';
import { GaleraNodeReader, type GaleraNodeRead, type ReadHeartbeat } from './node.ts';
import type { GaleraNodeStatus } from './status.ts';

/** Options of `GaleraSource`. */
export interface GaleraSourceOptions {
  /** mysql:// URLs of Galera nodes (user, host, port; the password may be in it); one is enough, the others are discovered. */
  nodes: readonly string[];
  /** Password for URLs without one, and for discovered nodes when the first URL has none (the CLI passes MYSQL_PWD). */
  password?: string;
  /** Bound on each poll, ms: a read of a node (connect + query) gives up after it. Default 5000. */
  timeoutMs?: number;
  /**
   * How long a poll waits for each node, ms (at most `timeoutMs`; default 1000, or `timeoutMs` when smaller). A node
   * that has not answered by then is reported at its last known position and its read goes on in the background;
   * a node that missed it is not waited for again until one of its reads settles within it.
   */
  nodeTimeoutMs?: number;
  /**
   * Called at each poll for each node that could not be read (error, or no answer within `nodeTimeoutMs`). Without it,
   * a node whose read failed makes `poll()` reject (one that is only late does not).
   */
  onReplicaError?: (node: string, error: Error) => void;
  /** TLS to every node (the URLs carry no TLS settings); without it, plaintext. */
  tls?: SourceTlsOptions;
  /**
   * Opt-in heartbeat (the MySQL source's, `mysql/heartbeat.ts`): every `intervalMs` (default 1000) the source writes
   * its own clock's time in row `name` (default `galera`) of `table` (default `replag_heartbeat` in the first URL's
   * database, or `db.table`; created with `CREATE TABLE IF NOT EXISTS` when missing and the user may) on the first node
   * that takes it (configured nodes first, in order), and reads on every node, with its status, the newest heartbeat
   * it has applied: its `heartbeatDelaySeconds`. Unset: nothing is created or written anywhere.
   */
  heartbeat?: SqlHeartbeatOptions;
}

/** A node's live figures at the last poll (what `clusterView()` returns). */
export interface GaleraNodeView {
  /** Read in the last poll; false: the other fields are its last known ones. */
  readonly answered: boolean;
  readonly status: GaleraNodeStatus;
}

/** The cluster as the last poll saw it. */
export interface GaleraClusterView {
  /** `wsrep_cluster_conf_id` of the Primary view, undefined when no node answered from a Primary component. */
  readonly confId: bigint | undefined;
  /** Leader position: the highest `wsrep_last_committed` in the Primary component. */
  readonly leaderSeq: bigint | undefined;
  /** Some node answered with `wsrep_flow_control_active` ON: replication (and every commit) is paused now. */
  readonly flowControlActive: boolean;
  /** While flow control is active: the nodes whose `wsrep_flow_control_sent` grew since it began (those asking for the pause). */
  readonly flowControlBy: readonly string[];
  /** Per node id: its last status. */
  readonly nodes: ReadonlyMap<string, GaleraNodeView>;
}

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_NODE_TIMEOUT_MS = 1000;

/** A watched node and what the source remembers of it. */
interface Watched {
  readonly reader: GaleraNodeReader;
  /** Its newest status (fresh or from an earlier poll). */
  last: GaleraNodeStatus | undefined;
  /** Attributes it was last reported with: kept while it cannot be read, so that it is not re-registered. */
  attributes: Readonly<Record<string, string | number>> | undefined;
}

/**
 * Reports every node of a Galera cluster as a follower: `followerSeq` its `wsrep_last_committed`, `leaderSeq` the
 * highest of the Primary component (bigints), node id `host:port` (the SQL address), attributes
 * `replication.system=galera`, `server.address`, `server.port`, `galera.state` (`wsrep_local_state_comment`) and
 * `galera.cluster.status` (`Primary` | `non-Primary`). A node that cannot be read is reported at its last known
 * position with its last attributes, so it ages and stalls while the others commit (see `keepWatching` for when a
 * discovered node is forgotten). A poll rejects when no node answers from a Primary component.
 */
export class GaleraSource implements ReplicationSource {
  readonly name = 'galera';
  private readonly watched = new Map<string, Watched>();
  private readonly timeoutMs: number;
  private readonly nodeTimeoutMs: number;
  private readonly onReplicaError: ((node: string, error: Error) => void) | undefined;
  private readonly tls: SourceTlsOptions | undefined;
  /** `mysql://user[:password]@` of the first URL, for discovered nodes. */
  private readonly discoveredUrl: (address: string) => string;
  private readonly password: string | undefined;
  private readonly readable = new Map<string, boolean>();
  /** Per node: `wsrep_flow_control_sent` at the last poll without flow control. */
  private readonly fcBaseline = new Map<string, bigint>();
  /** With `heartbeat`: its writer and the reader every node's read runs after its status. */
  readonly #heartbeat: { readonly writer: HeartbeatWriter; readonly read: ReadHeartbeat; readonly writers: Map<string, Server> } | undefined;
  private view: GaleraClusterView = { confId: undefined, leaderSeq: undefined, flowControlActive: false, flowControlBy: [], nodes: new Map() };
  private closed = false;

  /** @throws TypeError / RangeError naming the bad option; no I/O happens here. */
  constructor(options: GaleraSourceOptions) {
    objectOption(options, 'GaleraSourceOptions');
    const { nodes } = options;
    const tls = validateTlsOptions(options.tls, 'GaleraSourceOptions.tls');
    const password = stringOption(options.password, 'GaleraSourceOptions.password');
    const timeoutMs = timeoutOption(options.timeoutMs, 'GaleraSourceOptions.timeoutMs', DEFAULT_TIMEOUT_MS);
    const nodeTimeoutMs = timeoutOption(options.nodeTimeoutMs, 'GaleraSourceOptions.nodeTimeoutMs', Math.min(DEFAULT_NODE_TIMEOUT_MS, timeoutMs), { option: 'timeoutMs', ms: timeoutMs });
    const onReplicaError = callbackOption<(node: string, error: Error) => void>(options.onReplicaError, 'GaleraSourceOptions.onReplicaError');
    if (!Array.isArray(nodes)) throw new TypeError(`GaleraSourceOptions.nodes must be an array of mysql:// URLs, got ${nodes === null ? 'null' : typeof nodes}`);
    if (nodes.length === 0) throw new RangeError('GaleraSourceOptions.nodes must list at least one node URL (one is enough: the others are discovered)');
    const settings = sqlHeartbeatOption(options.heartbeat, 'GaleraSourceOptions.heartbeat', this.name);
    if (settings !== undefined) {
      const table = mysqlHeartbeatTable(settings, String(nodes[0]), 'GaleraSourceOptions.heartbeat');
      const writers = new Map<string, Server>();
      const writer = new HeartbeatWriter({ intervalMs: settings.intervalMs, write: (nowMs, first) => this.writeHeartbeat(writers, (query) => writeMySqlHeartbeat(query, table, settings.name, nowMs, first)) });
      const read: ReadHeartbeat = async (query) => {
        const writtenMs = writer.writtenMs;
        return { shownMs: await readMySqlHeartbeat(query, table, settings.name), writtenMs };
      };
      this.#heartbeat = { writer, read, writers };
    }
    const readHeartbeat = this.#heartbeat?.read;
    const readers = nodes.map((url, i) => new GaleraNodeReader(url, `nodes[${i}]`, 'configured', password, tls, readHeartbeat));
    for (const [i, r] of readers.entries()) {
      if (this.watched.has(r.address)) throw new RangeError(`GaleraSourceOptions.nodes[${i}] is ${r.address}, already given`);
      this.watched.set(r.address, { reader: r, last: undefined, attributes: undefined });
    }
    // Discovered nodes sign in as the first URL's user; its password (or the fallback) goes as the fallback password.
    const first = new URL(nodes[0]!);
    const user = first.username;
    this.password = first.password === '' ? password : decodeURIComponent(first.password);
    this.discoveredUrl = (address) => `${first.protocol}//${user}@${address}`;
    this.timeoutMs = timeoutMs;
    this.nodeTimeoutMs = nodeTimeoutMs;
    this.onReplicaError = onReplicaError;
    this.tls = tls;
  }

  /**
   * Reads every watched node at once (each waited for at most `nodeTimeoutMs`), then the members they list that are
   * not watched yet, in the same poll. Rejects when no node answers from a Primary component, or (without
   * `onReplicaError`) when a node's read failed.
   */
  async poll(): Promise<readonly ReplicaPosition[]> {
    if (this.closed) throw new Error('GaleraSource: poll() called after close()');
    // The first poll writes a heartbeat (creating the table when missing) before reading the nodes; rejects when it cannot.
    await this.#heartbeat?.writer.start();
    const deadline = performance.now() + this.timeoutMs;
    const waitFor = (list: readonly Watched[]) => {
      const waitMs = Math.max(1, Math.min(this.nodeTimeoutMs, deadline - performance.now()));
      return Promise.all(list.map((w) => w.reader.wait(this.timeoutMs, waitMs)));
    };
    const outcomes = new Map<string, ReturnType<GaleraNodeReader['take']>>();
    const take = (list: readonly Watched[]) => {
      for (const w of list) outcomes.set(w.reader.address, w.reader.take());
    };
    let round = [...this.watched.values()];
    await waitFor(round);
    take(round);
    // Members listed by the nodes that answered, not watched yet: read them now (a new source finds all at once).
    const listed = new Set<string>();
    for (const o of outcomes.values()) if (o.fresh && o.error === undefined && o.value?.clusterStatus === 'Primary') for (const a of o.value.incomingAddresses) listed.add(a);
    round = [];
    for (const address of listed) {
      if (this.watched.has(address)) continue;
      let reader: GaleraNodeReader;
      try {
        reader = new GaleraNodeReader(this.discoveredUrl(address), 'discovered', 'discovered', this.password, this.tls, this.#heartbeat?.read);
      } catch {
        continue; // not an address we can connect to
      }
      const w: Watched = { reader, last: undefined, attributes: undefined };
      this.watched.set(reader.address, w);
      round.push(w);
    }
    if (round.length > 0) {
      await waitFor(round);
      take(round);
    }
    if (this.closed) throw new Error('GaleraSource: closed during poll()');

    const fresh = (address: string): GaleraNodeRead | undefined => {
      const o = outcomes.get(address);
      return o !== undefined && o.fresh && o.error === undefined ? o.value : undefined;
    };
    const reads: NodeRead[] = [...this.watched.keys()].map((address) => ({ address, fresh: fresh(address) }));
    const view = primaryView(reads);
    const failures: [string, Error, boolean][] = [];
    /** A node's failure in this poll, if any: [error, whether it makes a poll without onReplicaError reject]. */
    const failureOf = (address: string): [Error, boolean] | undefined => {
      const o = outcomes.get(address)!;
      if (o.error !== undefined) return [o.error, true];
      if (o.late && !o.fresh) return [new Error(`GaleraSource: node ${address}: did not answer within ${this.nodeTimeoutMs} ms (nodeTimeoutMs); reported at its last known position until it answers`), false];
      return undefined;
    };
    for (const [address, w] of this.watched) {
      const o = outcomes.get(address)!;
      if (o.value !== undefined && o.fresh) w.last = o.value;
      this.readable.set(address, fresh(address) !== undefined);
    }
    this.view = this.buildView(view);
    if (view === undefined) {
      for (const address of this.watched.keys()) {
        const failure = failureOf(address);
        if (failure !== undefined) failures.push([address, ...failure]);
      }
      const answered = reads.filter((r) => r.fresh !== undefined);
      throw new Error(answered.length === 0
        ? `GaleraSource: no node answered within ${this.nodeTimeoutMs} ms (${[...this.watched.keys()].join(', ')}): ${failures.map(([, e]) => e.message).join('; ')}`
        : `GaleraSource: no node that answered is in a Primary component (${answered.map((r) => `${r.address} ${r.fresh!.clusterStatus} ${r.fresh!.state}`).join(', ')}): the cluster has lost its quorum and commits nothing`);
    }
    const positions: ReplicaPosition[] = [];
    for (const [address, w] of [...this.watched]) {
      const o = outcomes.get(address)!;
      const keep = keepWatching({
        address,
        configured: w.reader.origin === 'configured',
        answered: fresh(address) !== undefined,
        refused: o.error !== undefined && /connection refused/.test(o.error.message),
      }, view);
      if (!keep) {
        this.forget(address);
        continue;
      }
      const failure = failureOf(address);
      if (failure !== undefined) failures.push([address, ...failure]);
      const last = w.last;
      if (last === undefined) continue; // never read: nothing to report yet
      if (last.stateUuid !== view.stateUuid) {
        failures.push([address, new Error(`GaleraSource: node ${address}: its state UUID ${last.stateUuid || '(none)'} is not the Primary component's ${view.stateUuid}: its seqnos cannot be compared (a node of another cluster, or one waiting for a full state transfer)`), false]);
        continue;
      }
      if (fresh(address) !== undefined || w.attributes === undefined) {
        // A node resumed after a stop answers with its old view (Primary, an older conf_id) for a few seconds: it is
        // not a member of the current Primary component.
        const primary = last.clusterStatus === 'Primary' && last.confId === view.confId;
        w.attributes = {
          [ATTR_REPLICATION_SYSTEM]: 'galera', [ATTR_SERVER_ADDRESS]: w.reader.host, [ATTR_SERVER_PORT]: w.reader.port,
          [ATTR_GALERA_STATE]: last.state, [ATTR_GALERA_CLUSTER_STATUS]: primary ? 'Primary' : 'non-Primary',
        };
      }
      const read: GaleraNodeRead | undefined = fresh(address);
      const heartbeat = read?.heartbeat === undefined ? undefined : heartbeatDelaySeconds(read.heartbeat.writtenMs, read.heartbeat.shownMs);
      positions.push({ nodeId: address, leaderSeq: view.leaderSeq, followerSeq: last.lastCommitted, ...(heartbeat !== undefined ? { heartbeatDelaySeconds: heartbeat } : {}), attributes: w.attributes });
    }
    const rejecting = failures.find(([, , rejects]) => rejects);
    if (this.onReplicaError === undefined && rejecting !== undefined) throw rejecting[1];
    for (const [address, error] of failures) {
      try {
        this.onReplicaError?.(address, error);
      } catch {
        // A throwing listener must not hide the other nodes.
      }
    }
    return byNodeId(positions);
  }

  /** Per watched node (its node id): whether the last poll read it. */
  replicaReadability(): ReadonlyMap<string, boolean> {
    return new Map(this.readable);
  }

  /**
   * The cluster as the last poll saw it: the Primary view, flow control now (`wsrep_flow_control_active`) and who
   * asked for it, each node's receive queue and state. While flow control pauses the cluster, no node commits:
   * every position stops, the leader's too — a stall of the cluster, not a follower lag (see docs/sources/galera.md).
   */
  clusterView(): GaleraClusterView {
    return this.view;
  }

  /** The view of this poll: `view` and each watched node's last status, compared with the poll before. */
  private buildView(view: PrimaryView | undefined): GaleraClusterView {
    const nodes = new Map<string, GaleraNodeView>();
    let active = false;
    for (const [address, w] of this.watched) {
      if (w.last === undefined) continue;
      const answered = this.readable.get(address) === true;
      nodes.set(address, { answered, status: w.last });
      if (answered && w.last.flowControlActive) active = true;
    }
    // Who asked for the pause: the nodes whose pause requests (wsrep_flow_control_sent) grew since the last poll
    // that saw no flow control. Outside flow control, that poll's counters become the baseline.
    const by: string[] = [];
    for (const [address, node] of nodes) {
      if (!node.answered) continue;
      const baseline = this.fcBaseline.get(address);
      if (!active) this.fcBaseline.set(address, node.status.flowControlSent);
      else if (baseline !== undefined && node.status.flowControlSent > baseline) by.push(address);
    }
    return { confId: view?.confId, leaderSeq: view?.leaderSeq, flowControlActive: active, flowControlBy: by, nodes };
  }

  /** Closes every connection. Idempotent; later polls reject. */
  async close(): Promise<void> {
    this.closed = true;
    const graceMs = Math.min(this.timeoutMs, 1000);
    await this.#heartbeat?.writer.stop();
    await Promise.all([...this.watched.values()].map((w) => w.reader.close(graceMs)));
    await Promise.all([...(this.#heartbeat?.writers.values() ?? [])].map((s) => s.close(graceMs)));
  }

  /**
   * Runs a heartbeat write on the first node that takes it: the one that took the last, then the configured nodes in
   * order, then the discovered ones (a connection of its own to each, opened on first use). @throws the first node's error.
   */
  private async writeHeartbeat(writers: Map<string, Server>, write: Parameters<Server['read']>[1]): Promise<void> {
    const addresses = [...new Set([...writers.keys()].slice(0, 1).concat([...this.watched.keys()]))];
    let firstError: unknown;
    for (const address of addresses) {
      if (this.closed) break;
      let server = writers.get(address);
      if (server === undefined) {
        try {
          server = new Server('primary', 'heartbeat', this.discoveredUrl(address), this.password, this.tls);
        } catch (error) {
          firstError ??= error;
          continue;
        }
      }
      try {
        await server.read(this.timeoutMs, write);
        // The node that took it goes first next time.
        writers.delete(address);
        const rest = [...writers];
        writers.clear();
        writers.set(address, server);
        for (const [a, s] of rest) writers.set(a, s);
        return;
      } catch (error) {
        if (!writers.has(address)) writers.set(address, server);
        firstError ??= error;
      }
    }
    const message = firstError instanceof Error ? firstError.message.replace(/^MySqlSource: primary /, 'GaleraSource: node ') : String(firstError);
    throw new Error(message.startsWith('GaleraSource') ? message : `GaleraSource: heartbeat: ${message}`);
  }

  private forget(address: string): void {
    const w = this.watched.get(address);
    this.watched.delete(address);
    this.readable.delete(address);
    this.fcBaseline.delete(address);
    void w?.reader.close(0);
  }
}
