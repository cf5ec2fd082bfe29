/**
 * Delay resolution probe, shared by the accuracy workload and the core history tests. A leader moves along a
 * known, seeded schedule (simulated on a 10 ms grid); it is sampled like a poller (every `intervalSeconds`, or
 * with jittered intervals) and each sample is fed to a node's two histories exactly as `NodeState.observe`
 * does (estimate with the current observation, `coarse.advance(now)`, `recent.push`). At probe instants, the
 * delay of followers at many positions — from 1 s to the retention window behind — is estimated from the
 * histories with `estimateDelaySeconds` and compared with the truth: how long ago the leader first went past
 * the follower's position (now − first time the leader reached follower + 1).
 */
import { estimateDelaySeconds } from '../../src/estimate.ts';
import { SampleRing, type SampleSeries } from '../../src/history.ts';
import { RECENT_SAMPLES } from '../../src/node-state.ts';
import { prng } from './stats.ts';
import { firstReached, GRID_SECONDS } from './grid.ts';

/** What node state needs of the retention-spanning history. */
export interface RetentionHistory extends SampleSeries {
  advance(now: number): void;
}

/** Builds the retention-spanning history over `recent` (the new one, or the fixed-slot baseline). */
export type HistoryFactory = (capacity: number, recent: SampleRing, retentionMs: number) => RetentionHistory;

/** Leader patterns: piecewise-constant append rates (entries/s), drawn from a seeded generator. */
export type LeaderPattern = 'steady' | 'idle-then-burst' | 'stalled-leader';

export const LEADER_PATTERNS: readonly LeaderPattern[] = ['steady', 'idle-then-burst', 'stalled-leader'];

export const PATTERN_DESCRIPTIONS: Record<LeaderPattern, string> = {
  steady: 'leader at a rate redrawn uniformly in 500–1500 entries/s every 10 s',
  'idle-then-burst': 'leader idle 60–900 s, then a burst of 5–60 s at 3000 entries/s, repeated',
  'stalled-leader': 'leader at 800 entries/s, stalling for 2–300 s every 30–400 s',
};

const DT = GRID_SECONDS;

/** Rate segments [start s, rate] covering `duration`. */
function schedule(pattern: LeaderPattern, duration: number, seed: number): [number, number][] {
  const rand = prng(seed);
  const between = (lo: number, hi: number) => lo + (hi - lo) * rand();
  const out: [number, number][] = [];
  let t = 0;
  let busy = false;
  while (t < duration) {
    if (pattern === 'steady') {
      out.push([t, between(500, 1500)]);
      t += 10;
    } else if (pattern === 'idle-then-burst') {
      out.push([t, busy ? 3000 : 0]);
      t += busy ? between(5, 60) : between(60, 900);
    } else {
      out.push([t, busy ? 0 : 800]);
      t += busy ? between(2, 300) : between(30, 400);
    }
    busy = !busy;
  }
  return out;
}

/** Leader position on the grid. */
function simulateLeader(pattern: LeaderPattern, duration: number, seed: number): Float64Array {
  const segments = schedule(pattern, duration, seed);
  const n = Math.round(duration / DT) + 1;
  const leader = new Float64Array(n);
  let s = 0;
  for (let k = 1; k < n; k++) {
    const t = (k - 1) * DT;
    while (s + 1 < segments.length && segments[s + 1]![0] <= t) s++;
    leader[k] = leader[k - 1]! + segments[s]![1] * DT;
  }
  return leader;
}

export interface ProbeOptions {
  pattern: LeaderPattern;
  /** Nominal sampling interval (s). */
  intervalSeconds: number;
  /** Intervals drawn uniformly in [0.5, 1.5] × the nominal one instead of fixed. */
  jitter?: boolean;
  retentionSeconds: number;
  capacity: number;
  history: HistoryFactory;
  /** Probe instants: this many, spread over the last `probeSpanSeconds` (default 1200) of the run. */
  probes?: number;
  probeSpanSeconds?: number;
  seed?: number;
}

/** One probed follower. */
export interface DelayProbe {
  /** True delay (s). */
  truth: number;
  estimate: number;
  error: number;
  /** max(the widest sampling interval, 5 % of the true delay): the goal. */
  bound: number;
}

export interface ProbeRun {
  probes: DelayProbe[];
  /** Widest sampling interval of the run (s). */
  maxIntervalSeconds: number;
}

/** Delays probed at each instant: 1 s to the retention window, about 3 % apart. */
function probeDelays(retentionSeconds: number): number[] {
  const out: number[] = [];
  for (let d = 1; d <= retentionSeconds; d *= 1.03) out.push(d);
  out.push(retentionSeconds);
  return out;
}

/** Runs one pattern through a history and probes the delay of followers 1 s … retention behind. */
export function probeDelayResolution(options: ProbeOptions): ProbeRun {
  const { pattern, intervalSeconds, retentionSeconds, capacity } = options;
  const probeSpan = options.probeSpanSeconds ?? 1200;
  const duration = retentionSeconds + probeSpan + 60;
  const seed = options.seed ?? 7;
  const leader = simulateLeader(pattern, duration, seed);
  const retentionMs = retentionSeconds * 1000;
  const recent = new SampleRing(RECENT_SAMPLES);
  const coarse = options.history(capacity, recent, retentionMs);
  const rand = prng(seed + 1);
  const probeCount = options.probes ?? 24;
  const firstProbe = duration - probeSpan;
  const probeStep = probeSpan / probeCount;
  let nextProbe = firstProbe;
  const delays = probeDelays(retentionSeconds);
  const probes: DelayProbe[] = [];
  let maxInterval = 0;
  let previous = Number.NaN;
  for (let t = intervalSeconds; t <= duration; t += options.jitter === true ? intervalSeconds * (0.5 + rand()) : intervalSeconds) {
    const k = Math.round(t / DT);
    const time = k * DT;
    if (!Number.isNaN(previous)) maxInterval = Math.max(maxInterval, time - previous);
    previous = time;
    const now = k * 10; // ms, exact
    const l = Math.floor(leader[k]!);
    if (time >= nextProbe) {
      nextProbe += probeStep;
      for (const d of delays) {
        const kd = Math.round((time - d) / DT);
        if (kd < 0) continue;
        const f = Math.floor(leader[kd]!);
        if (f >= l) continue; // caught up: nothing to resolve
        const truth = time - firstReached(leader, f + 1, k);
        if (truth > retentionSeconds) continue;
        const estimate = estimateDelaySeconds(recent, coarse, f, l, now, retentionMs);
        probes.push({ truth, estimate, error: Math.abs(estimate - truth), bound: 0 });
      }
    }
    coarse.advance(now);
    recent.push(now, l, l, 0);
  }
  for (const p of probes) p.bound = Math.max(maxInterval, 0.05 * p.truth);
  return { probes, maxIntervalSeconds: maxInterval };
}

/** Delay bands of the benchmark rows. */
export const DELAY_BANDS: readonly { name: string; min: number; max: number }[] = [
  { name: '≤ 30 s', min: 0, max: 30 },
  { name: '30–300 s', min: 30, max: 300 },
  { name: '> 300 s', min: 300, max: Number.POSITIVE_INFINITY },
];
