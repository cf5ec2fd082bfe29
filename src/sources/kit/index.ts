/**
 * The source kit: what every source shares (see each file). Sources import the files directly; this entry lists
 * them for other code (`otel-replication-lag/sources/kit/index`).
 */
export { DeadlineError, deadlineSignal, settlesWithin, withDeadline, type DeadlineOptions } from './deadline.ts';
export { DeadlineReader, type DeadlineReadOutcome } from './deadline-reader.ts';
export { LastKnownPositions, type KnownPosition, type NodeAttributes } from './last-known.ts';
export { errorFacts, hostsForMessage, originForMessage, urlForMessage, urlTextForMessage, type ErrorFacts } from './messages.ts';
export { byNodeId, compareNodeIds } from './node-order.ts';
export { booleanOption, callbackOption, MAX_TIMEOUT_MS, objectOption, stringOption, timeoutOption, type TimeoutBound } from './options.ts';
export { DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_HEARTBEAT_KEY, DEFAULT_HEARTBEAT_TABLE, heartbeatDelaySeconds, HeartbeatWriter, redisHeartbeatOption, sqlHeartbeatOption, type HeartbeatSettings, type HeartbeatWriterOptions, type RedisHeartbeatOptions, type SqlHeartbeatOptions } from './heartbeat.ts';
