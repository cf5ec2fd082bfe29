/** Redis Cluster source: every replica of every shard, positions from each master's INFO replication. */
export { RedisClusterSource, type RedisClusterSourceOptions } from './source.ts';
export { parseClusterNodes, shardsOf, type ClusterNode, type Shard } from './topology.ts';
