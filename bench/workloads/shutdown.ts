/**
 * Workload 7 — shutdown time against each fault of the collector. A burst of alerts (2,000 log records: four
 * batches of the SDK's default 512) is emitted while the fault-injecting OTLP/HTTP receiver (test/harness) refuses,
 * answers 503 or 500, hangs or answers normally; then the pipeline is shut down and the time until `shutdown()`
 * settles is measured. Ours: `startTelemetry` with its default bound (10 s). Baseline, in the same run: the same
 * SDK pipeline (OTLP/HTTP protobuf exporters with their defaults, BatchLogRecordProcessor, PeriodicExportingMetricReader)
 * shut down as the SDK does it, `Promise.allSettled([loggerProvider.shutdown(), meterProvider.shutdown()])`.
 */
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { ReplicationLagInstrumentation } from '../../src/instrumentation.ts';
import { startTelemetry } from '../../src/sdk/index.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceiverFault } from '../../test/harness/otlp-receiver.ts';
import { round } from '../lib/stats.ts';
import { row, type Row, type WorkloadOptions, type WorkloadResult } from '../lib/types.ts';

const MODES: { name: string; fault: ReceiverFault }[] = [
  { name: 'healthy', fault: { mode: 'none' } },
  { name: 'refused', fault: { mode: 'refuse' } },
  { name: '503', fault: { mode: 'status', status: 503 } },
  { name: '500', fault: { mode: 'status', status: 500 } },
  { name: 'hang', fault: { mode: 'hang' } },
];

interface Sizes {
  alerts: number;
  /** Ours: the shutdown bound; both: the exporters' timeout (the SDK's default is 10 s). */
  boundMs: number;
  exporterTimeoutMs: number;
}

function burst(instrumentation: ReplicationLagInstrumentation, alerts: number, tag: string): void {
  for (let i = 0; i < alerts; i++) instrumentation.monitor.updateLag(`${tag}-${i}`, 1000, 0, 60);
}

async function ours(receiver: OtlpReceiver, fault: ReceiverFault, sizes: Sizes): Promise<number> {
  const t = await startTelemetry({ otlp: { endpoint: receiver.url, timeoutMillis: sizes.exporterTimeoutMs }, metricExportIntervalMillis: 600_000, shutdownTimeoutMillis: sizes.boundMs });
  t.monitor.updateLag('warm', 10, 5, 1);
  await t.forceFlush();
  await receiver.setFault(fault);
  burst(t.instrumentation, sizes.alerts, 'ours');
  const started = performance.now();
  await t.shutdown();
  return performance.now() - started;
}

async function sdkPlain(receiver: OtlpReceiver, fault: ReceiverFault, sizes: Sizes): Promise<number> {
  const settings = { timeoutMillis: sizes.exporterTimeoutMs };
  const reader = new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter({ ...settings, url: `${receiver.url}/v1/metrics` }),
    exportIntervalMillis: 600_000,
    exportTimeoutMillis: 30_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const loggerProvider = new LoggerProvider({ processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ ...settings, url: `${receiver.url}/v1/logs` }) })] });
  const instrumentation = new ReplicationLagInstrumentation({ enabled: false });
  instrumentation.setMeterProvider(meterProvider);
  instrumentation.setLoggerProvider(loggerProvider);
  instrumentation.enable();
  instrumentation.monitor.updateLag('warm', 10, 5, 1);
  await Promise.all([meterProvider.forceFlush(), loggerProvider.forceFlush()]);
  await receiver.setFault(fault);
  burst(instrumentation, sizes.alerts, 'sdk');
  const started = performance.now();
  await Promise.allSettled([loggerProvider.shutdown(), meterProvider.shutdown()]);
  const elapsed = performance.now() - started;
  instrumentation.disable();
  return elapsed;
}

export async function shutdownTime(options: WorkloadOptions): Promise<WorkloadResult> {
  const started = performance.now();
  const sizes: Sizes = options.quick ? { alerts: 600, boundMs: 1000, exporterTimeoutMs: 1000 } : { alerts: 2000, boundMs: 10_000, exporterTimeoutMs: 10_000 };
  const warnings: string[] = [];
  const keep = (message: string) => {
    if (message.includes('did not export')) warnings.push(message);
  };
  diag.setLogger({ error: () => {}, warn: keep, info: () => {}, debug: () => {}, verbose: () => {} }, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  const receiver = await startOtlpReceiver();
  const rows: Row[] = [];
  const details: Record<string, unknown> = { ...sizes, warnings: {} as Record<string, string | undefined> };
  try {
    for (const mode of MODES) {
      options.log(`shutdown: ${mode.name}: ours`);
      const before = warnings.length;
      const oursMs = await ours(receiver, mode.fault, sizes);
      (details.warnings as Record<string, string | undefined>)[mode.name] = warnings[before];
      await receiver.setFault({ mode: 'none' });
      options.log(`shutdown: ${mode.name}: the SDK's plain shutdown`);
      const sdkMs = await sdkPlain(receiver, mode.fault, sizes);
      await receiver.setFault({ mode: 'none' });
      const goalMs = sizes.boundMs + 1000;
      rows.push(
        row({
          metric: `shutdown() with the collector ${mode.name}, ${sizes.alerts} alert events queued`,
          ours: Math.round(oursMs),
          baseline: Math.round(sdkMs),
          unit: 'ms',
          goal: `≤ ${goalMs / 1000} s (bound + 1 s)`,
          met: oursMs <= goalMs,
        }),
      );
    }
  } finally {
    await receiver.close();
    diag.disable();
  }
  return {
    name: 'shutdown',
    title: 'Shutdown bound',
    met: rows.every((r) => r.met !== false),
    goal: `shutdown() settles within shutdownTimeoutMillis (${sizes.boundMs} ms) + 1 s whatever the collector does`,
    rows,
    details,
    durationSeconds: round((performance.now() - started) / 1000, 3),
  };
}
