/**
 * The cluster's shape from `CLUSTER NODES` (every Redis Cluster version; one line per node): which nodes are masters
 * with slots, which replicate which master, which are flagged `fail`. Read from one node at every poll, so that a
 * failover (a replica promoted, the old master back as its replica) is followed. The offsets this command and
 * `CLUSTER SHARDS` gossip are stale: positions come from each master's `INFO replication` instead.
 */

/** One line of `CLUSTER NODES`. */
export interface ClusterNode {
  /** The 40-character node id. */
  readonly id: string;
  /** `host:port` of its client port (brackets for IPv6): the node id the source reports. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** `master`, `slave`, `myself`, `fail?`, `fail`, `handshake`, `noaddr`, `nofailover`, … */
  readonly flags: ReadonlySet<string>;
  /** Node id of its master when it is a replica, else undefined. */
  readonly masterId: string | undefined;
  readonly configEpoch: bigint;
  /** Slot ranges it serves (`0-5460`, `5461`), migration entries left out. */
  readonly slots: readonly string[];
}

/** A master and the replicas that follow it. */
export interface Shard {
  readonly master: ClusterNode;
  readonly replicas: readonly ClusterNode[];
  /** `redis.cluster.shard`: the master's first slot range, or its node id when it serves no slot. Stable across a failover. */
  readonly name: string;
}

/**
 * Parses the text of `CLUSTER NODES`. Nodes without an address (`noaddr`, `:0`) and in `handshake` are left out.
 * @throws Error on a line that does not have the documented fields.
 */
export function parseClusterNodes(text: string): ClusterNode[] {
  const nodes: ClusterNode[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const f = line.trim().split(' ');
    if (f.length < 8 || !/^[0-9a-f]{40}$/i.test(f[0]!)) throw new Error(`CLUSTER NODES: malformed line ${JSON.stringify(line.slice(0, 120))}`);
    const flags = new Set(f[2]!.split(','));
    const addr = f[1]!.split('@')[0]!.split(',')[0]!;
    const colon = addr.lastIndexOf(':');
    const host = addr.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    const port = Number(addr.slice(colon + 1));
    if (flags.has('noaddr') || flags.has('handshake') || host === '' || !Number.isInteger(port) || port <= 0 || port > 65535) continue;
    nodes.push({
      id: f[0]!,
      address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
      host,
      port,
      flags,
      masterId: f[3] === '-' ? undefined : f[3],
      configEpoch: /^\d+$/.test(f[6]!) ? BigInt(f[6]!) : 0n,
      slots: f.slice(8).filter((s) => /^\d+(-\d+)?$/.test(s)),
    });
  }
  return nodes;
}

/**
 * Groups nodes into shards: each master that serves slots or has replicas, with the replicas that name it as their
 * master (a replica flagged `fail` included: it stays reported and stalls). When two masters claim the same first
 * slot range, one not flagged `fail` wins over one flagged `fail` (the failover is done), then the higher config
 * epoch (a resumed old master that has not heard of its failover yet loses). A master flagged `fail` with no
 * successor keeps its shard, so its replicas stay reported (at their last known positions) during the failover.
 */
export function shardsOf(nodes: readonly ClusterNode[]): Shard[] {
  const isReplica = (n: ClusterNode) => n.flags.has('slave') || n.flags.has('replica');
  const masters = nodes.filter((n) => n.flags.has('master') && !isReplica(n));
  const byName = new Map<string, ClusterNode>();
  const rank = (n: ClusterNode): [number, bigint] => [n.flags.has('fail') ? 0 : 1, n.configEpoch];
  for (const m of masters) {
    const hasReplicas = nodes.some((n) => isReplica(n) && n.masterId === m.id);
    if (m.slots.length === 0 && !hasReplicas) continue;
    const name = m.slots[0] ?? m.id;
    const other = byName.get(name);
    if (other === undefined) {
      byName.set(name, m);
      continue;
    }
    const [a, b] = [rank(m), rank(other)];
    if (a[0] > b[0] || (a[0] === b[0] && a[1] > b[1])) byName.set(name, m);
  }
  return [...byName.entries()].map(([name, master]) => ({
    master,
    name,
    replicas: nodes.filter((n) => isReplica(n) && n.masterId === master.id),
  }));
}
