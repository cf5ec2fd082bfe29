/**
 * The PostgreSQL heartbeat (`PostgresSourceOptions.heartbeat` + `standbys`) against a real PostgreSQL 15 primary
 * and two streaming standbys (test/harness/postgresql.ts), one with a physical slot (matched by its
 * `primary_slot_name`), one without (matched by its `cluster_name` as application_name):
 * (c) unset: nothing is created or written; a role that may not create the table gets the statement to run;
 * (a) the source and monitor started anew while replay has been paused for 20 s: the first poll's delay is within
 *     1.5 s of the truth, and its severity is not provisional (it alerts);
 * (b) healthy and paused, the heartbeat delay is within one interval plus 0.5 s of the truth.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReplicationLagMonitor } from '../../src/monitor.ts';
import { startPoller } from '../../src/sources/poller.ts';
import { PostgresSource, type PostgresSourceOptions } from '../../src/sources/postgresql.ts';
import type { LagAlert } from '../../src/types.ts';
import { startPostgresCluster, waitUntil, type PostgresCluster } from '../harness/postgresql.ts';
import { replagFirstPoll } from '../helpers/replag-first-line.ts';

delete process.env.PGSSLMODE;

const PORTS: [number, number] = [18000, 18300];
const SLOT = 'hb_slot';
const INTERVAL_MS = 1000;

let cluster: PostgresCluster;
const sources: PostgresSource[] = [];
/** Standbys the sources could not read or match (none expected). */
const replicaErrors: string[] = [];

function source(options: Partial<PostgresSourceOptions> = {}): PostgresSource {
  const s = new PostgresSource({
    url: cluster.url(),
    heartbeat: { intervalMs: INTERVAL_MS, name: 'postgres' }, // the row replag's flags mode writes (named after the type)
    standbys: [cluster.url('postgres', cluster.standby('s1')), cluster.url('postgres', cluster.standby('s2'))],
    onReplicaError: (replica, error) => replicaErrors.push(`standby ${replica}: ${error.message}`),
    ...options,
  });
  sources.push(s);
  return s;
}

/** The next transaction id the primary would assign: unchanged while nothing writes. */
async function nextXid(): Promise<string> {
  const [row] = await cluster.primary.query<{ x: string }>('SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS x');
  return row!.x;
}

async function tableExists(): Promise<boolean> {
  const [row] = await cluster.primary.query<{ present: boolean }>("SELECT to_regclass('replag_heartbeat') IS NOT NULL AS present");
  return row!.present;
}

before(async () => {
  cluster = await startPostgresCluster({ standbys: [{ name: 's1', slot: SLOT }, { name: 's2' }], portRange: PORTS });
  await cluster.waitStreaming(2);
});

after(async () => {
  for (const s of sources) await s.close();
  await cluster?.close();
});

test('(c) heartbeat unset: polls create nothing and write nothing on the primary', async () => {
  const before = await nextXid();
  const s = new PostgresSource({ url: cluster.url() });
  sources.push(s);
  for (let i = 0; i < 5; i++) {
    const positions = await s.poll();
    assert.equal(positions.length, 2);
    for (const p of positions) assert.equal(p.heartbeatDelaySeconds, undefined);
  }
  await sleep(1500);
  assert.equal(await tableExists(), false, 'no heartbeat table');
  assert.equal(await nextXid(), before, 'no transaction wrote anything');
  await s.close();
});

test('a role that may not create the table: the poll fails with the statement to run, and nothing is created', async () => {
  await cluster.createRole('hb_watcher', 'hb-pw');
  await cluster.primary.query('GRANT pg_monitor TO hb_watcher');
  const s = new PostgresSource({ url: cluster.url('hb_watcher'), password: 'hb-pw', heartbeat: {} });
  sources.push(s);
  const error = await s.poll().then(() => undefined, (e: Error) => e);
  assert.ok(error instanceof Error, 'the poll rejects');
  assert.match(error.message, /CREATE TABLE IF NOT EXISTS replag_heartbeat \(name text PRIMARY KEY, written_ms bigint NOT NULL\); GRANT SELECT, INSERT, UPDATE ON replag_heartbeat TO hb_watcher;/);
  assert.ok(!error.message.includes('hb-pw'), 'no password in the message');
  assert.equal(await tableExists(), false);
  await s.close();
});

test('options: standbys without heartbeat, a bad table name: errors naming the option, before any I/O', () => {
  assert.throws(() => new PostgresSource({ url: cluster.url(), standbys: [cluster.url()] }), /PostgresSourceOptions\.standbys .*heartbeat/);
  assert.throws(() => new PostgresSource({ url: cluster.url(), heartbeat: { table: 'x; DROP TABLE y' } }), /PostgresSourceOptions\.heartbeat\.table/);
  assert.throws(() => new PostgresSource({ url: cluster.url(), heartbeat: { intervalMs: 0 } }), /PostgresSourceOptions\.heartbeat\.intervalMs/);
});

test('(b) healthy then replay paused: each standby, under its pg_stat_replication node id, has a heartbeat delay within one interval + 0.5 s of the truth', async () => {
  const s = source();
  const load = cluster.startLoad(100);
  try {
    // The first poll creates the table (the superuser may) and writes the first heartbeat.
    await waitUntil('both standbys show a heartbeat', 15_000, async () => (await s.poll()).filter((p) => p.heartbeatDelaySeconds !== undefined).length === 2, 200);
    assert.equal(await tableExists(), true);
    let healthyMax = 0;
    for (let i = 0; i < 6; i++) {
      const positions = await s.poll();
      assert.deepEqual(positions.map((p) => p.nodeId), [SLOT, 's2'], 'node ids: the slot, the cluster_name');
      for (const p of positions) {
        assert.ok(p.heartbeatDelaySeconds !== undefined && p.heartbeatDelaySeconds <= INTERVAL_MS / 1000 + 0.5, `${p.nodeId} healthy: ${p.heartbeatDelaySeconds} s`);
        healthyMax = Math.max(healthyMax, p.heartbeatDelaySeconds);
      }
      await sleep(500);
    }
    const s2 = cluster.standby('s2');
    await s2.query('SELECT pg_wal_replay_pause()');
    const pausedAt = performance.now();
    const figures: string[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        await sleep(700);
        const positions = await s.poll();
        const truth = (performance.now() - pausedAt) / 1000;
        const paused = positions.find((p) => p.nodeId === 's2')!;
        const healthy = positions.find((p) => p.nodeId === SLOT)!;
        figures.push(`${truth.toFixed(2)}→${paused.heartbeatDelaySeconds}`);
        assert.ok(paused.heartbeatDelaySeconds !== undefined && Math.abs(paused.heartbeatDelaySeconds - truth) <= INTERVAL_MS / 1000 + 0.5, `paused ${truth.toFixed(2)} s: heartbeat ${paused.heartbeatDelaySeconds} s`);
        assert.ok(healthy.heartbeatDelaySeconds !== undefined && healthy.heartbeatDelaySeconds <= INTERVAL_MS / 1000 + 0.5, `the other standby: ${healthy.heartbeatDelaySeconds} s`);
      }
    } finally {
      await s2.query('SELECT pg_wal_replay_resume()');
    }
    assert.deepEqual(replicaErrors, []);
    console.log(`# healthy max ${healthyMax} s; paused (truth→heartbeat): ${figures.join(' ')}`);
    await waitUntil('caught up again', 10_000, async () => (await s.poll()).every((p) => p.heartbeatDelaySeconds !== undefined && p.heartbeatDelaySeconds <= INTERVAL_MS / 1000 + 0.5), 200);
  } finally {
    await load.stop();
    await s.close();
  }
});

test('(a) started anew while replay has been paused for 20 s: the first poll exports a delay within 1.5 s of the truth, not provisional', async () => {
  const before = source();
  await waitUntil('heartbeats on both standbys', 15_000, async () => (await before.poll()).every((p) => p.heartbeatDelaySeconds !== undefined), 200);
  await sleep(1500);
  const s1 = cluster.standby('s1');
  const load = cluster.startLoad(100);
  await s1.query('SELECT pg_wal_replay_pause()');
  const pausedAt = performance.now();
  await before.close(); // the sidecar goes away; the primary keeps being written to
  try {
    await sleep(20_000);
    const monitor = new ReplicationLagMonitor();
    const alerts: LagAlert[] = [];
    monitor.onAlert((a) => alerts.push(a));
    const after = source();
    let polled = 0;
    const poller = startPoller({ source: after, monitor, intervalMs: 500, onPoll: () => polled++, onError: (e) => assert.fail(e.message) });
    try {
      await waitUntil('the first poll', 10_000, () => polled >= 1, 20);
      const truth = (performance.now() - pausedAt) / 1000;
      const status = monitor.getStatus(SLOT)!;
      console.log(`# restarted after ${truth.toFixed(2)} s of paused replay: delay ${status.lagSeconds} s, heartbeat ${status.heartbeatDelaySeconds} s, severity ${status.severity}`);
      assert.ok(status.heartbeatDelaySeconds !== undefined);
      assert.equal(status.delayEstimated, false, 'a first observation: no estimate of the monitor\'s own');
      assert.ok(Math.abs(status.lagSeconds - truth) <= 1.5, `delay ${status.lagSeconds} s, truth ${truth.toFixed(2)} s`);
      assert.equal(status.severity, 'warning', 'between the 5 s warning and the 30 s critical thresholds');
      const alert = alerts.find((a) => a.nodeId === SLOT);
      assert.ok(alert !== undefined && alert.severity === 'warning', `not provisional: the first poll alerts (${JSON.stringify(alerts)})`);
      assert.equal(monitor.getStatus('s2')!.severity, 'normal', 'the other standby is healthy');
      assert.deepEqual(replicaErrors, []);
    } finally {
      await poller.stop();
    }
    // The same through replag, a subprocess with the heartbeat flags.
    const run = await replagFirstPoll([
      'postgres', '--url', cluster.url(), '--heartbeat-table', 'replag_heartbeat', '--heartbeat-interval', '1s',
      '--standby', cluster.url('postgres', cluster.standby('s1')), '--standby', cluster.url('postgres', cluster.standby('s2')),
    ]);
    const truth = (run.at - pausedAt) / 1000;
    console.log(`# replag subprocess, ${truth.toFixed(2)} s after replay paused, first poll: ${run.line}`);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.line, / nodes=2 normal=1 warning=1 /);
    const maxDelay = Number(/max_delay=([\d.]+)s/.exec(run.line)?.[1]);
    assert.ok(Math.abs(maxDelay - truth) <= 1.5, `replag's first poll: max_delay ${maxDelay} s, truth ${truth.toFixed(2)} s`);
    assert.match(run.stdout, /^ALERT WARNING /m, 'not provisional: replag alerts on its first poll');
  } finally {
    await s1.query('SELECT pg_wal_replay_resume()');
    await load.stop();
  }
});
