/** The interface every replication source implements: it reports positions, it knows nothing of the monitor. */
import type { ApplyHealth, LogRetention, Position } from '../types.ts';

/** One follower's positions as read from a replicated system. */
export interface ReplicaPosition {
  /** Stable id of the follower (e.g. `pg-standby-1`, `127.0.0.1:6380`). */
  readonly nodeId: string;
  readonly leaderSeq: Position;
  readonly followerSeq: Position;
  /**
   * A delay the monitor uses as is, instead of estimating it; omitted to let the monitor estimate it (what the
   * built-in sources do: a system's own figure goes in `reportedDelaySeconds`).
   */
  readonly lagSeconds?: number;
  /** The system's own delay figure (PostgreSQL replay_lag, MySQL Seconds_Behind_Master), used when the monitor has no estimate of its own yet (first observation). */
  readonly reportedDelaySeconds?: number;
  /**
   * The follower's heartbeat delay, seconds (sources with the opt-in `heartbeat`): from the newest heartbeat the
   * source wrote on the leader before reading the follower back to the newest one the follower shows; 0 when caught
   * up, otherwise off by at most one heartbeat interval plus a read's time. One clock writes and reads it. Exported
   * as `replication.heartbeat.delay`, and the node's delay whenever the monitor has no estimate of its own.
   */
  readonly heartbeatDelaySeconds?: number;
  /** Attributes to register the node with (e.g. `server.address`, `replication.system`). */
  readonly attributes?: Readonly<Record<string, string | number | boolean>>;
  /**
   * The log the leader keeps for this follower, when the system holds it for it (a PostgreSQL replication slot):
   * what it retains, how much more may be written before it is released, and the system's state of it. The monitor
   * keeps it on the status and forecasts from it the time until it is lost (`RetentionStatus.lossSeconds`).
   */
  readonly retention?: LogRetention;
  /** The follower's own apply health, when the system reports it (a PostgreSQL subscription's errors and tables). */
  readonly apply?: ApplyHealth;
}

/** A system the poller reads follower positions from. */
export interface ReplicationSource {
  /** Short name for logs, e.g. `postgresql`. Never contains credentials. */
  readonly name: string;
  /** Reads every follower's positions now. Rejects on failure; the poller reports and retries. */
  poll(): Promise<readonly ReplicaPosition[]>;
  /** Releases connections. */
  close?(): Promise<void>;
  /**
   * Sources that read each follower on its own server (MySQL / MariaDB): per configured follower id, whether the
   * last poll read it (false: not read, reported at its last known position or, never read, left out).
   */
  replicaReadability?(): ReadonlyMap<string, boolean>;
}
