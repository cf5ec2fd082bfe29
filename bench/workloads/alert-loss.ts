/**
 * Workload 7 — alert loss accounting. startTelemetry exports to a real OTLP/HTTP receiver on 127.0.0.1 that
 * injects a fault (refuse, 500, 503 with and without Retry-After, 429, hang, slow; `none` for reference). A storm
 * of alert events is raised while the fault lasts, the fault ends, the events drain, then `shutdown()`.
 * Per mode: emitted, delivered, counted lost (`otel.sdk.processor.log.processed` with `error.type`) and
 * unaccounted = emitted − delivered − counted, which must be 0 — read from `alertDelivery()` and, independently,
 * from the last metric export the receiver decoded (`replication.alerts` total against the exported counter).
 * Baseline, same run: the SDK's defaults as the package had them (queue 2,048, batches of 512, no
 * self-observability), where every lost event is unaccounted. Also: heap per queued alert record.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { diag } from '@opentelemetry/api';
import { startTelemetry, type Telemetry } from '../../src/sdk/index.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceiverFault } from '../../test/harness/otlp-receiver.ts';
import { round } from '../lib/stats.ts';
import { row, type Row, type WorkloadOptions, type WorkloadResult } from '../lib/types.ts';

const SDK_DEFAULTS = { maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: 1000, exportTimeoutMillis: 30_000 };

const MODES: { name: string; fault: ReceiverFault }[] = [
  { name: 'none', fault: { mode: 'none' } },
  { name: 'refuse', fault: { mode: 'refuse' } },
  { name: '500', fault: { mode: 'status', status: 500 } },
  { name: '503', fault: { mode: 'status', status: 503 } },
  { name: '503 + Retry-After 1', fault: { mode: 'status', status: 503, retryAfterSeconds: 1 } },
  { name: '429', fault: { mode: 'status', status: 429 } },
  { name: 'hang', fault: { mode: 'hang' } },
  { name: 'slow 200 ms', fault: { mode: 'slow', delayMs: 200 } },
];

interface Outcome {
  emitted: number;
  delivered: number;
  lost: number;
  lostBy: Record<string, number>;
  unaccounted: number;
  /** replication.alerts − delivered − lost, as exported in the last metric export (−1: no export seen). */
  unaccountedExported: number;
  received: number;
}

/** `count` alerts on 10 nodes toggling critical ↔ normal (cooldown 0: one alert per update). */
function storm(t: Telemetry, count: number): void {
  for (let i = 0; i < count; i++) {
    const id = `db-${i % 10}`;
    if (Math.floor(i / 10) % 2 === 0) t.monitor.updateLag(id, 500, 400, 45);
    else t.monitor.updateLag(id, 500, 500, 0);
  }
}

function exported(receiver: OtlpReceiver): { alerts: number; delivered: number; lost: number } | undefined {
  const points = receiver.points();
  if (points.length === 0) return undefined;
  const last = Math.max(...points.map((p) => p.request));
  let alerts = 0;
  let delivered = 0;
  let lost = 0;
  for (const p of points) {
    if (p.request !== last) continue;
    if (p.metric === 'replication.alerts') alerts += p.value;
    if (p.metric === 'otel.sdk.processor.log.processed') {
      if (p.attributes['error.type'] === undefined) delivered += p.value;
      else lost += p.value;
    }
  }
  return { alerts, delivered, lost };
}

async function runMode(fault: ReceiverFault, alerts: number, holdMs: number, queue: typeof SDK_DEFAULTS | undefined, quick: boolean): Promise<Outcome> {
  const receiver = await startOtlpReceiver();
  try {
    await receiver.setFault(fault);
    const t = await startTelemetry({
      otlp: { endpoint: receiver.url }, // the OTLP exporters' default 10 s timeout
      metricExportIntervalMillis: 60_000,
      instrumentation: { alertCooldownSeconds: 0 },
      alertQueue: queue,
    });
    storm(t, alerts);
    await new Promise((r) => setTimeout(r, holdMs));
    await receiver.setFault({ mode: 'none' });
    if (quick) await t.forceFlush(); // not waiting for the 1 s schedule delay
    const deadline = Date.now() + 20_000;
    while (t.alertDelivery()!.pending > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await t.shutdown();
    const d = t.alertDelivery()!;
    const e = exported(receiver);
    const received = receiver.logRecords().length;
    // The SDK's defaults before this change had no self-observability: a loss was counted nowhere.
    const counted = queue === undefined ? d.lost : 0;
    return {
      emitted: d.emitted,
      delivered: d.delivered,
      lost: counted,
      lostBy: queue === undefined ? d.lostBy : {},
      unaccounted: d.emitted - d.delivered - counted,
      unaccountedExported: e === undefined ? -1 : queue === undefined ? e.alerts - e.delivered - e.lost : e.alerts - e.delivered,
      received,
    };
  } finally {
    await receiver.setFault({ mode: 'none' });
    await receiver.close();
  }
}

/** Heap per queued alert record: a storm into a hanging endpoint with a queue large enough to hold it. */
async function heapPerQueuedRecord(records: number): Promise<number> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const receiver = await startOtlpReceiver();
  await receiver.setFault({ mode: 'hang' });
  const t = await startTelemetry({
    otlp: { endpoint: receiver.url, timeoutMillis: 600_000 },
    metricExportIntervalMillis: 600_000,
    instrumentation: { alertCooldownSeconds: 0 },
    alertQueue: { maxQueueSize: records, maxExportBatchSize: records, scheduledDelayMillis: 600_000 },
  });
  storm(t, 20); // warm-up: nodes registered, first records
  gc();
  const before = process.memoryUsage().heapUsed;
  storm(t, records - 20);
  gc();
  const after = process.memoryUsage().heapUsed;
  await receiver.setFault({ mode: 'none' });
  await receiver.close();
  await t.shutdown();
  return (after - before) / (records - 20);
}

export async function alertLoss(options: WorkloadOptions): Promise<WorkloadResult> {
  const started = performance.now();
  const alerts = options.quick ? 300 : 20_000;
  const holdMs = options.quick ? 100 : 3000;
  // The SDK logs each failed export through diag; keep the bench's stderr to its own progress lines.
  diag.disable();
  const rows: Row[] = [];
  const details: Record<string, unknown> = { alerts, holdMs, otlpTimeoutMillis: 10_000 };
  let met = true;
  // --quick: two modes only, so the smoke run stays short.
  const modes = options.quick ? MODES.filter((m) => m.name === 'none' || m.name === '500') : MODES;
  for (const { name, fault } of modes) {
    const ours = await runMode(fault, alerts, holdMs, undefined, options.quick);
    const sdk = await runMode(fault, alerts, holdMs, SDK_DEFAULTS, options.quick);
    const ok = ours.emitted === alerts && ours.unaccounted === 0 && ours.unaccountedExported === 0 && ours.received === ours.delivered;
    met &&= ok;
    details[name] = { ours, sdkDefaults: sdk };
    options.log(
      `alert loss, ${name}: ours delivered ${ours.delivered}/${ours.emitted}, lost ${ours.lost} ${JSON.stringify(ours.lostBy)}, unaccounted ${ours.unaccounted} (exported ${ours.unaccountedExported}); ` +
        `SDK defaults delivered ${sdk.delivered}, unaccounted ${sdk.unaccounted}`,
    );
    rows.push(row({ metric: `${name}: delivered of ${alerts.toLocaleString('en-US')} alerts`, ours: ours.delivered, baseline: sdk.delivered, unit: 'alerts' }));
    rows.push(row({ metric: `${name}: counted lost (error.type)`, ours: ours.lost, unit: 'alerts' }));
    rows.push(row({ metric: `${name}: unaccounted (emitted − delivered − counted)`, ours: ours.unaccounted, baseline: sdk.unaccounted, unit: 'alerts', goal: '= 0, also in the exported metrics', met: ok }));
  }
  const perRecord = await heapPerQueuedRecord(options.quick ? 2000 : 65_536);
  details.heapBytesPerQueuedRecord = round(perRecord);
  options.log(`alert loss: ${round(perRecord)} bytes of heap per queued alert record`);
  rows.push(row({ metric: 'heap per queued alert record', ours: round(perRecord / 1024, 3), unit: 'KiB' }));
  return {
    name: 'alert-loss',
    title: 'Alert loss accounting',
    goal: 'under every endpoint fault, each alert event is delivered or counted with an error.type: unaccounted = 0',
    met,
    rows,
    details,
    durationSeconds: round((performance.now() - started) / 1000, 3),
  };
}
