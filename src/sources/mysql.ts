/** Public entry point `otel-replication-lag/sources/mysql`: the source lives in its folder. */
export * from './mysql/index.ts';
