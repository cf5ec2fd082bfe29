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
  /** Seconds the oldest unapplied entry has waited: given by the caller, or estimated. Never NaN or negative. */
  readonly lagSeconds: number;
  readonly severity: LagSeverity;
  /** Follower apply rate in entries per second over recent samples. */
  readonly replicationRate: number;
  /** Least-squares forecast of `lagSeconds` at now + horizon; undefined before 5 samples or when prediction is off. */
  readonly predictedLagSeconds: number | undefined;
  /** Milliseconds, from the monitor's clock. */
  readonly lastUpdate: number;
  /**
   * Samples spanning the retention window, oldest first, coalesced so that memory stays bounded.
   * Read lazily from the node's history when first accessed (it is not copied on every update).
   */
  readonly history: readonly LagSample[];
  readonly attributes: NodeAttributes;
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
