/**
 * Subscriptions read from their subscribers (`PostgresSourceOptions.subscribers`), against a real PostgreSQL 15
 * publisher and subscriber: the subscription follows the publisher under load, a disabled subscription (no apply
 * worker) stays and stalls, then recovers when enabled again, and a hung (SIGSTOPped) subscriber stalls its
 * subscription without slowing the publisher's own figures.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseCliArgs } from '../../src/cli/args.ts';
import { parseFleetConfig } from '../../src/cli/config.ts';
import { createConfiguredSource } from '../../src/cli/config-sources.ts';
import { ReplicationLagMonitor } from '../../src/monitor.ts';
import { startPoller, type Poller } from '../../src/sources/poller.ts';
import { PostgresSource } from '../../src/sources/postgresql.ts';
import { startPostgresCluster, waitUntil, type PostgresCluster } from '../harness/postgresql.ts';

const PORTS: [number, number] = [30_000, 30_600];
const INTERVAL_MS = 200;

describe('PostgreSQL subscribers (pg_stat_subscription)', { timeout: 120_000 }, () => {
  let publisher: PostgresCluster;
  let subscriber: PostgresCluster;
  let source: PostgresSource;
  let monitor: ReplicationLagMonitor;
  let poller: Poller;
  let nodeId: string;
  const errors: string[] = [];
  const replicaErrors: [string, string][] = [];
  /** Completed polls, counted through the publisher's standby figures reaching the monitor. */
  let polls = 0;

  before(async () => {
    publisher = await startPostgresCluster({ standbys: [{ name: 'standby-1' }], portRange: PORTS, walLevel: 'logical' });
    subscriber = await startPostgresCluster({ standbys: [], portRange: PORTS });
    await publisher.primary.query('CREATE PUBLICATION pub FOR TABLE lag_load');
    await subscriber.primary.query(
      `CREATE SUBSCRIPTION sub CONNECTION 'host=127.0.0.1 port=${publisher.primary.port} user=postgres dbname=postgres' PUBLICATION pub WITH (copy_data = false)`,
    );
    await publisher.waitStreaming(2);
    nodeId = `127.0.0.1:${subscriber.primary.port}/sub`;
    monitor = new ReplicationLagMonitor({ stallTimeoutSeconds: 2, warningThresholdSeconds: 1, criticalThresholdSeconds: 3 });
    source = new PostgresSource({
      url: publisher.url(),
      subscribers: [subscriber.url()],
      onReplicaError: (replica, error) => replicaErrors.push([replica, error.message]),
    });
    const counted = {
      name: source.name,
      poll: async () => {
        const out = await source.poll();
        polls++;
        return out;
      },
    };
    poller = startPoller({ source: counted, monitor, intervalMs: INTERVAL_MS, onError: (e) => errors.push(e.message) });
  });
  after(async () => {
    await poller?.stop();
    await source?.close();
    await subscriber?.close();
    await publisher?.close();
  });

  it('reports the subscription with its attributes, following the publisher under load', async () => {
    const load = publisher.startLoad(50);
    try {
      await waitUntil('the subscription is reported and normal', 20_000, () => {
        const s = monitor.getStatus(nodeId);
        return s !== undefined && s.severity === 'normal' && s.lagSeconds < 1;
      });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal(monitor.getStatus(nodeId)?.severity, 'normal', 'it stays normal under load');
    } finally {
      await load.stop();
    }
    assert.deepEqual(monitor.getStatus(nodeId)!.attributes, {
      'replication.system': 'postgresql',
      'server.address': '127.0.0.1',
      'server.port': subscriber.primary.port,
      'postgresql.subscription': 'sub',
      'postgresql.replication.slot': 'sub',
      'db.namespace': 'postgres',
    });
    assert.ok(monitor.getStatus('standby-1'), 'the physical standby is still reported');
    assert.ok(monitor.getStatus('sub'), "the subscription's slot on the publisher is still reported");
    assert.equal(source.replicaReadability().get(nodeId), true);
    assert.deepEqual(replicaErrors, []);
  });

  it('a disabled subscription (no apply worker) stays at its last position and stalls; enabled again, it recovers', async () => {
    const load = publisher.startLoad(50);
    try {
      await subscriber.primary.query('ALTER SUBSCRIPTION sub DISABLE');
      await waitUntil('the disabled subscription stalled', 20_000, () => monitor.getStatus(nodeId)?.severity === 'stalled');
      const workers = await subscriber.primary.query<{ n: string }>('SELECT count(pid) AS n FROM pg_stat_subscription');
      assert.equal(Number(workers[0]!.n), 0, 'no apply worker runs');
      await subscriber.primary.query('ALTER SUBSCRIPTION sub ENABLE');
      await waitUntil('the subscription back to normal', 20_000, () => monitor.getStatus(nodeId)?.severity === 'normal');
    } finally {
      await load.stop();
    }
    assert.deepEqual(replicaErrors, [], 'a readable subscriber is not an error');
  });

  it('a hung subscriber stalls its subscription without slowing the publisher figures', async () => {
    const load = publisher.startLoad(50);
    const pids = subscriber.primary.pids();
    const windowMs = 3000;
    let hungPolls = 0;
    try {
      subscriber.suspend(pids);
      await waitUntil('the hung subscriber reported', 10_000, () => replicaErrors.length > 0);
      const start = polls;
      await new Promise((resolve) => setTimeout(resolve, windowMs));
      hungPolls = polls - start;
      await waitUntil('the subscription of the hung subscriber stalled', 20_000, () => monitor.getStatus(nodeId)?.severity === 'stalled');
      assert.equal(source.replicaReadability().get(nodeId), false);
      assert.equal(monitor.getStatus('standby-1')?.severity, 'normal', "the publisher's standby keeps being followed");
    } finally {
      subscriber.continue(pids);
      await load.stop();
    }
    process.stdout.write(`# ${hungPolls} polls in ${windowMs} ms (interval ${INTERVAL_MS} ms) with the subscriber SIGSTOPped\n`);
    // Every poll waits for the subscriber at most once (1 s), then no longer: the polls keep their pace.
    assert.ok(hungPolls >= windowMs / INTERVAL_MS / 2, `${hungPolls} polls in ${windowMs} ms at ${INTERVAL_MS} ms intervals`);
    const [replica, message] = replicaErrors.at(-1)!;
    assert.equal(replica, `postgres://127.0.0.1:${subscriber.primary.port}/postgres`);
    assert.match(message, /PostgreSQL subscriber .*(did not answer|no answer)/);
    await waitUntil('the resumed subscriber read again', 20_000, () => source.replicaReadability().get(nodeId) === true);
    assert.equal(poller.health().up, true, `polls kept succeeding: ${errors.join('; ')}`);
  });

  it('reads the subscriber as a plain role (no pg_monitor), password from the URL; a wrong one never shows', async () => {
    await subscriber.createRole('watcher', 'w4tch-s3cret');
    const url = (password: string) => subscriber.url('watcher').replace('watcher@', `watcher:${password}@`);
    const failures: [string, string][] = [];
    const plain = new PostgresSource({ url: publisher.url(), subscribers: [url('w4tch-s3cret')] });
    const wrong = new PostgresSource({ url: publisher.url(), subscribers: [url('wr0ng-s3cret')], onReplicaError: (r, e) => failures.push([r, e.message]) });
    try {
      const read = await plain.poll();
      assert.ok(read.some((r) => r.nodeId === nodeId && r.followerSeq > 0n), 'the subscription read by a role without pg_monitor');
      const ids = (await wrong.poll()).map((r) => r.nodeId);
      assert.ok(ids.includes('standby-1') && !ids.includes(nodeId), 'the publisher is read; the subscriber is not');
      assert.equal(failures.length, 1);
      assert.match(failures[0]![1], /password authentication failed/);
      assert.doesNotMatch(JSON.stringify(failures), /wr0ng-s3cret|watcher:/);
    } finally {
      await plain.close();
      await wrong.close();
    }
  });

  it('replag postgres --subscriber and a config file\'s subscribers (${env:}) build sources that report the subscription', async () => {
    const flags = parseCliArgs(['postgres', '--url', publisher.url(), '--subscriber', subscriber.url()]);
    assert.ok('mode' in flags && flags.mode === 'flags');
    const config = parseFleetConfig('sources:\n  - { name: pg, type: postgres, url: "${env:PUB}", subscribers: ["${env:SUB}"] }\n', { env: { PUB: publisher.url(), SUB: subscriber.url() } });
    const sources = [await createConfiguredSource(flags.config.sources[0]!), await createConfiguredSource(config.sources[0]!)];
    try {
      for (const built of sources) assert.ok((await built.poll()).some((r) => r.nodeId === nodeId), built.name);
    } finally {
      await Promise.all(sources.map((s) => s.close?.()));
    }
  });

  it('rejects a bad subscribers value, naming it', () => {
    assert.throws(() => new PostgresSource({ url: publisher.url(), subscribers: 'postgres://x/y' as unknown as string[] }), /PostgresSourceOptions\.subscribers must be an array/);
    assert.throws(() => new PostgresSource({ url: publisher.url(), subscribers: ['mysql://h/db'] }), /PostgresSourceOptions\.subscribers\[0\] must be a postgres:\/\/ or postgresql:\/\/ URL/);
    assert.throws(() => new PostgresSource({ url: publisher.url(), subscribers: [subscriber.url(), 'not a url:secret'] }), /PostgresSourceOptions\.subscribers\[1\] must be a postgres:\/\/ URL/);
    assert.throws(() => new PostgresSource({ url: publisher.url(), subscribers: ['postgres://u:pw@h/db?sslmode=no-verify'] }), /PostgresSourceOptions\.subscribers\[0\]: sslmode=no-verify/);
    assert.throws(() => new PostgresSource({ url: publisher.url(), subscribers: ['postgres://h:5432/a', 'postgres://h/b'] }), /subscribers\[1\]: h:5432 is already listed/);
  });
});
