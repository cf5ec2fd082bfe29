/**
 * REFERENCE ONLY — DO NOT USE. Not part of the package; imported by the benchmarks alone.
 *
 * A faithful TypeScript port of the original Rust `ReplicationLagMonitor`, kept so that `npm run bench` can
 * measure the package against the algorithm it replaces, on the same workloads, in the same process.
 * Its flaws are reproduced on purpose:
 * - every sample of the retention window (3600 s) is kept, per node: memory grows with the update rate;
 * - the delay, when estimated, is the Kafka-lag-exporter style two-point estimate: lag entries divided by
 *   the leader's average rate between the oldest and the newest sample of the whole window;
 * - the "replication rate" is how fast the LAG shrank over the whole window (oldest − newest lag / window);
 * - the forecast is a least-squares line over the last 10 samples with reversed indexes as x (x = 0 is the
 *   newest sample), "extrapolated" to x = n + 60: it actually looks back in time;
 * - `update_statistics()` rescans every node on every update: O(nodes) per update;
 * - alerts go to an array capped at `maxAlerts` by removing element 0 (`Vec::remove(0)`, an O(n) shift);
 * - updates for an unregistered node are silently dropped.
 *
 * Port choices (see BENCHMARKS.md): samples are plain objects in an array (a `VecDeque<LagSample>` of
 * structs); popping the front advances a head index and compacts the array once half of it is dead, which is
 * amortized O(1) like `VecDeque::pop_front` (a plain `Array.prototype.shift` turns into an O(n) memmove in V8
 * once the array is large, which would be unfair to the original). The statistics are updated in place
 * (Rust mutates a struct), so the baseline does not pay for allocating them.
 */

export type OriginalSeverity = 'normal' | 'warning' | 'critical' | 'stalled';

export interface OriginalConfig {
  warningThresholdSeconds: number;
  criticalThresholdSeconds: number;
  retentionWindowSeconds: number;
  stallTimeoutSeconds: number;
  maxAlerts: number;
  /** Clock in milliseconds (the Rust code used `Instant::now()`). */
  now: () => number;
}

export interface OriginalSample {
  leaderSeq: number;
  followerSeq: number;
  lagEntries: number;
  lagSeconds: number;
  timestamp: number;
}

export interface OriginalAlert {
  nodeId: string;
  severity: OriginalSeverity;
  lagEntries: number;
  lagSeconds: number;
  message: string;
  timestamp: number;
}

export interface OriginalStatistics {
  totalNodes: number;
  healthyNodes: number;
  warningNodes: number;
  criticalNodes: number;
  stalledNodes: number;
  totalLagEntries: number;
  avgLagSeconds: number;
  maxLagSeconds: number;
}

/** `VecDeque<LagSample>`: an array with a head index; amortized O(1) push_back / pop_front. */
class SampleDeque {
  private items: (OriginalSample | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }
  /** i-th sample from the front (0 = oldest). */
  at(i: number): OriginalSample {
    return this.items[this.head + i]!;
  }
  front(): OriginalSample | undefined {
    return this.items[this.head];
  }
  back(): OriginalSample | undefined {
    return this.items.length > this.head ? this.items[this.items.length - 1] : undefined;
  }
  pushBack(sample: OriginalSample): void {
    this.items.push(sample);
  }
  popFront(): void {
    if (this.head >= this.items.length) return;
    this.items[this.head] = undefined; // let the sample be collected
    this.head++;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

/** `NodeLagState`. */
class OriginalNodeState {
  readonly nodeId: string;
  readonly samples = new SampleDeque();
  currentLagEntries = 0;
  currentLagSeconds = 0;
  severity: OriginalSeverity = 'normal';
  replicationRate = 0;
  predictedLagSeconds: number | undefined = undefined;
  lastUpdate = 0;
  lastFollowerSeq = 0;
  lastProgressAt = 0;

  constructor(nodeId: string, now: number) {
    this.nodeId = nodeId;
    this.lastUpdate = now;
    this.lastProgressAt = now;
  }
}

export const ORIGINAL_DEFAULTS: Omit<OriginalConfig, 'now'> = {
  warningThresholdSeconds: 5,
  criticalThresholdSeconds: 30,
  retentionWindowSeconds: 3600,
  stallTimeoutSeconds: 10,
  maxAlerts: 1000,
};

/** REFERENCE ONLY — the original algorithm, for the benchmarks. */
export class OriginalReplicationLagMonitor {
  readonly config: OriginalConfig;
  private readonly nodes = new Map<string, OriginalNodeState>();
  private readonly alerts: OriginalAlert[] = [];
  readonly statistics: OriginalStatistics = {
    totalNodes: 0,
    healthyNodes: 0,
    warningNodes: 0,
    criticalNodes: 0,
    stalledNodes: 0,
    totalLagEntries: 0,
    avgLagSeconds: 0,
    maxLagSeconds: 0,
  };

  constructor(config: Partial<OriginalConfig> & { now: () => number }) {
    this.config = { ...ORIGINAL_DEFAULTS, ...config };
  }

  registerNode(nodeId: string): void {
    if (!this.nodes.has(nodeId)) this.nodes.set(nodeId, new OriginalNodeState(nodeId, this.config.now()));
    this.updateStatistics();
  }

  /** `update_lag`: unknown nodes are ignored (the original silently dropped their updates). */
  updateLag(nodeId: string, leaderSeq: number, followerSeq: number, lagSecondsGiven?: number): void {
    const state = this.nodes.get(nodeId);
    if (state === undefined) return;
    const now = this.config.now();
    const lagEntries = leaderSeq > followerSeq ? leaderSeq - followerSeq : 0; // saturating_sub
    const lagSeconds = lagSecondsGiven ?? this.estimateLagSeconds(state, lagEntries);

    if (followerSeq > state.lastFollowerSeq || lagEntries === 0) state.lastProgressAt = now;
    state.lastFollowerSeq = followerSeq;

    state.samples.pushBack({ leaderSeq, followerSeq, lagEntries, lagSeconds, timestamp: now });
    // Prune samples older than the retention window from the front.
    const cutoff = now - this.config.retentionWindowSeconds * 1000;
    while (state.samples.length > 0 && state.samples.front()!.timestamp < cutoff) state.samples.popFront();

    state.currentLagEntries = lagEntries;
    state.currentLagSeconds = lagSeconds;
    state.replicationRate = this.calculateReplicationRate(state);
    state.predictedLagSeconds = this.predictLag(state);
    state.lastUpdate = now;

    const previous = state.severity;
    state.severity = this.calculateSeverity(state, now);
    if (state.severity !== previous && state.severity !== 'normal') this.generateAlert(state);

    this.updateStatistics();
  }

  getStatistics(): OriginalStatistics {
    return { ...this.statistics };
  }

  getAlerts(): OriginalAlert[] {
    return this.alerts.slice();
  }

  /** Current delay of a node (for the accuracy benchmark). */
  getLagSeconds(nodeId: string): number | undefined {
    return this.nodes.get(nodeId)?.currentLagSeconds;
  }

  getNodeState(nodeId: string):
    | { lagEntries: number; lagSeconds: number; severity: OriginalSeverity; replicationRate: number; predictedLagSeconds: number | undefined; samples: number }
    | undefined {
    const s = this.nodes.get(nodeId);
    if (s === undefined) return undefined;
    return {
      lagEntries: s.currentLagEntries,
      lagSeconds: s.currentLagSeconds,
      severity: s.severity,
      replicationRate: s.replicationRate,
      predictedLagSeconds: s.predictedLagSeconds,
      samples: s.samples.length,
    };
  }

  /** Kafka-style: lag / leader rate between the oldest and the newest sample of the window. */
  private estimateLagSeconds(state: OriginalNodeState, lagEntries: number): number {
    const oldest = state.samples.front();
    const newest = state.samples.back();
    if (oldest === undefined || newest === undefined) return 0;
    const elapsed = (newest.timestamp - oldest.timestamp) / 1000;
    if (elapsed <= 0) return 0;
    const rate = (newest.leaderSeq - oldest.leaderSeq) / elapsed;
    if (rate <= 0) return 0;
    return lagEntries / rate;
  }

  /** How fast the lag shrank over the whole window, entries per second. */
  private calculateReplicationRate(state: OriginalNodeState): number {
    if (state.samples.length < 2) return 0;
    const oldest = state.samples.front()!;
    const newest = state.samples.back()!;
    const window = (newest.timestamp - oldest.timestamp) / 1000;
    if (window <= 0) return 0;
    return (oldest.lagEntries - newest.lagEntries) / window;
  }

  /** Least squares over the last 10 samples, x = reversed index (0 = newest), evaluated at x = n + 60. */
  private predictLag(state: OriginalNodeState): number | undefined {
    const len = state.samples.length;
    if (len < 10) return undefined;
    const n = 10;
    let sumX = 0;
    let sumY = 0;
    let sumXY = 0;
    let sumX2 = 0;
    for (let i = 0; i < n; i++) {
      const y = state.samples.at(len - 1 - i).lagSeconds; // samples.iter().rev().take(10).enumerate()
      sumX += i;
      sumY += y;
      sumXY += i * y;
      sumX2 += i * i;
    }
    const denominator = n * sumX2 - sumX * sumX;
    if (denominator === 0) return undefined;
    const slope = (n * sumXY - sumX * sumY) / denominator;
    const intercept = (sumY - slope * sumX) / n;
    const futureX = n + 60; // "60 samples ahead"
    return Math.max(0, slope * futureX + intercept);
  }

  private calculateSeverity(state: OriginalNodeState, now: number): OriginalSeverity {
    if (state.currentLagEntries > 0 && (now - state.lastProgressAt) / 1000 >= this.config.stallTimeoutSeconds) return 'stalled';
    if (state.currentLagSeconds >= this.config.criticalThresholdSeconds) return 'critical';
    if (state.currentLagSeconds >= this.config.warningThresholdSeconds) return 'warning';
    return 'normal';
  }

  private generateAlert(state: OriginalNodeState): void {
    const alert: OriginalAlert = {
      nodeId: state.nodeId,
      severity: state.severity,
      lagEntries: state.currentLagEntries,
      lagSeconds: state.currentLagSeconds,
      message: `Node ${state.nodeId} replication lag is ${state.severity}: ${state.currentLagEntries} entries, ${state.currentLagSeconds.toFixed(2)}s`,
      timestamp: state.lastUpdate,
    };
    this.alerts.push(alert);
    if (this.alerts.length > this.config.maxAlerts) this.alerts.splice(0, 1); // Vec::remove(0): shifts every element
  }

  /** `update_statistics()`: recomputed over ALL nodes, on every update. */
  private updateStatistics(): void {
    const s = this.statistics;
    s.totalNodes = this.nodes.size;
    s.healthyNodes = 0;
    s.warningNodes = 0;
    s.criticalNodes = 0;
    s.stalledNodes = 0;
    s.totalLagEntries = 0;
    let sumLag = 0;
    let maxLag = 0;
    for (const state of this.nodes.values()) {
      switch (state.severity) {
        case 'normal':
          s.healthyNodes++;
          break;
        case 'warning':
          s.warningNodes++;
          break;
        case 'critical':
          s.criticalNodes++;
          break;
        case 'stalled':
          s.stalledNodes++;
          break;
      }
      s.totalLagEntries += state.currentLagEntries;
      sumLag += state.currentLagSeconds;
      if (state.currentLagSeconds > maxLag) maxLag = state.currentLagSeconds;
    }
    s.avgLagSeconds = this.nodes.size === 0 ? 0 : sumLag / this.nodes.size;
    s.maxLagSeconds = maxLag;
  }
}
