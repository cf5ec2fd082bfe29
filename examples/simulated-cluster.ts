// A leader and four followers (healthy, slow, badly lagging, frozen) fed into a monitor once a second,
// printing each node's lag, delay, apply rate, forecast and severity, and alerts as they happen.
// Run: npm run example:simulated    (Ctrl-C to stop; SIM_SECONDS=30 to stop by itself)
import { ReplicationLagMonitor } from '../src/index.ts';
import { SimulatedClusterSource } from '../src/sources/simulated.ts';

const monitor = new ReplicationLagMonitor({ alertCooldownSeconds: 10 });
const cluster = new SimulatedClusterSource({ followers: 4, leaderRate: 500 });
monitor.onAlert((alert) => console.log(`ALERT ${alert.severity.toUpperCase().padEnd(8)} ${alert.message}`));

const fmt = (n: number | undefined, digits = 1) => (n === undefined ? '-' : n.toFixed(digits));
const stopAfter = Number(process.env.SIM_SECONDS ?? 0);
const started = Date.now();

const timer = setInterval(() => {
  for (const r of cluster.read()) {
    if (monitor.getStatus(r.nodeId) === undefined && r.attributes) monitor.registerNode(r.nodeId, r.attributes);
    monitor.updateLag(r.nodeId, r.leaderSeq, r.followerSeq);
  }
  const line = [...monitor.getAllStatuses().values()]
    .map((s) => `${s.nodeId} lag=${s.lagEntries} delay=${fmt(s.lagSeconds)}s rate=${fmt(s.replicationRate, 0)}/s pred=${fmt(s.predictedLagSeconds)}s ${s.severity}`)
    .join(' | ');
  console.log(line);
  if (stopAfter > 0 && Date.now() - started >= stopAfter * 1000) {
    clearInterval(timer);
    console.log(JSON.stringify(monitor.getStats()));
  }
}, 1000);
