/**
 * Workload — accuracy of the forecast (`predictedLagSeconds`, horizon 60 s) and of the catch-up ETA
 * (`catchUpSeconds`), against a simulated ground truth (a leader with a noisy append rate and a follower limited
 * by a replication latency and a maximum apply rate, on a 10 ms grid, sampled every second; positions only: the
 * monitor estimates the delay).
 *
 * Forecast error: |forecast made at t − true delay at t + 60 s|, over the forecasts made once the scenario has
 * warmed up (t ≥ 60 s) whose target t + 60 s does not lie past the scenario's next regime change (no forecaster
 * can know of a change before it happens; what is measured is how soon each one stops extrapolating the previous
 * regime, and how it does in steady state). Three forecasters, fed the same positions:
 * - ours: the replication model of `src/forecast.ts`;
 * - least squares: the forecast the package shipped before it (a line through the last 32 estimated delays,
 *   `bench/baseline/least-squares-forecast.ts`), fed the delays our monitor estimated (same input, other model);
 * - original: the original monitor's forecast (`bench/baseline/original-monitor.ts`) on its own delay estimates.
 * Rows: p50 and p99 against least squares (the baseline column), and p99 against the original's.
 * Goal: p99 error at least 3× lower than least squares on the regime-change scenarios.
 * Catch-up ETA: |catchUpSeconds − true time until the follower reaches the leader's position|, over the samples
 * of the catching-up scenario where the follower is behind and applying (from 5 s after it resumed); goal: the
 * median within 10 % of the true ETA, and an ETA given at least 90 % of the time.
 */
import { ReplicationLagMonitor } from '../../src/monitor.ts';
import { LeastSquaresForecast } from '../baseline/least-squares-forecast.ts';
import { OriginalReplicationLagMonitor } from '../baseline/original-monitor.ts';
import { median, prng, quantile, round } from '../lib/stats.ts';
import { row, type Row, type WorkloadOptions, type WorkloadResult } from '../lib/types.ts';
import { firstReached, GRID_SECONDS } from '../lib/grid.ts';

const DT = GRID_SECONDS;
const HORIZON = 60; // seconds: the package default
const WARM_UP = 60; // seconds before forecasts are scored

interface Scenario {
  name: string;
  description: string;
  /** Whether the scenario changes regime (the 3× goal applies). */
  regimeChange: boolean;
  /** Times (s) at which the regime changes: a forecast is scored when no change lies in (t, t + horizon]. */
  changes: number[];
  /** Leader append rate (entries/s) at time t, before noise. */
  leaderRate: (t: number) => number;
  /** Replication latency (s) at time t: the follower applies at most what the leader had that long ago. */
  latency: (t: number) => number;
  /** Maximum apply rate (entries/s) at time t; 0 freezes the follower. */
  applyRate: (t: number) => number;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'constant apply delay',
    description: 'leader ~1000 entries/s (±30 % noise per second); at 120 s a 10 s apply delay is switched on (the delay ramps to 10 s and holds)',
    regimeChange: true,
    changes: [120, 130],
    leaderRate: () => 1000,
    latency: (t) => (t < 120 ? 0.2 : 10),
    applyRate: () => Number.POSITIVE_INFINITY,
  },
  {
    name: 'ramp that stops',
    description: 'leader ~1000 entries/s; from 120 s to 180 s the follower falls behind at 0.5 s/s, then keeps pace 30 s behind',
    regimeChange: true,
    changes: [120, 180],
    leaderRate: () => 1000,
    latency: (t) => (t < 120 ? 0.2 : t < 180 ? 0.2 + 0.5 * (t - 120) : 30.2),
    applyRate: () => Number.POSITIVE_INFINITY,
  },
  {
    name: 'frozen follower',
    description: 'leader ~500 entries/s; the follower stops applying at 120 s and stays stopped',
    regimeChange: true,
    changes: [120],
    leaderRate: () => 500,
    latency: () => 0.2,
    applyRate: (t) => (t >= 120 ? 0 : Number.POSITIVE_INFINITY),
  },
  {
    name: 'catching up',
    description: 'leader ~1000 entries/s; the follower is stopped until 120 s, then applies ≤ 1500 entries/s until caught up (~360 s), then keeps pace',
    regimeChange: true,
    changes: [120, 360],
    leaderRate: () => 1000,
    latency: () => 0,
    applyRate: (t) => (t < 120 ? 0 : 1500),
  },
  {
    name: 'leader idle',
    description: 'leader ~1000 entries/s, follower 10 s apply delay; the leader goes idle at 240 s (the follower drains its 10 s and is caught up)',
    regimeChange: true,
    changes: [240],
    leaderRate: (t) => (t < 240 ? 1000 : 0),
    latency: () => 10,
    applyRate: () => Number.POSITIVE_INFINITY,
  },
  {
    name: 'steady',
    description: 'leader ~1000 entries/s (±30 % noise per second), follower 0.2 s behind: no regime change',
    regimeChange: false,
    changes: [],
    leaderRate: () => 1000,
    latency: () => 0.2,
    applyRate: () => Number.POSITIVE_INFINITY,
  },
];

/** Leader and follower positions (continuous) on the grid; the leader's rate gets ±30 % noise per second. */
function simulate(s: Scenario, duration: number, seed: number): { leader: Float64Array; follower: Float64Array } {
  const rand = prng(seed);
  const noise: number[] = [];
  for (let i = 0; i <= duration; i++) noise.push(0.7 + 0.6 * rand());
  const n = Math.round(duration / DT) + 1;
  const leader = new Float64Array(n);
  const follower = new Float64Array(n);
  for (let k = 1; k < n; k++) {
    const t = (k - 1) * DT;
    leader[k] = leader[k - 1]! + s.leaderRate(t) * noise[Math.floor(t)]! * DT;
  }
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

/** True delay at grid index k: how long the follower's oldest unapplied entry has existed on the leader. */
function trueDelay(leader: Float64Array, follower: Float64Array, k: number): number {
  const l = Math.floor(leader[k]!);
  const f = Math.floor(follower[k]!);
  return f >= l ? 0 : k * DT - firstReached(leader, f + 1, k);
}

/** Seconds from grid index k until the follower's integer position reaches the leader's; undefined if never. */
function trueCatchUp(leader: Float64Array, follower: Float64Array, k: number): number | undefined {
  for (let j = k; j < leader.length; j++) if (Math.floor(follower[j]!) >= Math.floor(leader[j]!)) return (j - k) * DT;
  return undefined;
}

interface Quantiles {
  scored: number;
  p50: number;
  p99: number;
}

function quantiles(errors: number[]): Quantiles {
  return { scored: errors.length, p50: round(median(errors)), p99: round(quantile(errors, 0.99)) };
}

export async function forecastAccuracy(options: WorkloadOptions): Promise<WorkloadResult> {
  const started = performance.now();
  const duration = options.quick ? 480 : 900; // the catch-up ends at ~360 s
  const rows: Row[] = [];
  const details: Record<string, unknown> = { simulatedSeconds: duration, gridSeconds: DT, horizonSeconds: HORIZON, samplingSeconds: 1 };
  let met = true;
  for (const [index, s] of SCENARIOS.entries()) {
    const { leader, follower } = simulate(s, duration, 7 + index);
    const clock = { t: 0 };
    const ours = new ReplicationLagMonitor({ now: () => clock.t, predictionHorizonSeconds: HORIZON });
    const original = new OriginalReplicationLagMonitor({ now: () => clock.t });
    original.registerNode('replica');
    const leastSquares = new LeastSquaresForecast();
    const errors = { ours: [] as number[], leastSquares: [] as number[], original: [] as number[] };
    const etaErrors: number[] = [];
    const etaRelative: number[] = [];
    let etaSamples = 0;
    let etaUndefined = 0;
    let nanOrNegative = 0;
    for (let t = 1; t + HORIZON <= duration; t++) {
      const k = Math.round(t / DT);
      clock.t = t * 1000;
      const st = ours.updateLag('replica', Math.floor(leader[k]!), Math.floor(follower[k]!));
      leastSquares.push(clock.t, st.lagSeconds);
      original.updateLag('replica', Math.floor(leader[k]!), Math.floor(follower[k]!));
      for (const v of [st.predictedLagSeconds, st.catchUpSeconds, st.secondsToCritical]) if (v !== undefined && !(Number.isFinite(v) && v >= 0)) nanOrNegative++;
      if (s.name === 'catching up' && t >= 125 && st.lagEntries > 0) {
        const truth = trueCatchUp(leader, follower, k);
        if (truth !== undefined && truth > 0) {
          etaSamples++;
          if (st.catchUpSeconds === undefined) etaUndefined++;
          else {
            etaErrors.push(Math.abs(st.catchUpSeconds - truth));
            etaRelative.push((100 * Math.abs(st.catchUpSeconds - truth)) / truth);
          }
        }
      }
      const scored = t >= WARM_UP && !s.changes.some((c) => c > t && c <= t + HORIZON);
      if (!scored) continue;
      const target = trueDelay(leader, follower, Math.round((t + HORIZON) / DT));
      const lsForecast = leastSquares.predict(HORIZON);
      const origForecast = original.getNodeState('replica')?.predictedLagSeconds;
      if (st.predictedLagSeconds !== undefined) errors.ours.push(Math.abs(st.predictedLagSeconds - target));
      if (lsForecast !== undefined) errors.leastSquares.push(Math.abs(lsForecast - target));
      if (origForecast !== undefined) errors.original.push(Math.abs(origForecast - target));
    }
    const o = quantiles(errors.ours);
    const l = quantiles(errors.leastSquares);
    const g = quantiles(errors.original);
    const goal = s.regimeChange ? '≤ ⅓ of least squares' : undefined;
    const ok = nanOrNegative === 0 && (!s.regimeChange || o.p99 * 3 <= l.p99);
    if (goal !== undefined) met &&= ok;
    rows.push(row({ metric: `forecast p50 error, ${s.name}`, ours: o.p50, baseline: l.p50, unit: 's' }));
    rows.push(
      row({
        metric: `forecast p99 error, ${s.name}`,
        ours: o.p99,
        baseline: l.p99,
        unit: 's',
        ...(goal === undefined ? {} : { goal: `${goal}, never NaN/negative`, met: ok }),
      }),
    );
    rows.push(row({ metric: `forecast p99 error, ${s.name}, vs the original's`, ours: o.p99, baseline: g.p99, unit: 's' }));
    const scenario: Record<string, unknown> = { description: s.description, regimeChange: s.regimeChange, ours: o, leastSquares: l, original: g, nanOrNegative };
    if (s.name === 'catching up') {
      const eta = quantiles(etaErrors);
      const rel = quantiles(etaRelative);
      const definedShare = 1 - etaUndefined / Math.max(1, etaSamples);
      const etaOk = rel.p50 <= 10 && definedShare >= 0.9;
      scenario.catchUp = { seconds: eta, percentOfTrueEta: rel, samples: etaSamples, definedShare: round(definedShare) };
      rows.push(row({ metric: 'catch-up ETA p50 error, catching up', ours: eta.p50, unit: 's' }));
      rows.push(row({ metric: 'catch-up ETA p99 error, catching up', ours: eta.p99, unit: 's' }));
      rows.push(row({ metric: 'catch-up ETA p50 error ÷ true ETA', ours: rel.p50, unit: '%', goal: '≤ 10 %, defined ≥ 90 % of the time', met: etaOk }));
      met &&= etaOk;
      options.log(`forecast-accuracy catch-up ETA: p50 ${eta.p50} s (${rel.p50} %) p99 ${eta.p99} s (${rel.p99} %) over ${eta.scored} samples, defined ${round(100 * definedShare)} %`);
    }
    details[s.name] = scenario;
    options.log(`forecast-accuracy ${s.name}: p50/p99 ours ${o.p50}/${o.p99}, least squares ${l.p50}/${l.p99}, original ${g.p50}/${g.p99} s (${o.scored} scored)`);
  }
  return {
    name: 'forecast-accuracy',
    title: 'Forecast accuracy (60 s)',
    goal: 'forecast p99 error ≤ ⅓ of the least-squares forecast on regime-change scenarios; catch-up ETA median error ≤ 10 %; never NaN or negative',
    met,
    rows,
    details,
    durationSeconds: round((performance.now() - started) / 1000, 3),
  };
}
