/**
 * Workload 2 — collection cost. 10,000 nodes exported through the real SDK MeterProvider and a pull reader:
 * the time of one `reader.collect()` with our instrumentation, against a floor: a bare batch observable
 * callback on the same five gauges observing the very same data points (values and attribute objects
 * precomputed once, copied from one of our collections). The difference is what the instrumentation adds on
 * top of what the SDK costs anyway. Median over runs, ours and the floor interleaved.
 */
import type { Attributes, BatchObservableResult, ObservableGauge } from '@opentelemetry/api';
import { MeterProvider, type DataPoint } from '@opentelemetry/sdk-metrics';
import { ReplicationLagInstrumentation } from '../../src/instrumentation.ts';
import { BenchReader } from '../lib/reader.ts';
import { median, round } from '../lib/stats.ts';
import { row, type WorkloadOptions, type WorkloadResult } from '../lib/types.ts';

const GOAL_RATIO = 1.5;

async function collectOnce(reader: BenchReader): Promise<{ ms: number; points: number }> {
  const t0 = performance.now();
  const { resourceMetrics, errors } = await reader.collect();
  const ms = performance.now() - t0;
  if (errors.length > 0) throw new AggregateError(errors, 'collection errors');
  let points = 0;
  for (const scope of resourceMetrics.scopeMetrics) for (const m of scope.metrics) points += m.dataPoints.length;
  return { ms, points };
}

export async function collection(options: WorkloadOptions): Promise<WorkloadResult> {
  const started = performance.now();
  const nodes = options.quick ? 500 : 10_000;
  const warmups = options.quick ? 1 : 3;
  const runs = options.quick ? 3 : 11;

  // Ours: the instrumentation on its own MeterProvider, fed through its monitor.
  const clock = { t: 1_000_000 };
  const oursReader = new BenchReader();
  const oursProvider = new MeterProvider({ readers: [oursReader] });
  const instrumentation = new ReplicationLagInstrumentation({ now: () => clock.t, enabled: false });
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
      floorMs.push(f.ms);
    }
  }
  await Promise.all([oursProvider.shutdown(), floorProvider.shutdown()]);
  instrumentation.disable();
  if (oursPoints !== floorPoints) throw new Error(`collection: ours exported ${oursPoints} points, the floor ${floorPoints}`);

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
    ],
    details: {
      nodes,
      pointsPerCollection: oursPoints,
      runs,
      warmups,
      oursMsPerRun: oursMs.map((v) => round(v)),
      floorMsPerRun: floorMs.map((v) => round(v)),
      temporality: 'delta gauges (as the package exports them over OTLP)',
    },
    durationSeconds: round((performance.now() - started) / 1000, 3),
  };
}
