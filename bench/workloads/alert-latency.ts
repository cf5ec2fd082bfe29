/**
 * Workload 5 — alert latency. The instrumentation on a real SDK LoggerProvider with a SimpleLogRecordProcessor
 * and an in-memory exporter that timestamps each record as it arrives. Each trial is the `updateLag` call that
 * takes a node from normal to warning (the delay crosses the 5 s threshold); the next update resolves it.
 * Latency = arrival in the exporter − start of that `updateLag` call; "same stack" = the record arrived before
 * the call returned. The baseline has no export path: it only appends the alert to its in-memory list (read by
 * polling `getAlerts()`); the comparison row is the duration of the alert-raising `updateLag` call on each side.
 */
import type { ExportResult } from '@opentelemetry/core';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { ReplicationLagInstrumentation } from '../../src/instrumentation.ts';
import { OriginalReplicationLagMonitor } from '../baseline/original-monitor.ts';
import { BenchReader } from '../lib/reader.ts';
import { median, max, nowNs, quantile, round } from '../lib/stats.ts';
import { row, type WorkloadOptions, type WorkloadResult } from '../lib/types.ts';

const GOAL_P99_US = 1000;

/** Records the arrival time of each log record and whether a benchmarked call was still on the stack. */
class TimedExporter extends InMemoryLogRecordExporter {
  inCall = false;
  lastArrivalNs = 0;
  arrivedInCall = false;
  arrivals = 0;
  override export(logs: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    this.lastArrivalNs = nowNs();
    this.arrivedInCall = this.inCall;
    this.arrivals += logs.length;
    super.export(logs, resultCallback);
  }
}

export async function alertLatency(options: WorkloadOptions): Promise<WorkloadResult> {
  const started = performance.now();
  const warmups = options.quick ? 100 : 2_000;
  const trials = options.quick ? 300 : 20_000;

  const clock = { t: 1_000_000 };
  const exporter = new TimedExporter();
  const loggerProvider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
  const meterProvider = new MeterProvider({ readers: [new BenchReader()] });
  const instrumentation = new ReplicationLagInstrumentation({ now: () => clock.t, enabled: false });
  instrumentation.setMeterProvider(meterProvider);
  instrumentation.setLoggerProvider(loggerProvider);
  instrumentation.enable();
  const monitor = instrumentation.monitor;
  monitor.registerNode('replica-1', { 'server.address': 'db-1.example' });
  // Other nodes, so that the monitor is not trivially small.
  for (let i = 2; i <= 1000; i++) monitor.updateLag(`replica-${i}`, 1000, 999, 0.1);

  const baseClock = { t: 1_000_000 };
  const baseline = new OriginalReplicationLagMonitor({ now: () => baseClock.t });
  for (let i = 1; i <= 1000; i++) baseline.registerNode(`replica-${i}`);
  for (let i = 2; i <= 1000; i++) baseline.updateLag(`replica-${i}`, 1000, 999, 0.1);

  const latencyUs: number[] = [];
  const oursCallUs: number[] = [];
  const baseCallUs: number[] = [];
  let sameStack = 0;
  let missing = 0;
  let position = 1_000;
  for (let i = 0; i < warmups + trials; i++) {
    position += 100;
    clock.t += 1000;
    baseClock.t += 1000;
    // Ours: normal → warning (10 s ≥ 5 s) raises one alert, exported through the log pipeline.
    const before = exporter.arrivals;
    exporter.inCall = true;
    const t0 = nowNs();
    monitor.updateLag('replica-1', position, position - 50, 10);
    const t1 = nowNs();
    exporter.inCall = false;
    // The baseline: the same update; its alert lands in its own list.
    const b0 = nowNs();
    baseline.updateLag('replica-1', position, position - 50, 10);
    const b1 = nowNs();
    if (i >= warmups) {
      if (exporter.arrivals === before + 1) {
        latencyUs.push((exporter.lastArrivalNs - t0) / 1000);
        if (exporter.arrivedInCall) sameStack++;
      } else {
        missing++;
      }
      oursCallUs.push((t1 - t0) / 1000);
      baseCallUs.push((b1 - b0) / 1000);
    }
    // Back to normal: ours emits a resolution record, the baseline nothing.
    clock.t += 1000;
    baseClock.t += 1000;
    monitor.updateLag('replica-1', position, position, 0);
    baseline.updateLag('replica-1', position, position, 0);
    if (i % 1000 === 999) exporter.reset();
  }
  await Promise.all([loggerProvider.shutdown(), meterProvider.shutdown()]);
  instrumentation.disable();

  const p99 = quantile(latencyUs, 0.99);
  const sameStackShare = latencyUs.length === 0 ? 0 : sameStack / trials;
  const met = missing === 0 && sameStack === trials && p99 <= GOAL_P99_US;
  options.log(`alert latency: p50 ${median(latencyUs).toFixed(1)} µs, p99 ${p99.toFixed(1)} µs, max ${max(latencyUs).toFixed(1)} µs, same stack ${sameStack}/${trials}`);
  return {
    name: 'alert-latency',
    title: 'Alert latency',
    goal: `the alert log record is exported in the same call stack as the updateLag that raised it, p99 ≤ ${GOAL_P99_US / 1000} ms`,
    met,
    rows: [
      row({
        metric: 'p99 µs, updateLag → log record in exporter',
        ours: round(p99),
        unit: 'µs',
        goal: `same stack, p99 ≤ ${GOAL_P99_US} µs`,
        met,
      }),
      row({ metric: 'p50 µs, updateLag → log record in exporter', ours: round(median(latencyUs)), unit: 'µs' }),
      row({ metric: 'p99 µs, the alert-raising updateLag call', ours: round(quantile(oursCallUs, 0.99)), baseline: round(quantile(baseCallUs, 0.99)), unit: 'µs' }),
    ],
    details: {
      trials,
      warmups,
      sameStackShare,
      missingRecords: missing,
      latencyUs: { p50: round(median(latencyUs)), p99: round(p99), max: round(max(latencyUs)) },
      oursCallUs: { p50: round(median(oursCallUs)), p99: round(quantile(oursCallUs, 0.99)), max: round(max(oursCallUs)) },
      baselineCallUs: { p50: round(median(baseCallUs)), p99: round(quantile(baseCallUs, 0.99)), max: round(max(baseCallUs)) },
      baselineDelivery: 'in-memory list only (no export); consumers poll getAlerts()',
      nodes: 1000,
    },
    durationSeconds: round((performance.now() - started) / 1000, 3),
  };
}
