/** Public entry point `otel-replication-lag/sources/galera`: the source lives in its folder. */
export * from './galera/index.ts';
