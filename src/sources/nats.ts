/** Public entry point `otel-replication-lag/sources/nats`: the source lives in its folder. */
export * from './nats/index.ts';
