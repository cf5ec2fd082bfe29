/**
 * Workload 3 — memory per node. Each side runs in its own child process (`--expose-gc`): N nodes each updated
 * H times per simulated second for one simulated hour on a fake clock, then the memory retained after GC
 * (JS heap + ArrayBuffer backing stores) divided by N. Run at 10 Hz and at 1 Hz to show whether memory
 * depends on the update rate.
 *
 * Ours runs 1,000 nodes. The baseline runs 100 nodes through its real `updateLag` (per-update statistics
 * rescan included): 1,000 nodes at 10 Hz would be 36M updates × a 1,000-node rescan, and ~3 GiB of samples.
 * Its memory is per node and independent of the number of nodes (each node keeps its own sample list), so the
 * per-node figure carries over.
 *
 * Then the per-node history alone (memory-history-child.ts), the multi-resolution one against the fixed-slot one
 * it replaced, 5,000 nodes each, same rates and duration.
 */
import { fileURLToPath } from 'node:url';
import { round } from '../lib/stats.ts';
import { lastJsonLine, runNode } from '../lib/child.ts';
import { row, type Row, type WorkloadOptions, type WorkloadResult } from '../lib/types.ts';

const CHILD = fileURLToPath(new URL('./memory-child.ts', import.meta.url));
const HISTORY_CHILD = fileURLToPath(new URL('./memory-history-child.ts', import.meta.url));
const GOAL_KIB = 16;
const GOAL_FACTOR = 100;

interface ChildReport {
  impl: string;
  nodes: number;
  hz: number;
  seconds: number;
  updates: number;
  heapBytes: number;
  arrayBufferBytes: number;
  bytesPerNode: number;
  fillMs: number;
  historySamplesPerNode: number | undefined;
}

interface HistoryChildReport {
  impl: string;
  nodes: number;
  hz: number;
  seconds: number;
  bytesPerNode: number;
  historySamplesPerNode: number;
}

async function measureHistory(impl: 'multi-resolution' | 'fixed-slot', nodes: number, hz: number, seconds: number, timeoutMs: number): Promise<HistoryChildReport> {
  const args = ['--expose-gc', HISTORY_CHILD, '--impl', impl, '--nodes', String(nodes), '--hz', String(hz), '--seconds', String(seconds)];
  return lastJsonLine<HistoryChildReport>(`memory history child (${impl}, ${hz} Hz)`, await runNode(args, { timeoutMs }));
}

async function measure(impl: 'ours' | 'baseline', nodes: number, hz: number, seconds: number, timeoutMs: number): Promise<ChildReport> {
  const args = ['--expose-gc', '--max-old-space-size=6144', CHILD, '--impl', impl, '--nodes', String(nodes), '--hz', String(hz), '--seconds', String(seconds)];
  return lastJsonLine<ChildReport>(`memory child (${impl}, ${hz} Hz)`, await runNode(args, { timeoutMs }));
}

export async function memory(options: WorkloadOptions): Promise<WorkloadResult> {
  const started = performance.now();
  // --quick: small, but large enough that GC noise (~100 KiB) stays far below the figures (a delta of heaps).
  const seconds = options.quick ? 300 : 3600;
  const oursNodes = options.quick ? 100 : 1000;
  const baselineNodes = 100;
  const timeoutMs = options.quick ? 60_000 : 900_000;
  const reports: Record<string, ChildReport> = {};
  for (const hz of [10, 1]) {
    for (const [impl, nodes] of [['ours', oursNodes], ['baseline', baselineNodes]] as const) {
      const r = await measure(impl, nodes, hz, seconds, timeoutMs);
      reports[`${impl}_${hz}hz`] = r;
      options.log(`memory ${impl} ${nodes} nodes at ${hz} Hz for ${seconds} s: ${(r.bytesPerNode / 1024).toFixed(1)} KiB/node (${r.updates} updates in ${(r.fillMs / 1000).toFixed(1)} s)`);
    }
  }
  const kib = (r: ChildReport) => r.bytesPerNode / 1024;
  const o10 = kib(reports.ours_10hz!);
  const b10 = kib(reports.baseline_10hz!);
  const o1 = kib(reports.ours_1hz!);
  const b1 = kib(reports.baseline_1hz!);
  const rateRatio = o10 / o1;
  const rows: Row[] = [
    row({
      metric: 'KiB/node, 10 Hz for 1 h',
      ours: round(o10),
      baseline: round(b10),
      unit: 'KiB',
      goal: `≤ ${GOAL_KIB} KiB and ≥ ${GOAL_FACTOR}× less (ratio ≤ ${1 / GOAL_FACTOR})`,
      met: o10 <= GOAL_KIB && b10 / o10 >= GOAL_FACTOR,
    }),
    row({ metric: 'KiB/node, 1 Hz for 1 h', ours: round(o1), baseline: round(b1), unit: 'KiB', goal: `≤ ${GOAL_KIB} KiB`, met: o1 <= GOAL_KIB }),
    row({
      metric: 'memory at 10 Hz ÷ memory at 1 Hz',
      ours: round(rateRatio),
      baseline: round(b10 / b1),
      unit: '×',
      goal: 'independent of the update rate (ours ≤ 1.1)',
      met: rateRatio <= 1.1,
    }),
  ];
  // This row's "ratio" column would compare two ratios: leave it out.
  delete rows[2]!.ratio;
  // The per-node history alone: the multi-resolution one against the fixed-slot one it replaced (issue 11: same or
  // smaller memory per node). 5,000 nodes so that GC noise (~10 KiB) stays below 2 bytes per node.
  const historyNodes = options.quick ? 200 : 5000;
  const histories: Record<string, HistoryChildReport> = {};
  for (const hz of [1, 10]) {
    for (const impl of ['multi-resolution', 'fixed-slot'] as const) {
      const r = await measureHistory(impl, historyNodes, hz, seconds, timeoutMs);
      histories[`${impl}_${hz}hz`] = r;
      options.log(`memory history ${impl} ${historyNodes} nodes at ${hz} Hz for ${seconds} s: ${r.bytesPerNode.toFixed(0)} bytes/node, ${r.historySamplesPerNode} samples listed`);
    }
    const m = histories[`multi-resolution_${hz}hz`]!.bytesPerNode;
    const f = histories[`fixed-slot_${hz}hz`]!.bytesPerNode;
    rows.push(
      row({
        metric: `history bytes/node, ${hz} Hz for ${seconds === 3600 ? '1 h' : `${seconds} s`} (multi-resolution vs fixed-slot)`,
        ours: round(m),
        baseline: round(f),
        unit: 'B',
        goal: '≤ the fixed-slot history (ratio ≤ 1)',
        met: m <= f,
      }),
    );
  }
  const met = rows.every((r) => r.met !== false);
  return {
    name: 'memory',
    title: 'Memory per node',
    goal: `≤ ${GOAL_KIB} KiB per node and ≥ ${GOAL_FACTOR}× less than the baseline, independent of the update rate`,
    met,
    rows,
    details: {
      simulatedSeconds: seconds,
      nodes: { ours: oursNodes, baseline: baselineNodes },
      factorAt10Hz: round(b10 / o10),
      factorAt1Hz: round(b1 / o1),
      bytesPerBaselineSample: round(reports.baseline_10hz!.bytesPerNode / (reports.baseline_10hz!.historySamplesPerNode ?? Number.NaN)),
      children: reports,
      histories: { nodes: historyNodes, method: 'bench/workloads/memory-history-child.ts', children: histories },
    },
    durationSeconds: round((performance.now() - started) / 1000, 3),
  };
}
