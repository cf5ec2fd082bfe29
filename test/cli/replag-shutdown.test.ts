/**
 * `replag demo` as a subprocess exporting to the fault-injecting OTLP/HTTP receiver: SIGTERM against a hanging
 * collector exits within --shutdown-timeout, a second signal exits at once, and export failures are printed one line
 * per change of cause (refused → 503 → recovery), without stack traces.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { startOtlpReceiver, type OtlpReceiver } from '../harness/otlp-receiver.ts';
import { runNode } from '../helpers/run-node.ts';

const CLI = 'src/cli/replag.ts';
const BOUND_MS = 2000;
const MARGIN_MS = 1500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once `child`'s stderr has shown `pattern` (bounded by `timeoutMs`). */
function stderrShows(child: ChildProcess, pattern: RegExp, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`stderr never showed ${pattern}; got:\n${seen}`)), timeoutMs);
    child.stderr?.on('data', (d: Buffer | string) => {
      seen += String(d);
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

describe('replag shutdown and export failure output', () => {
  let receiver: OtlpReceiver;
  before(async () => {
    receiver = await startOtlpReceiver();
  });
  afterEach(async () => {
    await receiver.setFault({ mode: 'none' });
  });
  after(async () => {
    await receiver.close();
  });

  it('SIGTERM against a hanging collector: exits 0 within --shutdown-timeout, saying what was not exported', async () => {
    let signalledAt = 0;
    let exitedAt = 0;
    const run = runNode([CLI, 'demo', '--interval', '200', '--export-interval', '600000', '--output', 'quiet', '--shutdown-timeout', `${BOUND_MS}ms`], {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
      timeoutMs: 60_000,
      onSpawn: (child) => {
        void stderrShows(child, /replag: watching/).then(async () => {
          await sleep(500);
          await receiver.setFault({ mode: 'hang' });
          signalledAt = performance.now();
          child.kill('SIGTERM');
        });
        child.once('exit', () => (exitedAt = performance.now()));
      },
    });
    const result = await run;
    assert.ok(signalledAt > 0, 'never signalled');
    const took = exitedAt - signalledAt;
    assert.equal(result.code, 0, result.stderr);
    assert.ok(took < BOUND_MS + MARGIN_MS, `exited ${Math.round(took)} ms after SIGTERM, bound ${BOUND_MS} ms`);
    assert.match(result.stderr, /^replag: shutdown after \d+ ms \(bound \d+ ms\) did not export: .*the final metrics: no answer from the collector, cut at the shutdown deadline$/m);
    assert.match(result.stderr, /^replag: stopped; nodes=4/m);
  });

  it('replag --config: SIGTERM against a hanging collector exits 0 within --shutdown-timeout too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replag-shutdown-'));
    const file = join(dir, 'replag.yaml');
    writeFileSync(file, ['export: { interval: 10m }', 'sources:', '  - { name: a, type: demo, nodes: 2, interval: 200ms }', '  - { name: b, type: demo, nodes: 2, interval: 200ms }', ''].join('\n'));
    let signalledAt = 0;
    let exitedAt = 0;
    try {
      const result = await runNode([CLI, '--config', file, '--output', 'quiet', '--shutdown-timeout', `${BOUND_MS}ms`], {
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
        timeoutMs: 60_000,
        onSpawn: (child) => {
          void stderrShows(child, /replag: \[b\] watching/).then(async () => {
            await sleep(500);
            await receiver.setFault({ mode: 'hang' });
            signalledAt = performance.now();
            child.kill('SIGTERM');
          });
          child.once('exit', () => (exitedAt = performance.now()));
        },
      });
      assert.ok(signalledAt > 0, `never signalled: ${result.stderr}`);
      assert.equal(result.code, 0, result.stderr);
      const took = exitedAt - signalledAt;
      assert.ok(took < BOUND_MS + MARGIN_MS, `exited ${Math.round(took)} ms after SIGTERM, bound ${BOUND_MS} ms`);
      assert.match(result.stderr, /^replag: shutdown after \d+ ms \(bound \d+ ms\) did not export: /m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a second SIGTERM exits at once with status 143', async () => {
    let secondAt = 0;
    let exitedAt = 0;
    const result = await runNode([CLI, 'demo', '--interval', '200', '--export-interval', '600000', '--output', 'quiet', '--shutdown-timeout', '20s'], {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
      timeoutMs: 60_000,
      onSpawn: (child) => {
        void stderrShows(child, /replag: watching/).then(async () => {
          await receiver.setFault({ mode: 'hang' });
          child.kill('SIGTERM');
          await sleep(500);
          secondAt = performance.now();
          child.kill('SIGTERM');
        });
        child.once('exit', () => (exitedAt = performance.now()));
      },
    });
    assert.equal(result.code, 143, result.stderr);
    assert.match(result.stderr, /^replag: SIGTERM again: exiting now, without waiting for the final export$/m);
    // "At once": far below the 20 s bound the first signal started (a generous margin for a loaded machine).
    assert.ok(exitedAt - secondAt < 2000, `exited ${Math.round(exitedAt - secondAt)} ms after the second signal`);
  });

  it('prints export failures once per change: refused, 503 with Retry-After, recovery; nothing else, no stack trace', async () => {
    const url = receiver.url;
    const result = await runNode(
      // Thresholds out of reach: no alert events, so only metrics are exported; one export per 1.5 s, each ending within 1 s.
      [CLI, 'demo', '--interval', '200', '--export-interval', '1500', '--output', 'quiet', '--warning', '1000', '--critical', '2000', '--stall', '1000'],
      {
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_EXPORTER_OTLP_TIMEOUT: '1000' },
        timeoutMs: 60_000,
        onSpawn: (child) => {
          void stderrShows(child, /replag: watching/).then(async () => {
            await sleep(1000);
            await receiver.setFault({ mode: 'refuse' });
            await sleep(4000);
            await receiver.setFault({ mode: 'status', status: 503, retryAfterSeconds: 1 });
            await sleep(4000);
            await receiver.setFault({ mode: 'none' });
            await sleep(3000);
            child.kill('SIGTERM');
          });
        },
      },
    );
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stderr.trimEnd().split('\n');
    const expected = [
      new RegExp(`^replag: exporting OTLP \\(http/protobuf\\) metrics to ${url}/v1/metrics and alert events to ${url}/v1/logs$`),
      /^replag: watching simulated cluster with 4 followers, polling every 200 ms$/,
      new RegExp(`^replag: metrics export failed to ${url}/v1/metrics: connection refused \\(ECONNREFUSED\\)$`),
      new RegExp(`^replag: metrics export failed to ${url}/v1/metrics: HTTP 503 Service Unavailable, Retry-After 1 s$`),
      /^replag: metrics export succeeded again after \d+ failed exports$/,
      /^replag: stopped; nodes=4 /,
    ];
    assert.equal(lines.length, expected.length, `stderr:\n${result.stderr}`);
    expected.forEach((re, i) => assert.match(lines[i]!, re, `line ${i + 1} of stderr:\n${result.stderr}`));
  });

  it('rejects a bad --shutdown-timeout, naming the flag', async () => {
    const result = await runNode([CLI, 'demo', '--shutdown-timeout', 'soon']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^replag: --shutdown-timeout: expected a duration > 0 and at most 3600s, like 10s, 2500ms or 5 \(seconds\), got "soon"$/m);
  });
});
