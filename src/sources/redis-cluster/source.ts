/**
 * Redis Cluster source: every replica of every shard as a follower. At each poll one node is asked `CLUSTER NODES`
 * (the seeds in order, then every node seen before), so shards, masters and replicas follow failovers; then each
 * master's `INFO replication` gives the real positions — `master_repl_offset` (leader) and each replica's acknowledged
 * `offset` — never the gossiped offsets. Needs `+cluster|nodes +info` (ACL) besides AUTH.
 */
import { ATTR_REDIS_CLUSTER_SHARD, ATTR_REDIS_ROLE, ATTR_REPLICATION_SYSTEM, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '../../semconv.ts';
import { DeadlineReader } from '../kit/deadline-reader.ts';
import { HeartbeatWriter, redisHeartbeatOption, type RedisHeartbeatOptions } from '../kit/heartbeat.ts';
import { LastKnownPositions } from '../kit/last-known.ts';
import { byNodeId } from '../kit/node-order.ts';
import { callbackOption, objectOption, timeoutOption } from '../kit/options.ts';
import { hostPort, parseReplicationInfo, type RedisReplicationInfo } from '../redis/info.ts';
import type { ReplyError } from '../redis/resp.ts';
import { parseRedisUrl } from '../redis/url.ts';
import type { ReplicaPosition, ReplicationSource } from '../source.ts';
import { validateTlsOptions, type SourceTlsOptions } from '../tls.ts';
import { NodeConnections } from './connections.ts';
import { ClusterHeartbeat } from './heartbeat.ts';
import { parseClusterNodes, shardsOf, type ClusterNode, type Shard } from './topology.ts';

/** Options of `RedisClusterSource`. */
export interface RedisClusterSourceOptions {
  /** redis:// (or rediss://) URLs of cluster nodes, any role; one is enough. User and password may be in the first. */
  nodes: readonly string[];
  /** ACL user when not in the URLs. */
  username?: string;
  /** Password when not in the URLs (the CLI passes REDISCLI_AUTH here). */
  password?: string;
  /** Bound on each poll, ms. Default 5000. */
  timeoutMs?: number;
  /** How long a poll waits for one node's answer, ms (at most `timeoutMs`; default 1000, or `timeoutMs` when smaller). */
  nodeTimeoutMs?: number;
  /**
   * Called at each poll for each master that could not be read (its replicas are then reported at their last known
   * positions). Without it, a master whose read failed makes `poll()` reject (one that is only late does not).
   */
  onReplicaError?: (node: string, error: Error) => void;
  /** TLS to every node; rediss:// seeds without it use Node's public roots. */
  tls?: SourceTlsOptions;
  /**
   * Opt-in heartbeat (see `heartbeat.ts` and the README): every `intervalMs` (default 1000) the source writes its own
   * clock's time as field `name` (default `redis-cluster`) of one hash per shard, `<key>{<tag>}` (default key
   * `replag:heartbeat`, the tag chosen so that the shard's master serves the key's slot), on every master over
   * connections of its own, and reads it at each poll on every replica (`READONLY`, `HGET`): its
   * `heartbeatDelaySeconds`. Needs `+hset +hget +readonly ~<key>*` besides `+cluster|nodes +info`. Unset: nothing is
   * written anywhere.
   */
  heartbeat?: RedisHeartbeatOptions;
}

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_NODE_TIMEOUT_MS = 1000;

/**
 * Reports each replica of a Redis Cluster: node id `host:port` (its client address), `leaderSeq` its master's
 * `master_repl_offset`, `followerSeq` the offset the master lists for it (bytes, bigints), attributes
 * `replication.system=redis`, `server.address`, `server.port`, `redis.cluster.shard` (the shard's first slot range)
 * and `redis.role=replica`. A replica the master no longer lists (flagged `fail`, dropped after repl-timeout) stays
 * reported at its last offset against the advancing master, so it stalls; replicas of a master that cannot be read
 * are reported at their last known positions. A replica leaves the report when `CLUSTER NODES` no longer shows it as
 * a replica (promoted, or forgotten).
 */
export class RedisClusterSource implements ReplicationSource {
  readonly name = 'redis-cluster';
  private readonly seeds: readonly { host: string; port: number }[];
  private readonly connections: NodeConnections;
  private readonly timeoutMs: number;
  private readonly nodeTimeoutMs: number;
  private readonly onReplicaError: ((node: string, error: Error) => void) | undefined;
  /** Every node of the last topology, for discovery when the seeds do not answer. */
  private lastTopology: readonly ClusterNode[] = [];
  /** The node that answered CLUSTER NODES last: asked first (so a stopped seed costs one poll, not every poll). */
  private lastAsked: { host: string; port: number } | undefined;
  private readonly masters = new Map<string, DeadlineReader<RedisReplicationInfo>>();
  private readonly known = new LastKnownPositions();
  /**
   * Each shard's last `master_repl_offset`, by shard name: the leader position while its master cannot be read
   * (offsets continue across a failover, so a new master's are comparable).
   */
  private readonly masterOffsets = new Map<string, bigint>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** With `heartbeat`: the shards' hashes and connections, and the writer's timer. */
  readonly #heartbeat: { readonly shards: ClusterHeartbeat; readonly writer: HeartbeatWriter; readonly connections: readonly NodeConnections[] } | undefined;

  /** @throws TypeError / RangeError naming the bad option; never opens a connection. */
  constructor(options: RedisClusterSourceOptions) {
    objectOption(options, 'RedisClusterSourceOptions');
    const { nodes } = options;
    const tls = validateTlsOptions(options.tls, 'RedisClusterSourceOptions.tls');
    if (!Array.isArray(nodes)) throw new TypeError(`RedisClusterSourceOptions.nodes must be an array of redis:// URLs, got ${nodes === null ? 'null' : typeof nodes}`);
    if (nodes.length === 0) throw new RangeError('RedisClusterSourceOptions.nodes must list at least one node URL (one is enough: the others are discovered)');
    const urls = nodes.map((text, i) => parseRedisUrl(text, `RedisClusterSourceOptions.nodes[${i}]`, 'master'));
    if (urls.some((u) => u.tls !== urls[0]!.tls)) throw new RangeError('RedisClusterSourceOptions.nodes mixes redis:// and rediss:// URLs: use one scheme for every node');
    for (const key of ['username', 'password'] as const) {
      const value = options[key];
      if (value === undefined) continue;
      if (typeof value !== 'string') throw new TypeError(`RedisClusterSourceOptions.${key} must be a string, got ${typeof value}`);
      if (value === '') throw new RangeError(`RedisClusterSourceOptions.${key} must not be empty (omit it instead)`);
    }
    const timeoutMs = timeoutOption(options.timeoutMs, 'RedisClusterSourceOptions.timeoutMs', DEFAULT_TIMEOUT_MS);
    const nodeTimeoutMs = timeoutOption(options.nodeTimeoutMs, 'RedisClusterSourceOptions.nodeTimeoutMs', Math.min(DEFAULT_NODE_TIMEOUT_MS, timeoutMs), { option: 'timeoutMs', ms: timeoutMs });
    const onReplicaError = callbackOption<(node: string, error: Error) => void>(options.onReplicaError, 'RedisClusterSourceOptions.onReplicaError');
    // As with redis-cli, credentials in a URL (the first one that has them) win over the separate options.
    const username = urls.find((u) => u.username !== undefined)?.username ?? options.username;
    const password = urls.find((u) => u.password !== undefined)?.password ?? options.password;
    if (username !== undefined && password === undefined) throw new TypeError(`RedisClusterSourceOptions.username "${username}" needs a password (RedisClusterSourceOptions.password or the URL)`);
    this.seeds = urls.map((u) => ({ host: u.host, port: u.port }));
    const access = { username, password, tls: tls ?? (urls[0]!.tls ? {} : undefined) };
    const explain = (where: string, command: string, error: ReplyError) => this.explain(where, command, error, username);
    this.connections = new NodeConnections(access, explain);
    const settings = redisHeartbeatOption(options.heartbeat, 'RedisClusterSourceOptions.heartbeat', this.name);
    if (settings !== undefined) {
      const connections = { writes: new NodeConnections(access, explain), reads: new NodeConnections(access, explain) };
      const shards = new ClusterHeartbeat(settings, connections, timeoutMs);
      const write = (nowMs: number) => (shards.ready ? shards.write(nowMs) : Promise.reject(new Error('RedisClusterSource: no topology yet to write the heartbeat on')));
      this.#heartbeat = { shards, writer: new HeartbeatWriter({ intervalMs: settings.intervalMs, write }), connections: [connections.writes, connections.reads] };
    }
    this.timeoutMs = timeoutMs;
    this.nodeTimeoutMs = nodeTimeoutMs;
    this.onReplicaError = onReplicaError;
  }

  /** Discovers the cluster and reads every master. Rejects when no node answers `CLUSTER NODES` within `timeoutMs`. */
  poll(): Promise<readonly ReplicaPosition[]> {
    if (this.closed) return Promise.reject(new Error('RedisClusterSource: the source is closed'));
    const run = this.queue.then(() => this.read());
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Closes every node connection. Idempotent; later polls reject. */
  async close(): Promise<void> {
    this.closed = true;
    await this.#heartbeat?.writer.stop();
    await Promise.all([this.connections, ...(this.#heartbeat?.connections ?? [])].map((c) => c.close()));
  }

  private async read(): Promise<ReplicaPosition[]> {
    const deadline = performance.now() + this.timeoutMs;
    this.known.beginPoll();
    const topology = await this.discover(deadline);
    const shards = shardsOf(topology);
    const waitMs = Math.max(1, Math.min(this.nodeTimeoutMs, deadline - performance.now()));
    await Promise.all(shards.map((shard) => this.reader(shard.master).wait(() => this.info(shard.master), waitMs)));
    if (this.closed) throw new Error('RedisClusterSource: closed during poll()');
    const heartbeat = this.#heartbeat;
    let delays: ReadonlyMap<string, number> = new Map();
    if (heartbeat !== undefined) {
      // The first poll writes one on every master before reading (rejecting when it cannot); the timer then writes.
      heartbeat.shards.setShards(shards);
      await heartbeat.writer.start();
      delays = await heartbeat.shards.delays(shards, Math.max(1, Math.min(this.nodeTimeoutMs, deadline - performance.now())));
    }
    const positions: ReplicaPosition[] = [];
    const failures: [string, Error, boolean][] = [];
    for (const shard of shards) {
      const { value, fresh, error, late } = this.reader(shard.master).take();
      const master = shard.master.address;
      let info: RedisReplicationInfo | undefined = fresh && error === undefined ? value : undefined;
      if (error !== undefined) failures.push([master, error, true]);
      else if (late && !fresh) failures.push([master, new Error(`${this.connections.where(shard.master.host, shard.master.port)}: did not answer INFO replication within ${this.nodeTimeoutMs} ms (nodeTimeoutMs); its replicas are reported at their last known positions`), false]);
      if (info !== undefined && info.role === 'master') this.masterOffsets.set(shard.name, info.masterReplOffset);
      if (info !== undefined && info.role !== 'master') {
        failures.push([master, new Error(`${this.connections.where(shard.master.host, shard.master.port)} says role:${info.role} although CLUSTER NODES lists it as master (a failover in progress?): its replicas are reported at their last known positions`), false]);
        info = undefined;
      }
      for (const replica of shard.replicas) {
        const position = this.position(shard, replica, info);
        const delay = delays.get(replica.address);
        if (position !== undefined) positions.push(delay === undefined ? position : { ...position, heartbeatDelaySeconds: delay });
      }
    }
    // Replicas no longer in the topology as replicas (promoted, forgotten) were neither recorded nor kept: forgotten.
    this.known.endPoll();
    for (const address of [...this.masters.keys()]) if (!shards.some((s) => s.master.address === address)) this.masters.delete(address);
    for (const name of [...this.masterOffsets.keys()]) if (!shards.some((s) => s.name === name)) this.masterOffsets.delete(name);
    const rejecting = failures.find(([, , rejects]) => rejects);
    if (this.onReplicaError === undefined && rejecting !== undefined) throw rejecting[1];
    for (const [node, error] of failures) {
      try {
        this.onReplicaError?.(node, error);
      } catch {
        // A throwing listener must not hide the other shards.
      }
    }
    return byNodeId(positions);
  }

  /**
   * One replica's position: from its master's fresh INFO when the master lists it; else its last known offset
   * (against the master's fresh offset, or its last known one when the master could not be read). Undefined: never read.
   */
  private position(shard: Shard, replica: ClusterNode, info: RedisReplicationInfo | undefined): ReplicaPosition | undefined {
    const attributes = {
      [ATTR_REPLICATION_SYSTEM]: 'redis', [ATTR_SERVER_ADDRESS]: replica.host, [ATTR_SERVER_PORT]: replica.port,
      [ATTR_REDIS_CLUSTER_SHARD]: shard.name, [ATTR_REDIS_ROLE]: 'replica',
    };
    const listed = info?.replicas.find((r) => hostPort(r.ip, String(r.port)) === replica.address);
    if (info !== undefined && listed !== undefined) {
      this.known.record(replica.address, { followerSeq: listed.offset, attributes });
      return { nodeId: replica.address, leaderSeq: info.masterReplOffset, followerSeq: listed.offset, attributes };
    }
    const leaderSeq = info?.masterReplOffset ?? this.masterOffsets.get(shard.name);
    const known = this.known.keep(replica.address);
    if (known === undefined || leaderSeq === undefined) return undefined;
    return { nodeId: replica.address, leaderSeq, followerSeq: known.followerSeq, attributes: known.attributes };
  }

  /** Per replica of the last poll: read from its master's listing (true) or kept at its last known offset (false). */
  replicaReadability(): ReadonlyMap<string, boolean> {
    return this.known.readability();
  }

  private reader(master: ClusterNode): DeadlineReader<RedisReplicationInfo> {
    let reader = this.masters.get(master.address);
    if (reader === undefined) this.masters.set(master.address, (reader = new DeadlineReader()));
    return reader;
  }

  private async info(node: ClusterNode): Promise<RedisReplicationInfo> {
    const reply = await this.connections.command(node.host, node.port, ['INFO', 'replication'], this.timeoutMs);
    if (typeof reply !== 'string') throw new Error(`${this.connections.where(node.host, node.port)}: INFO replication returned no text`);
    try {
      return parseReplicationInfo(reply);
    } catch (error) {
      throw new Error(`${this.connections.where(node.host, node.port)}: ${(error as Error).message}`);
    }
  }

  /**
   * `CLUSTER NODES` from the first node that answers: the one that answered last time, the seeds, then every node of
   * the last topology (masters first), each within `nodeTimeoutMs`, all within the poll's deadline.
   */
  private async discover(deadline: number): Promise<ClusterNode[]> {
    const candidates: { host: string; port: number }[] = [];
    const seen = new Set<string>();
    const add = (n: { host: string; port: number }) => {
      const key = `${n.host}|${n.port}`;
      if (!seen.has(key)) {
        seen.add(key);
        candidates.push(n);
      }
    };
    if (this.lastAsked !== undefined) add(this.lastAsked);
    this.seeds.forEach(add);
    [...this.lastTopology].sort((a, b) => Number(b.flags.has('master')) - Number(a.flags.has('master'))).filter((n) => !n.flags.has('fail')).forEach(add);
    const failures: string[] = [];
    for (const node of candidates) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      try {
        const reply = await this.connections.command(node.host, node.port, ['CLUSTER', 'NODES'], Math.max(1, Math.min(this.nodeTimeoutMs, left)));
        if (typeof reply !== 'string') throw new Error(`${this.connections.where(node.host, node.port)}: CLUSTER NODES returned no text`);
        const topology = parseClusterNodes(reply);
        if (topology.length === 0) throw new Error(`${this.connections.where(node.host, node.port)}: CLUSTER NODES listed no node`);
        this.lastAsked = node;
        this.lastTopology = topology;
        return topology;
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
    throw new Error(`RedisClusterSource: no node answered CLUSTER NODES (${failures.length} of ${candidates.length} known asked, each for at most ${this.nodeTimeoutMs} ms, within timeoutMs ${this.timeoutMs} ms): ${failures.join('; ')}`);
  }

  private explain(where: string, command: string, error: ReplyError, username: string | undefined): Error {
    const user = username ?? 'default';
    const said = error.message; // the server's words: a server never repeats the AUTH password
    if (command === 'AUTH') {
      if (error.code === 'WRONGPASS') return new Error(`${where}: authentication failed for user "${user}" (${said}): check the password and that the ACL user exists and is "on"`);
      if (said.includes('without any password configured')) return new Error(`${where}: a password was given but the default user has none (${said}): omit the password, or give the ACL user it belongs to`);
      return new Error(`${where}: AUTH as user "${user}" was refused (${said})`);
    }
    if (error.code === 'NOAUTH') return new Error(`${where}: the server requires authentication (${said}): give the password (REDISCLI_AUTH, password, or redis://user:password@host)`);
    if (error.code === 'NOPERM' && /^(HSET|HGET|READONLY)\b/.test(command)) {
      const key = this.#heartbeat?.shards.settings.target ?? 'replag:heartbeat';
      return new Error(`${where}: user "${user}" may not run ${command.split(' ')[0]} for the heartbeat (${said}): allow it with \`ACL SETUSER ${user} +hset +hget +readonly ~${key}*\``);
    }
    if (error.code === 'NOPERM') return new Error(`${where}: user "${user}" may not run ${command} (${said}): allow it with \`ACL SETUSER ${user} +cluster|nodes +info\``);
    if (/cluster support disabled/i.test(said)) return new Error(`${where}: not a cluster node (${said}): use type redis for a standalone master`);
    return new Error(`${where}: ${command} failed: ${said}`);
  }

}
