/** Public entry point `otel-replication-lag/sources/redis-cluster`: the source lives in its folder. */
export * from './redis-cluster/index.ts';
