/**
 * End to end: the package's own Prometheus endpoint (startTelemetry) serves a monitor driven through
 * warning → critical → recovery → replica removed; a real Prometheus scrapes it with the shipped rules
 * (only `for:` shortened) and /api/v1/alerts shows each alert go pending → firing → resolved.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTelemetry, type Telemetry } from '../../src/sdk/index.ts';
import { findFreePort, startPrometheus, waitUntil, type PromAlert, type RunningPrometheus } from '../harness/prometheus.ts';
import { ALERTING_FILES, PROMETHEUS_METRIC_NAMES, withShortFor } from './metric-names.ts';

let telemetry: Telemetry;
let prometheus: RunningPrometheus;
let workDir: string;
let ticker: NodeJS.Timeout;
/** What the simulated follower reports on each tick (every 200 ms). */
let delaySeconds = 0;
let reporting = true;
let leader = 1_000_000;
let follower = 1_000_000;

before(async () => {
  const endpointPort = await findFreePort();
  telemetry = await startTelemetry({
    serviceName: 'replication-e2e',
    otlp: false,
    prometheus: { host: '127.0.0.1', port: endpointPort },
  });
  telemetry.monitor.registerNode('replica-1', { 'replication.system': 'raft', 'server.address': '127.0.0.1' });
  ticker = setInterval(() => {
    if (!reporting) return;
    leader += 500;
    follower = delaySeconds === 0 ? leader : follower + 400; // always advancing: never stalled
    telemetry.monitor.updateLag('replica-1', leader, follower, delaySeconds);
  }, 200);

  workDir = mkdtempSync(join(tmpdir(), 'replication-e2e-'));
  const rules = join(workDir, 'replication-lag.rules.yml');
  writeFileSync(rules, withShortFor(readFileSync(ALERTING_FILES.rules, 'utf8'), '3s'));
  let promPort = await findFreePort();
  while (promPort === endpointPort) promPort = await findFreePort();
  prometheus = await startPrometheus({
    port: promPort,
    scrapeTargets: [`127.0.0.1:${endpointPort}`],
    ruleFiles: [rules],
    scrapeIntervalSeconds: 1,
    evaluationIntervalSeconds: 1,
  });
});

after(async () => {
  clearInterval(ticker);
  await prometheus?.close();
  await telemetry?.shutdown();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

async function alertsNamed(name: string): Promise<PromAlert[]> {
  return (await prometheus.alerts()).filter((a) => a.labels.alertname === name);
}

/** Waits for `name` to fire, recording the states seen on the way. */
async function watchUntilFiring(name: string, timeoutMs: number): Promise<{ states: string[]; alert: PromAlert }> {
  const states: string[] = [];
  let firing: PromAlert | undefined;
  await waitUntil(`${name} to fire`, timeoutMs, async () => {
    const [alert] = await alertsNamed(name);
    if (alert && states.at(-1) !== alert.state) states.push(alert.state);
    if (alert?.state === 'firing') firing = alert;
    return firing !== undefined;
  }, 100);
  return { states, alert: firing! };
}

test('the shipped rules fire and resolve on metrics scraped from the package\'s own Prometheus endpoint', { timeout: 120_000 }, async () => {
  await prometheus.waitForTargets(20_000);
  await waitUntil('the first samples', 10_000, async () => (await prometheus.query(PROMETHEUS_METRIC_NAMES['replication.lag'])).length > 0);
  const [lag] = await prometheus.query(PROMETHEUS_METRIC_NAMES['replication.lag']);
  assert.equal(lag?.labels.replication_node_id, 'replica-1');
  assert.equal(lag?.labels.replication_system, 'raft');
  assert.equal(lag?.labels.job, 'replication');
  assert.deepEqual(await prometheus.alerts(), [], 'nothing fires while the replica is caught up');

  // warning
  delaySeconds = 12;
  const warning = await watchUntilFiring('ReplicationDelayWarning', 20_000);
  assert.deepEqual(warning.states, ['pending', 'firing']);
  assert.equal(warning.alert.labels.replication_node_id, 'replica-1');
  assert.equal(warning.alert.labels.severity, 'warning');
  assert.equal(warning.alert.annotations.summary, 'Replica replica-1 is 12s behind its leader');
  assert.equal((await alertsNamed('ReplicationDelayCritical')).length, 0);

  // critical
  delaySeconds = 45;
  const critical = await watchUntilFiring('ReplicationDelayCritical', 20_000);
  assert.deepEqual(critical.states, ['pending', 'firing']);
  assert.equal(critical.alert.labels.severity, 'page');
  const [state] = await prometheus.query(`${PROMETHEUS_METRIC_NAMES['replication.severity']}{replication_severity="critical"}`);
  assert.equal(state?.value, 1, 'the state set says critical');

  // recovery: both resolve
  delaySeconds = 0;
  await waitUntil('warning and critical to resolve', 20_000, async () => {
    const names = (await prometheus.alerts()).map((a) => a.labels.alertname);
    return !names.includes('ReplicationDelayWarning') && !names.includes('ReplicationDelayCritical');
  });
  const [alertsCounter] = await prometheus.query(`sum(${PROMETHEUS_METRIC_NAMES['replication.alerts']})`);
  assert.ok((alertsCounter?.value ?? 0) >= 3, 'warning, critical and resolving alerts counted');

  // the replica is removed: its series vanish from the next scrape and ReplicationReplicaAbsent fires
  reporting = false;
  telemetry.monitor.unregisterNode('replica-1');
  const absent = await watchUntilFiring('ReplicationReplicaAbsent', 25_000);
  assert.deepEqual(absent.states, ['pending', 'firing']);
  assert.equal(absent.alert.labels.replication_node_id, 'replica-1');
  assert.deepEqual(await prometheus.query(PROMETHEUS_METRIC_NAMES['replication.lag']), [], 'no stale series left behind');

  // and it comes back: the absence resolves
  reporting = true;
  await waitUntil('ReplicationReplicaAbsent to resolve', 20_000, async () => (await alertsNamed('ReplicationReplicaAbsent')).length === 0);
});
