/** CumulativeSums: delta counters added back up into cumulative series of live nodes, on a real MeterProvider. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AggregationTemporality, MeterProvider } from '@opentelemetry/sdk-metrics';
import { collect, TestReader } from '../helpers/in-memory-sdk.ts';

function setup(live: Set<string>) {
  const reader = new TestReader({ isLive: (id) => live.has(id) });
  const provider = new MeterProvider({ readers: [reader] });
  const meter = provider.getMeter('test');
  const counter = meter.createCounter('c');
  const other = meter.createCounter('other');
  return { reader, provider, counter, other, collect: () => collect(reader) };
}

describe('CumulativeSums', () => {
  it('adds deltas up per series, re-exports series with no new points, marks the result cumulative', async () => {
    const live = new Set(['a', 'b']);
    const t = setup(live);
    t.counter.add(2, { 'replication.node.id': 'a' });
    t.counter.add(1, { 'replication.node.id': 'b' });
    let m = await t.collect();
    assert.deepEqual(m.get('c')?.points.map((p) => p.value), [2, 1]);
    t.counter.add(3, { 'replication.node.id': 'a' });
    m = await t.collect();
    assert.deepEqual(m.get('c')?.points.map((p) => [p.attributes['replication.node.id'], p.value]), [['a', 5], ['b', 1]]);
    m = await t.collect(); // nothing new: the SDK exports no 'c' at all; the cumulative series are still there
    assert.deepEqual(m.get('c')?.points.map((p) => p.value), [5, 1]);
    const { resourceMetrics } = await t.reader.collect();
    const metric = resourceMetrics.scopeMetrics[0]!.metrics.find((x) => x.descriptor.name === 'c');
    assert.equal(metric?.aggregationTemporality, AggregationTemporality.CUMULATIVE);
    assert.equal(t.reader.sums?.seriesCount, 2);
    await t.provider.shutdown();
  });

  it('forgets the series of nodes that are gone; a returning node restarts from 0; series without a node id stay', async () => {
    const live = new Set(['a', 'b']);
    const t = setup(live);
    t.counter.add(4, { 'replication.node.id': 'a', 'replication.severity': 'critical' });
    t.counter.add(1, { 'replication.node.id': 'b' });
    t.other.add(7, { kind: 'x' });
    await t.collect();
    live.delete('a');
    let m = await t.collect();
    assert.deepEqual(m.get('c')?.points.map((p) => p.attributes['replication.node.id']), ['b']);
    assert.equal(m.get('other')?.points[0]?.value, 7, 'no node id: kept');
    live.delete('b');
    m = await t.collect();
    assert.equal(m.get('c'), undefined, 'no live series: the metric is left out');
    assert.equal(t.reader.sums?.seriesCount, 1, 'only the series without a node id is held');
    live.add('a');
    t.counter.add(1, { 'replication.node.id': 'a', 'replication.severity': 'critical' });
    m = await t.collect();
    assert.deepEqual(m.get('c')?.points.map((p) => p.value), [1], 'a counter reset');
    await t.provider.shutdown();
  });
});
