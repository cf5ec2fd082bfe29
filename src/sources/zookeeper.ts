/** Public entry point `otel-replication-lag/sources/zookeeper`: the source lives in its folder. */
export * from './zookeeper/index.ts';
