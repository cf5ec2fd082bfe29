/**
 * A simulated Raft cluster: a leader appending entries and followers with distinct behaviours.
 * The default source of the `replag` CLI and of the examples; deterministic for a given clock.
 */
import { ATTR_REPLICATION_PROFILE, ATTR_REPLICATION_SYSTEM } from '../../semconv.ts';
import type { Position } from '../../types.ts';
import type { ReplicaPosition, ReplicationSource } from '../source.ts';

/** How a simulated follower behaves. */
export type FollowerProfile = 'healthy' | 'slow' | 'lagging' | 'frozen';

/** Options of `SimulatedClusterSource`. */
export interface SimulatedClusterOptions {
  /** Number of followers; profiles cycle healthy, slow, lagging, frozen. Default 4. */
  followers?: number;
  /** Entries the leader appends per second. Default 500. */
  leaderRate?: number;
  /** Clock in milliseconds. Default `Date.now`. */
  now?: () => number;
}

const PROFILES: readonly FollowerProfile[] = ['healthy', 'slow', 'lagging', 'frozen'];
const CYCLE_SECONDS = 120;

/**
 * Delay, in seconds, of a follower of the given profile `t` seconds into the simulation. Over a 120 s cycle:
 * healthy stays under 0.3 s; slow swings between 1 and 9 s (warning and back); lagging falls behind to 45 s
 * (critical) and catches up; frozen stops applying between 20 s and 50 s (stalled), then catches up.
 * Returns `frozenAt` for the frozen stretch: the follower stays at the leader's position of that moment.
 */
export function simulatedDelay(profile: FollowerProfile, t: number, phase: number): { delay: number; frozenAt?: number } {
  const c = (t + phase) % CYCLE_SECONDS;
  switch (profile) {
    case 'healthy':
      return { delay: 0.1 + 0.15 * Math.abs(Math.sin(t / 3 + phase)) };
    case 'slow':
      return { delay: 5 - 4 * Math.cos((2 * Math.PI * c) / 60) };
    case 'lagging':
      return { delay: c < 60 ? 0.5 + 0.75 * c : Math.max(0.5, 45.5 - 1.5 * (c - 60)) };
    case 'frozen':
      if (c >= 20 && c < 50) return { delay: 0, frozenAt: t - (c - 20) };
      return { delay: c < 20 ? 0.2 : Math.max(0.2, 30 - 2 * (c - 50)) };
  }
}

/** The simulated cluster as a `ReplicationSource`. */
export class SimulatedClusterSource implements ReplicationSource {
  readonly name = 'simulated';
  private readonly followers: number;
  private readonly leaderRate: number;
  private readonly now: () => number;
  private readonly start: number;

  constructor(options: SimulatedClusterOptions = {}) {
    const followers = options.followers ?? 4;
    const leaderRate = options.leaderRate ?? 500;
    if (!Number.isInteger(followers) || followers < 1) throw new RangeError(`SimulatedClusterOptions.followers must be a positive integer, got ${followers}`);
    if (!Number.isFinite(leaderRate) || leaderRate <= 0) throw new RangeError(`SimulatedClusterOptions.leaderRate must be a number > 0, got ${leaderRate}`);
    this.followers = followers;
    this.leaderRate = leaderRate;
    this.now = options.now ?? Date.now;
    this.start = this.now();
  }

  /** The profile of the i-th follower (0-based). */
  static profileOf(index: number): FollowerProfile {
    return PROFILES[index % PROFILES.length]!;
  }

  /** Positions of every follower at this instant. */
  read(): ReplicaPosition[] {
    const t = (this.now() - this.start) / 1000;
    const leaderSeq = this.leaderAt(t);
    const out: ReplicaPosition[] = [];
    for (let i = 0; i < this.followers; i++) {
      const profile = SimulatedClusterSource.profileOf(i);
      const { delay, frozenAt } = simulatedDelay(profile, t, Math.floor(i / PROFILES.length) * 7);
      const followerSeq: Position = this.leaderAt(frozenAt ?? t - delay);
      out.push({
        nodeId: `${profile}-${Math.floor(i / PROFILES.length) + 1}`,
        leaderSeq,
        followerSeq,
        // The simulated system's own delay figure (as PostgreSQL's replay_lag would be): what the monitor shows
        // on a follower's first poll, before its history can estimate the delay.
        reportedDelaySeconds: frozenAt === undefined ? delay : t - frozenAt,
        attributes: { [ATTR_REPLICATION_SYSTEM]: 'raft', [ATTR_REPLICATION_PROFILE]: profile },
      });
    }
    return out;
  }

  async poll(): Promise<readonly ReplicaPosition[]> {
    return this.read();
  }

  /** The leader started a cycle before the simulation, so every follower has a history at t = 0. */
  private leaderAt(t: number): number {
    return Math.max(0, Math.floor((t + CYCLE_SECONDS) * this.leaderRate));
  }
}
