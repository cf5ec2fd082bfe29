/**
 * A real Prometheus (test/harness/prometheus.ts) scrapes a tiny local target serving a settable
 * replication_delay_seconds gauge, with the shipped rules loaded (only their `for:` durations shortened),
 * and ReplicationDelayWarning goes pending → firing → resolved through /api/v1/alerts.
 */
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { findFreePort, startPrometheus, waitUntil, type PromAlert, type RunningPrometheus } from '../harness/prometheus.ts';
import { ALERTING_FILES, PROMETHEUS_METRIC_NAMES, withShortFor } from './metric-names.ts';

const DELAY = PROMETHEUS_METRIC_NAMES['replication.delay'];
const SHORT_FOR = '3s';

let delaySeconds = 0;
let target: Server;
let prometheus: RunningPrometheus;
let workDir: string;

before(async () => {
  target = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(`# HELP ${DELAY} Delay.\n# TYPE ${DELAY} gauge\n${DELAY}{replication_node_id="r1"} ${delaySeconds}\n`);
  });
  const targetPort = await findFreePort();
  await new Promise<void>((resolve) => target.listen(targetPort, '127.0.0.1', resolve));

  workDir = mkdtempSync(join(tmpdir(), 'replication-rules-'));
  const rulesCopy = join(workDir, 'replication-lag.rules.yml');
  writeFileSync(rulesCopy, withShortFor(readFileSync(ALERTING_FILES.rules, 'utf8'), SHORT_FOR));

  let promPort = await findFreePort();
  while (promPort === targetPort) promPort = await findFreePort();
  prometheus = await startPrometheus({
    port: promPort,
    scrapeTargets: [`127.0.0.1:${targetPort}`],
    ruleFiles: [rulesCopy],
    scrapeIntervalSeconds: 1,
    evaluationIntervalSeconds: 1,
  });
});

after(async () => {
  await prometheus?.close();
  target?.closeAllConnections();
  await new Promise<void>((resolve) => (target ? target.close(() => resolve()) : resolve()));
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

test('the test copy of the rules differs from the shipped rules only in `for:` durations', () => {
  const shipped = readFileSync(ALERTING_FILES.rules, 'utf8');
  const copy = withShortFor(shipped, SHORT_FOR);
  const shippedLines = shipped.split('\n');
  const copyLines = copy.split('\n');
  assert.equal(copyLines.length, shippedLines.length);
  const changed = shippedLines.flatMap((line, i) => (line === copyLines[i] ? [] : [[line.trim(), copyLines[i]?.trim()]]));
  assert.ok(changed.length >= 6, `expected every alert's for: rewritten, got ${JSON.stringify(changed)}`);
  for (const [from, to] of changed) {
    assert.match(from as string, /^for: \S+$/);
    assert.equal(to, `for: ${SHORT_FOR}`);
  }
});

test('ReplicationDelayWarning goes pending, fires and resolves on a live Prometheus', { timeout: 60_000 }, async () => {
  await prometheus.waitForTargets(20_000);
  const up = await prometheus.query('up');
  assert.deepEqual(up.map((s) => [s.labels.job, s.value]), [['replication', 1]]);
  assert.deepEqual(await warnings(), [], 'no alert while the delay is 0');

  delaySeconds = 12;
  const seen: PromAlert['state'][] = [];
  let firing: PromAlert | undefined;
  await waitUntil('ReplicationDelayWarning to fire', 20_000, async () => {
    const [alert] = await warnings();
    if (alert && seen.at(-1) !== alert.state) seen.push(alert.state);
    if (alert?.state === 'firing') firing = alert;
    return firing !== undefined;
  }, 100);
  assert.deepEqual(seen, ['pending', 'firing'], 'pending while `for:` runs, then firing');
  assert.ok(firing);
  assert.equal(firing.labels.severity, 'warning');
  assert.equal(firing.labels.replication_node_id, 'r1');
  assert.equal(firing.labels.job, 'replication');
  assert.equal(firing.annotations.summary, 'Replica r1 is 12s behind its leader');
  assert.match(firing.annotations.description ?? '', /at or above the 5s warning threshold/);

  const all = await prometheus.alerts();
  assert.ok(!all.some((a) => a.labels.alertname === 'ReplicationDelayCritical'), '12s is below the critical threshold');
  const [max] = await prometheus.query('job:replication_delay_seconds:max');
  assert.deepEqual(max, { labels: { __name__: 'job:replication_delay_seconds:max', job: 'replication' }, value: 12 }, 'recording rule evaluated');

  delaySeconds = 0;
  await waitUntil('ReplicationDelayWarning to resolve', 15_000, async () => (await warnings()).length === 0);
});

test('close() stops the server', async () => {
  const url = prometheus.url;
  await prometheus.close();
  await assert.rejects(fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) }));
  await prometheus.close(); // idempotent
});

async function warnings(): Promise<PromAlert[]> {
  return (await prometheus.alerts()).filter((a) => a.labels.alertname === 'ReplicationDelayWarning');
}
