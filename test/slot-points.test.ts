/**
 * The export of replication slot and subscription facts through the instrumentation and a real in-memory SDK:
 * names, units, types, one point per WAL status / error kind / table state, no safe size or loss time when there
 * is none, the errors as a monotonic counter, and a lost slot's alert event carrying its WAL status.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import { ReplicationLagInstrumentation } from '../src/index.ts';
import { inMemoryPipeline, pointsOf } from './helpers/in-memory-sdk.ts';

const MB = 1024 * 1024;

function setup() {
  let now = 1_000_000;
  const pipeline = inMemoryPipeline({ isLive: (id) => instrumentation.monitor.getStatus(id) !== undefined });
  const instrumentation = new ReplicationLagInstrumentation({ now: () => now, stallTimeoutSeconds: 1000, enabled: false });
  instrumentation.setMeterProvider(pipeline.meterProvider);
  instrumentation.setLoggerProvider(pipeline.loggerProvider);
  instrumentation.enable();
  return { ...pipeline, monitor: instrumentation.monitor, advance: (ms: number) => (now += ms) };
}

const valueOf = (points: { value: number; attributes: Record<string, unknown> }[], key: string, value: string) => points.find((p) => p.attributes[key] === value)?.value;

describe('slot and subscription points', () => {
  it('a slot: retained, safe size, loss time and the wal_status state set; a subscription: errors and tables', async () => {
    const t = setup();
    t.monitor.registerNode('cdc', { 'replication.system': 'postgresql', 'postgresql.replication.slot': 'cdc' });
    for (let i = 0; i <= 3; i++) {
      t.monitor.updateLag('cdc', 100 * MB + i * MB, 100 * MB, { retention: { retained: i * MB, safeSize: 64 * MB - i * MB, state: 'reserved' } });
      t.advance(1000);
    }
    const tables = { init: 0, copy: 1, finished: 0, synced: 0, ready: 2 };
    t.monitor.updateLag('sub', 500, 400, { apply: { errors: { apply: 4, sync: 1 }, tables } });
    t.monitor.updateLag('plain', 10, 10);
    const m = await t.collect();

    const unit = (name: string) => m.get(name)?.unit;
    assert.equal(unit('replication.slot.retained'), 'By');
    assert.equal(unit('replication.slot.safe_size'), 'By');
    assert.equal(unit('replication.slot.loss.time'), 's');
    assert.equal(unit('replication.slot.wal_status'), '1');
    assert.equal(unit('replication.subscription.errors'), '{error}');
    assert.equal(unit('replication.subscription.tables'), '{table}');
    assert.deepEqual(pointsOf(m.get('replication.slot.retained'), 'cdc').map((p) => p.value), [3 * MB]);
    assert.deepEqual(pointsOf(m.get('replication.slot.retained'), 'cdc')[0]!.attributes, { 'replication.system': 'postgresql', 'postgresql.replication.slot': 'cdc', 'replication.node.id': 'cdc' });
    assert.deepEqual(pointsOf(m.get('replication.slot.safe_size'), 'cdc').map((p) => p.value), [61 * MB]);
    const loss = pointsOf(m.get('replication.slot.loss.time'), 'cdc');
    assert.equal(loss.length, 1);
    assert.ok(Math.abs(loss[0]!.value - 61) < 1e-6, `loss time ${loss[0]!.value}`);
    const status = pointsOf(m.get('replication.slot.wal_status'), 'cdc');
    assert.deepEqual(
      status.map((p) => [p.attributes['postgresql.replication.slot.wal_status'], p.value]),
      [['reserved', 1], ['extended', 0], ['unreserved', 0], ['lost', 0]],
    );

    const errors = m.get('replication.subscription.errors')!;
    assert.equal(errors.type, DataPointType.SUM);
    assert.equal(errors.isMonotonic, true);
    const e = pointsOf(errors, 'sub');
    assert.equal(valueOf(e, 'postgresql.subscription.error.kind', 'apply'), 4);
    assert.equal(valueOf(e, 'postgresql.subscription.error.kind', 'sync'), 1);
    const tb = pointsOf(m.get('replication.subscription.tables'), 'sub');
    assert.deepEqual(Object.fromEntries(tb.map((p) => [p.attributes['postgresql.subscription.table.state'], p.value])), tables);
    for (const name of ['replication.slot.retained', 'replication.subscription.tables', 'replication.subscription.errors']) {
      assert.deepEqual(pointsOf(m.get(name), 'plain'), [], `a node without such facts has no ${name}`);
    }
    assert.deepEqual(pointsOf(m.get('replication.slot.retained'), 'sub'), []);

    // The errors grow: the counter follows the system's count.
    t.monitor.updateLag('sub', 600, 400, { apply: { errors: { apply: 9, sync: 1 }, tables } });
    const again = await t.collect();
    assert.equal(valueOf(pointsOf(again.get('replication.subscription.errors'), 'sub'), 'postgresql.subscription.error.kind', 'apply'), 9);
    await t.shutdown();
  });

  it('unlimited: no safe size and no loss time; lost: loss time 0, stalled, and the alert event says so', async () => {
    const t = setup();
    for (let i = 0; i <= 3; i++) {
      t.monitor.updateLag('unlimited', 1 + i * MB, 1, { retention: { retained: i * MB, state: 'extended' } });
      t.monitor.updateLag('gone', 1 + i * MB, 1, { retention: i < 3 ? { retained: i * MB, safeSize: MB - i * MB, state: 'reserved' } : { retained: 0, state: 'lost' } });
      t.advance(1000);
    }
    const m = await t.collect();
    assert.deepEqual(pointsOf(m.get('replication.slot.retained'), 'unlimited').map((p) => p.value), [3 * MB]);
    assert.deepEqual(pointsOf(m.get('replication.slot.safe_size'), 'unlimited'), []);
    assert.deepEqual(pointsOf(m.get('replication.slot.loss.time'), 'unlimited'), []);
    assert.deepEqual(pointsOf(m.get('replication.slot.loss.time'), 'gone').map((p) => p.value), [0]);
    assert.deepEqual(pointsOf(m.get('replication.slot.safe_size'), 'gone'), [], 'PostgreSQL gives a lost slot no safe size');
    assert.equal(valueOf(pointsOf(m.get('replication.slot.wal_status'), 'gone'), 'postgresql.replication.slot.wal_status', 'lost'), 1);
    assert.equal(valueOf(pointsOf(m.get('replication.severity'), 'gone'), 'replication.severity', 'stalled'), 1);
    const events = t.logExporter.getFinishedLogRecords().filter((r) => r.attributes['replication.node.id'] === 'gone');
    const last = events.at(-1)!;
    assert.equal(last.attributes['replication.severity'], 'stalled');
    assert.equal(last.attributes['postgresql.replication.slot.wal_status'], 'lost');
    assert.match(String(last.body), /consumer must be resynchronised/);
    await t.shutdown();
  });
});
