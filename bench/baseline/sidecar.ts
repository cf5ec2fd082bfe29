/**
 * REFERENCE ONLY — the baseline side of the sidecar workload: the original monitor fed by the same simulated
 * cluster source as `replag`, polled on the same interval, with no OpenTelemetry at all (the original had no
 * export path). Usage: node bench/baseline/sidecar.ts --nodes N --interval MS --duration S
 */
import { parseArgs } from 'node:util';
import { SimulatedClusterSource } from '../../src/sources/simulated.ts';
import { OriginalReplicationLagMonitor } from './original-monitor.ts';

const { values } = parseArgs({ options: { nodes: { type: 'string' }, interval: { type: 'string' }, duration: { type: 'string' } } });
const nodes = Number(values.nodes ?? 4);
const intervalMs = Number(values.interval ?? 1000);
const durationS = Number(values.duration ?? 10);
if (!(nodes > 0) || !(intervalMs > 0) || !(durationS > 0)) {
  process.stderr.write('usage: sidecar.ts --nodes N --interval MS --duration S\n');
  process.exit(2);
}

const source = new SimulatedClusterSource({ followers: nodes });
const monitor = new OriginalReplicationLagMonitor({ now: Date.now });
const known = new Set<string>();
let polls = 0;
let timer: NodeJS.Timeout | undefined;
let stopped = false;

function poll(): void {
  for (const r of source.read()) {
    if (!known.has(r.nodeId)) {
      monitor.registerNode(r.nodeId);
      known.add(r.nodeId);
    }
    monitor.updateLag(r.nodeId, Number(r.leaderSeq), Number(r.followerSeq), r.lagSeconds);
  }
  polls++;
  if (!stopped) timer = setTimeout(poll, intervalMs);
}

poll();
setTimeout(() => {
  stopped = true;
  if (timer !== undefined) clearTimeout(timer);
  const s = monitor.getStatistics();
  process.stderr.write(`baseline sidecar: ${polls} polls, ${s.totalNodes} nodes, ${s.warningNodes} warning, ${s.criticalNodes} critical, ${s.stalledNodes} stalled\n`);
}, durationS * 1000);
