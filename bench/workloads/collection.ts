/**
 * Workload 2 — collection cost. 10,000 nodes exported through the real SDK MeterProvider and a pull reader:
 * the time of one `reader.collect()` with our instrumentation, against a floor: a bare batch observable
 * callback on the same five gauges observing the very same data points (values and attribute objects
 * precomputed once, copied from one of our collections). The difference is what the instrumentation adds on
 * top of what the SDK costs anyway. Median over runs, ours and the floor interleaved.
 *
 * Scale rows: the same measurement at several node counts, as time per node (the event loop is blocked for the
 * whole collection: this is what the default maxNodes is chosen from), and churn memory: the heap after
 * register/update/unregister cycles against the heap before them, in a child process with --expose-gc
 * (test/helpers/churn-child.ts, the churn test's child).
 */
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Attributes, BatchObservableResult, ObservableGauge } from '@opentelemetry/api';
import { MeterProvider, type DataPoint } from '@opentelemetry/sdk-metrics';
import { cardinalityLimitFor, ReplicationLagInstrumentation } from '../../src/instrumentation.ts';
import { BenchReader } from '../lib/reader.ts';
import { median, round } from '../lib/stats.ts';
import { row, type WorkloadOptions, type WorkloadResult } from '../lib/types.ts';

const GOAL_RATIO = 1.5;
/**
 * Nodes of the drop-in instrumentation (the user's SDK records every point into instruments) whose collection stays
 * ≤ 250 ms: the maxNodes to set there. The default maxNodes is sized for startTelemetry's cheaper path (collection-path).
 */
const DROP_IN_NODES = 2_500;

async function collectOnce(reader: BenchReader): Promise<{ ms: number; cpuMs: number; points: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const { resourceMetrics, errors } = await reader.collect();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  if (errors.length > 0) throw new AggregateError(errors, 'collection errors');
  let points = 0;
  for (const scope of resourceMetrics.scopeMetrics) for (const m of scope.metrics) points += m.dataPoints.length;
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, points };
}

interface Measured {
  nodes: number;
  oursMs: number[];
  /** CPU time of the process (all threads) during each of our collections: the wall time on an idle core. */
  oursCpuMs: number[];
  floorMs: number[];
  oursPoints: number;
  floorPoints: number;
}

/** Ours and the floor at `nodes` nodes: `runs` collections each, interleaved, after `warmups`. */
async function measureAt(nodes: number, warmups: number, runs: number): Promise<Measured> {
  // Ours: the instrumentation on its own MeterProvider, fed through its monitor.
  const clock = { t: 1_000_000 };
  const oursReader = new BenchReader();
  const oursProvider = new MeterProvider({ readers: [oursReader] });
  const instrumentation = new ReplicationLagInstrumentation({ now: () => clock.t, enabled: false, maxNodes: nodes, cardinalityLimit: cardinalityLimitFor(nodes) });
  instrumentation.setMeterProvider(oursProvider);
  instrumentation.enable();
  const monitor = instrumentation.monitor;
  for (let i = 0; i < nodes; i++) monitor.registerNode(`replica-${i}`, { 'server.address': `db-${i}.example`, 'replication.system': 'postgresql' });
  for (let round_ = 0; round_ < 6; round_++) {
    for (let i = 0; i < nodes; i++) {
      clock.t += 1000 / nodes;
      const leader = Math.floor(clock.t);
      monitor.updateLag(`replica-${i}`, leader, leader - ((i * 37) % 5000));
    }
  }

  // The floor: the same gauges on another MeterProvider, one batch callback replaying precomputed points.
  const reference = await oursReader.collect();
  const floorReader = new BenchReader();
  const floorProvider = new MeterProvider({ readers: [floorReader] });
  const meter = floorProvider.getMeter('floor');
  const gauges = new Map<string, ObservableGauge>();
  const replay: { gauge: ObservableGauge; value: number; attributes: Attributes }[] = [];
  for (const scope of reference.resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      const name = metric.descriptor.name;
      let gauge = gauges.get(name);
      if (gauge === undefined) {
        gauge = meter.createObservableGauge(name, { unit: metric.descriptor.unit, description: metric.descriptor.description, valueType: metric.descriptor.valueType });
        gauges.set(name, gauge);
      }
      for (const p of metric.dataPoints as DataPoint<number>[]) replay.push({ gauge, value: p.value, attributes: { ...p.attributes } });
    }
  }
  // Same order as ours (node by node) so both touch the SDK's attribute hash maps alike.
  replay.sort((a, b) => String(a.attributes['replication.node.id']).localeCompare(String(b.attributes['replication.node.id'])));
  meter.addBatchObservableCallback(
    (result: BatchObservableResult) => {
      for (let i = 0; i < replay.length; i++) {
        const r = replay[i]!;
        result.observe(r.gauge, r.value, r.attributes);
      }
    },
    [...gauges.values()],
  );

  const oursMs: number[] = [];
  const oursCpuMs: number[] = [];
  const floorMs: number[] = [];
  let oursPoints = 0;
  let floorPoints = 0;
  for (let r = 0; r < warmups + runs; r++) {
    const o = await collectOnce(oursReader);
    const f = await collectOnce(floorReader);
    oursPoints = o.points;
    floorPoints = f.points;
    if (r >= warmups) {
      oursMs.push(o.ms);
      oursCpuMs.push(o.cpuMs);
      floorMs.push(f.ms);
    }
  }
  await Promise.all([oursProvider.shutdown(), floorProvider.shutdown()]);
  instrumentation.disable();
  if (oursPoints !== floorPoints) throw new Error(`collection: ours exported ${oursPoints} points, the floor ${floorPoints}`);
  return { nodes, oursMs, oursCpuMs, floorMs, oursPoints, floorPoints };
}

interface ChurnReport {
  heapBeforeBytes: number;
  heapAfterBytes: number;
  maxSeriesPerInstrument: number;
  maxLiveNodes: number;
  durationMs: number;
}

const CHURN_CHILD = fileURLToPath(new URL('../../test/helpers/churn-child.ts', import.meta.url));

/** `cycles` register/update/unregister cycles (20 live nodes, a collection every 1000) in a child with --expose-gc. */
async function churn(cycles: number): Promise<ChurnReport> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', CHURN_CHILD, '--cycles', String(cycles), '--collect-every', '1000'], {
    timeout: 900_000,
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ChurnReport;
}

export async function collection(options: WorkloadOptions): Promise<WorkloadResult> {
  const started = performance.now();
  const nodes = options.quick ? 500 : 10_000;
  const warmups = options.quick ? 1 : 3;
  const runs = options.quick ? 3 : 11;
  const { oursMs, floorMs, oursPoints, floorPoints } = await measureAt(nodes, warmups, runs);

  // Time per node at several node counts (the default maxNodes is chosen so one collection stays ≤ ~250 ms).
  const scale: { nodes: number; ours: number; oursCpu: number; floor: number }[] = [];
  const sizes = options.quick ? [50, 200] : [...new Set([1_000, DROP_IN_NODES, 5_000, 20_000])].sort((a, b) => a - b);
  for (const n of sizes) {
    const m = await measureAt(n, options.quick ? 1 : 2, options.quick ? 3 : n > 10_000 ? 5 : 9);
    scale.push({ nodes: n, ours: median(m.oursMs), oursCpu: median(m.oursCpuMs), floor: median(m.floorMs) });
    options.log(`collection ${n} nodes: ours ${scale.at(-1)!.ours.toFixed(1)} ms (CPU ${scale.at(-1)!.oursCpu.toFixed(1)} ms), floor ${scale.at(-1)!.floor.toFixed(1)} ms`);
  }
  const cycles = options.quick ? 5_000 : 1_000_000;
  const c = await churn(cycles);
  options.log(`churn ${cycles} cycles: heap ${(c.heapBeforeBytes / 1048576).toFixed(1)} → ${(c.heapAfterBytes / 1048576).toFixed(1)} MiB`);

  const o = median(oursMs);
  const f = median(floorMs);
  const ratio = o / f;
  options.log(`collection ${nodes} nodes (${oursPoints} points): ours ${o.toFixed(1)} ms, floor ${f.toFixed(1)} ms, ratio ${ratio.toFixed(2)}`);
  return {
    name: 'collection',
    title: 'Collection cost',
    goal: `≤ ${GOAL_RATIO}× the floor (a bare batch callback observing the same precomputed points)`,
    met: ratio <= GOAL_RATIO,
    rows: [
      row({
        metric: `ms per collect(), ${nodes.toLocaleString('en-US')} nodes`,
        ours: round(o),
        baseline: round(f),
        ratio: round(ratio),
        unit: 'ms',
        goal: `≤ ${GOAL_RATIO}× the floor`,
        met: ratio <= GOAL_RATIO,
      }),
      row({ metric: `µs per exported point`, ours: round((o * 1000) / oursPoints), baseline: round((f * 1000) / floorPoints), unit: 'µs' }),
      ...scale.map((x) =>
        row({
          metric: `µs per node per collect(), ${x.nodes.toLocaleString('en-US')} nodes (wall ${round(x.ours, 3)} ms, CPU ${round(x.oursCpu, 3)} ms)`,
          ours: round((x.ours * 1000) / x.nodes),
          baseline: round((x.floor * 1000) / x.nodes),
          unit: 'µs',
        }),
      ),
      ...scale
        .filter((x) => x.nodes === DROP_IN_NODES)
        .flatMap((x) => [
          row({ metric: `ms per collect() of the drop-in instrumentation at ${x.nodes.toLocaleString('en-US')} nodes, wall`, ours: round(x.ours, 3), baseline: round(x.floor, 3), unit: 'ms' }),
          row({
            metric: `CPU ms per collect() of the drop-in instrumentation at ${x.nodes.toLocaleString('en-US')} nodes: the event-loop block on an idle core`,
            ours: round(x.oursCpu, 3),
            unit: 'ms',
            goal: '≤ 250 ms',
            met: x.oursCpu <= 250,
          }),
        ]),
      row({
        metric: `heap after ${cycles.toLocaleString('en-US')} churn cycles (20 live nodes) vs before them`,
        ours: round(c.heapAfterBytes / 1048576, 3),
        baseline: round(c.heapBeforeBytes / 1048576, 3),
        unit: 'MiB',
        goal: '≈ baseline (no growth per id)',
        met: c.heapAfterBytes - c.heapBeforeBytes < 8 * 1048576,
      }),
    ],
    details: {
      nodes,
      pointsPerCollection: oursPoints,
      runs,
      warmups,
      oursMsPerRun: oursMs.map((v) => round(v)),
      floorMsPerRun: floorMs.map((v) => round(v)),
      temporality: 'delta gauges (as the package exports them over OTLP)',
      scale: scale.map((x) => ({ nodes: x.nodes, oursMs: round(x.ours, 3), oursCpuMs: round(x.oursCpu, 3), floorMs: round(x.floor, 3) })),
      loadAverage: loadavg().map((v) => round(v, 3)),
      churn: { cycles, ...c },
    },
    durationSeconds: round((performance.now() - started) / 1000, 3),
  };
}
