/**
 * Child process (run with --expose-gc) that churns node ids through the instrumentation on a real MeterProvider
 * and prints one JSON line: series per instrument against live nodes at every collection, live nodes missing
 * their own series, overflow points, and the heap before and after. Used by test/instrumentation-churn.test.ts
 * and by the collection benchmark's churn row.
 *   node --expose-gc test/helpers/churn-child.ts --cycles N [--stable S] [--window W] [--collect-every K]
 * Each cycle registers a new id, updates it into `critical` (one alert) and unregisters the id registered
 * `window` cycles earlier, so `stable + window` nodes are live at every collection.
 */
import { parseArgs } from 'node:util';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { cardinalityLimitFor, ReplicationLagInstrumentation } from '../../src/instrumentation.ts';
import { collect, TestReader } from './in-memory-sdk.ts';

const { values } = parseArgs({
  options: {
    cycles: { type: 'string' },
    stable: { type: 'string', default: '10' },
    window: { type: 'string', default: '10' },
    'collect-every': { type: 'string', default: '100' },
    warmup: { type: 'string', default: '20000' },
  },
});
const cycles = Number(values.cycles);
const stable = Number(values.stable);
const window = Number(values.window);
const collectEvery = Number(values['collect-every']);
const warmup = Number(values.warmup);
const gc = (globalThis as { gc?: () => void }).gc;
if (!(cycles > 0) || !(stable >= 0) || !(window >= 1) || !(collectEvery >= 1) || !(warmup >= 0) || gc === undefined) {
  process.stderr.write('usage: node --expose-gc churn-child.ts --cycles N [--stable S] [--window W] [--collect-every K] [--warmup C]\n');
  process.exit(2);
}

const clock = { t: 1_000_000 };
// As startTelemetry: the cardinality limit follows maxNodes.
const maxNodes = 1000;
const limit = cardinalityLimitFor(maxNodes);
let instrumentation: ReplicationLagInstrumentation | undefined;
const reader = new TestReader({ cardinalityLimit: limit, isLive: (id) => instrumentation?.monitor.getStatus(id) !== undefined });
const meterProvider = new MeterProvider({ readers: [reader] });
instrumentation = new ReplicationLagInstrumentation({ now: () => clock.t, enabled: false, maxNodes, cardinalityLimit: limit });
instrumentation.setMeterProvider(meterProvider);
instrumentation.enable();
const monitor = instrumentation.monitor;
const attributes = { 'server.address': 'db.example', 'replication.system': 'postgresql' };
for (let i = 0; i < stable; i++) monitor.registerNode(`stable-${i}`, attributes);

const report = {
  collections: 0,
  /** Largest (series of one instrument) − 4 × (live nodes) seen, over all instruments and collections. */
  maxExcessOverFourPerLiveNode: -Infinity,
  maxSeriesPerInstrument: 0,
  maxLiveNodes: 0,
  /** Collections where a live node lacked its own `replication.severity` / `replication.lag` series. */
  missingLiveNode: 0,
  overflowPoints: 0,
  alertsExported: 0,
  heapBeforeBytes: 0,
  heapAfterBytes: 0,
  cycles,
  stable,
  window,
  collectEvery,
  durationMs: 0,
};

async function check(): Promise<void> {
  const live = new Set<string>();
  monitor.forEachStatus((s) => live.add(s.nodeId));
  const metrics = await collect(reader);
  report.collections++;
  report.maxLiveNodes = Math.max(report.maxLiveNodes, live.size);
  for (const metric of metrics.values()) {
    report.maxSeriesPerInstrument = Math.max(report.maxSeriesPerInstrument, metric.points.length);
    report.maxExcessOverFourPerLiveNode = Math.max(report.maxExcessOverFourPerLiveNode, metric.points.length - 4 * live.size);
    for (const p of metric.points) if (p.attributes['otel.metric.overflow'] === true) report.overflowPoints++;
    if (metric.name === 'replication.alerts') for (const p of metric.points) report.alertsExported = Math.max(report.alertsExported, p.value);
  }
  for (const name of ['replication.severity', 'replication.lag']) {
    const ids = new Set((metrics.get(name)?.points ?? []).map((p) => p.attributes['replication.node.id']));
    for (const id of live) {
      if (!ids.has(id)) {
        report.missingLiveNode++;
        break;
      }
    }
  }
}

function cycle(i: number): void {
  clock.t += 10;
  const id = `churn-${i}`;
  monitor.registerNode(id, attributes);
  monitor.updateLag(id, 1000, 400, 45); // critical: one alert, one replication.alerts series
  if (i >= window) monitor.unregisterNode(`churn-${i - window}`);
  if (i % 7 === 0) for (let s = 0; s < stable; s++) monitor.updateLag(`stable-${s}`, 1000 + i, 1000 + i - (i % 50), i % 3);
}

function heap(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

const started = performance.now();
let i = 0;
for (; i < warmup; i++) {
  cycle(i);
  if (i % collectEvery === collectEvery - 1) await check();
}
report.heapBeforeBytes = heap();
for (; i < warmup + cycles; i++) {
  cycle(i);
  if (i % collectEvery === collectEvery - 1) await check();
}
report.heapAfterBytes = heap();
report.durationMs = Math.round(performance.now() - started);
await meterProvider.shutdown();
instrumentation.disable();
process.stdout.write(`${JSON.stringify(report)}\n`);
