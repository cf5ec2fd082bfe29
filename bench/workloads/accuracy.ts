/**
 * Workload 4 — accuracy of the estimated delay (the caller passes no seconds). Synthetic scenarios with a
 * known ground truth: a leader whose append rate follows a schedule and a follower that trails it (a
 * replication latency, a maximum apply rate, frozen stretches), simulated on a 10 ms grid. At each sampling
 * instant both monitors receive the integer leader and follower positions; the true delay is how long the
 * follower's oldest unapplied entry (follower + 1) has existed on the leader: now − (first time the leader
 * reached follower + 1), 0 when caught up. Absolute error of ours vs the baseline's estimator — the
 * Kafka-lag-exporter style "lag entries ÷ leader rate between the oldest and the newest sample" — over
 * every sample of a 2 h run (20 min in --quick).
 */
import { ReplicationLagMonitor } from '../../src/monitor.ts';
import { OriginalReplicationLagMonitor } from '../baseline/original-monitor.ts';
import { max, median, prng, quantile, round } from '../lib/stats.ts';
import { row, type Row, type WorkloadOptions, type WorkloadResult } from '../lib/types.ts';
import { delayBandRows } from './delay-bands.ts';
import { firstReached, GRID_SECONDS } from '../lib/grid.ts';

const DT = GRID_SECONDS;

interface Scenario {
  name: string;
  description: string;
  /** Leader append rate (entries/s) at time t (s). */
  leaderRate: (t: number) => number;
  /** Replication latency (s) at time t: the follower applies at most what the leader had that long ago. */
  latency: (t: number) => number;
  /** Maximum apply rate (entries/s) at time t; 0 freezes the follower. */
  applyRate: (t: number) => number;
  /** Sampling instants (s), increasing. */
  samples: (duration: number) => number[];
  /** Nominal sampling interval (s): the goal's unit. */
  interval: number;
}

function everySecond(duration: number): number[] {
  const out: number[] = [];
  for (let t = 1; t <= duration; t++) out.push(t);
  return out;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'steady',
    description: 'leader 1000 entries/s; follower latency swinging 0.5–3.5 s (10 min period); sampled every 1 s',
    leaderRate: () => 1000,
    latency: (t) => 2 + 1.5 * Math.sin((2 * Math.PI * t) / 600),
    applyRate: () => Number.POSITIVE_INFINITY,
    samples: everySecond,
    interval: 1,
  },
  {
    name: 'bursty',
    description: 'leader 200 entries/s with a 5 s burst at 5000/s every minute; follower applies ≤ 2000/s, latency 0.2 s; sampled every 1 s',
    leaderRate: (t) => (t % 60 >= 30 && t % 60 < 35 ? 5000 : 200),
    latency: () => 0.2,
    applyRate: () => 2000,
    samples: everySecond,
    interval: 1,
  },
  {
    name: 'idle-then-burst',
    description: 'leader idle 20 min, then 90 s at 3000 entries/s, repeated; follower applies ≤ 1000/s, latency 0.1 s; sampled every 1 s',
    leaderRate: (t) => (t % 1290 >= 1200 ? 3000 : 0),
    latency: () => 0.1,
    applyRate: () => 1000,
    samples: everySecond,
    interval: 1,
  },
  {
    name: 'frozen-follower',
    description: 'leader 500 entries/s; follower (latency 0.5 s, ≤ 5000/s) frozen 3 min every 20 min, then catches up; sampled every 1 s',
    leaderRate: () => 500,
    latency: () => 0.5,
    applyRate: (t) => (t % 1200 >= 600 && t % 1200 < 780 ? 0 : 5000),
    samples: everySecond,
    interval: 1,
  },
  {
    name: 'jittered-sampling',
    description: 'leader 100–900 entries/s (15 min sine); follower latency 0.2–1.8 s, ≤ 1500/s; sampling intervals uniform in 0.5–1.5 s',
    leaderRate: (t) => 500 + 400 * Math.sin((2 * Math.PI * t) / 900),
    latency: (t) => 1 + 0.8 * Math.sin((2 * Math.PI * t) / 300 + 1),
    applyRate: () => 1500,
    samples: (duration) => {
      const rand = prng(42);
      const out: number[] = [];
      for (let t = 0.5 + rand(); t <= duration; t += 0.5 + rand()) out.push(Math.round(t / DT) * DT);
      return out;
    },
    interval: 1,
  },
];

/** Leader and follower positions (continuous) on the grid. */
function simulate(s: Scenario, duration: number): { leader: Float64Array; follower: Float64Array } {
  const n = Math.round(duration / DT) + 1;
  const leader = new Float64Array(n);
  const follower = new Float64Array(n);
  for (let k = 1; k < n; k++) leader[k] = leader[k - 1]! + s.leaderRate((k - 1) * DT) * DT;
  for (let k = 1; k < n; k++) {
    const t = k * DT;
    const lagged = Math.round((t - s.latency(t)) / DT);
    const target = lagged <= 0 ? 0 : leader[Math.min(lagged, k)]!;
    const previous = follower[k - 1]!;
    const next = Math.min(target, previous + s.applyRate(t) * DT);
    follower[k] = Math.max(previous, next);
  }
  return { leader, follower };
}

interface ErrorStats {
  samples: number;
  medianError: number;
  p99Error: number;
  maxError: number;
  nan: number;
  negative: number;
  maxEstimate: number;
}

function errorStats(estimates: number[], truth: number[]): ErrorStats {
  const errors: number[] = [];
  let nan = 0;
  let negative = 0;
  for (let i = 0; i < estimates.length; i++) {
    const e = estimates[i]!;
    if (Number.isNaN(e)) {
      nan++;
      errors.push(Number.POSITIVE_INFINITY);
      continue;
    }
    if (e < 0) negative++;
    errors.push(Math.abs(e - truth[i]!));
  }
  return {
    samples: estimates.length,
    medianError: round(median(errors)),
    p99Error: round(quantile(errors, 0.99)),
    maxError: round(max(errors)),
    nan,
    negative,
    maxEstimate: round(max(estimates)),
  };
}

export async function accuracy(options: WorkloadOptions): Promise<WorkloadResult> {
  const started = performance.now();
  const duration = options.quick ? 1500 : 7200;
  const rows: Row[] = [];
  const details: Record<string, unknown> = { simulatedSeconds: duration, gridSeconds: DT };
  let met = true;
  for (const s of SCENARIOS) {
    const { leader, follower } = simulate(s, duration);
    const clock = { t: 0 };
    const ours = new ReplicationLagMonitor({ now: () => clock.t });
    const base = new OriginalReplicationLagMonitor({ now: () => clock.t });
    base.registerNode('replica');
    const oursEst: number[] = [];
    const baseEst: number[] = [];
    const truth: number[] = [];
    for (const t of s.samples(duration)) {
      const k = Math.round(t / DT);
      const l = Math.floor(leader[k]!);
      const f = Math.floor(follower[k]!);
      truth.push(f >= l ? 0 : t - firstReached(leader, f + 1, k));
      clock.t = t * 1000;
      oursEst.push(ours.updateLag('replica', l, f).lagSeconds);
      base.updateLag('replica', l, f);
      baseEst.push(base.getLagSeconds('replica')!);
    }
    const o = errorStats(oursEst, truth);
    const b = errorStats(baseEst, truth);
    const ok = o.p99Error <= s.interval && o.nan === 0 && o.negative === 0;
    met &&= ok;
    rows.push(
      row({
        metric: `p99 abs. error, ${s.name}`,
        ours: o.p99Error,
        baseline: b.p99Error,
        unit: 's',
        goal: `≤ ${s.interval} s, no NaN/negative`,
        met: ok,
      }),
    );
    details[s.name] = { description: s.description, samplingIntervalSeconds: s.interval, maxTrueDelay: round(max(truth)), ours: o, baseline: b };
    options.log(
      `accuracy ${s.name}: ours median ${o.medianError} p99 ${o.p99Error} max ${o.maxError}; baseline median ${b.medianError} p99 ${b.p99Error} max ${b.maxError} (true max ${max(truth).toFixed(1)} s)`,
    );
  }
  // Delay error by delay band: the multi-resolution history against the fixed-slot one (delay-bands.ts).
  const bands = delayBandRows(options);
  rows.push(...bands.rows);
  Object.assign(details, bands.details);
  met &&= bands.met;
  return {
    name: 'accuracy',
    title: 'Estimation accuracy',
    goal: 'p99 absolute error ≤ one sampling interval, never NaN or negative, on every scenario; delay error ≤ max(interval, 5 % of the delay) at every delay',
    met,
    rows,
    details,
    durationSeconds: round((performance.now() - started) / 1000, 3),
  };
}
