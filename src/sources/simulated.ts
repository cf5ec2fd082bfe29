/** Public entry point `otel-replication-lag/sources/simulated`: the source lives in its folder. */
export * from './simulated/index.ts';
