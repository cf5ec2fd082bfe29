/** Public data types of the replication lag monitor. Pure TypeScript: no OpenTelemetry import. */

/** How bad a follower's lag is, in rank order: normal < warning < critical < stalled. */
export type LagSeverity = 'normal' | 'warning' | 'critical' | 'stalled';

/** A replication position: a log index, LSN, offset or GTID counter. Use `bigint` above 2^53 − 1. */
export type Position = number | bigint;

/** Attributes a node is registered with, copied onto every exported point (e.g. `server.address`). */
export type NodeAttributes = Readonly<Record<string, string | number | boolean>>;

/** One observation of a follower, as kept in its history. */
export interface LagSample {
  readonly leaderSeq: Position;
  readonly followerSeq: Position;
  /** Entries the follower was behind: max(0, leaderSeq − followerSeq). */
  readonly lagEntries: number;
  /** Seconds the oldest unapplied entry had waited (given by the caller or estimated). */
  readonly lagSeconds: number;
  /** Milliseconds, from the monitor's clock. */
  readonly timestamp: number;
}

/** The state of one follower after its latest update. */
export interface ReplicationStatus {
  readonly nodeId: string;
  readonly leaderSeq: Position;
  readonly followerSeq: Position;
  /** Entries the follower is behind; 0 when caught up or briefly ahead. Exact for bigint positions. */
  readonly lagEntries: number;
  /**
   * Seconds the oldest unapplied entry has waited: given by the caller, or estimated. Never NaN or negative.
   * While `delayEstimated` is false it is only a lower bound or the system's reported figure (see there).
   */
  readonly lagSeconds: number;
  /**
   * true when `lagSeconds` is a measurement: given by the caller as `lagSeconds`, or estimated by the monitor from
   * the leader positions in the node's history (a follower caught up is a true 0). false while the monitor has no
   * estimate of its own: the follower is behind and its position is older than all of the node's history (its
   * first observation, after a re-registration or a history reset, or a follower further behind than the history
   * reaches). `lagSeconds` is then the larger of the system's reported figure (`reportedDelaySeconds`) and the
   * time since the oldest sample of the history (a lower bound: 0 on a first observation), or the delay
   * extrapolated at the leader's rate; with a heartbeat delay (`heartbeatDelaySeconds`), the larger of it and that
   * bound instead. Such a sample is never `normal` unless a heartbeat or reported figure says so, and never
   * resolves an alert.
   */
  readonly delayEstimated: boolean;
  /**
   * true while `delayEstimated` is false and `lagSeconds` comes from the system's reported figure
   * (`reportedDelaySeconds`; false when a heartbeat delay gave it, see `heartbeatDelaySeconds`). When both are false
   * and there is no heartbeat delay, the delay is unknown: `lagSeconds` is only a lower bound, the
   * `replication.delay` gauge has no point and the severity is provisional (`warning?` in `replag`).
   */
  readonly delayReported: boolean;
  readonly severity: LagSeverity;
  /** Follower apply rate in entries per second over recent samples. */
  readonly replicationRate: number;
  /**
   * Forecast of `lagSeconds` at now + `predictionHorizonSeconds`, from the replication model (see the README):
   * the follower keeps its recent progress through the leader's timeline, the leader keeps its rate.
   * Undefined before 3 updates or when prediction is off.
   */
  readonly predictedLagSeconds: number | undefined;
  /**
   * 0 when caught up (no entries behind); when behind and gaining on the leader, the seconds until the lag reaches
   * 0 at the current apply and leader rates; undefined when not gaining (or not known yet). From the second
   * consecutive update at which the follower gains on the leader while its delay falls (the first, when it resumes
   * after a freeze), the rates are those measured since that catch-up began: within 30 % of the remaining time at
   * constant rates (once the node has 10 s of history, for a delay the monitor estimates, and unless the
   * follower's delay usually swings that fast: see the README). Never NaN, negative or infinite.
   */
  readonly catchUpSeconds: number | undefined;
  /**
   * 0 when `lagSeconds` is at or above `criticalThresholdSeconds`; when the forecast model says the delay will
   * reach it, the seconds until then (not limited to the horizon); undefined when it will not (or not known yet).
   * From the second consecutive update at which a follower behind has not advanced, its delay ages 1 s/s and this
   * is `criticalThresholdSeconds − lagSeconds` (with the same provisos as `catchUpSeconds`). Never NaN, negative or
   * infinite.
   */
  readonly secondsToCritical: number | undefined;
  /**
   * The heartbeat delay given with this update (`LagUpdateOptions.heartbeatDelaySeconds`), seconds; undefined when
   * none was. Exported as `replication.heartbeat.delay`.
   */
  readonly heartbeatDelaySeconds: number | undefined;
  /** Milliseconds, from the monitor's clock. */
  readonly lastUpdate: number;
  /**
   * The log the leader keeps for this follower (a PostgreSQL replication slot), as last reported with an update,
   * with the monitor's time until it is lost; undefined when the follower's updates carry none.
   */
  readonly retention: RetentionStatus | undefined;
  /** The health of the follower's apply (a PostgreSQL subscription), as last reported; undefined when none is. */
  readonly apply: ApplyHealth | undefined;
  /**
   * Samples spanning the retention window, oldest first, coalesced so that memory stays bounded.
   * Read lazily from the node's history when first accessed (it is not copied on every update).
   */
  readonly history: readonly LagSample[];
  readonly attributes: NodeAttributes;
}

/**
 * Where a leader's retention of a follower's log stands, from best to worst (PostgreSQL's `wal_status` words):
 * `reserved` within the leader's normal budget; `extended` kept beyond it; `unreserved` no longer kept (it may be
 * removed at the next clean-up: a checkpoint); `lost` removed — the follower can no longer catch up from the
 * leader's log and must be resynchronised.
 */
export type RetentionState = 'reserved' | 'extended' | 'unreserved' | 'lost';

/** The log a leader keeps for one follower, as its source reads it (a PostgreSQL replication slot). */
export interface LogRetention {
  /** Log kept for the follower, in the units of the positions (bytes of WAL): finite, ≥ 0. */
  readonly retained: number;
  /**
   * How much more log the leader may write before the follower's part may be removed, in the same units (≤ 0 once
   * past); undefined when the leader keeps it without limit (PostgreSQL `max_slot_wal_keep_size = -1`).
   */
  readonly safeSize?: number;
  /** Where the retention stands; undefined when the system does not say (PostgreSQL before 13). */
  readonly state?: RetentionState;
}

/** `LogRetention` plus what the monitor makes of it. */
export interface RetentionStatus extends LogRetention {
  /**
   * Seconds until the follower's log may be removed (the safe size reaches 0) at the rate it has been shrinking —
   * the leader's write rate minus the follower's progress, smoothed with the forecast's gain time constant; 0 once
   * the state is `unreserved` or `lost` or the safe size is ≤ 0; undefined when there is no limit (no safe size) or
   * the safe size is not shrinking measurably (the follower keeps up). Never NaN, negative or infinite.
   */
  readonly lossSeconds: number | undefined;
}

/** The health of a follower that applies changes itself (a PostgreSQL subscription), as its source reads it. */
export interface ApplyHealth {
  /** Errors counted since the system's statistics were reset, per kind (PostgreSQL: `apply`, `sync`): integers ≥ 0. */
  readonly errors?: Readonly<Record<string, number>>;
  /** Tables per synchronisation state (PostgreSQL: `init`, `copy`, `finished`, `synced`, `ready`): integers ≥ 0. */
  readonly tables?: Readonly<Record<string, number>>;
}

/** `updateLag`'s options (its fourth argument; a plain number there is `lagSeconds`). */
export interface LagUpdateOptions {
  /** The delay in seconds, when the caller knows it; used as is. Omitted: the monitor estimates it. */
  lagSeconds?: number;
  /**
   * The system's own delay figure (PostgreSQL `replay_lag`, MySQL `Seconds_Behind_Master`), used only while the
   * monitor has no estimate of its own (first observation, or a follower older than the node's history).
   */
  reportedDelaySeconds?: number;
  /**
   * The follower's heartbeat delay (a row or key the source writes on the leader and reads on the follower), seconds.
   * Kept in `ReplicationStatus.heartbeatDelaySeconds`; while the monitor has no estimate of its own it is the node's
   * delay (preferred to `reportedDelaySeconds`), and its severity is not provisional.
   */
  heartbeatDelaySeconds?: number;
  /**
   * The log the leader keeps for this follower (a replication slot): kept on the status, with the time until it is
   * lost. A `lost` state makes the follower `stalled` at once (it must be resynchronised).
   */
  retention?: LogRetention;
  /** The follower's apply health (a subscription's errors and tables): kept on the status as given. */
  apply?: ApplyHealth;
}

/** Emitted when a node's severity changes (see the alert policy in the README). */
export interface LagAlert {
  readonly nodeId: string;
  /** The new severity; `normal` for an alert that resolves an episode. */
  readonly severity: LagSeverity;
  /** The severity of the node's previous alert (`normal` at the start of an episode). */
  readonly previousSeverity: LagSeverity;
  readonly lagEntries: number;
  readonly lagSeconds: number;
  readonly message: string;
  /** Milliseconds, from the monitor's clock. */
  readonly timestamp: number;
}

/** Aggregates over all nodes, computed when asked. */
export interface LagStatistics {
  readonly totalNodes: number;
  readonly warningNodes: number;
  readonly criticalNodes: number;
  readonly stalledNodes: number;
  /** Mean `lagSeconds` over nodes that have reported at least once; 0 when none has. */
  readonly avgLagSeconds: number;
  readonly maxLagSeconds: number;
  /** Every alert emitted since construction or the last `clear()`, including those dropped from the alert list. */
  readonly totalAlerts: number;
}
