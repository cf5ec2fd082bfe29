/**
 * Workload — collection path of `startTelemetry` / `replag`: the per-node points produced straight from the monitor's
 * statuses through a MetricProducer (`nodePoints: 'producer'`, the default) against the current SDK-instrument path
 * (`nodePoints: 'instruments'`: the instrumentation records ~11 points per node into SDK instruments at each
 * collection), side by side in the same run, at 2,500 / 10,000 / 50,000 nodes (and the default maxNodes):
 *
 * - CPU per node to produce one collection's data (monitor statuses → metric data, before any encoding):
 *   `reader.collect()` on a MeterProvider, each path with its own reader, interleaved;
 * - the event-loop block of a whole Prometheus scrape (curl in a child process scrapes the real endpoint) and of a
 *   whole OTLP/HTTP protobuf export (to a sink in a child process that reads the body and answers 200): the longest
 *   delay of a 1 ms timer (perf_hooks.monitorEventLoopDelay) while it runs;
 * - the encoding alone: the Prometheus text serializer and the OTLP protobuf serializer on one collection's data,
 *   with bytes per node, to say whether a leaner encoding is worth it.
 * The default maxNodes is chosen from the scrape and export rows: the largest round count whose whole scrape and
 * whole export stay ≤ 250 ms here.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { createServer } from 'node:net';
import { MeterProvider, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { cardinalityLimitFor, ReplicationLagInstrumentation } from '../../src/instrumentation.ts';
import type { ReplicationLagMonitor } from '../../src/monitor.ts';
import { startTelemetry } from '../../src/sdk/index.ts';
import { NodePoints } from '../../src/sdk/node-metric-producer.ts';
import { StandardNamePrometheusExporter } from '../../src/sdk/prometheus.ts';
import { BenchReader } from '../lib/reader.ts';
import { median, round } from '../lib/stats.ts';
import { row, type Row, type WorkloadOptions, type WorkloadResult } from '../lib/types.ts';

type Path = 'producer' | 'instruments';
const PATHS: readonly Path[] = ['instruments', 'producer'];
const CPU_GOAL = 0.2;
const BLOCK_GOAL = 0.5;
const BLOCK_BOUND_MS = 250;

/** `nodes` nodes with six rounds of updates (forecasts, rates and catch-up times set), as the collection workload. */
function fill(monitor: ReplicationLagMonitor, clock: { t: number }, nodes: number): void {
  for (let i = 0; i < nodes; i++) monitor.registerNode(`replica-${i}`, { 'server.address': `db-${i}.example`, 'replication.system': 'postgresql' });
  for (let r = 0; r < 6; r++) {
    for (let i = 0; i < nodes; i++) {
      clock.t += 1000 / nodes;
      const leader = Math.floor(clock.t);
      monitor.updateLag(`replica-${i}`, leader, leader - ((i * 37) % 5000));
    }
  }
}

const cpuMs = (from: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(from);
  return (c.user + c.system) / 1000;
};

/** A pull reader per path over the same kind of monitor state. */
async function dataReaders(nodes: number): Promise<Record<Path, { reader: BenchReader; close: () => Promise<void> }>> {
  const out = {} as Record<Path, { reader: BenchReader; close: () => Promise<void> }>;
  for (const path of PATHS) {
    const clock = { t: 1_000_000 };
    const limit = cardinalityLimitFor(nodes);
    const instrumentation = new ReplicationLagInstrumentation({ now: () => clock.t, enabled: false, maxNodes: nodes, cardinalityLimit: limit, nodePointsProducedElsewhere: path === 'producer' });
    const points = path === 'producer' ? new NodePoints(instrumentation.monitor) : undefined;
    const reader = new BenchReader(limit);
    if (points !== undefined) {
      const producer = points.producer({ temporality: (type) => reader.selectAggregationTemporality(type), cardinalityLimit: limit });
      (reader as unknown as { _metricProducers: unknown[] })._metricProducers = [producer];
    }
    const provider = new MeterProvider({ readers: [reader] });
    instrumentation.setMeterProvider(provider);
    instrumentation.enable();
    fill(instrumentation.monitor, clock, nodes);
    out[path] = {
      reader,
      close: async () => {
        await provider.shutdown();
        instrumentation.disable();
        points?.close();
      },
    };
  }
  return out;
}

/** A TCP port below 32768 that is free now. */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 22_000 + Math.floor(Math.random() * 1000);
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port in 22000–22999');
}

/** An OTLP sink in a child process: reads each request and answers 200 with an empty body. */
async function startSink(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['-e', `require('http').createServer((q,s)=>{q.resume();q.on('end',()=>s.end())}).listen(${port},'127.0.0.1',()=>console.log('ready'))`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('OTLP sink did not start')), 10_000);
    child.stdout!.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

/** The longest event-loop block while `op` runs, and its wall time. */
async function blockOf(op: () => Promise<void>): Promise<{ blockMs: number; wallMs: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  // The histogram's first tick only sets its baseline: let it tick before the operation starts.
  await new Promise((r) => setTimeout(r, 10));
  const t0 = performance.now();
  await op();
  const wallMs = performance.now() - t0;
  // One more turn so that a block at the very end is sampled.
  await new Promise((r) => setTimeout(r, 5));
  h.disable();
  return { blockMs: h.max / 1e6, wallMs };
}

interface Block {
  scrapeMs: number[];
  scrapeWallMs: number[];
  exportMs: number[];
  exportWallMs: number[];
  scrapeBytes: number;
}

/** Whole scrapes and whole OTLP exports of a startTelemetry pipeline on `path` with `nodes` nodes. */
async function pipelineBlocks(path: Path, nodes: number, runs: number, sinkUrl: string): Promise<Block> {
  const clock = { t: 1_000_000 };
  const port = await freePort();
  const t = await startTelemetry({
    nodePoints: path,
    otlp: { endpoint: sinkUrl, timeoutMillis: 60_000 },
    prometheus: { port, host: '127.0.0.1' },
    metricExportIntervalMillis: 3_600_000,
    instrumentation: { now: () => clock.t, maxNodes: nodes },
  });
  const out: Block = { scrapeMs: [], scrapeWallMs: [], exportMs: [], exportWallMs: [], scrapeBytes: 0 };
  try {
    fill(t.monitor, clock, nodes);
    for (let r = 0; r < runs + 1; r++) {
      let bytes = 0;
      const s = await blockOf(async () => {
        const { stdout } = await promisify(execFile)('curl', ['-sS', '--max-time', '120', t.prometheusUrl!], { maxBuffer: 1 << 30 });
        bytes = stdout.length;
      });
      const e = await blockOf(() => t.forceFlush());
      if (r === 0) continue; // warm-up
      out.scrapeBytes = bytes;
      out.scrapeMs.push(s.blockMs);
      out.scrapeWallMs.push(s.wallMs);
      out.exportMs.push(e.blockMs);
      out.exportWallMs.push(e.wallMs);
    }
  } finally {
    await t.shutdown({ timeoutMillis: 60_000 });
  }
  return out;
}

interface SizeResult {
  nodes: number;
  cpuUsPerNode: Record<Path, number>;
  block: Record<Path, Block>;
  encoding: { prometheusMs: number; leanMs: number; prometheusBytes: number; protobufMs: number; protobufBytes: number };
}

async function measureSize(nodes: number, options: WorkloadOptions, sinkUrl: string): Promise<SizeResult> {
  const runs = options.quick ? 2 : nodes >= 50_000 ? 2 : nodes >= 10_000 ? 3 : 5;
  // Data production: interleaved collections of both paths, CPU per collection.
  const readers = await dataReaders(nodes);
  const cpu: Record<Path, number[]> = { producer: [], instruments: [] };
  let sample: ResourceMetrics | undefined;
  try {
    for (let r = 0; r < runs + 1; r++) {
      for (const path of PATHS) {
        const c0 = process.cpuUsage();
        const { resourceMetrics, errors } = await readers[path].reader.collect();
        const ms = cpuMs(c0);
        if (errors.length > 0) throw new AggregateError(errors, 'collection errors');
        if (r > 0) cpu[path].push(ms);
        if (path === 'producer') sample = resourceMetrics;
      }
    }
  } finally {
    for (const path of PATHS) await readers[path].close();
  }
  // Encoding alone, on the producer path's data (the same points as the other path's, see the golden test).
  const prometheus = new PrometheusSerializer();
  const lean = (new StandardNamePrometheusExporter({ cardinalityLimit: 2, port: 1, host: '127.0.0.1' }) as unknown as { _serializer: PrometheusSerializer })._serializer;
  const encode: { prometheusMs: number[]; leanMs: number[]; protobufMs: number[] } = { prometheusMs: [], leanMs: [], protobufMs: [] };
  lean.serialize(sample!); // the first serialization builds the label text of each attribute object
  let prometheusBytes = 0;
  let protobufBytes = 0;
  for (let r = 0; r < runs; r++) {
    let c0 = process.cpuUsage();
    prometheusBytes = prometheus.serialize(sample!).length;
    encode.prometheusMs.push(cpuMs(c0));
    c0 = process.cpuUsage();
    lean.serialize(sample!);
    encode.leanMs.push(cpuMs(c0));
    c0 = process.cpuUsage();
    protobufBytes = ProtobufMetricsSerializer.serializeRequest(sample!)?.length ?? 0;
    encode.protobufMs.push(cpuMs(c0));
  }
  const block = {} as Record<Path, Block>;
  for (const path of PATHS) block[path] = await pipelineBlocks(path, nodes, runs, sinkUrl);
  const result: SizeResult = {
    nodes,
    cpuUsPerNode: { producer: (median(cpu.producer) * 1000) / nodes, instruments: (median(cpu.instruments) * 1000) / nodes },
    block,
    encoding: { prometheusMs: median(encode.prometheusMs), leanMs: median(encode.leanMs), prometheusBytes, protobufMs: median(encode.protobufMs), protobufBytes },
  };
  options.log(
    `collection-path ${nodes} nodes: CPU/node ${round(result.cpuUsPerNode.producer)} vs ${round(result.cpuUsPerNode.instruments)} µs; ` +
      `scrape block ${round(median(block.producer.scrapeMs))} vs ${round(median(block.instruments.scrapeMs))} ms; ` +
      `export block ${round(median(block.producer.exportMs))} vs ${round(median(block.instruments.exportMs))} ms; ` +
      `encode prom ${round(result.encoding.prometheusMs)} ms (lean ${round(result.encoding.leanMs)} ms) / ${result.encoding.prometheusBytes} B, protobuf ${round(result.encoding.protobufMs)} ms / ${result.encoding.protobufBytes} B`,
  );
  return result;
}

export async function collectionPath(options: WorkloadOptions): Promise<WorkloadResult> {
  const started = performance.now();
  const sizes = options.quick ? [50, 200] : [...new Set([2_500, DEFAULT_CONFIG.maxNodes, 7_500, 10_000, 50_000])].sort((a, b) => a - b);
  const sink = await startSink();
  const results: SizeResult[] = [];
  try {
    for (const n of sizes) results.push(await measureSize(n, options, sink.url));
  } finally {
    sink.child.kill();
  }
  const rows: Row[] = [];
  const at2500 = results.find((r) => r.nodes === 2_500) ?? results[0]!;
  for (const r of results) {
    const n = r.nodes.toLocaleString('en-US');
    const cpuRatio = r.cpuUsPerNode.producer / r.cpuUsPerNode.instruments;
    rows.push(
      row({
        metric: `CPU µs per node to produce one collection's data, ${n} nodes (producer vs SDK instruments)`,
        ours: round(r.cpuUsPerNode.producer),
        baseline: round(r.cpuUsPerNode.instruments),
        unit: 'µs',
        goal: `≤ ${CPU_GOAL}×`,
        met: cpuRatio <= CPU_GOAL,
      }),
    );
    const gated = r === at2500;
    for (const [what, key, wall] of [
      ['Prometheus scrape', 'scrapeMs', 'scrapeWallMs'],
      ['OTLP export', 'exportMs', 'exportWallMs'],
    ] as const) {
      const ours = median(r.block.producer[key]);
      const base = median(r.block.instruments[key]);
      rows.push(
        row({
          metric: `event-loop block of a whole ${what}, ${n} nodes, median (best ${round(Math.min(...r.block.producer[key]))} vs ${round(Math.min(...r.block.instruments[key]))} ms; wall ${round(median(r.block.producer[wall]))} vs ${round(median(r.block.instruments[wall]))} ms)`,
          ours: round(ours),
          baseline: round(base),
          unit: 'ms',
          ...(gated ? { goal: `≤ ${BLOCK_GOAL}×`, met: ours / base <= BLOCK_GOAL } : {}),
        }),
      );
    }
    rows.push(
      row({
        metric: `Prometheus text encoding CPU of one collection, ${n} nodes (${round(r.encoding.prometheusBytes / r.nodes)} B/node): lean (label text kept) vs the SDK serializer`,
        ours: round(r.encoding.leanMs),
        baseline: round(r.encoding.prometheusMs),
        unit: 'ms',
      }),
      row({
        metric: `OTLP protobuf encoding CPU of one collection, ${n} nodes (${round(r.encoding.protobufBytes / r.nodes)} B/node)`,
        ours: round(r.encoding.protobufMs),
        unit: 'ms',
      }),
    );
  }
  // The default maxNodes: whole scrape and whole export ≤ 250 ms at the default itself.
  const atDefault = results.find((r) => r.nodes === DEFAULT_CONFIG.maxNodes);
  if (atDefault !== undefined) {
    const worst = Math.max(median(atDefault.block.producer.scrapeMs), median(atDefault.block.producer.exportMs));
    rows.push(
      row({
        metric: `longest of a whole scrape and a whole export at the default maxNodes (${DEFAULT_CONFIG.maxNodes.toLocaleString('en-US')})`,
        ours: round(worst),
        unit: 'ms',
        goal: `≤ ${BLOCK_BOUND_MS} ms`,
        met: worst <= BLOCK_BOUND_MS,
      }),
    );
  }
  const largest = [...results].reverse().find((r) => Math.max(median(r.block.producer.scrapeMs), median(r.block.producer.exportMs)) <= BLOCK_BOUND_MS);
  return {
    name: 'collection-path',
    title: 'Collection path: MetricProducer vs SDK instruments',
    goal: `CPU per node ≤ ${CPU_GOAL}× the SDK-instrument path; scrape and export block at 2,500 nodes ≤ ${BLOCK_GOAL}×; ≤ ${BLOCK_BOUND_MS} ms at the default maxNodes`,
    met: rows.every((r) => r.met !== false),
    rows,
    details: {
      sizes,
      largestMeasuredWithin250ms: largest?.nodes,
      perSize: results.map((r) => ({
        nodes: r.nodes,
        cpuUsPerNode: { producer: round(r.cpuUsPerNode.producer), instruments: round(r.cpuUsPerNode.instruments) },
        scrapeBlockMs: { producer: r.block.producer.scrapeMs.map((v) => round(v)), instruments: r.block.instruments.scrapeMs.map((v) => round(v)) },
        exportBlockMs: { producer: r.block.producer.exportMs.map((v) => round(v)), instruments: r.block.instruments.exportMs.map((v) => round(v)) },
        scrapeBytes: r.block.producer.scrapeBytes,
        encoding: { ...r.encoding, prometheusMs: round(r.encoding.prometheusMs), leanMs: round(r.encoding.leanMs), protobufMs: round(r.encoding.protobufMs) },
      })),
      loadAverage: loadavg().map((v) => round(v, 3)),
    },
    durationSeconds: round((performance.now() - started) / 1000, 3),
  };
}
