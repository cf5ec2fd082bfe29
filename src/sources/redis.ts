/** Public entry point `otel-replication-lag/sources/redis`: the source lives in its folder. */
export * from './redis/index.ts';
