/** Galera source: every node of a MariaDB Galera / Percona XtraDB cluster as a follower at its `wsrep_last_committed`. */
export { GaleraSource, type GaleraSourceOptions, type GaleraClusterView, type GaleraNodeView } from './source.ts';
export { parseGaleraStatus, parseIncomingAddresses, type GaleraNodeStatus } from './status.ts';
export { primaryView, keepWatching, type PrimaryView, type NodeRead, type WatchedNode } from './discovery.ts';
