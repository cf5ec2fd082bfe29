/** otel-replication-lag: replication lag monitor and its OpenTelemetry instrumentation. */
export { ReplicationLagMonitor, type AlertListener } from './monitor.ts';
export { DEFAULT_CONFIG, type Clock, type ReplicationLagConfig } from './config.ts';
export { SEVERITIES, severityRank } from './severity.ts';
export type { LagAlert, LagSample, LagSeverity, LagStatistics, NodeAttributes, Position, ReplicationStatus } from './types.ts';
