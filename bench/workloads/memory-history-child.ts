/**
 * Child process of the memory workload (run with --expose-gc): the per-node history alone, the multi-resolution
 * one (`src/history.ts`) or the fixed-slot one it replaced (`bench/baseline/fixed-slot-history.ts`). Builds N
 * node histories as NodeState does — the raw ring of RECENT_SAMPLES plus the retention-spanning history with the
 * default capacity (256) and retention (3600 s) — feeds each H samples per simulated second for S seconds
 * (advance, then push; leader 1000 entries/s) and prints, as one JSON line, the memory retained after GC
 * (JS heap + ArrayBuffer backing stores) per node. Usage:
 *   node --expose-gc bench/workloads/memory-history-child.ts --impl multi-resolution|fixed-slot --nodes N --hz H --seconds S
 */
import { parseArgs } from 'node:util';
import { CoarseHistory, SampleRing } from '../../src/history.ts';
import { RECENT_SAMPLES } from '../../src/node-state.ts';
import { FixedSlotHistory } from '../baseline/fixed-slot-history.ts';
import { collectGarbage } from '../lib/stats.ts';

const { values } = parseArgs({ options: { impl: { type: 'string' }, nodes: { type: 'string' }, hz: { type: 'string' }, seconds: { type: 'string' } } });
const impl = values.impl;
const nodes = Number(values.nodes);
const hz = Number(values.hz);
const seconds = Number(values.seconds);
if ((impl !== 'multi-resolution' && impl !== 'fixed-slot') || !(nodes > 0) || !(hz > 0) || !(seconds > 0)) {
  process.stderr.write('usage: memory-history-child.ts --impl multi-resolution|fixed-slot --nodes N --hz H --seconds S\n');
  process.exit(2);
}
if ((globalThis as { gc?: unknown }).gc === undefined) {
  process.stderr.write('memory-history-child.ts needs --expose-gc\n');
  process.exit(2);
}

const CAPACITY = 256;
const RETENTION_MS = 3_600_000;

function retained(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

interface Node {
  recent: SampleRing;
  history: CoarseHistory | FixedSlotHistory;
}

collectGarbage();
const before = retained();
const all: Node[] = [];
for (let n = 0; n < nodes; n++) {
  const recent = new SampleRing(RECENT_SAMPLES);
  const history = impl === 'multi-resolution' ? new CoarseHistory(CAPACITY, recent, RETENTION_MS) : new FixedSlotHistory(CAPACITY, recent, RETENTION_MS, RETENTION_MS / (CAPACITY - 2));
  all.push({ recent, history });
}
const steps = Math.round(hz * seconds);
let samples = 0;
for (let s = 0; s < steps; s++) {
  const now = 10_000_000 + (s * 1000) / hz;
  const leader = Math.floor(now);
  for (const node of all) {
    node.history.advance(now);
    node.recent.push(now, leader, leader - 2000, 2);
  }
}
samples = all[0]!.history.size;
collectGarbage();
const after = retained();
process.stdout.write(`${JSON.stringify({ impl, nodes, hz, seconds, bytesPerNode: (after - before) / nodes, historySamplesPerNode: samples, alive: all.length })}\n`);
