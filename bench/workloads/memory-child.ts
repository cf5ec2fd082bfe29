/**
 * Child process of the memory workload (run with --expose-gc): fills one monitor and prints, as one JSON line,
 * the memory it retains after GC: JS heap (`heapUsed`) plus ArrayBuffer backing stores (`arrayBuffers`). Usage:
 *   node --expose-gc bench/workloads/memory-child.ts --impl ours|baseline --nodes N --hz H --seconds S
 * Each node is updated H times per simulated second for S simulated seconds (fake clock), round-robin;
 * leader 1000 entries/s, follower about 2 s behind, delay estimated, prediction on.
 */
import { parseArgs } from 'node:util';
import { ReplicationLagMonitor } from '../../src/monitor.ts';
import { OriginalReplicationLagMonitor } from '../baseline/original-monitor.ts';
import { collectGarbage } from '../lib/stats.ts';

const { values } = parseArgs({
  options: {
    impl: { type: 'string' },
    nodes: { type: 'string' },
    hz: { type: 'string' },
    seconds: { type: 'string' },
  },
});
const impl = values.impl;
const nodes = Number(values.nodes);
const hz = Number(values.hz);
const seconds = Number(values.seconds);
if ((impl !== 'ours' && impl !== 'baseline') || !(nodes > 0) || !(hz > 0) || !(seconds > 0)) {
  process.stderr.write('usage: memory-child.ts --impl ours|baseline --nodes N --hz H --seconds S\n');
  process.exit(2);
}
if ((globalThis as { gc?: unknown }).gc === undefined) {
  process.stderr.write('memory-child.ts needs --expose-gc\n');
  process.exit(2);
}

const ids = Array.from({ length: nodes }, (_, i) => `replica-${i}`);
const clock = { t: 10_000_000 };
const now = () => clock.t;
const updates = Math.round(nodes * hz * seconds);
const step = 1000 / (nodes * hz);

/** JS heap plus ArrayBuffer backing stores (typed arrays keep their data outside the JS heap). */
function retained(): { heap: number; arrayBuffers: number } {
  const m = process.memoryUsage();
  return { heap: m.heapUsed, arrayBuffers: m.arrayBuffers };
}

collectGarbage();
const before = retained();
const started = performance.now();
const m: ReplicationLagMonitor | OriginalReplicationLagMonitor = impl === 'ours' ? new ReplicationLagMonitor({ now }) : new OriginalReplicationLagMonitor({ now });
for (const id of ids) m.registerNode(id);
for (let u = 0; u < updates; u++) {
  clock.t += step;
  const leader = Math.floor(clock.t);
  m.updateLag(ids[u % nodes]!, leader, leader - 2000 - (u % 7));
}
const keep = m;
const extra = {
  historySamplesPerNode: keep instanceof ReplicationLagMonitor ? keep.getStatus(ids[0]!)?.history.length : keep.getNodeState(ids[0]!)?.samples,
};
const fillMs = performance.now() - started;
collectGarbage();
const after = retained();
// Touch the monitor after measuring so that it is certainly alive at the measurement.
const alive = keep instanceof ReplicationLagMonitor ? keep.getStats().totalNodes : keep.getStatistics().totalNodes;
process.stdout.write(
  `${JSON.stringify({ impl, nodes, hz, seconds, updates, heapBytes: after.heap - before.heap,
    arrayBufferBytes: after.arrayBuffers - before.arrayBuffers,
    bytesPerNode: (after.heap - before.heap + after.arrayBuffers - before.arrayBuffers) / nodes, fillMs, alive, ...extra })}\n`,
);
