/**
 * Export failures reported like poll failures, against the fault-injecting OTLP/HTTP receiver: the real cause per
 * fault (refused, 503 with Retry-After, 429, 500, hang), one line per change of cause, one on recovery, and a metric
 * export timeout longer than the export interval honoured instead of cut at the interval.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { startTelemetry, type Telemetry } from '../../src/sdk/index.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceiverFault } from '../harness/otlp-receiver.ts';

/** Collects every diag message at WARN and above as one string per call. */
function captureDiag(): { lines: string[]; ours: () => string[] } {
  const lines: string[] = [];
  const push = (level: string) => (message: string, ...args: unknown[]) => lines.push(`${level} ${[message, ...args.map((a) => (a instanceof Error ? a.message : String(a)))].join(' ')}`);
  diag.setLogger({ error: push('error'), warn: push('warn'), info: push('info'), debug: push('debug'), verbose: push('verbose') }, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  return { lines, ours: () => lines.filter((l) => l.includes('otel-replication-lag:')) };
}

const CASES: { name: string; fault: ReceiverFault; cause: RegExp }[] = [
  { name: 'refused connection', fault: { mode: 'refuse' }, cause: /: connection refused \(ECONNREFUSED\)$/ },
  { name: '503 with Retry-After', fault: { mode: 'status', status: 503, retryAfterSeconds: 1 }, cause: /: HTTP 503 Service Unavailable, Retry-After 1 s$/ },
  { name: '429', fault: { mode: 'status', status: 429 }, cause: /: HTTP 429 Too Many Requests$/ },
  { name: '500', fault: { mode: 'status', status: 500 }, cause: /: HTTP 500 Internal Server Error$/ },
  { name: 'hang', fault: { mode: 'hang' }, cause: /: timed out after 1000 ms$/ },
];

describe('export failure reporting', () => {
  let receiver: OtlpReceiver;
  let telemetry: Telemetry | undefined;
  let captured: ReturnType<typeof captureDiag>;
  before(async () => {
    receiver = await startOtlpReceiver();
  });
  afterEach(async () => {
    await telemetry?.shutdown({ timeoutMillis: 1000 });
    telemetry = undefined;
    await receiver.setFault({ mode: 'none' });
    diag.disable();
  });
  after(async () => {
    await receiver.close();
  });

  for (const c of CASES) {
    it(`${c.name}: names the real cause once, with the signal and the URL, then once on recovery`, async () => {
      captured = captureDiag();
      await receiver.setFault(c.fault);
      telemetry = await startTelemetry({ otlp: { endpoint: receiver.url, timeoutMillis: 1000 }, metricExportIntervalMillis: 1500 });
      telemetry.monitor.updateLag('n1', 10, 5, 1);
      const failed = await receiver.waitFor('the failure line', () => captured.ours().find((l) => l.includes('metrics export failed')), 10_000);
      assert.match(failed, new RegExp(`^warn otel-replication-lag: metrics export failed to ${receiver.url}/v1/metrics`));
      assert.match(failed, c.cause);
      assert.doesNotMatch(failed, /\n|at .*\.(ts|js|mjs):\d/, 'one line, no stack trace');
      // Three more failed exports (refused connections never reach the receiver: wait on time there).
      await new Promise((r) => setTimeout(r, 3_200));
      assert.equal(captured.ours().filter((l) => l.includes('metrics export failed')).length, 1, captured.ours().join('\n'));
      await receiver.setFault({ mode: 'none' });
      await receiver.waitFor('the recovery line', () => captured.ours().some((l) => /metrics export succeeded again after \d+ failed exports?/.test(l)), 10_000);
      assert.equal(captured.ours().filter((l) => l.includes('metrics export succeeded again')).length, 1);
      assert.deepEqual(
        captured.lines.filter((l) => l.startsWith('error')),
        [],
        'no SDK error lines for metric export failures',
      );
    });
  }

  it('a change of cause is said once more: refused, then 503, then recovery are exactly three lines; alert events (logs) are reported on their own', async () => {
    captured = captureDiag();
    await receiver.setFault({ mode: 'refuse' });
    telemetry = await startTelemetry({ otlp: { endpoint: receiver.url, timeoutMillis: 1000 }, metricExportIntervalMillis: 1000 });
    const t = telemetry;
    t.monitor.updateLag('n1', 10, 5, 1);
    t.monitor.updateLag('alerting', 100, 0, 60); // A critical alert: one log record to export.
    await receiver.waitFor('refused', () => captured.ours().some((l) => l.includes('metrics export failed') && l.includes('ECONNREFUSED')), 10_000);
    await receiver.waitFor('logs refused', () => captured.ours().some((l) => l.includes('logs export failed') && l.includes('ECONNREFUSED')), 10_000);
    await new Promise((r) => setTimeout(r, 2_500));
    await receiver.setFault({ mode: 'status', status: 503, retryAfterSeconds: 1 });
    await receiver.waitFor('503', () => captured.ours().some((l) => l.includes('HTTP 503')), 10_000);
    await new Promise((r) => setTimeout(r, 2_500));
    await receiver.setFault({ mode: 'none' });
    await receiver.waitFor('recovery', () => captured.ours().some((l) => l.includes('metrics export succeeded again')), 10_000);
    await new Promise((r) => setTimeout(r, 1_500));
    const metrics = captured.ours().filter((l) => l.includes('metrics export'));
    assert.equal(metrics.length, 3, metrics.join('\n'));
    assert.match(metrics[0]!, /metrics export failed to .*: connection refused \(ECONNREFUSED\)$/);
    assert.match(metrics[1]!, /metrics export failed to .*: HTTP 503 Service Unavailable, Retry-After 1 s$/);
    assert.match(metrics[2]!, /metrics export succeeded again after \d+ failed exports$/);
    assert.equal(captured.ours().filter((l) => l.includes('logs export failed')).length, 1, 'one log record batch failed: one line');
    // The SDK's own report of a failed log batch (its global error handler) stays one line without stack frames.
    for (const l of captured.lines) assert.doesNotMatch(l, /\n|\bat .*:\d+:\d+/, `multi-line or stack trace: ${l}`);
  });

  it('a metric export slower than the interval is waited for with the exporter timeout, not cut at the interval; the skipped collections are said once', async () => {
    captured = captureDiag();
    await receiver.setFault({ mode: 'slow', delayMs: 900 });
    const start = receiver.requests.length;
    const attemptsBefore = receiver.attempts('metrics');
    telemetry = await startTelemetry({ otlp: { endpoint: receiver.url, timeoutMillis: 5000 }, metricExportIntervalMillis: 300 });
    telemetry.monitor.updateLag('slow-node', 10, 5, 1);
    await receiver.waitFor('three slow exports delivered', () => receiver.requests.filter((r, i) => i >= start && r.signal === 'metrics').length >= 3, 15_000);
    assert.deepEqual(
      captured.lines.filter((l) => /timed out|failed/.test(l)),
      [],
      'a 900 ms export with a 5 s timeout must not be reported as timed out at the 300 ms interval',
    );
    const slow = captured.ours().filter((l) => l.includes('takes longer than the export interval'));
    assert.equal(slow.length, 1, captured.ours().join('\n'));
    assert.match(slow[0]!, /metrics export takes longer than the export interval: \d+ collections? skipped \(one export at a time; the newest goes next\)/);
    // One export at a time: the receiver never holds two metric requests at once, so attempts ≈ delivered.
    const delivered = receiver.requests.filter((r, i) => i >= start && r.signal === 'metrics').length;
    assert.ok(receiver.attempts('metrics') - attemptsBefore - delivered <= 1, `${receiver.attempts('metrics') - attemptsBefore} attempts, ${delivered} delivered`);
  });

  it('a DNS failure is named as such', async () => {
    captured = captureDiag();
    telemetry = await startTelemetry({ otlp: { endpoint: 'http://collector.invalid:4318', timeoutMillis: 1000 }, metricExportIntervalMillis: 1500 });
    telemetry.monitor.updateLag('n1', 10, 5, 1);
    const line = await receiver.waitFor('the DNS failure line', () => captured.ours().find((l) => l.includes('metrics export failed')), 15_000);
    assert.match(line, /: DNS lookup of collector\.invalid failed \((ENOTFOUND|EAI_AGAIN)\)$/);
  });
});
