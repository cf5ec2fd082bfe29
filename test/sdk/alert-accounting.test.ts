/**
 * Every alert is accounted for: against a real OTLP/HTTP receiver that injects faults, a burst of alert events is
 * delivered or counted with an `error.type` in `otel.sdk.processor.log.processed`, a loss is said once per
 * episode, updates keep their speed, the heap stays bounded, and what is current arrives after recovery.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { BatchLogRecordProcessor, InMemoryLogRecordExporter, LoggerProvider } from '@opentelemetry/sdk-logs';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { startTelemetry, type AlertDelivery, type Telemetry } from '../../src/sdk/index.ts';
import { AlertLedger } from '../../src/sdk/alert-ledger.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceiverFault } from '../harness/otlp-receiver.ts';
import { collect, TestReader } from '../helpers/in-memory-sdk.ts';
import { SDK_PROMETHEUS_METRIC_NAMES } from '../alerting/metric-names.ts';
import { prometheusName } from '../../src/sdk/prometheus-names.ts';
import { runNode } from '../helpers/run-node.ts';

const LOSS_WARNING = /alert events are being lost/;
const BURST = 5000;
const BATCH = 512;

/** Collects diag output (what `replag` prints at WARN). */
function captureDiag(): { warnings: string[]; restore: () => void } {
  const warnings: string[] = [];
  const push = (message: string, ...args: unknown[]) => warnings.push([message, ...args.map(String)].join(' '));
  const logger: DiagLogger = { error: push, warn: push, info: () => {}, debug: () => {}, verbose: () => {} };
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  return { warnings, restore: () => diag.disable() };
}

/** `count` alerts: db-alert-N toggles critical ↔ normal (cooldown 0: one alert per update). */
function burst(t: Telemetry, count: number, node = 'db-alert'): void {
  for (let i = 0; i < count; i++) {
    const id = `${node}-${i % 10}`;
    if (Math.floor(i / 10) % 2 === 0) t.monitor.updateLag(id, 500, 400, 45);
    else t.monitor.updateLag(id, 500, 500, 0);
  }
}

/**
 * Updates per millisecond of 20 healthy nodes: the best of 12 windows of 40 ms, yielding to I/O every 100 updates.
 * The best window, because the machine is shared: other processes slow single windows at random, while what the
 * fault could cost (work on this event loop) would slow every window.
 */
async function updateRate(t: Telemetry, seq: { n: number }): Promise<number> {
  let best = 0;
  for (let w = 0; w < 12; w++) {
    const start = performance.now();
    let updates = 0;
    while (performance.now() - start < 40) {
      for (let i = 0; i < 100; i++, updates++) {
        seq.n++;
        t.monitor.updateLag(`db-steady-${i % 20}`, seq.n + 10, seq.n, 0.1);
      }
      await new Promise((r) => setImmediate(r));
    }
    best = Math.max(best, updates / (performance.now() - start));
  }
  return best;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sums of the last export's cumulative `otel.sdk.processor.log.processed`: delivered, and lost by error.type. */
function exportedProcessed(receiver: OtlpReceiver): { delivered: number; lost: number; lostBy: Record<string, number> } {
  const points = receiver.points('otel.sdk.processor.log.processed');
  const last = Math.max(...points.map((p) => p.request));
  let delivered = 0;
  let lost = 0;
  const lostBy: Record<string, number> = {};
  for (const p of points.filter((q) => q.request === last)) {
    const type = p.attributes['error.type'];
    if (type === undefined) delivered += p.value;
    else {
      lost += p.value;
      lostBy[String(type)] = (lostBy[String(type)] ?? 0) + p.value;
    }
  }
  return { delivered, lost, lostBy };
}

function exportedAlertsTotal(receiver: OtlpReceiver): number {
  const points = receiver.points('replication.alerts');
  const last = Math.max(...points.map((p) => p.request));
  return points.filter((p) => p.request === last).reduce((sum, p) => sum + p.value, 0);
}

/**
 * `timeoutMillis`: the OTLP timeout, short so that a hang fails fast; the slow endpoint gets a longer one, so that
 * it stays "slow but within the timeout" on a loaded machine (a request the client gave up on but the receiver
 * took would be counted lost yet received).
 */
const FAULTS: { name: string; fault: ReceiverFault; loses: boolean; timeoutMillis?: number }[] = [
  { name: 'refused connections', fault: { mode: 'refuse' }, loses: true },
  { name: 'HTTP 500', fault: { mode: 'status', status: 500 }, loses: true },
  { name: 'HTTP 503', fault: { mode: 'status', status: 503 }, loses: true },
  { name: 'HTTP 503 with Retry-After', fault: { mode: 'status', status: 503, retryAfterSeconds: 1 }, loses: true },
  { name: 'HTTP 429', fault: { mode: 'status', status: 429 }, loses: true },
  { name: 'a hanging endpoint', fault: { mode: 'hang' }, loses: true },
  { name: 'a slow endpoint (answers within the timeout)', fault: { mode: 'slow', delayMs: 150 }, loses: false, timeoutMillis: 5000 },
];

describe('every alert event is delivered or counted, whatever the endpoint does', () => {
  let receiver: OtlpReceiver;
  let captured: ReturnType<typeof captureDiag>;
  beforeEach(async () => {
    receiver = await startOtlpReceiver();
    captured = captureDiag();
  });
  afterEach(async () => {
    captured.restore();
    await receiver.setFault({ mode: 'none' });
    await receiver.close();
  });

  it(`a burst of ${BURST} alerts against a healthy endpoint with the default queue is delivered completely`, async () => {
    const t = await startTelemetry({ otlp: { endpoint: receiver.url }, metricExportIntervalMillis: 60_000, instrumentation: { alertCooldownSeconds: 0 } });
    burst(t, BURST);
    await t.shutdown();
    assert.deepEqual(t.alertDelivery(), { emitted: BURST, delivered: BURST, lost: 0, lostBy: {}, pending: 0 });
    assert.equal(receiver.logRecords().length, BURST);
    assert.deepEqual(exportedProcessed(receiver), { delivered: BURST, lost: 0, lostBy: {} });
    assert.equal(exportedAlertsTotal(receiver), BURST);
    assert.deepEqual(captured.warnings.filter((w) => LOSS_WARNING.test(w)), []);
  });

  for (const { name, fault, loses, timeoutMillis } of FAULTS) {
    it(`${name}: delivered + counted = emitted, ${loses ? 'one loss warning' : 'no loss, no warning'}, updates keep their speed, heap bounded, recovery`, async (ctx) => {
      const t = await startTelemetry({
        otlp: { endpoint: receiver.url, timeoutMillis: timeoutMillis ?? 1000 },
        // startTelemetry bounds a metric export by the interval: 1 s leaves the final export room on a loaded machine.
        metricExportIntervalMillis: 1000,
        instrumentation: { alertCooldownSeconds: 0 },
        // Batches of 512: small requests, so a loaded machine does not turn a healthy export into a timeout.
        alertQueue: { scheduledDelayMillis: 50, exportTimeoutMillis: 3000, maxExportBatchSize: BATCH },
      });
      const seq = { n: 0 };
      let atRecovery: AlertDelivery | undefined;
      try {
        // Fault-free phase: the same burst, delivered, while updates are measured.
        await updateRate(t, seq); // warm-up
        const heapBefore = process.memoryUsage().heapUsed;
        burst(t, BURST);
        const healthyRate = await updateRate(t, seq);
        await receiver.waitFor('the fault-free burst delivered', () => t.alertDelivery()!.pending === 0, 20_000);

        await receiver.setFault(fault);
        burst(t, BURST);
        const faultRate = await updateRate(t, seq);
        await sleep(2000); // longer than the OTLP timeout: the first failing export gives up
        const heapDuring = process.memoryUsage().heapUsed;

        atRecovery = t.alertDelivery()!;
        await receiver.setFault({ mode: 'none' });
        // Current metrics arrive after recovery: a value set now is exported.
        t.monitor.updateLag('db-after-recovery', 777, 700, 1);
        await receiver.waitFor('the current value after recovery', () => receiver.points('replication.lag').some((p) => p.attributes['replication.node.id'] === 'db-after-recovery' && p.value === 77), 10_000);
        // Alert events emitted after recovery arrive.
        burst(t, 20, 'db-recovered');
        await receiver.waitFor('alert events after recovery', () => receiver.logRecords().filter((r) => String(r.attributes['replication.node.id']).startsWith('db-recovered')).length === 20, 10_000);

        const ratio = faultRate / healthyRate;
        ctx.diagnostic(`update speed ratio ${ratio.toFixed(2)}, heap ${((heapDuring - heapBefore) / 1e6).toFixed(0)} MB more, after recovery ${JSON.stringify(t.alertDelivery())}`);
        assert.ok(ratio >= 0.3, `updates slowed down to ${ratio.toFixed(2)}× their fault-free speed (${faultRate.toFixed(1)} vs ${healthyRate.toFixed(1)} per ms)`);
        assert.ok(heapDuring - heapBefore < 150e6, `heap grew by ${((heapDuring - heapBefore) / 1e6).toFixed(0)} MB`);
      } finally {
        await t.shutdown();
      }

      const delivery = t.alertDelivery()!;
      const emitted = 2 * BURST + 20;
      assert.equal(delivery.emitted, emitted);
      assert.equal(delivery.pending, 0, `unaccounted alert events after shutdown: ${JSON.stringify(delivery)}`);
      assert.equal(delivery.delivered + delivery.lost, emitted);
      // The same numbers are exported: the SDK's own counter, next to replication.alerts.
      assert.deepEqual(exportedProcessed(receiver), { delivered: delivery.delivered, lost: delivery.lost, lostBy: delivery.lostBy });
      assert.equal(exportedAlertsTotal(receiver), emitted);
      // Queued events arrive after recovery: all that was pending then, but the one batch that may have been in
      // flight (its request can still fail), is delivered.
      assert.ok(atRecovery !== undefined);
      assert.ok(
        delivery.delivered - atRecovery.delivered >= atRecovery.pending - BATCH + 20,
        `pending at recovery ${atRecovery.pending}, delivered since ${delivery.delivered - atRecovery.delivered}`,
      );
      // Delivered means received.
      assert.equal(receiver.logRecords().length, delivery.delivered);
      const lossWarnings = captured.warnings.filter((w) => LOSS_WARNING.test(w));
      if (loses) {
        assert.ok(delivery.lost > 0, `expected ${name} to lose alert events: ${JSON.stringify(delivery)}`);
        assert.equal(lossWarnings.length, 1, `one warning per loss episode, got: ${lossWarnings.join(' | ')}`);
      } else {
        assert.deepEqual(delivery.lostBy, {});
        assert.deepEqual(lossWarnings, []);
      }
    });
  }
});

describe('replag', () => {
  it('prints the loss warning once per episode on stderr', async () => {
    const receiver = await startOtlpReceiver();
    try {
      // A queue of 4 (batches of 2) against a healthy endpoint: the demo's first alerts overflow it.
      const run = await runNode(['src/cli/replag.ts', 'demo', '--nodes', '40', '--interval', '100', '--duration', '3', '--export-interval', '1000', '--output', 'quiet'], {
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BLRP_MAX_QUEUE_SIZE: '4', OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: '2' },
        timeoutMs: 30_000,
      });
      assert.equal(run.code, 0, run.stderr);
      const lines = run.stderr.split('\n').filter((line) => LOSS_WARNING.test(line));
      assert.equal(lines.length, 1, run.stderr);
      assert.match(lines[0]!, /^replag: alert events are being lost \(\d+ dropped, queue full\)/);
      // And the drops were counted in the export.
      assert.ok(exportedProcessed(receiver).lostBy.queue_full! > 0);
    } finally {
      await receiver.close();
    }
  });
});

describe('the SDK self-observability metrics', () => {
  it('are served on the Prometheus endpoint under their standard names, with error.type on losses', async () => {
    const receiver = await startOtlpReceiver();
    await receiver.setFault({ mode: 'hang' });
    let t: Telemetry | undefined;
    for (let attempt = 0; attempt < 20 && t === undefined; attempt++) {
      const port = 20_500 + Math.floor(Math.random() * 500);
      try {
        t = await startTelemetry({
          otlp: { endpoint: receiver.url, timeoutMillis: 300 },
          prometheus: { port, host: '127.0.0.1' },
          metricExportIntervalMillis: 60_000,
          instrumentation: { alertCooldownSeconds: 0 },
          alertQueue: { maxQueueSize: 20, maxExportBatchSize: 10 },
        });
      } catch (error) {
        if (!/cannot serve Prometheus metrics/.test((error as Error).message)) throw error;
      }
    }
    assert.ok(t !== undefined, 'no free port for the Prometheus endpoint in 20500-20999');
    try {
      burst(t, 50); // 10 in flight (hanging), 20 queued, 20 dropped
      assert.equal(t.alertDelivery()!.lostBy.queue_full, 20);
      await receiver.waitFor('the hanging export to time out', () => (t.alertDelivery()!.lost > 20 ? true : undefined), 5000);
      const text = await (await fetch(t.prometheusUrl!.replace('0.0.0.0', '127.0.0.1'))).text();
      const families = new Map<string, string>();
      for (const line of text.split('\n')) {
        const m = /^# TYPE (\S+) (\S+)$/.exec(line);
        if (m) families.set(m[1]!, m[2]!);
      }
      const descriptors: Record<keyof typeof SDK_PROMETHEUS_METRIC_NAMES, [string, 'counter' | 'gauge']> = {
        'otel.sdk.processor.log.processed': ['{log_record}', 'counter'],
        'otel.sdk.processor.log.queue.capacity': ['{log_record}', 'gauge'],
        'otel.sdk.processor.log.queue.size': ['{log_record}', 'gauge'],
        'otel.sdk.exporter.log.exported': ['{log}', 'counter'],
        'otel.sdk.exporter.log.inflight': ['{log}', 'gauge'],
        'otel.sdk.log.created': ['{log_record}', 'counter'],
      };
      for (const [name, promName] of Object.entries(SDK_PROMETHEUS_METRIC_NAMES)) {
        const [unit, kind] = descriptors[name as keyof typeof descriptors];
        assert.equal(promName, prometheusName(name, unit, kind), name);
        assert.equal(families.get(promName), kind, `${promName} not served as a ${kind}:\n${text}`);
      }
      assert.match(text, /^otel_sdk_processor_log_processed_total\{[^}]*error_type="queue_full"[^}]*\} 20\b/m);
      assert.match(text, /^otel_sdk_processor_log_processed_total\{[^}]*error_type="[^"]+"[^}]*\} 10\b/m);
      assert.match(text, /^otel_sdk_processor_log_queue_capacity\{[^}]*\} 20\b/m);
      assert.match(text, /^otel_sdk_exporter_log_exported_total\{[^}]*error_type="[^"]+"[^}]*\} 10\b/m);
      assert.match(text, /^replication_alerts_total\{/m);
    } finally {
      await receiver.setFault({ mode: 'none' });
      await t.shutdown();
      await receiver.close();
    }
  });
});

describe('the alert ledger', () => {
  it('warns once per loss episode with what it lost so far, and again after a loss-free period', () => {
    const captured = captureDiag();
    try {
      let now = 0;
      const ledger = new AlertLedger({ quietMillis: 60_000, now: () => now });
      // A burst that overflows the queue drops records one at a time: the warning counts them all.
      for (let i = 0; i < 3976; i++) ledger.record(1, { 'error.type': 'queue_full' });
      now += 1000;
      ledger.record(512, { 'error.type': 'OTLPExporterError' });
      assert.equal(captured.warnings.length, 0, 'said once the burst has settled');
      ledger.flushWarning();
      now += 59_000;
      ledger.record(1, { 'error.type': 'queue_full' });
      ledger.record(5, {});
      ledger.flushWarning();
      assert.equal(captured.warnings.length, 1);
      assert.match(captured.warnings[0]!, /\(3976 dropped, queue full; 512 failed to export: OTLPExporterError\) in this episode so far/);
      now += 60_000;
      ledger.record(3, { 'error.type': 'OTLPExporterError' });
      ledger.flushWarning();
      assert.equal(captured.warnings.length, 2);
      assert.match(captured.warnings[1]!, /\(3 failed to export: OTLPExporterError\)/);
      assert.deepEqual(ledger.snapshot(), { emitted: 0, delivered: 5, lost: 4492, lostBy: { queue_full: 3977, OTLPExporterError: 515 }, pending: -4497 });
    } finally {
      captured.restore();
    }
  });

  it('writes off what is still pending (for a shutdown that gives up), in the ledger and the exported counter', async () => {
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const ledger = new AlertLedger();
    const exporter = new InMemoryLogRecordExporter();
    const processor = ledger.processor(
      new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 60_000, selfObsMeterProvider: ledger.meterProvider(meterProvider) }),
    );
    const logger = new LoggerProvider({ processors: [processor] }).getLogger('test');
    for (let i = 0; i < 5; i++) logger.emit({ body: `queued ${i}` });
    assert.equal(ledger.snapshot().pending, 5);
    assert.equal(ledger.writeOffPending('shutdown_timeout'), 5);
    assert.equal(ledger.writeOffPending('shutdown_timeout'), 0);
    assert.deepEqual(ledger.snapshot(), { emitted: 5, delivered: 0, lost: 5, lostBy: { shutdown_timeout: 5 }, pending: 0 });
    const processed = (await collect(reader)).get('otel.sdk.processor.log.processed');
    assert.deepEqual(processed?.points.map((p) => [p.value, p.attributes['error.type']]), [[5, 'shutdown_timeout']]);
    await meterProvider.shutdown();
  });

  it('counts records emitted while the processor shuts down as lost (error.type=shutdown), also in the exported counter', async () => {
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const ledger = new AlertLedger();
    const exporter = new InMemoryLogRecordExporter();
    const processor = ledger.processor(new BatchLogRecordProcessor({ exporter, selfObsMeterProvider: ledger.meterProvider(meterProvider) }));
    const loggerProvider = new LoggerProvider({ processors: [processor] });
    const logger = loggerProvider.getLogger('test');
    logger.emit({ body: 'before' });
    await loggerProvider.shutdown();
    // The SDK's processor ignores records after shutdown without counting them.
    processor.onEmit(undefined as never);
    assert.deepEqual(ledger.snapshot(), { emitted: 2, delivered: 1, lost: 1, lostBy: { shutdown: 1 }, pending: 0 });
    const processed = (await collect(reader)).get('otel.sdk.processor.log.processed');
    assert.deepEqual(
      processed?.points.map((p) => [p.value, p.attributes['error.type']]).sort(),
      [
        [1, undefined],
        [1, 'shutdown'],
      ],
    );
    await meterProvider.shutdown();
  });
});

describe('alert accounting under a bounded shutdown', () => {
  it('counts every alert event the shutdown deadline cut off: nothing pending, nothing unaccounted', async () => {
    const receiver = await startOtlpReceiver();
    const diagnostics = captureDiag();
    try {
      await receiver.setFault({ mode: 'hang' });
      // The exporter would wait 10 s per batch; shutdown is bounded at 1.5 s.
      const t = await startTelemetry({
        otlp: { endpoint: receiver.url, timeoutMillis: 10_000 },
        metricExportIntervalMillis: 60_000,
        instrumentation: { alertCooldownSeconds: 0 },
        alertQueue: { maxExportBatchSize: BATCH },
        shutdownTimeoutMillis: 1500,
      });
      burst(t, 3000);
      await sleep(300);
      const started = performance.now();
      await t.shutdown();
      assert.ok(performance.now() - started < 1500 + 1500, 'shutdown kept its bound');
      const d = t.alertDelivery()!;
      assert.equal(d.emitted, 3000);
      assert.equal(d.pending, 0, JSON.stringify(d));
      assert.equal(d.delivered + d.lost, d.emitted, JSON.stringify(d));
      assert.ok(d.lost > 0, 'the hung batches are counted lost');
      assert.ok(diagnostics.warnings.some((w) => /did not export/.test(w)), diagnostics.warnings.join('\n'));
    } finally {
      diagnostics.restore();
      await receiver.close();
    }
  });
});
