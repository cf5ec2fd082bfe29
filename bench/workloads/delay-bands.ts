/**
 * Accuracy rows — delay error by delay band, the multi-resolution history against the fixed-slot one it
 * replaced ([`bench/baseline/fixed-slot-history.ts`](../baseline/fixed-slot-history.ts)), on the same samples.
 * Three leader patterns (steady with a rate redrawn every 10 s, idle-then-burst, stalled leader; seeded) sampled
 * every 1 s (`replag`'s default) and every 0.5–1.5 s (jittered), with the default retention (3600 s) and
 * capacity (256). At 24 instants over the last 20 min of a run longer than the window, followers 1 s … 3600 s
 * behind (3 % apart) get their delay estimated exactly as `NodeState` does (`estimateDelaySeconds` over the raw
 * ring and the history) and compared with the truth. Goal (issue 11): the error within max(one sampling
 * interval, 5 % of the delay) at every delay up to the retention window.
 */
import { CoarseHistory } from '../../src/history.ts';
import { FixedSlotHistory } from '../baseline/fixed-slot-history.ts';
import { DELAY_BANDS, LEADER_PATTERNS, PATTERN_DESCRIPTIONS, probeDelayResolution, type DelayProbe, type HistoryFactory } from '../lib/delay-probe.ts';
import { max, quantile, round } from '../lib/stats.ts';
import { row, type Row, type WorkloadOptions } from '../lib/types.ts';

const SIDES: Record<'ours' | 'fixedSlot', HistoryFactory> = {
  ours: (capacity, recent, retentionMs) => new CoarseHistory(capacity, recent, retentionMs),
  fixedSlot: (capacity, recent, retentionMs) => new FixedSlotHistory(capacity, recent, retentionMs, retentionMs / (capacity - 2)),
};

interface BandStats {
  probes: number;
  p50Error: number;
  p99Error: number;
  maxError: number;
  /** Largest error ÷ max(interval, 5 % of the delay): ≤ 1 meets the goal. */
  worstErrorToBound: number;
}

function bandStats(probes: DelayProbe[]): BandStats {
  const errors = probes.map((p) => p.error);
  return {
    probes: probes.length,
    p50Error: round(quantile(errors, 0.5)),
    p99Error: round(quantile(errors, 0.99)),
    maxError: round(max(errors)),
    worstErrorToBound: round(max(probes.map((p) => p.error / p.bound))),
  };
}

/** The delay-band rows of the accuracy workload, with their details. */
export function delayBandRows(options: WorkloadOptions): { rows: Row[]; details: Record<string, unknown>; met: boolean } {
  const probes = options.quick ? 4 : 24;
  const pooled: Record<string, DelayProbe[][]> = { ours: DELAY_BANDS.map(() => []), fixedSlot: DELAY_BANDS.map(() => []) };
  const perRun: Record<string, unknown> = {};
  for (const pattern of LEADER_PATTERNS) {
    for (const jitter of [false, true]) {
      const name = `${pattern}${jitter ? ', jittered' : ''}`;
      const entry: Record<string, unknown> = { description: `${PATTERN_DESCRIPTIONS[pattern]}; sampled every ${jitter ? '0.5–1.5' : '1'} s` };
      for (const [side, history] of Object.entries(SIDES)) {
        const run = probeDelayResolution({ pattern, intervalSeconds: 1, jitter, retentionSeconds: 3600, capacity: 256, history, probes });
        entry[side] = DELAY_BANDS.map((band, b) => {
          const inBand = run.probes.filter((p) => p.truth > band.min && p.truth <= band.max);
          pooled[side]![b]!.push(...inBand);
          return { band: band.name, ...bandStats(inBand) };
        });
        entry.maxIntervalSeconds = round(run.maxIntervalSeconds, 3);
      }
      perRun[name] = entry;
    }
  }
  const rows: Row[] = [];
  let met = true;
  DELAY_BANDS.forEach((band, b) => {
    const o = bandStats(pooled.ours![b]!);
    const f = bandStats(pooled.fixedSlot![b]!);
    const ok = o.worstErrorToBound <= 1;
    met &&= ok;
    rows.push(row({ metric: `p99 abs. delay error, delay ${band.name} (vs fixed-slot history)`, ours: o.p99Error, baseline: f.p99Error, unit: 's' }));
    rows.push(
      row({
        metric: `worst delay error ÷ max(interval, 5 % of delay), delay ${band.name}`,
        ours: o.worstErrorToBound,
        baseline: f.worstErrorToBound,
        unit: '×',
        goal: '≤ 1 at every delay',
        met: ok,
      }),
    );
    options.log(
      `delay band ${band.name}: ours p99 ${o.p99Error} s max ${o.maxError} s worst/bound ${o.worstErrorToBound}; fixed-slot p99 ${f.p99Error} s max ${f.maxError} s worst/bound ${f.worstErrorToBound} (${o.probes} probes)`,
    );
  });
  const bands = Object.fromEntries(DELAY_BANDS.map((band, b) => [band.name, { ours: bandStats(pooled.ours![b]!), fixedSlot: bandStats(pooled.fixedSlot![b]!) }]));
  return { rows, details: { delayBands: { method: 'bench/workloads/delay-bands.ts', pooled: bands, runs: perRun } }, met };
}
