/**
 * Subscription health read from a real PostgreSQL 15 subscriber: a row the publisher sends that violates a unique
 * constraint on the subscriber makes the apply worker fail over and over — `pg_stat_subscription_stats`'
 * apply_error_count, reported as errors{apply}, grows and the subscription's follower stalls; once the conflict is
 * removed it recovers. A table added to the publication shows its `pg_subscription_rel` state moving to ready.
 * The subscriber is read by a plain LOGIN role (no pg_monitor), the publisher by a pg_monitor one. The monitor is
 * `startTelemetry`'s: a real Prometheus scrapes it with the shipped rules (only `for:` shortened) and
 * ReplicationSubscriptionErrors fires for the failing subscription.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ReplicationLagInstrumentation } from '../../src/instrumentation.ts';
import type { ReplicationLagMonitor } from '../../src/monitor.ts';
import { startTelemetry, type Telemetry } from '../../src/sdk/index.ts';
import { startPoller, type Poller } from '../../src/sources/poller.ts';
import { PostgresSource } from '../../src/sources/postgresql.ts';
import type { ApplyHealth } from '../../src/types.ts';
import { inMemoryPipeline, pointsOf } from '../helpers/in-memory-sdk.ts';
import { startPostgresCluster, waitUntil, type PostgresCluster } from '../harness/postgresql.ts';
import { findFreePort, startPrometheus, type RunningPrometheus } from '../harness/prometheus.ts';
import { ALERTING_FILES, withShortFor } from '../alerting/metric-names.ts';

const PORTS: [number, number] = [19_400, 19_700];
const INTERVAL_MS = 200;
const STATES = ['init', 'copy', 'finished', 'synced', 'ready'];

describe('PostgreSQL subscription health: apply errors and table states', { timeout: 150_000 }, () => {
  let publisher: PostgresCluster;
  let subscriber: PostgresCluster;
  let source: PostgresSource;
  let monitor: ReplicationLagMonitor;
  let poller: Poller;
  let nodeId: string;
  let pipeline: ReturnType<typeof inMemoryPipeline>;
  let telemetry: Telemetry;
  let prometheus: RunningPrometheus;
  let workDir: string;
  /** The exported `replication.subscription.errors` of the subscription, per kind, now. */
  const exportedErrors = async (): Promise<Record<string, number>> => {
    const points = pointsOf((await pipeline.collect()).get('replication.subscription.errors'), nodeId);
    return Object.fromEntries(points.map((p) => [p.attributes['postgresql.subscription.error.kind'], p.value]));
  };
  const errors: string[] = [];
  /** Every apply health seen, in poll order. */
  const seen: ApplyHealth[] = [];

  before(async () => {
    publisher = await startPostgresCluster({ standbys: [], portRange: PORTS, walLevel: 'logical' });
    subscriber = await startPostgresCluster({ standbys: [], portRange: PORTS });
    await publisher.primary.query('CREATE TABLE t(id int PRIMARY KEY, v text)');
    await subscriber.primary.query('CREATE TABLE t(id int PRIMARY KEY, v text UNIQUE)');
    await publisher.primary.query('CREATE PUBLICATION pub FOR TABLE t');
    await subscriber.primary.query(
      `CREATE SUBSCRIPTION sub CONNECTION 'host=127.0.0.1 port=${publisher.primary.port} user=postgres dbname=postgres' PUBLICATION pub WITH (copy_data = false)`,
    );
    nodeId = `127.0.0.1:${subscriber.primary.port}/sub`;
    const endpointPort = await findFreePort(19_700, 19_750);
    telemetry = await startTelemetry({ serviceName: 'subscription-test', otlp: false, prometheus: { host: '127.0.0.1', port: endpointPort }, instrumentation: { stallTimeoutSeconds: 3 } });
    monitor = telemetry.monitor;
    workDir = mkdtempSync(join(tmpdir(), 'subscription-rules-'));
    const rules = join(workDir, 'replication-lag.rules.yml');
    writeFileSync(rules, withShortFor(readFileSync(ALERTING_FILES.rules, 'utf8'), '3s'));
    prometheus = await startPrometheus({ port: await findFreePort(19_750, 19_800), scrapeTargets: [`127.0.0.1:${endpointPort}`], ruleFiles: [rules], scrapeIntervalSeconds: 1, evaluationIntervalSeconds: 1 });
    pipeline = inMemoryPipeline();
    const instrumentation = new ReplicationLagInstrumentation({ monitor, enabled: false });
    instrumentation.setMeterProvider(pipeline.meterProvider);
    instrumentation.setLoggerProvider(pipeline.loggerProvider);
    instrumentation.enable();
    // The privileges the README promises: pg_monitor on the publisher, a plain LOGIN role on the subscriber.
    await publisher.createRole('watcher', 'watch-pw');
    await publisher.primary.query('GRANT pg_monitor TO watcher');
    await subscriber.createRole('watcher', 'watch-pw');
    const withPassword = (url: string) => url.replace('watcher@', 'watcher:watch-pw@');
    source = new PostgresSource({ url: withPassword(publisher.url('watcher')), subscribers: [withPassword(subscriber.url('watcher'))], logicalSlots: false });
    const watched = {
      name: source.name,
      poll: async () => {
        const out = await source.poll();
        const apply = out.find((p) => p.nodeId === nodeId)?.apply;
        if (apply !== undefined) seen.push(apply);
        return out;
      },
    };
    poller = startPoller({ source: watched, monitor, intervalMs: INTERVAL_MS, onError: (e) => errors.push(e.message) });
    await publisher.primary.query("INSERT INTO t VALUES (1, 'one')");
    await waitUntil('the subscription applies', 20_000, async () => (await subscriber.primary.query('SELECT 1 FROM t WHERE id = 1')).length === 1);
    await waitUntil('the subscription reported and normal', 20_000, () => monitor.getStatus(nodeId)?.severity === 'normal');
  });

  after(async () => {
    await poller?.stop();
    await source?.close();
    await subscriber?.close();
    await publisher?.close();
    await pipeline?.shutdown();
    await prometheus?.close();
    await telemetry?.shutdown();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('reports no errors and every table state (one table ready) while healthy', async () => {
    assert.deepEqual(await exportedErrors(), { apply: 0, sync: 0 });
    // Prometheus has the counter at 0 before the conflict (so that increase() sees it grow).
    await prometheus.waitForTargets(20_000);
    await waitUntil('the errors counter scraped', 15_000, async () => (await prometheus.query('replication_subscription_errors_total{postgresql_subscription_error_kind="apply"}')).length === 1);
    const apply = monitor.getStatus(nodeId)!.apply!;
    assert.deepEqual(apply.errors, { apply: 0, sync: 0 });
    assert.deepEqual(apply.tables, { init: 0, copy: 0, finished: 0, synced: 0, ready: 1 });
  });

  it('a unique-constraint conflict on the subscriber: errors{apply} grows, the subscription stalls and ReplicationSubscriptionErrors fires in Prometheus; it recovers once removed', async () => {
    await subscriber.primary.query("INSERT INTO t VALUES (100, 'taken')");
    const load = publisher.startLoad(100); // the publisher keeps writing (lag_load is not published): its position moves on
    try {
      await publisher.primary.query("INSERT INTO t VALUES (2, 'taken')");
      await waitUntil('apply errors counted', 20_000, () => (monitor.getStatus(nodeId)?.apply?.errors?.apply ?? 0) >= 1);
      const first = monitor.getStatus(nodeId)!.apply!.errors!.apply!;
      const exportedFirst = (await exportedErrors()).apply!;
      assert.ok(exportedFirst >= 1, 'errors{apply} exported');
      await waitUntil('the subscription stalled', 20_000, () => monitor.getStatus(nodeId)?.severity === 'stalled', 100);
      await waitUntil('apply errors still growing', 20_000, () => monitor.getStatus(nodeId)!.apply!.errors!.apply! > first);
      await waitUntil('exported errors{apply} growing', 20_000, async () => (await exportedErrors()).apply! > exportedFirst);
      const status = monitor.getStatus(nodeId)!;
      assert.equal(status.apply!.errors!.sync, 0, 'no table synchronisation failed');
      assert.ok(status.lagEntries > 0, 'behind the publisher');
      console.log(`apply errors: ${first} when first seen, ${status.apply!.errors!.apply} when stalled`);
      await waitUntil('ReplicationSubscriptionErrors firing', 30_000, async () =>
        (await prometheus.alerts()).some((a) => a.labels.alertname === 'ReplicationSubscriptionErrors' && a.state === 'firing'));
      const [alert] = (await prometheus.alerts()).filter((a) => a.labels.alertname === 'ReplicationSubscriptionErrors');
      assert.equal(alert!.labels.replication_node_id, nodeId);
      assert.equal(alert!.labels.postgresql_subscription_error_kind, 'apply');
      assert.match(alert!.annotations.summary ?? '', /fails to replicate \(apply errors\)/);

      await subscriber.primary.query('DELETE FROM t WHERE id = 100');
      await waitUntil('the conflicting row applied', 20_000, async () => (await subscriber.primary.query('SELECT 1 FROM t WHERE id = 2')).length === 1);
      await waitUntil('the subscription back to normal', 20_000, () => monitor.getStatus(nodeId)?.severity === 'normal', 100);
    } finally {
      await load.stop();
    }
  });

  it('a table added to the publication: its state moves to ready', async () => {
    await publisher.primary.query('CREATE TABLE t2(id int PRIMARY KEY, v text)');
    await subscriber.primary.query('CREATE TABLE t2(id int PRIMARY KEY, v text)');
    await publisher.primary.query("INSERT INTO t2 SELECT g, repeat('y', 100) FROM generate_series(1, 200000) g");
    await publisher.primary.query('ALTER PUBLICATION pub ADD TABLE t2');
    const from = seen.length;
    await subscriber.primary.query('ALTER SUBSCRIPTION sub REFRESH PUBLICATION');
    await waitUntil('both tables ready', 60_000, () => monitor.getStatus(nodeId)?.apply?.tables?.ready === 2, 100);
    const states = seen.slice(from).map((a) => a.tables!);
    const notReady = states.filter((t) => t.init! + t.copy! + t.finished! + t.synced! === 1);
    console.log(`table states after REFRESH: ${states.map((t) => STATES.filter((s) => t[s]! > 0).map((s) => `${s}=${t[s]}`).join(',')).join(' | ')}`);
    assert.ok(notReady.length >= 1, 'the new table was seen before ready');
    const last = monitor.getStatus(nodeId)!.apply!.tables!;
    assert.deepEqual(last, { init: 0, copy: 0, finished: 0, synced: 0, ready: 2 });
    const exported = pointsOf((await pipeline.collect()).get('replication.subscription.tables'), nodeId);
    assert.deepEqual(Object.fromEntries(exported.map((p) => [p.attributes['postgresql.subscription.table.state'], p.value])), last);
    assert.equal((await subscriber.primary.query<{ n: number }>('SELECT count(*)::int AS n FROM t2'))[0]!.n, 200_000);
    assert.deepEqual(errors, []);
  });
});
