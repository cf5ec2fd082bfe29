/** Configuration of the monitor: defaults and validation. */

/** A clock returning milliseconds. */
export type Clock = () => number;

/** Monitor configuration; every field has a default (see `DEFAULT_CONFIG`). */
export interface ReplicationLagConfig {
  /** Delay at or above which a lagging node is `warning`. Default 5. */
  warningThresholdSeconds: number;
  /** Delay at or above which a lagging node is `critical`. Default 30. */
  criticalThresholdSeconds: number;
  /** How far back each node's history reaches, for delay estimation and `history`. Default 3600. */
  retentionWindowSeconds: number;
  /** Minimum time between a node's alerts when its severity falls to another non-normal level. Default 60. */
  alertCooldownSeconds: number;
  /** Compute `predictedLagSeconds`. Default true. */
  enablePrediction: boolean;
  /** How far ahead the forecast looks. Default 60. */
  predictionHorizonSeconds: number;
  /** Seconds without follower progress, while behind, after which a node is `stalled`. Default 10. */
  stallTimeoutSeconds: number;
  /** Alerts kept by `getAlerts()`; the oldest are dropped. Default 1000. */
  maxAlerts: number;
  /** Capacity of each node's retention-spanning history (samples are coalesced to fit). Default 256, range 8–65536. */
  maxSamplesPerNode: number;
  /**
   * Upper bound on the number of nodes, so that unbounded node ids cannot exhaust memory and one metric collection
   * stays short (a whole Prometheus scrape or OTLP export of `startTelemetry` blocks the event loop ≤ 250 ms at the
   * default, see BENCHMARKS.md, "Collection path"). Default 5000. The
   * cardinality limit of `startTelemetry` follows it (4 series per node + 1). Beyond a few thousand nodes, shard the
   * monitor across processes.
   */
  maxNodes: number;
  /** Register unknown nodes on their first `updateLag`. Default true; when false, unknown nodes are an error. */
  autoRegister: boolean;
  /** Clock in milliseconds. Default monotonic: `performance.timeOrigin + performance.now()`. */
  now: Clock;
  /** Receives errors thrown by alert listeners (which never break `updateLag`). Default: ignored. */
  onListenerError?: (error: unknown) => void;
}

const monotonicNow: Clock = () => performance.timeOrigin + performance.now();

/** The defaults. */
export const DEFAULT_CONFIG: Readonly<ReplicationLagConfig> = Object.freeze({
  warningThresholdSeconds: 5,
  criticalThresholdSeconds: 30,
  retentionWindowSeconds: 3600,
  alertCooldownSeconds: 60,
  enablePrediction: true,
  predictionHorizonSeconds: 60,
  stallTimeoutSeconds: 10,
  maxAlerts: 1000,
  maxSamplesPerNode: 256,
  maxNodes: 5_000,
  autoRegister: true,
  now: monotonicNow,
});

const NUMBER_FIELDS = [
  'warningThresholdSeconds',
  'criticalThresholdSeconds',
  'retentionWindowSeconds',
  'alertCooldownSeconds',
  'predictionHorizonSeconds',
  'stallTimeoutSeconds',
  'maxAlerts',
  'maxSamplesPerNode',
  'maxNodes',
] as const;
const POSITIVE_FIELDS = new Set<string>(['retentionWindowSeconds', 'stallTimeoutSeconds', 'warningThresholdSeconds', 'criticalThresholdSeconds', 'maxNodes']);
const INTEGER_FIELDS = new Set<string>(['maxAlerts', 'maxSamplesPerNode', 'maxNodes']);
const BOOLEAN_FIELDS = ['enablePrediction', 'autoRegister'] as const;

/**
 * Merges `overrides` over the defaults and validates the result.
 * Throws a `TypeError` (wrong type) or `RangeError` (bad value) naming the field; `undefined` fields take the default.
 */
export function resolveConfig(overrides: Partial<ReplicationLagConfig> = {}): Readonly<ReplicationLagConfig> {
  if (overrides === null || typeof overrides !== 'object') {
    throw new TypeError(`ReplicationLagConfig must be an object, got ${describe(overrides)}`);
  }
  const config: ReplicationLagConfig = { ...DEFAULT_CONFIG };
  for (const key of NUMBER_FIELDS) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (typeof value !== 'number') throw new TypeError(`ReplicationLagConfig.${key} must be a number, got ${describe(value)}`);
    if (!Number.isFinite(value) || value < 0 || (POSITIVE_FIELDS.has(key) && value === 0)) {
      throw new RangeError(`ReplicationLagConfig.${key} must be a finite number ${POSITIVE_FIELDS.has(key) ? '> 0' : '>= 0'}, got ${value}`);
    }
    if (INTEGER_FIELDS.has(key) && !Number.isInteger(value)) {
      throw new RangeError(`ReplicationLagConfig.${key} must be an integer, got ${value}`);
    }
    config[key] = value;
  }
  for (const key of BOOLEAN_FIELDS) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (typeof value !== 'boolean') throw new TypeError(`ReplicationLagConfig.${key} must be a boolean, got ${describe(value)}`);
    config[key] = value;
  }
  if (overrides.now !== undefined) {
    if (typeof overrides.now !== 'function') throw new TypeError(`ReplicationLagConfig.now must be a function returning milliseconds, got ${describe(overrides.now)}`);
    config.now = overrides.now;
  }
  if (overrides.onListenerError !== undefined) {
    if (typeof overrides.onListenerError !== 'function') {
      throw new TypeError(`ReplicationLagConfig.onListenerError must be a function, got ${describe(overrides.onListenerError)}`);
    }
    config.onListenerError = overrides.onListenerError;
  }
  if (config.warningThresholdSeconds > config.criticalThresholdSeconds) {
    throw new RangeError(
      `ReplicationLagConfig.warningThresholdSeconds (${config.warningThresholdSeconds}) must not exceed criticalThresholdSeconds (${config.criticalThresholdSeconds})`,
    );
  }
  if (config.maxSamplesPerNode < 8 || config.maxSamplesPerNode > 65536) {
    throw new RangeError(`ReplicationLagConfig.maxSamplesPerNode must be between 8 and 65536, got ${config.maxSamplesPerNode}`);
  }
  return Object.freeze(config);
}

/** A short description of a value for error messages (never its full content). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 64 ? value.slice(0, 64) + '…' : value);
  return typeof value;
}
