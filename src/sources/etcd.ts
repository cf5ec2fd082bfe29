/** Public entry point `otel-replication-lag/sources/etcd`: the source lives in its folder. */
export * from './etcd/index.ts';
