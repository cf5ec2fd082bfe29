/** Public entry point `otel-replication-lag/sources/postgresql`: the source lives in its folder. */
export * from './postgresql/index.ts';
