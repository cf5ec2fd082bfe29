/** otel-replication-lag: replication lag monitor and its OpenTelemetry instrumentation. */
export { ReplicationLagMonitor, type AlertListener } from './monitor.ts';
export { DEFAULT_CONFIG, type Clock, type ReplicationLagConfig } from './config.ts';
export { SEVERITIES, severityRank } from './severity.ts';
export type {
  ApplyHealth, LagAlert, LagSample, LagSeverity, LagStatistics, LagUpdateOptions, LogRetention, NodeAttributes, Position, ReplicationStatus, RetentionState, RetentionStatus,
} from './types.ts';
export { RETENTION_STATES } from './retention.ts';
export { ReplicationLagInstrumentation, type ReplicationLagInstrumentationConfig } from './instrumentation.ts';
export * from './semconv.ts';
export { PACKAGE_NAME, PACKAGE_VERSION } from './version.ts';
export type { ReplicaPosition, ReplicationSource } from './sources/source.ts';
export type { SourceTlsOptions } from './sources/tls.ts';
export { startPoller, type Poller, type PollerOptions, type SourceHealth } from './sources/poller.ts';
export { SimulatedClusterSource, type FollowerProfile, type SimulatedClusterOptions } from './sources/simulated.ts';
