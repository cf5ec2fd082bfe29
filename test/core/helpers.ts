/** Shared helpers of the core tests: a monitor on a fake clock, plain snapshots of observable state, a reference forecast. */
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
  predictedLagSeconds: number | undefined;
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
    predictedLagSeconds: s.predictedLagSeconds,
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

/**
 * Reference forecast, written independently of the implementation: ordinary least squares of y on t
 * (t in seconds), evaluated `horizon` seconds after the newest point, clamped at 0.
 * Points all at one instant: the mean of y.
 */
export function referenceForecast(points: readonly { tMs: number; y: number }[], horizonSeconds: number): number {
  const n = points.length;
  const tMean = points.reduce((a, p) => a + p.tMs / 1000, 0) / n;
  const yMean = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    const dt = p.tMs / 1000 - tMean;
    num += dt * (p.y - yMean);
    den += dt * dt;
  }
  const newest = points[n - 1]!.tMs / 1000;
  const value = den === 0 ? yMean : yMean + (num / den) * (newest + horizonSeconds - tMean);
  return Math.max(0, value);
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
