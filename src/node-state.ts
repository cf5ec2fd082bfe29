/** Per-node state: the two sample rings, positions, stall clock, alert bookkeeping. @internal */
import type { ReplicationLagConfig } from './config.ts';
import { applyRate, estimateDelaySeconds } from './estimate.ts';
import { DelayForecast } from './forecast.ts';
import { CoarseHistory, SampleRing } from './history.ts';
import { RetentionModel } from './retention.ts';
import { classifySeverity } from './severity.ts';
import type { ApplyHealth, LagSample, LagSeverity, LogRetention, NodeAttributes, Position, ReplicationStatus, RetentionStatus } from './types.ts';

/** Raw samples kept for the apply rate and the forecast, whatever the update rate. */
export const RECENT_SAMPLES = 32;

const EMPTY_ATTRIBUTES: NodeAttributes = Object.freeze({});

export class NodeState {
  readonly nodeId: string;
  attributes: NodeAttributes = EMPTY_ATTRIBUTES;
  status: ReplicationStatus | undefined;
  /** Severity of the node's last alert; `normal` when no episode is open. */
  lastAlerted: LagSeverity = 'normal';
  lastAlertAt = Number.NEGATIVE_INFINITY;

  /** Fine-grained: the newest raw samples. */
  private readonly recent = new SampleRing(RECENT_SAMPLES);
  /** The forecast model: smoothed delay growth and gain on the leader, O(1) per update. */
  private readonly forecast = new DelayForecast();
  /** The retained log's growth, for the time until it is lost (a replication slot). */
  private readonly retention = new RetentionModel();
  /** Coarse: spans the retention window; samples closer than one slot are coalesced, keeping the newest. */
  private readonly coarse: CoarseHistory;
  private readonly retentionMs: number;
  /**
   * Offsets are positions minus `base`. `undefined` while the node reports plain numbers (offset = position);
   * for bigint positions, the smaller position of the first sample, so offsets stay small exact doubles.
   */
  private base: bigint | undefined;
  private lastLeader = 0;
  private lastFollower = 0;
  private lastTime = Number.NEGATIVE_INFINITY;
  private lastProgressAt = 0;

  constructor(nodeId: string, config: Readonly<ReplicationLagConfig>) {
    this.nodeId = nodeId;
    this.retentionMs = config.retentionWindowSeconds * 1000;
    this.coarse = new CoarseHistory(config.maxSamplesPerNode, this.recent, this.retentionMs);
  }

  /**
   * Whether the last observation's severity is only the provisional floor: behind, no estimate of the delay and
   * no reported figure, so `warning` stands for "unknown yet". Such a sample emits no alert.
   */
  provisional = false;

  /** Records one observation and returns the node's new status. Inputs are already validated. */
  observe(
    leaderSeq: Position,
    followerSeq: Position,
    givenLagSeconds: number | undefined,
    reportedDelaySeconds: number | undefined,
    heartbeatDelaySeconds: number | undefined,
    clock: number,
    config: Readonly<ReplicationLagConfig>,
    facts: { readonly retention?: LogRetention; readonly apply?: ApplyHealth } = {},
  ): ReplicationStatus {
    const now = clock > this.lastTime ? clock : this.lastTime; // a clock that steps back must not reorder history
    let leader = this.offset(leaderSeq);
    let follower = this.offset(followerSeq);
    const empty = this.recent.size === 0;
    if (empty || leader < this.lastLeader || follower < this.lastFollower || !Number.isSafeInteger(leader) || !Number.isSafeInteger(follower)) {
      // (Offsets beyond 2^53 can only come from mixing number and bigint positions, or 2^53 entries of
      // progress within one history: treated as a discontinuity too.)
      // First sample, or a position went backwards (restore, failover, new term): start a fresh history.
      if (!empty) this.resetHistory();
      this.base = rebase(leaderSeq, followerSeq);
      leader = this.offset(leaderSeq);
      follower = this.offset(followerSeq);
      this.lastProgressAt = now;
    }
    const lagEntries = lagBetween(leaderSeq, followerSeq);
    if (lagEntries === 0 || follower > this.lastFollower) this.lastProgressAt = now;

    let lagSeconds: number;
    let delayEstimated = true;
    if (givenLagSeconds !== undefined) {
      lagSeconds = givenLagSeconds;
    } else {
      lagSeconds = estimateDelaySeconds(this.recent, this.coarse, follower, leader, now, this.retentionMs);
      if (lagEntries > 0 && !this.withinHistory(follower)) {
        // No estimate of our own: the leader passed this position before the oldest sample we hold.
        delayEstimated = false;
        const oldest = this.oldestTime();
        const bound = oldest === undefined ? 0 : (now - oldest) / 1000;
        // Heartbeat first: it is measured at this poll (a reported figure can be NULL or stale when applying stops).
        if (heartbeatDelaySeconds !== undefined) lagSeconds = Math.max(heartbeatDelaySeconds, bound);
        else if (reportedDelaySeconds !== undefined) lagSeconds = Math.max(reportedDelaySeconds, bound);
        else if (!(lagSeconds >= bound)) lagSeconds = bound;
      }
    }
    const recent = this.recent;
    this.coarse.advance(now); // reads the previous observation from `recent`: before the push
    recent.push(now, leader, follower, lagSeconds);
    const model = this.forecast;
    model.observe(now, leader, follower, lagSeconds, delayEstimated, givenLagSeconds === undefined);
    model.figures(lagEntries, lagSeconds, config.predictionHorizonSeconds, config.criticalThresholdSeconds, this.retentionMs / 1000);
    this.lastLeader = leader;
    this.lastFollower = follower;
    this.lastTime = now;

    let severity = classifySeverity(lagEntries, lagSeconds, (now - this.lastProgressAt) / 1000, config);
    // Behind with no estimate and no reported figure: the delay is unknown, not 0. Never `normal` (which would
    // claim a known small delay); the lowest non-normal level, provisional: it emits no alert.
    this.provisional = !delayEstimated && reportedDelaySeconds === undefined && heartbeatDelaySeconds === undefined && severity === 'normal';
    if (this.provisional) severity = 'warning';
    const retention = this.retention.observe(now, facts.retention);
    // Its log is gone from the leader: it will never catch up by itself, whatever its position says.
    if (retention?.state === 'lost') {
      severity = 'stalled';
      this.provisional = false;
    }
    const status = new StatusSnapshot(this, {
      leaderSeq,
      followerSeq,
      lagEntries,
      lagSeconds,
      delayEstimated,
      delayReported: !delayEstimated && heartbeatDelaySeconds === undefined && reportedDelaySeconds !== undefined,
      severity,
      replicationRate: applyRate(this.recent),
      predictedLagSeconds: config.enablePrediction ? model.predicted : undefined,
      catchUpSeconds: model.catchUpSeconds,
      secondsToCritical: model.secondsToCritical,
      heartbeatDelaySeconds,
      lastUpdate: now,
      retention,
      apply: facts.apply,
    });
    this.status = status;
    return status;
  }

  /** Whether the leader's history reaches back to `follower`: the leader was seen at or below it. */
  private withinHistory(follower: number): boolean {
    const r = this.recent;
    const c = this.coarse;
    // (this observation is not pushed yet: both series hold past samples only)
    return (r.size > 0 && r.leader(0) <= follower) || (c.size > 0 && c.leader(0) <= follower);
  }

  /** Time (ms) of the oldest sample held, undefined with no history. */
  private oldestTime(): number | undefined {
    const r = this.recent;
    const c = this.coarse;
    if (r.size === 0) return c.size > 0 ? c.time(0) : undefined;
    return c.size > 0 && c.time(0) < r.time(0) ? c.time(0) : r.time(0);
  }

  /** Replaces the node's attributes; its current status shows them at once (not only after the next update). */
  setAttributes(attributes: NodeAttributes): void {
    this.attributes = attributes;
    const s = this.status;
    if (s !== undefined) this.status = new StatusSnapshot(this, s);
  }

  /** The coarse history as samples, oldest first, up to `until` (ms). */
  historyUntil(until: number): LagSample[] {
    const out: LagSample[] = [];
    const ring = this.coarse;
    for (let i = 0; i < ring.size; i++) {
      const timestamp = ring.time(i);
      if (timestamp > until) break;
      const leader = ring.leader(i);
      const follower = ring.follower(i);
      out.push(
        Object.freeze({
          leaderSeq: this.position(leader),
          followerSeq: this.position(follower),
          lagEntries: leader > follower ? leader - follower : 0,
          lagSeconds: ring.lagSeconds(i),
          timestamp,
        }),
      );
    }
    return out;
  }

  private resetHistory(): void {
    this.recent.clear();
    this.forecast.reset();
    this.coarse.clear();
  }

  private offset(position: Position): number {
    const base = this.base;
    if (typeof position === 'number') return base === undefined ? position : Number(BigInt(position) - base);
    return Number(base === undefined ? position : position - base);
  }

  private position(offset: number): Position {
    return this.base === undefined ? offset : this.base + BigInt(offset);
  }
}

/** Entries between two positions, exact for bigints: max(0, leader − follower). */
function lagBetween(leader: Position, follower: Position): number {
  if (typeof leader === 'number' && typeof follower === 'number') return leader > follower ? leader - follower : 0;
  const d = BigInt(leader) - BigInt(follower);
  return d > 0n ? Number(d) : 0;
}

/** No base for plain numbers; for bigints, the smaller position, so that offsets stay small. */
function rebase(leader: Position, follower: Position): bigint | undefined {
  if (typeof leader === 'number' && typeof follower === 'number') return undefined;
  const l = BigInt(leader);
  const f = BigInt(follower);
  return l < f ? l : f;
}

/** The figures of a status (everything but the node's id, attributes and history). */
type StatusFigures = Pick<
  ReplicationStatus,
  | 'leaderSeq'
  | 'followerSeq'
  | 'lagEntries'
  | 'lagSeconds'
  | 'delayEstimated'
  | 'delayReported'
  | 'severity'
  | 'replicationRate'
  | 'predictedLagSeconds'
  | 'catchUpSeconds'
  | 'secondsToCritical'
  | 'heartbeatDelaySeconds'
  | 'lastUpdate'
  | 'retention'
  | 'apply'
>;

/** The immutable status returned by `updateLag`; `history` is read from the node when accessed. */
class StatusSnapshot implements ReplicationStatus {
  readonly nodeId: string;
  readonly leaderSeq: Position;
  readonly followerSeq: Position;
  readonly lagEntries: number;
  readonly lagSeconds: number;
  readonly delayEstimated: boolean;
  readonly delayReported: boolean;
  readonly severity: LagSeverity;
  readonly replicationRate: number;
  readonly predictedLagSeconds: number | undefined;
  readonly catchUpSeconds: number | undefined;
  readonly secondsToCritical: number | undefined;
  readonly heartbeatDelaySeconds: number | undefined;
  readonly lastUpdate: number;
  readonly retention: RetentionStatus | undefined;
  readonly apply: ApplyHealth | undefined;
  readonly attributes: NodeAttributes;
  readonly #node: NodeState;

  constructor(node: NodeState, f: StatusFigures) {
    this.#node = node;
    this.nodeId = node.nodeId;
    this.leaderSeq = f.leaderSeq;
    this.followerSeq = f.followerSeq;
    this.lagEntries = f.lagEntries;
    this.lagSeconds = f.lagSeconds;
    this.delayEstimated = f.delayEstimated;
    this.delayReported = f.delayReported;
    this.severity = f.severity;
    this.replicationRate = f.replicationRate;
    this.predictedLagSeconds = f.predictedLagSeconds;
    this.catchUpSeconds = f.catchUpSeconds;
    this.secondsToCritical = f.secondsToCritical;
    this.heartbeatDelaySeconds = f.heartbeatDelaySeconds;
    this.lastUpdate = f.lastUpdate;
    this.retention = f.retention;
    this.apply = f.apply;
    this.attributes = node.attributes;
  }

  get history(): readonly LagSample[] {
    return this.#node.historyUntil(this.lastUpdate);
  }

  toJSON(): Record<string, unknown> {
    const big = (p: Position) => (typeof p === 'bigint' ? p.toString() : p);
    return {
      nodeId: this.nodeId,
      leaderSeq: big(this.leaderSeq),
      followerSeq: big(this.followerSeq),
      lagEntries: this.lagEntries,
      lagSeconds: this.lagSeconds,
      delayEstimated: this.delayEstimated,
      delayReported: this.delayReported,
      severity: this.severity,
      replicationRate: this.replicationRate,
      predictedLagSeconds: this.predictedLagSeconds,
      catchUpSeconds: this.catchUpSeconds,
      secondsToCritical: this.secondsToCritical,
      heartbeatDelaySeconds: this.heartbeatDelaySeconds,
      lastUpdate: this.lastUpdate,
      ...(this.retention !== undefined ? { retention: this.retention } : {}),
      ...(this.apply !== undefined ? { apply: this.apply } : {}),
      attributes: this.attributes,
      history: this.history.map((s) => ({ ...s, leaderSeq: big(s.leaderSeq), followerSeq: big(s.followerSeq) })),
    };
  }
}
