/**
 * The MySQL-family heartbeat (`MySqlSourceOptions.heartbeat`) against a real MariaDB 10.11 primary and GTID replica
 * (test/harness/mariadb.ts), under load:
 * (c) unset: nothing is created or written on the primary (its GTID position does not move); a user that may not
 *     create the table gets the statement to run;
 * (b) healthy and with the replica's SQL thread stopped, the heartbeat delay is within one interval + 0.5 s of the truth;
 * (a) the source, monitor and instrumentation started anew while the SQL thread has been stopped for 20 s
 *     (`Seconds_Behind_Master` NULL): the first poll exports a delay within 1.5 s of the truth and a severity that
 *     is not provisional (it alerts).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReplicationLagInstrumentation } from '../../src/instrumentation.ts';
import { MySqlSource, type MySqlSourceOptions } from '../../src/sources/mysql.ts';
import { startPoller } from '../../src/sources/poller.ts';
import type { LagAlert } from '../../src/types.ts';
import { startMariaDbCluster, type MariaDbCluster } from '../harness/mariadb.ts';
import { waitUntil } from '../harness/wait.ts';
import { inMemoryPipeline } from '../helpers/in-memory-sdk.ts';
import { replagFirstPoll } from '../helpers/replag-first-line.ts';

const PORTS = { minPort: 18300, maxPort: 18600 };
const PASSWORD = 'hb-Pw-7Qx2';
const INTERVAL_MS = 1000;

let cluster: MariaDbCluster;
let replicaId: string;
const sources: MySqlSource[] = [];

const url = (server: 'primary' | 'replica', user = 'replag', db = '/app') => `mysql://${user}:${PASSWORD}@127.0.0.1:${cluster.port(server)}${server === 'primary' ? db : ''}`;

function source(options: Partial<MySqlSourceOptions> = {}): MySqlSource {
  const s = new MySqlSource({ primary: url('primary'), replicas: [url('replica')], heartbeat: { intervalMs: INTERVAL_MS }, ...options });
  sources.push(s);
  return s;
}

async function tableExists(): Promise<boolean> {
  return (await cluster.sql('primary', "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app' AND TABLE_NAME = 'replag_heartbeat'")).trim() === '1';
}

before(async () => {
  cluster = await startMariaDbCluster(PORTS);
  await cluster.sql('primary', `
    CREATE USER 'replag'@'%' IDENTIFIED BY '${PASSWORD}'; GRANT REPLICA MONITOR ON *.* TO 'replag'@'%';
    GRANT CREATE, SELECT, INSERT, UPDATE ON app.* TO 'replag'@'%';
    CREATE USER 'plain'@'%' IDENTIFIED BY '${PASSWORD}'; GRANT REPLICA MONITOR ON *.* TO 'plain'@'%';`);
  await cluster.waitCaughtUp();
  replicaId = `127.0.0.1:${cluster.port('replica')}`;
});

after(async () => {
  for (const s of sources) await s.close();
  await cluster?.close();
});

test('(c) heartbeat unset: polls create nothing and write nothing (the primary\'s GTID position stays)', async () => {
  const gtid = await cluster.gtidPos('primary');
  const s = new MySqlSource({ primary: url('primary'), replicas: [url('replica')] });
  sources.push(s);
  for (let i = 0; i < 5; i++) {
    const [p] = await s.poll();
    assert.equal(p!.heartbeatDelaySeconds, undefined);
  }
  await sleep(1500);
  assert.equal(await tableExists(), false);
  assert.equal(await cluster.gtidPos('primary'), gtid, 'no transaction on the primary');
  await s.close();
});

test('a user that may not create the table: the poll fails with the statement to run; nothing is created or written', async () => {
  const gtid = await cluster.gtidPos('primary');
  const s = source({ primary: url('primary', 'plain'), replicas: [url('replica', 'plain')] });
  const error = await s.poll().then(() => undefined, (e: Error) => e);
  assert.ok(error instanceof Error, 'the poll rejects');
  assert.match(error.message, /CREATE TABLE IF NOT EXISTS `app`\.`replag_heartbeat` \(name VARCHAR\(64\) NOT NULL PRIMARY KEY, written_ms BIGINT NOT NULL\) ENGINE=InnoDB; GRANT SELECT, INSERT, UPDATE ON `app`\.`replag_heartbeat` TO 'plain'@'%';/);
  assert.ok(!error.message.includes(PASSWORD));
  assert.equal(await tableExists(), false);
  assert.equal(await cluster.gtidPos('primary'), gtid);
  await s.close();
});

test('options: no database for the table, a bad table: RangeError naming the option, before any I/O', () => {
  assert.throws(() => new MySqlSource({ primary: url('primary', 'replag', ''), replicas: [url('replica')], heartbeat: {} }), /MySqlSourceOptions\.heartbeat\.table "replag_heartbeat" needs a database/);
  assert.throws(() => new MySqlSource({ primary: url('primary'), replicas: [url('replica')], heartbeat: { table: 'a.b.c' } }), /MySqlSourceOptions\.heartbeat\.table/);
});

test('(b) healthy then SQL thread stopped: the heartbeat delay is within one interval + 0.5 s of the truth', async () => {
  const s = source();
  const load = await cluster.startLoad(100);
  try {
    await waitUntil('a heartbeat on the replica', 15_000, async () => (await s.poll())[0]?.heartbeatDelaySeconds !== undefined, 200);
    assert.equal(await tableExists(), true, 'created by the first poll');
    let healthyMax = 0;
    for (let i = 0; i < 6; i++) {
      const [p] = await s.poll();
      assert.ok(p!.heartbeatDelaySeconds !== undefined && p!.heartbeatDelaySeconds <= INTERVAL_MS / 1000 + 0.5, `healthy: ${p!.heartbeatDelaySeconds} s`);
      healthyMax = Math.max(healthyMax, p!.heartbeatDelaySeconds);
      await sleep(500);
    }
    await cluster.sql('replica', 'STOP REPLICA SQL_THREAD');
    const stoppedAt = performance.now();
    const figures: string[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        await sleep(700);
        const [p] = await s.poll();
        const truth = (performance.now() - stoppedAt) / 1000;
        figures.push(`${truth.toFixed(2)}→${p!.heartbeatDelaySeconds}`);
        assert.ok(p!.heartbeatDelaySeconds !== undefined && Math.abs(p!.heartbeatDelaySeconds - truth) <= INTERVAL_MS / 1000 + 0.5, `stopped ${truth.toFixed(2)} s: heartbeat ${p!.heartbeatDelaySeconds} s`);
      }
    } finally {
      await cluster.sql('replica', 'START REPLICA SQL_THREAD');
    }
    console.log(`# healthy max ${healthyMax} s; SQL thread stopped (truth→heartbeat): ${figures.join(' ')}`);
  } finally {
    await load.stop();
    await s.close();
  }
  await cluster.waitCaughtUp();
});

test('(a) started anew while the SQL thread has been stopped for 20 s: the first poll exports a delay within 1.5 s of the truth, not provisional', async () => {
  const first = source();
  await waitUntil('a heartbeat on the replica', 15_000, async () => (await first.poll())[0]?.heartbeatDelaySeconds !== undefined, 200);
  await sleep(1500);
  const load = await cluster.startLoad(100);
  await cluster.sql('replica', 'STOP REPLICA SQL_THREAD');
  const stoppedAt = performance.now();
  await first.close(); // the sidecar goes away; the primary keeps being written to
  try {
    await sleep(20_000);
    const pipeline = inMemoryPipeline();
    const instrumentation = new ReplicationLagInstrumentation({ enabled: false });
    instrumentation.setMeterProvider(pipeline.meterProvider);
    instrumentation.enable();
    const monitor = instrumentation.monitor;
    const alerts: LagAlert[] = [];
    monitor.onAlert((a) => alerts.push(a));
    let polled = 0;
    const errors: Error[] = [];
    const poller = startPoller({ source: source(), monitor, intervalMs: 500, onPoll: () => polled++, onError: (e) => errors.push(e) });
    try {
      await waitUntil('the first poll', 10_000, () => polled >= 1 || errors.length > 0, 20);
      const truth = (performance.now() - stoppedAt) / 1000;
      assert.deepEqual(errors.map((e) => e.message), []);
      const exported = await pipeline.collect();
      const value = (name: string) => exported.get(name)?.points.find((p) => p.attributes['replication.node.id'] === replicaId)?.value;
      const status = monitor.getStatus(replicaId)!;
      console.log(`# restarted after ${truth.toFixed(2)} s with the SQL thread stopped: replication.delay ${value('replication.delay')} s, replication.heartbeat.delay ${value('replication.heartbeat.delay')} s, severity ${status.severity}`);
      assert.equal(polled, 1, 'still the first poll');
      assert.equal(status.delayEstimated, false, 'a first observation: no estimate of the monitor\'s own (and Seconds_Behind_Master is NULL)');
      const delay = value('replication.delay');
      assert.ok(typeof delay === 'number' && Math.abs(delay - truth) <= 1.5, `exported delay ${delay} s, truth ${truth.toFixed(2)} s`);
      assert.equal(value('replication.heartbeat.delay'), status.heartbeatDelaySeconds);
      assert.equal(status.severity, 'warning', 'between the 5 s warning and the 30 s critical thresholds');
      assert.ok(alerts.some((a) => a.nodeId === replicaId && a.severity === 'warning'), 'not provisional: the first poll alerts');
    } finally {
      await poller.stop();
      instrumentation.disable();
    }
    // The same through replag, a subprocess with the heartbeat flags (its row: the source's name, mysql).
    const u = (server: 'primary' | 'replica') => `mysql://replag@127.0.0.1:${cluster.port(server)}${server === 'primary' ? '/app' : ''}`;
    const run = await replagFirstPoll(['mysql', '--primary', u('primary'), '--replica', u('replica'), '--heartbeat-table', 'replag_heartbeat', '--heartbeat-interval', '1s'], { env: { MYSQL_PWD: PASSWORD } });
    const truth = (run.at - stoppedAt) / 1000;
    console.log(`# replag subprocess, ${truth.toFixed(2)} s after the SQL thread stopped, first poll: ${run.line}`);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.line, / nodes=1 normal=0 warning=1 /);
    const maxDelay = Number(/max_delay=([\d.]+)s/.exec(run.line)?.[1]);
    assert.ok(Math.abs(maxDelay - truth) <= 1.5, `replag's first poll: max_delay ${maxDelay} s, truth ${truth.toFixed(2)} s`);
    assert.match(run.stdout, /^ALERT WARNING /m, 'not provisional: replag alerts on its first poll');
  } finally {
    await cluster.sql('replica', 'START REPLICA SQL_THREAD');
    await load.stop();
  }
});
