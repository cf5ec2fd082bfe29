/**
 * Which nodes a Galera source watches: the configured ones always; besides them, every SQL address that a node of
 * the Primary component lists in `wsrep_incoming_addresses`. Galera is leaderless: any node lists every member,
 * so one configured address is enough.
 */
import type { GaleraNodeStatus } from './status.ts';

/** A node's read in this poll, as discovery needs it. */
export interface NodeRead {
  readonly address: string;
  /** Its status when it answered in this poll. */
  readonly fresh: GaleraNodeStatus | undefined;
}

/** The Primary component as this poll saw it. */
export interface PrimaryView {
  /** `wsrep_cluster_state_uuid` of the Primary component: positions of other histories are not comparable. */
  readonly stateUuid: string;
  /** `wsrep_cluster_conf_id` of the newest Primary view seen. */
  readonly confId: bigint;
  /** Highest `wsrep_last_committed` among its nodes that answered: the leader position. */
  readonly leaderSeq: bigint;
  /** SQL addresses its members list (union over the nodes that answered). */
  readonly members: ReadonlySet<string>;
  /** Addresses of the nodes that answered as members of it. */
  readonly answered: ReadonlySet<string>;
}

/**
 * The Primary component among this poll's answers: the nodes in status Primary with the newest view
 * (`wsrep_cluster_conf_id`). A node resumed after a SIGSTOP reports its old view as Primary for a few seconds:
 * the newest view wins. Undefined when no node that answered is in a Primary component.
 */
export function primaryView(reads: readonly NodeRead[]): PrimaryView | undefined {
  const primary = reads.filter((r): r is NodeRead & { fresh: GaleraNodeStatus } => r.fresh?.clusterStatus === 'Primary');
  if (primary.length === 0) return undefined;
  const confId = primary.reduce((max, r) => (r.fresh.confId > max ? r.fresh.confId : max), -1n);
  const newest = primary.filter((r) => r.fresh.confId === confId);
  const stateUuid = newest[0]!.fresh.stateUuid;
  const inView = newest.filter((r) => r.fresh.stateUuid === stateUuid);
  const members = new Set<string>();
  for (const r of inView) for (const a of r.fresh.incomingAddresses) members.add(a);
  return {
    stateUuid,
    confId,
    leaderSeq: inView.reduce((max, r) => (r.fresh.lastCommitted > max ? r.fresh.lastCommitted : max), 0n),
    members,
    answered: new Set(inView.map((r) => r.address)),
  };
}

/** What the source knows of a watched node when deciding whether to keep it. */
export interface WatchedNode {
  readonly address: string;
  readonly configured: boolean;
  /** It answered in this poll. */
  readonly answered: boolean;
  /** Its newest read failed with "connection refused": no server listens there (shut down, removed). */
  readonly refused: boolean;
}

/**
 * Whether a node stays watched after a poll. A configured node always does. A discovered one does while the
 * Primary component lists it, or while it answers, or while it fails in any other way than a refused connection
 * (hung, SIGSTOPped, partitioned: the cluster may have evicted it, it is still a node that stopped — reported at
 * its last known position, it stalls). A discovered node the Primary component no longer lists and that refuses
 * connections was shut down or removed: it is forgotten (the poller then unregisters it).
 */
export function keepWatching(node: WatchedNode, view: PrimaryView | undefined): boolean {
  if (node.configured || node.answered) return true;
  if (view === undefined || view.members.has(node.address)) return true;
  return !node.refused;
}
