/**
 * Bounded shutdown against the fault-injecting OTLP/HTTP receiver: `shutdown()` settles within
 * shutdownTimeoutMillis plus a margin whatever the collector does, says what it could not send and why, and flushes
 * alert events (logs) before the final metric export. The margin is a correctness bound, not a speed benchmark.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { startTelemetry } from '../../src/sdk/index.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceiverFault } from '../harness/otlp-receiver.ts';
import { runNode } from '../helpers/run-node.ts';

const BOUND = 2000;
const MARGIN = 1500;

function captureWarnings(): string[] {
  const lines: string[] = [];
  const push = (message: string, ...args: unknown[]) => lines.push([message, ...args.map(String)].join(' '));
  diag.setLogger({ error: push, warn: push, info: () => {}, debug: () => {}, verbose: () => {} }, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  return lines;
}

const FAULTS: { name: string; fault: ReceiverFault; cause: RegExp }[] = [
  { name: 'hang', fault: { mode: 'hang' }, cause: /no answer from the collector, cut at the shutdown deadline/ },
  { name: 'refuse', fault: { mode: 'refuse' }, cause: /connection refused \(ECONNREFUSED\)/ },
  { name: '503 (retried)', fault: { mode: 'status', status: 503 }, cause: /HTTP 503 Service Unavailable/ },
  { name: '503 with Retry-After 1', fault: { mode: 'status', status: 503, retryAfterSeconds: 1 }, cause: /HTTP 503 Service Unavailable, Retry-After 1 s/ },
];

describe('bounded shutdown', () => {
  let receiver: OtlpReceiver;
  before(async () => {
    receiver = await startOtlpReceiver();
  });
  afterEach(async () => {
    await receiver.setFault({ mode: 'none' });
    diag.disable();
  });
  after(async () => {
    await receiver.close();
  });

  for (const f of FAULTS) {
    it(`${f.name}: settles within shutdownTimeoutMillis + margin and says what was not exported and why`, async () => {
      const warnings = captureWarnings();
      // The exporter's own timeout (10 s by default) is far past the bound: only the shutdown's deadline can end it.
      const t = await startTelemetry({ otlp: { endpoint: receiver.url }, metricExportIntervalMillis: 600_000, shutdownTimeoutMillis: BOUND });
      for (let i = 0; i < 300; i++) t.monitor.updateLag(`node-${i}`, 1000, 0, 60); // 300 critical alerts: 300 log records.
      await receiver.setFault(f.fault);
      const started = performance.now();
      await t.shutdown();
      const elapsed = performance.now() - started;
      assert.ok(elapsed < BOUND + MARGIN, `shutdown took ${Math.round(elapsed)} ms against a bound of ${BOUND} ms`);
      const said = warnings.filter((w) => w.includes('did not export'));
      assert.equal(said.length, 1, warnings.join('\n'));
      assert.match(said[0]!, /^otel-replication-lag: shutdown after \d+ ms \(bound 2000 ms\) did not export: /);
      assert.match(said[0]!, /\b300 log records \(alert events\): /);
      assert.match(said[0]!, /the final metrics: /);
      assert.match(said[0]!, f.cause);
      await t.shutdown(); // Idempotent, and does not wait again.
    });
  }

  it('flushes alert events before the final metric export, so the last metrics are collected after them', async () => {
    const warnings = captureWarnings();
    // Each request is answered after 400 ms: a metric request that arrives before the log request was answered
    // (e.g. both shut down at once) is seen by the poll below.
    await receiver.setFault({ mode: 'slow', delayMs: 400 });
    const start = receiver.requests.length;
    const metricsBefore = receiver.attempts('metrics');
    const t = await startTelemetry({ otlp: { endpoint: receiver.url }, metricExportIntervalMillis: 600_000, shutdownTimeoutMillis: 5000 });
    for (let i = 0; i < 20; i++) t.monitor.updateLag(`node-${i}`, 1000, 0, 60);
    let logsDoneWhenMetricsArrived: boolean | undefined;
    const watch = setInterval(() => {
      if (logsDoneWhenMetricsArrived === undefined && receiver.attempts('metrics') > metricsBefore) {
        logsDoneWhenMetricsArrived = receiver.requests.some((r, i) => i >= start && r.signal === 'logs');
      }
    }, 5);
    await t.shutdown();
    clearInterval(watch);
    assert.equal(logsDoneWhenMetricsArrived, true, 'the final metric request reached the collector before the alert events were delivered');
    const after = receiver.requests.slice(start);
    const lastLog = after.map((r) => r.signal).lastIndexOf('logs');
    const firstMetric = after.findIndex((r) => r.signal === 'metrics');
    assert.ok(lastLog >= 0 && firstMetric > lastLog, `order: ${after.map((r) => r.signal).join(', ')}`);
    assert.equal(receiver.logRecords().filter((r) => r.request >= start).length, 20);
    assert.deepEqual(warnings.filter((w) => w.includes('did not export')), [], 'everything was delivered: nothing to say');
  });

  it('against a hanging collector the process exits within the bound: nothing keeps it alive after shutdown', async () => {
    const script = `
      const { startTelemetry } = await import('./src/sdk/index.ts');
      const t = await startTelemetry({ otlp: { endpoint: process.env.ENDPOINT }, metricExportIntervalMillis: 600000, shutdownTimeoutMillis: 1000 });
      t.monitor.updateLag('n', 100, 0, 60);
      const started = Date.now();
      await t.shutdown();
      process.on('exit', () => process.stdout.write('exit after ' + (Date.now() - started) + ' ms\\n'));
    `;
    await receiver.setFault({ mode: 'hang' });
    const result = await runNode(['--input-type=module', '-e', script], { env: { ENDPOINT: receiver.url }, timeoutMs: 30_000 });
    assert.equal(result.code, 0, result.stderr);
    const exitAfter = Number(/exit after (\d+) ms/.exec(result.stdout)?.[1]);
    // The exporter's 10 s timeout would hold the hanging sockets (and the process) that long without the abort.
    assert.ok(exitAfter < 1000 + MARGIN, `the process exited ${exitAfter} ms after shutdown() began (bound 1000 ms)`);
  });

  it('rejects a bad shutdownTimeoutMillis, naming it, before starting anything', async () => {
    await assert.rejects(startTelemetry({ otlp: false, shutdownTimeoutMillis: 0 }), (e: Error) => e instanceof RangeError && /shutdownTimeoutMillis must be/.test(e.message));
    await assert.rejects(startTelemetry({ otlp: false, shutdownTimeoutMillis: Number.NaN }), (e: Error) => e instanceof RangeError && /shutdownTimeoutMillis/.test(e.message));
  });
});
