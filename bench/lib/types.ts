/** The shape of `bench/results.json` and of what each workload returns. */
import type { MachineInfo } from './stats.ts';

/** Options every workload receives. */
export interface WorkloadOptions {
  /** Tiny sizes, a few seconds in all: the smoke test's mode. Figures are then meaningless. */
  quick: boolean;
  /** Progress lines go here (stderr), never to stdout. */
  log: (line: string) => void;
}

/** One row of the printed table. */
export interface Row {
  /** What was measured, e.g. `ns/update, 10 nodes`. */
  metric: string;
  ours: number;
  /** The baseline (or floor) measured in the same run; undefined where there is none. */
  baseline?: number;
  /** ours / baseline, when there is a baseline. */
  ratio?: number;
  unit: string;
  /** The goal in words, e.g. `≥ 3× faster`. */
  goal?: string;
  /** Whether this row meets its goal; undefined for an informational row. */
  met?: boolean;
}

/** What a workload returns. */
export interface WorkloadResult {
  name: string;
  title: string;
  /** Every goal of the workload met (rows with a goal). */
  met: boolean;
  goal: string;
  rows: Row[];
  /** Workload-specific figures (sizes, runs, raw samples summary). */
  details: Record<string, unknown>;
  durationSeconds: number;
  /** When this workload was measured (set by run.ts; differs from `Results.date` after an --only run). */
  measuredAt?: string;
}

export interface Results {
  date: string;
  quick: boolean;
  machine: MachineInfo;
  command: string;
  workloads: WorkloadResult[];
  allGoalsMet: boolean;
}

/** Builds a row, computing the ratio and rounding. */
export function row(r: Row): Row {
  const out: Row = { ...r };
  if (r.baseline !== undefined && r.ratio === undefined) out.ratio = r.baseline === 0 ? undefined : r.ours / r.baseline;
  if (out.ratio !== undefined && Number.isFinite(out.ratio) && out.ratio !== 0) out.ratio = Number(out.ratio.toPrecision(4));
  return out;
}
