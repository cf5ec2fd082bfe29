/** Shared helpers of the core tests: a monitor on a fake clock, plain snapshots of observable state. */
import { ReplicationLagMonitor, type LagAlert, type LagSample, type ReplicationLagConfig, type ReplicationStatus } from '../../src/index.ts';

/** A fake clock in milliseconds, moved by the test. */
export interface FakeClock {
  t: number;
}

/** A monitor whose clock is `clock.t` (starting at 0). */
export function fakeMonitor(config: Partial<ReplicationLagConfig> = {}): { clock: FakeClock; monitor: ReplicationLagMonitor } {
  const clock: FakeClock = { t: 0 };
  const monitor = new ReplicationLagMonitor({ now: () => clock.t, ...config });
  return { clock, monitor };
}

export interface PlainStatus {
  nodeId: string;
  leaderSeq: number | bigint;
  followerSeq: number | bigint;
  lagEntries: number;
  lagSeconds: number;
  severity: string;
  replicationRate: number;
  delayEstimated: boolean;
  predictedLagSeconds: number | undefined;
  catchUpSeconds: number | undefined;
  secondsToCritical: number | undefined;
  lastUpdate: number;
  attributes: Record<string, unknown>;
  history: LagSample[];
}

/** Every field of a status as plain data, including the lazily read `history` (a getter, invisible to deepEqual). */
export function plainStatus(s: ReplicationStatus): PlainStatus {
  return {
    nodeId: s.nodeId,
    leaderSeq: s.leaderSeq,
    followerSeq: s.followerSeq,
    lagEntries: s.lagEntries,
    lagSeconds: s.lagSeconds,
    severity: s.severity,
    replicationRate: s.replicationRate,
    delayEstimated: s.delayEstimated,
    predictedLagSeconds: s.predictedLagSeconds,
    catchUpSeconds: s.catchUpSeconds,
    secondsToCritical: s.secondsToCritical,
    lastUpdate: s.lastUpdate,
    attributes: { ...s.attributes },
    history: s.history.map((h) => ({ ...h })),
  };
}

/** Everything a user can read from a monitor, as plain data to compare with deepStrictEqual. */
export function observable(m: ReplicationLagMonitor): {
  statuses: [string, PlainStatus][];
  alerts: LagAlert[];
  stats: ReturnType<ReplicationLagMonitor['getStats']>;
  critical: string[];
} {
  return {
    statuses: [...m.getAllStatuses()].map(([id, s]) => [id, plainStatus(s)]),
    alerts: m.getAlerts().map((a) => ({ ...a })),
    stats: m.getStats(),
    critical: m.getCriticalNodes(),
  };
}

/** max(0, leader − follower) computed exactly with bigints, as a number. */
export function exactLag(leader: number | bigint, follower: number | bigint): number {
  const d = BigInt(leader) - BigInt(follower);
  return d > 0n ? Number(d) : 0;
}

/** Asserts |actual − expected| ≤ tol, with a readable message. */
export function near(actual: number | undefined, expected: number, tol: number, what = 'value'): void {
  if (actual === undefined || !(Math.abs(actual - expected) <= tol)) {
    throw new Error(`${what}: expected ${expected} ± ${tol}, got ${actual}`);
  }
}
