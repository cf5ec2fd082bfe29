/**
 * End to end: the package's own Prometheus endpoint (startTelemetry) serves a monitor driven through
 * warning → a delay rising towards critical → critical → recovery → a stalled follower → replica removed →
 * its polled source failing → the process gone; a real Prometheus scrapes it with the shipped rules (only `for:` shortened) and
 * /api/v1/alerts shows every shipped alert go pending → firing → resolved.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTelemetry, type Telemetry } from '../../src/sdk/index.ts';
import { startPoller, type Poller } from '../../src/sources/poller.ts';
import { findFreePort, startPrometheus, waitUntil, type PromAlert, type RunningPrometheus } from '../harness/prometheus.ts';
import { ALERTING_FILES, PROMETHEUS_METRIC_NAMES, withShortFor } from './metric-names.ts';

let telemetry: Telemetry | undefined;
let prometheus: RunningPrometheus;
let workDir: string;
let ticker: NodeJS.Timeout;
let endpointPort: number;
/** What the simulated follower reports on each tick (every 200 ms). */
let delaySeconds = 0;
/** Added to `delaySeconds` on each tick (a delay rising at 5 × this per second). */
let delayStep = 0;
let reporting = true;
/** The follower stops applying (for the stalled alert). */
let frozen = false;
let leader = 1_000_000;
let follower = 1_000_000;
/** A polled source (reporting no replica of its own) whose polls fail while this is set. */
let sourceDown = false;
let poller: Poller | undefined;

/** The package's endpoint with a short stall timeout, so the stalled episode takes seconds. */
async function startEndpoint(): Promise<Telemetry> {
  const t = await startTelemetry({
    serviceName: 'replication-e2e',
    otlp: false,
    prometheus: { host: '127.0.0.1', port: endpointPort },
    instrumentation: { stallTimeoutSeconds: 2 },
  });
  t.monitor.registerNode('replica-1', { 'replication.system': 'raft', 'server.address': '127.0.0.1' });
  return t;
}

before(async () => {
  endpointPort = await findFreePort();
  telemetry = await startEndpoint();
  const source = {
    name: 'e2e-source',
    poll: async () => {
      if (sourceDown) throw new Error('connection refused');
      return [];
    },
  };
  poller = startPoller({ source, monitor: telemetry.monitor, intervalMs: 200 });
  telemetry.instrumentation.observeSource(poller);
  ticker = setInterval(() => {
    if (!reporting || telemetry === undefined) return;
    leader += 500;
    delaySeconds += delayStep;
    // Unless frozen, the follower always advances: never stalled.
    if (!frozen) follower = delaySeconds === 0 ? leader : follower + 400;
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
  await poller?.stop();
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

/** Waits until no alert named `name` is left: resolved. */
async function watchUntilResolved(name: string, timeoutMs: number): Promise<void> {
  await waitUntil(`${name} to resolve`, timeoutMs, async () => (await alertsNamed(name)).length === 0);
}

test('the shipped rules fire and resolve on metrics scraped from the package\'s own Prometheus endpoint', { timeout: 240_000 }, async () => {
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

  // a delay rising at 1 s/s from 12 s: forecast at the 60 s horizon well above 30 s while the delay is below it.
  // First let the forecast settle: the step from 0 to 12 s may itself have made it rise for a few seconds.
  await watchUntilResolved('ReplicationDelayPredictedCritical', 20_000);
  delayStep = 0.2;
  const predicted = await watchUntilFiring('ReplicationDelayPredictedCritical', 20_000);
  assert.deepEqual(predicted.states, ['pending', 'firing']);
  assert.equal(predicted.alert.labels.replication_node_id, 'replica-1');
  assert.equal(predicted.alert.labels.severity, 'page');
  assert.ok(delaySeconds < 30, `fired before the breach (delay ${delaySeconds.toFixed(1)} s)`);
  assert.equal((await alertsNamed('ReplicationDelayCritical')).length, 0);
  // ... and so does the time to critical, well within 10 minutes
  const soon = await watchUntilFiring('ReplicationDelayCriticalWithin10m', 20_000);
  assert.equal(soon.alert.labels.replication_node_id, 'replica-1');
  assert.equal(soon.alert.labels.severity, 'critical');
  assert.ok(delaySeconds < 30, `critical-within-10m fired before the breach (delay ${delaySeconds.toFixed(1)} s)`);

  // critical: the forecast alert resolves once the breach is there (the critical alert takes over)
  delayStep = 0;
  delaySeconds = 45;
  const critical = await watchUntilFiring('ReplicationDelayCritical', 20_000);
  assert.deepEqual(critical.states, ['pending', 'firing']);
  assert.equal(critical.alert.labels.severity, 'page');
  const [state] = await prometheus.query(`${PROMETHEUS_METRIC_NAMES['replication.severity']}{replication_severity="critical"}`);
  assert.equal(state?.value, 1, 'the state set says critical');
  await watchUntilResolved('ReplicationDelayPredictedCritical', 20_000);
  await watchUntilResolved('ReplicationDelayCriticalWithin10m', 20_000); // time to critical 0: critical already

  // recovery: both resolve
  delaySeconds = 0;
  await waitUntil('warning and critical to resolve', 20_000, async () => {
    const names = (await prometheus.alerts()).map((a) => a.labels.alertname);
    return !names.includes('ReplicationDelayWarning') && !names.includes('ReplicationDelayCritical');
  });
  const [alertsCounter] = await prometheus.query(`sum(${PROMETHEUS_METRIC_NAMES['replication.alerts']})`);
  assert.ok((alertsCounter?.value ?? 0) >= 3, 'warning, critical and resolving alerts counted');

  // stalled: behind and not applying (delay given below the warning threshold, so only the stall shows)
  delaySeconds = 2;
  frozen = true;
  const stalled = await watchUntilFiring('ReplicationStalled', 20_000);
  assert.deepEqual(stalled.states, ['pending', 'firing']);
  assert.equal(stalled.alert.labels.replication_node_id, 'replica-1');
  assert.equal((await alertsNamed('ReplicationDelayWarning')).length, 0, 'a stall is not a delay alert');
  frozen = false;
  delaySeconds = 0;
  await watchUntilResolved('ReplicationStalled', 20_000);

  // the replica is removed: its series vanish from the next scrape and ReplicationReplicaAbsent fires
  reporting = false;
  telemetry!.monitor.unregisterNode('replica-1');
  const absent = await watchUntilFiring('ReplicationReplicaAbsent', 25_000);
  assert.deepEqual(absent.states, ['pending', 'firing']);
  assert.equal(absent.alert.labels.replication_node_id, 'replica-1');
  assert.deepEqual(await prometheus.query(PROMETHEUS_METRIC_NAMES['replication.lag']), [], 'no stale series left behind');

  // and it comes back: the absence resolves
  reporting = true;
  await watchUntilResolved('ReplicationReplicaAbsent', 20_000);

  // the polled source cannot be read: ReplicationSourceDown fires; its polls succeed again: it resolves
  const [up] = await prometheus.query(PROMETHEUS_METRIC_NAMES['replication.source.up']);
  assert.equal(up?.value, 1);
  assert.equal(up?.labels.replication_source, 'e2e-source');
  sourceDown = true;
  const sourceAlert = await watchUntilFiring('ReplicationSourceDown', 20_000);
  assert.deepEqual(sourceAlert.states, ['pending', 'firing']);
  assert.equal(sourceAlert.alert.labels.replication_source, 'e2e-source');
  assert.equal(sourceAlert.alert.labels.instance, `127.0.0.1:${endpointPort}`);
  assert.equal((await alertsNamed('ReplicationReplicaAbsent')).length, 0, 'the replicas are still reported');
  sourceDown = false;
  await watchUntilResolved('ReplicationSourceDown', 20_000);

  // the process goes away: the target is down, ReplicationTargetDown fires (and the absence alert does not)
  await poller?.stop();
  const gone = telemetry!;
  telemetry = undefined;
  await gone.shutdown();
  const down = await watchUntilFiring('ReplicationTargetDown', 25_000);
  assert.deepEqual(down.states, ['pending', 'firing']);
  assert.equal(down.alert.labels.instance, `127.0.0.1:${endpointPort}`);
  assert.equal((await alertsNamed('ReplicationReplicaAbsent')).length, 0, 'a down target is not an absent replica');

  // it restarts on the same address: the target is up again and the alert resolves
  telemetry = await startEndpoint();
  await watchUntilResolved('ReplicationTargetDown', 25_000);
});
