/**
 * Logical replication slots as followers, against a real PostgreSQL 15 publisher and subscriber
 * (`CREATE PUBLICATION` / `CREATE SUBSCRIPTION`) plus a slot nobody consumes: the subscription follows the
 * publisher, the orphan slot stalls instead of vanishing, a stopped subscriber stalls (slot inactive) and comes
 * back to normal when it resumes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ReplicationLagMonitor } from '../../src/monitor.ts';
import { startPoller, type Poller } from '../../src/sources/poller.ts';
import { PostgresSource } from '../../src/sources/postgresql.ts';
import { startPostgresCluster, waitUntil, type PostgresCluster } from '../harness/postgresql.ts';

const PORTS: [number, number] = [29_000, 29_600];

describe('PostgreSQL logical replication slots', { timeout: 180_000 }, () => {
  let publisher: PostgresCluster;
  let subscriber: PostgresCluster;
  let source: PostgresSource;
  let monitor: ReplicationLagMonitor;
  let poller: Poller;
  const errors: string[] = [];

  before(async () => {
    publisher = await startPostgresCluster({ standbys: [{ name: 'standby-1' }], portRange: PORTS, walLevel: 'logical' });
    subscriber = await startPostgresCluster({ standbys: [], portRange: PORTS });
    await publisher.primary.query('CREATE PUBLICATION pub FOR TABLE lag_load');
    await subscriber.primary.query(
      `CREATE SUBSCRIPTION sub CONNECTION 'host=127.0.0.1 port=${publisher.primary.port} user=postgres dbname=postgres' PUBLICATION pub WITH (copy_data = false)`,
    );
    await publisher.primary.query("SELECT pg_create_logical_replication_slot('orphan', 'pgoutput')");
    await publisher.waitStreaming(2); // pg_stat_replication counts the subscription's walsender too
    monitor = new ReplicationLagMonitor({ stallTimeoutSeconds: 2, warningThresholdSeconds: 1, criticalThresholdSeconds: 3 });
    source = new PostgresSource({ url: publisher.url() });
    poller = startPoller({ source, monitor, intervalMs: 200, onError: (e) => errors.push(e.message) });
  });
  after(async () => {
    await poller?.stop();
    await source?.close();
    await subscriber?.close();
    await publisher?.close();
  });

  it('reports each logical slot beside the physical standby, with its plugin, database and activity', async () => {
    await waitUntil('the subscription slot is active', 20_000, () => monitor.getStatus('sub')?.attributes['postgresql.replication.slot.active'] === true);
    const sub = monitor.getStatus('sub')!;
    assert.deepEqual(sub.attributes, {
      'replication.system': 'postgresql',
      'postgresql.replication.slot': 'sub',
      'postgresql.replication.slot.type': 'logical',
      'postgresql.replication.plugin': 'pgoutput',
      'db.namespace': 'postgres',
      'postgresql.replication.slot.active': true,
    });
    assert.equal(monitor.getStatus('orphan')?.attributes['postgresql.replication.slot.active'], false);
    assert.ok(monitor.getStatus('standby-1'), 'the physical standby is still reported');
    assert.equal(monitor.getStatus('standby-1')?.attributes['postgresql.replication.slot.type'], undefined);
    const slots = await publisher.primary.query<{ slot_name: string }>("SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'logical' ORDER BY 1");
    assert.deepEqual(slots.map((s) => s.slot_name), ['orphan', 'sub']);
  });

  it('follows the subscriber under load, and stalls the slot nobody consumes', async () => {
    const load = publisher.startLoad(50);
    try {
      await waitUntil('the orphan slot stalled', 20_000, () => monitor.getStatus('orphan')?.severity === 'stalled');
      const orphan = monitor.getStatus('orphan')!;
      assert.ok(orphan.lagEntries > 0, 'the orphan slot is behind the publisher');
      await waitUntil('the subscription stays within a second of the publisher', 20_000, () => {
        const s = monitor.getStatus('sub');
        return s !== undefined && s.severity === 'normal' && s.lagSeconds < 1;
      });
      const rows = await subscriber.primary.query<{ n: string }>('SELECT count(*) AS n FROM lag_load');
      assert.ok(Number(rows[0]!.n) > 0, 'the subscriber really applies what the publisher writes');
    } finally {
      await load.stop();
    }
  });

  it('a stopped subscriber leaves its slot inactive and stalled (not vanished), and recovers when resumed', async () => {
    const load = publisher.startLoad(50);
    try {
      await subscriber.primary.stop();
      await waitUntil('the subscription slot inactive and stalled', 30_000, () => {
        const s = monitor.getStatus('sub');
        return s?.attributes['postgresql.replication.slot.active'] === false && s.severity === 'stalled';
      });
      await subscriber.primary.start();
      await waitUntil('the subscription back to normal', 30_000, () => {
        const s = monitor.getStatus('sub');
        return s?.attributes['postgresql.replication.slot.active'] === true && s.severity === 'normal';
      });
    } finally {
      await load.stop();
    }
    assert.equal(poller.health().up, true, `polls kept succeeding: ${errors.join('; ')}`);
  });

  it('leaves logical slots out with logicalSlots: false', async () => {
    const physicalOnly = new PostgresSource({ url: publisher.url(), logicalSlots: false });
    try {
      const ids = (await physicalOnly.poll()).map((r) => r.nodeId);
      assert.deepEqual(ids, ['standby-1']);
    } finally {
      await physicalOnly.close();
    }
    assert.throws(() => new PostgresSource({ url: publisher.url(), logicalSlots: 'yes' as unknown as boolean }), /logicalSlots must be a boolean, got string/);
  });
});
