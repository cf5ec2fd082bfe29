/** The node table and the queries: registration, statuses, ordering, statistics, clear, maxNodes. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CONFIG, ReplicationLagMonitor, type ReplicationStatus } from '../../src/index.ts';
import { fakeMonitor } from './helpers.ts';

describe('statuses', () => {
  test('getStatus is undefined for an unknown node and for a registered node before its first update', () => {
    const { monitor } = fakeMonitor();
    assert.equal(monitor.getStatus('nope'), undefined);
    monitor.registerNode('a');
    assert.equal(monitor.getStatus('a'), undefined);
    assert.equal(monitor.getAllStatuses().size, 0);
    assert.equal(monitor.getStats().totalNodes, 1);
  });

  test('updateLag returns the status that getStatus then reports', () => {
    const { clock, monitor } = fakeMonitor();
    clock.t = 42_000;
    const st = monitor.updateLag('a', 120, 100, 3);
    assert.equal(monitor.getStatus('a'), st);
    assert.equal(st.nodeId, 'a');
    assert.equal(st.leaderSeq, 120);
    assert.equal(st.followerSeq, 100);
    assert.equal(st.lagEntries, 20);
    assert.equal(st.lagSeconds, 3);
    assert.equal(st.severity, 'normal');
    assert.equal(st.lastUpdate, 42_000);
    assert.deepEqual({ ...st.attributes }, {});
  });

  test('positions are reported as given: bigints stay bigints', () => {
    const { monitor } = fakeMonitor();
    const st = monitor.updateLag('a', (2n ** 64n - 1n), (2n ** 64n - 1n) - 5n);
    assert.equal(st.leaderSeq, (2n ** 64n - 1n));
    assert.equal(st.followerSeq, (2n ** 64n - 1n) - 5n);
  });

  test('a status with bigint positions serializes to JSON', () => {
    const { monitor } = fakeMonitor();
    const st = monitor.updateLag('a', (2n ** 64n - 1n), (2n ** 64n - 1n) - 5n);
    const json = JSON.parse(JSON.stringify(st)) as Record<string, unknown>;
    assert.equal(json.nodeId, 'a');
    assert.equal(json.lagEntries, 5);
    assert.equal(String(json.leaderSeq), ((2n ** 64n - 1n)).toString());
    assert.ok(Array.isArray(json.history));
  });

  test('getAllStatuses is in ascending node-id order whatever the insertion order', () => {
    const { monitor } = fakeMonitor();
    for (const id of ['b', 'a', 'c']) monitor.updateLag(id, 10, 10);
    assert.deepEqual([...monitor.getAllStatuses().keys()], ['a', 'b', 'c']);
    for (const id of ['9', '10', 'B', 'aa', 'A']) monitor.updateLag(id, 10, 10);
    const expected = ['a', 'b', 'c', '9', '10', 'B', 'aa', 'A'].sort(); // code-unit order
    assert.deepEqual([...monitor.getAllStatuses().keys()], expected);
    monitor.unregisterNode('b');
    monitor.updateLag('0', 1, 1);
    assert.deepEqual([...monitor.getAllStatuses().keys()], ['0', ...expected.filter((id) => id !== 'b')]);
    for (const [id, st] of monitor.getAllStatuses()) assert.equal(st.nodeId, id);
  });

  test('forEachStatus visits every node that has reported, once', () => {
    const { monitor } = fakeMonitor();
    monitor.registerNode('silent');
    for (const id of ['x', 'y', 'z']) monitor.updateLag(id, 5, 1);
    const seen: ReplicationStatus[] = [];
    monitor.forEachStatus((s) => seen.push(s));
    assert.deepEqual(seen.map((s) => s.nodeId).sort(), ['x', 'y', 'z']);
    for (const s of seen) assert.equal(s, monitor.getStatus(s.nodeId));
  });

  test('getCriticalNodes lists critical and stalled nodes, ascending', () => {
    const { clock, monitor } = fakeMonitor();
    monitor.updateLag('z-stalled', 100, 10, 1);
    monitor.updateLag('m-critical', 100, 10, 30);
    monitor.updateLag('a-warning', 100, 10, 29.9);
    monitor.updateLag('b-normal', 100, 100);
    monitor.updateLag('c-critical', 100, 10, 99);
    clock.t = 10_000;
    monitor.updateLag('z-stalled', 100, 10, 1);
    assert.equal(monitor.getStatus('z-stalled')!.severity, 'stalled');
    assert.deepEqual(monitor.getCriticalNodes(), ['c-critical', 'm-critical', 'z-stalled']);
  });
});

describe('getStats', () => {
  test('an empty monitor', () => {
    const { monitor } = fakeMonitor();
    assert.deepEqual(monitor.getStats(), {
      totalNodes: 0,
      warningNodes: 0,
      criticalNodes: 0,
      stalledNodes: 0,
      avgLagSeconds: 0,
      maxLagSeconds: 0,
      totalAlerts: 0,
    });
  });

  test('counts severities and averages the delay over nodes that have reported', () => {
    const { clock, monitor } = fakeMonitor();
    monitor.registerNode('never-reported');
    monitor.updateLag('n1', 100, 100, 0);
    monitor.updateLag('w1', 100, 90, 6);
    monitor.updateLag('w2', 100, 90, 7);
    monitor.updateLag('c1', 100, 90, 44);
    monitor.updateLag('s1', 100, 90, 2);
    clock.t = 10_000;
    monitor.updateLag('s1', 100, 90, 3);
    const stats = monitor.getStats();
    assert.equal(stats.totalNodes, 6);
    assert.equal(stats.warningNodes, 2);
    assert.equal(stats.criticalNodes, 1);
    assert.equal(stats.stalledNodes, 1);
    assert.equal(stats.avgLagSeconds, (0 + 6 + 7 + 44 + 3) / 5);
    assert.equal(stats.maxLagSeconds, 44);
    assert.equal(stats.totalAlerts, 4); // w1, w2, c1 on their first update, s1 when it stalled
  });
});

describe('registration', () => {
  test('registerNode is idempotent: history kept, attributes replaced when given, kept when not', () => {
    const { clock, monitor } = fakeMonitor();
    monitor.registerNode('a', { 'server.address': 'db-1', port: 5432 });
    for (let i = 0; i < 3; i++) {
      clock.t = i * 60_000;
      monitor.updateLag('a', 100 * i + 10, 100 * i);
    }
    assert.deepEqual({ ...monitor.getStatus('a')!.attributes }, { 'server.address': 'db-1', port: 5432 });
    monitor.registerNode('a');
    monitor.registerNode('a', { 'server.address': 'db-2', primary: false });
    clock.t = 180_000;
    const st = monitor.updateLag('a', 310, 300);
    assert.equal(st.history.length, 4, 'history kept across registerNode');
    assert.deepEqual({ ...st.attributes }, { 'server.address': 'db-2', primary: false });
    monitor.registerNode('a');
    clock.t = 240_000;
    assert.deepEqual({ ...monitor.updateLag('a', 410, 400).attributes }, { 'server.address': 'db-2', primary: false });
    assert.equal(monitor.getStats().totalNodes, 1);
  });

  test('attributes are copied and frozen', () => {
    const { monitor } = fakeMonitor();
    const attrs: Record<string, string> = { 'server.address': 'db-1' };
    monitor.registerNode('a', attrs);
    attrs['server.address'] = 'changed';
    const st = monitor.updateLag('a', 1, 1);
    assert.equal(st.attributes['server.address'], 'db-1');
    assert.ok(Object.isFrozen(st.attributes));
  });

  test('unregisterNode removes the node and its history; a later update starts afresh', () => {
    const { clock, monitor } = fakeMonitor();
    for (let i = 0; i < 6; i++) {
      clock.t = i * 1000;
      monitor.updateLag('a', 100 * i + 10, 100 * i);
      monitor.updateLag('b', 100 * i + 10, 100 * i);
    }
    assert.equal(monitor.unregisterNode('a'), true);
    assert.equal(monitor.unregisterNode('a'), false);
    assert.equal(monitor.unregisterNode('never'), false);
    assert.equal(monitor.getStatus('a'), undefined);
    assert.deepEqual([...monitor.getAllStatuses().keys()], ['b']);
    assert.equal(monitor.getStats().totalNodes, 1);
    clock.t = 6000;
    const st = monitor.updateLag('a', 610, 600);
    assert.equal(st.history.length, 1);
    assert.equal(st.replicationRate, 0);
    assert.equal(st.predictedLagSeconds, undefined);
  });

  test('autoRegister false: registered nodes update, unknown nodes are refused', () => {
    const { monitor } = fakeMonitor({ autoRegister: false });
    monitor.registerNode('a');
    assert.equal(monitor.updateLag('a', 5, 3).lagEntries, 2);
    assert.throws(() => monitor.updateLag('b', 5, 3), (e: unknown) => e instanceof RangeError && e.message.includes('"b"'));
    assert.equal(monitor.getStats().totalNodes, 1);
  });

  test('maxNodes is enforced with a RangeError, for updateLag and registerNode alike', () => {
    const { monitor } = fakeMonitor({ maxNodes: 2 });
    monitor.updateLag('a', 1, 1);
    monitor.registerNode('b');
    assert.throws(() => monitor.updateLag('c', 1, 1), (e: unknown) => e instanceof RangeError && /maxNodes/.test(e.message) && e.message.includes('"c"'));
    assert.throws(() => monitor.registerNode('c'), (e: unknown) => e instanceof RangeError && /maxNodes/.test(e.message) && e.message.includes('"c"'));
    // known nodes still work
    monitor.updateLag('b', 2, 1);
    monitor.registerNode('a', { x: 1 });
    assert.equal(monitor.getStats().totalNodes, 2);
    monitor.unregisterNode('a');
    monitor.updateLag('c', 1, 1);
    assert.deepEqual([...monitor.getAllStatuses().keys()], ['b', 'c']);
  });

  test('the maxNodes error from registerNode names registerNode, not updateLag', () => {
    const { monitor } = fakeMonitor({ maxNodes: 1 });
    monitor.registerNode('a');
    assert.throws(() => monitor.registerNode('b'), (e: unknown) => e instanceof RangeError && /^registerNode\b/.test(e.message));
  });
});

describe('clear', () => {
  test('resets nodes, alerts and totalAlerts', () => {
    const { monitor } = fakeMonitor({ maxAlerts: 1 });
    monitor.registerNode('silent', { a: 'b' });
    monitor.updateLag('x', 100, 10, 40);
    monitor.updateLag('y', 100, 10, 10);
    assert.equal(monitor.getStats().totalAlerts, 2);
    monitor.clear();
    assert.deepEqual(monitor.getStats(), {
      totalNodes: 0,
      warningNodes: 0,
      criticalNodes: 0,
      stalledNodes: 0,
      avgLagSeconds: 0,
      maxLagSeconds: 0,
      totalAlerts: 0,
    });
    assert.equal(monitor.getAllStatuses().size, 0);
    assert.deepEqual(monitor.getAlerts(), []);
    assert.deepEqual(monitor.getCriticalNodes(), []);
    // a node seen again starts a fresh episode and history
    const st = monitor.updateLag('x', 100, 10, 40);
    assert.equal(st.history.length, 1);
    assert.equal(monitor.getAlerts()[0]!.previousSeverity, 'normal');
  });
});

describe('construction', () => {
  test('defaults are the documented ones', () => {
    const m = new ReplicationLagMonitor();
    const { now, onListenerError, ...rest } = m.config;
    assert.deepEqual(rest, {
      warningThresholdSeconds: 5,
      criticalThresholdSeconds: 30,
      retentionWindowSeconds: 3600,
      alertCooldownSeconds: 60,
      enablePrediction: true,
      predictionHorizonSeconds: 60,
      stallTimeoutSeconds: 10,
      maxAlerts: 1000,
      maxSamplesPerNode: 256,
      maxNodes: 5_000,
      autoRegister: true,
    });
    assert.equal(typeof now, 'function');
    assert.equal(onListenerError, undefined);
    assert.equal(DEFAULT_CONFIG.warningThresholdSeconds, 5);
    assert.ok(Object.isFrozen(DEFAULT_CONFIG));
  });

  test('the default clock is real milliseconds', () => {
    const m = new ReplicationLagMonitor();
    const before = Date.now();
    const st = m.updateLag('a', 1, 1);
    assert.ok(Math.abs(st.lastUpdate - before) < 60_000, `lastUpdate ${st.lastUpdate} vs Date.now ${before}`);
  });
});
