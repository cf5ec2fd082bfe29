/**
 * Redis replication (`otel-replication-lag/sources/redis`): the source (`source.ts`), over a minimal RESP2 client
 * (`resp.ts`), reading `INFO replication` (`info.ts`) on a master given by URL (`url.ts`) or found through
 * Sentinels (`sentinel.ts`).
 */
export { parseReplicationInfo, type RedisReplicaInfo, type RedisReplicationInfo } from './info.ts';
export { RedisSource, type RedisSourceOptions } from './source.ts';
