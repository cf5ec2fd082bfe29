/**
 * The monitor's use of a heartbeat delay (`LagUpdateOptions.heartbeatDelaySeconds`), on a fake clock: kept in the
 * status; the node's delay whenever the monitor has no estimate of its own (first observation, a follower further
 * behind than its history), preferred to the system's reported figure, with a severity that follows it and alerts
 * (not the provisional floor); the monitor's own estimate wins once it has one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LagAlert } from '../../src/index.ts';
import { fakeMonitor } from './helpers.ts';

test('first observation: the heartbeat delay is the delay, severity follows it (critical) and alerts; without it the floor is provisional', () => {
  const { monitor } = fakeMonitor();
  const alerts: LagAlert[] = [];
  monitor.onAlert((a) => alerts.push(a));
  const withHeartbeat = monitor.updateLag('a', 1000, 400, { heartbeatDelaySeconds: 42.5 });
  assert.equal(withHeartbeat.lagSeconds, 42.5);
  assert.equal(withHeartbeat.heartbeatDelaySeconds, 42.5);
  assert.equal(withHeartbeat.delayEstimated, false);
  assert.equal(withHeartbeat.severity, 'critical');
  assert.deepEqual(alerts.map((a) => [a.nodeId, a.severity, a.lagSeconds]), [['a', 'critical', 42.5]]);

  const without = monitor.updateLag('b', 1000, 400);
  assert.equal(without.lagSeconds, 0);
  assert.equal(without.heartbeatDelaySeconds, undefined);
  assert.equal(without.severity, 'warning', 'the provisional floor');
  assert.equal(alerts.length, 1, 'a provisional severity does not alert');
});

test('the heartbeat is preferred to the reported figure (NULL or stale when applying stops), and a small one says normal', () => {
  const { monitor } = fakeMonitor();
  assert.equal(monitor.updateLag('a', 1000, 400, { heartbeatDelaySeconds: 12, reportedDelaySeconds: 3 }).lagSeconds, 12);
  const small = monitor.updateLag('b', 1000, 990, { heartbeatDelaySeconds: 0.4 });
  assert.equal(small.lagSeconds, 0.4);
  assert.equal(small.severity, 'normal');
});

test('further behind than the history: the larger of the heartbeat and the time the history spans; once estimated, the monitor\'s own figure', () => {
  const { clock, monitor } = fakeMonitor();
  // The follower is stuck at 100 while the leader advances 10 entries/s from 200: its position predates the history.
  for (let s = 0; s <= 5; s++) {
    clock.t = s * 1000;
    const st = monitor.updateLag('f', 200 + 10 * s, 100, { heartbeatDelaySeconds: s === 5 ? 2 : 30 + s });
    if (s === 5) {
      assert.equal(st.delayEstimated, false);
      assert.equal(st.lagSeconds, 5, 'the history spans 5 s: a heartbeat of 2 s is below that bound');
    } else {
      assert.equal(st.lagSeconds, 30 + s);
    }
    assert.notEqual(st.severity, 'normal');
  }
  // A follower inside the history: the monitor estimates, the heartbeat is only kept beside it.
  clock.t = 6000;
  const inside = monitor.updateLag('f', 260, 220, { heartbeatDelaySeconds: 9 });
  assert.equal(inside.delayEstimated, true);
  assert.notEqual(inside.lagSeconds, 9);
  assert.equal(inside.heartbeatDelaySeconds, 9);
});

test('a bad heartbeatDelaySeconds: RangeError / TypeError naming it, nothing changes', () => {
  const { monitor } = fakeMonitor();
  assert.throws(() => monitor.updateLag('a', 1, 1, { heartbeatDelaySeconds: -1 }), /heartbeatDelaySeconds must be a finite number/);
  assert.throws(() => monitor.updateLag('a', 1, 1, { heartbeatDelaySeconds: '1' as never }), /heartbeatDelaySeconds must be a number/);
  assert.equal(monitor.getStatus('a'), undefined);
});
