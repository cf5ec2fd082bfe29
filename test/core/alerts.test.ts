/** Alert policy: escalation, cooldown, resolution, the bounded alert list and listener dispatch. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LagAlert, LagSeverity, ReplicationLagMonitor } from '../../src/index.ts';
import { fakeMonitor, type FakeClock } from './helpers.ts';

/** Drives a node to a severity with an explicit delay (entries outstanding, follower advancing so it never stalls). */
function driver(monitor: ReplicationLagMonitor, clock: FakeClock, nodeId = 'n') {
  let follower = 0;
  const delayFor: Record<Exclude<LagSeverity, 'stalled'>, number> = { normal: 0.5, warning: 10, critical: 40 };
  return {
    /** Sets the node to `severity` at time `ms`. */
    at(ms: number, severity: Exclude<LagSeverity, 'stalled'>) {
      clock.t = ms;
      follower += 1;
      const st = monitor.updateLag(nodeId, follower + 100, follower, delayFor[severity]);
      assert.equal(st.severity, severity, `setup: ${nodeId} at ${ms} ms`);
      return st;
    },
    /** Stalls the node: no follower progress from `fromMs` to `toMs` (≥ stall timeout). */
    stall(fromMs: number, toMs: number) {
      clock.t = fromMs;
      follower += 1;
      monitor.updateLag(nodeId, follower + 100, follower, 40);
      clock.t = toMs;
      const st = monitor.updateLag(nodeId, follower + 100, follower, 40);
      assert.equal(st.severity, 'stalled', 'setup: stalled');
      return st;
    },
  };
}

const brief = (alerts: readonly LagAlert[]) => alerts.map((a) => `${a.nodeId}:${a.previousSeverity}->${a.severity}@${a.timestamp}`);

describe('escalation', () => {
  test('every escalation is emitted at once, even within the cooldown, with previousSeverity chained', () => {
    const { clock, monitor } = fakeMonitor({ alertCooldownSeconds: 60 });
    const d = driver(monitor, clock);
    d.at(0, 'normal');
    d.at(1000, 'warning');
    d.at(2000, 'critical');
    d.stall(3000, 13_000);
    assert.deepEqual(brief(monitor.getAlerts()), ['n:normal->warning@1000', 'n:warning->critical@2000', 'n:critical->stalled@13000']);
  });

  test('normal → critical directly is one alert', () => {
    const { clock, monitor } = fakeMonitor();
    driver(monitor, clock).at(500, 'critical');
    assert.deepEqual(brief(monitor.getAlerts()), ['n:normal->critical@500']);
  });

  test('a repeated severity does not alert again', () => {
    const { clock, monitor } = fakeMonitor({ alertCooldownSeconds: 0 });
    const d = driver(monitor, clock);
    for (let i = 0; i < 10; i++) d.at(i * 100_000, 'warning');
    assert.equal(monitor.getAlerts().length, 1);
    assert.equal(monitor.getStats().totalAlerts, 1);
  });

  test('a node that stays normal never alerts', () => {
    const { clock, monitor } = fakeMonitor();
    const d = driver(monitor, clock);
    for (let i = 0; i < 10; i++) d.at(i * 1000, 'normal');
    assert.deepEqual(monitor.getAlerts(), []);
  });
});

describe('de-escalation and cooldown', () => {
  test('a fall to another non-normal level within the cooldown is suppressed, then emitted once the cooldown has passed', () => {
    const { clock, monitor } = fakeMonitor({ alertCooldownSeconds: 60 });
    const d = driver(monitor, clock);
    d.at(0, 'critical'); // alert at 0
    d.at(10_000, 'warning');
    d.at(59_999, 'warning');
    assert.deepEqual(brief(monitor.getAlerts()), ['n:normal->critical@0']);
    d.at(60_000, 'warning'); // exactly the cooldown after the last alert
    assert.deepEqual(brief(monitor.getAlerts()), ['n:normal->critical@0', 'n:critical->warning@60000']);
  });

  test('stalled → critical waits for the cooldown too', () => {
    const { clock, monitor } = fakeMonitor({ alertCooldownSeconds: 30 });
    const d = driver(monitor, clock);
    d.stall(0, 10_000); // normal->critical@0, critical->stalled@10000
    d.at(11_000, 'critical');
    d.at(39_999, 'critical');
    assert.equal(monitor.getAlerts().length, 2);
    d.at(40_000, 'critical');
    assert.deepEqual(brief(monitor.getAlerts()).slice(2), ['n:stalled->critical@40000']);
  });

  test('the cooldown counts from the node’s last alert, not from the last suppressed change', () => {
    const { clock, monitor } = fakeMonitor({ alertCooldownSeconds: 60 });
    const d = driver(monitor, clock);
    d.at(0, 'critical');
    d.at(30_000, 'warning'); // suppressed
    d.at(50_000, 'critical'); // back to the alerted level: nothing
    d.at(70_000, 'warning'); // 70 s after the last alert: emitted
    assert.deepEqual(brief(monitor.getAlerts()), ['n:normal->critical@0', 'n:critical->warning@70000']);
  });

  test('the cooldown is per node', () => {
    const { clock, monitor } = fakeMonitor({ alertCooldownSeconds: 60 });
    const a = driver(monitor, clock, 'a');
    const b = driver(monitor, clock, 'b');
    b.at(0, 'critical');
    a.at(100_000, 'critical'); // a alerts recently
    b.at(100_500, 'warning'); // b's last alert is 100 s old: emitted
    a.at(101_000, 'warning'); // a's last alert is 1 s old: suppressed
    assert.deepEqual(brief(monitor.getAlerts()), ['b:normal->critical@0', 'a:normal->critical@100000', 'b:critical->warning@100500']);
  });

  test('cooldown 0: every change alerts', () => {
    const { clock, monitor } = fakeMonitor({ alertCooldownSeconds: 0 });
    const d = driver(monitor, clock);
    d.at(0, 'critical');
    d.at(0, 'warning');
    d.at(0, 'critical');
    assert.equal(monitor.getAlerts().length, 3);
  });
});

describe('resolution', () => {
  test('a return to normal emits a resolving alert at once, even within the cooldown', () => {
    const { clock, monitor } = fakeMonitor({ alertCooldownSeconds: 60 });
    const d = driver(monitor, clock);
    d.at(0, 'warning');
    d.at(1000, 'normal');
    const alerts = monitor.getAlerts();
    assert.deepEqual(brief(alerts), ['n:normal->warning@0', 'n:warning->normal@1000']);
    assert.equal(alerts[1]!.severity, 'normal');
    assert.equal(alerts[1]!.previousSeverity, 'warning');
  });

  test('previousSeverity of the resolving alert is the last alerted severity, even after a suppressed de-escalation', () => {
    const { clock, monitor } = fakeMonitor({ alertCooldownSeconds: 60 });
    const d = driver(monitor, clock);
    d.at(0, 'critical');
    d.at(5_000, 'warning'); // suppressed
    d.at(10_000, 'normal');
    assert.deepEqual(brief(monitor.getAlerts()), ['n:normal->critical@0', 'n:critical->normal@10000']);
  });

  test('after a resolution a new episode starts from normal', () => {
    const { clock, monitor } = fakeMonitor({ alertCooldownSeconds: 60 });
    const d = driver(monitor, clock);
    d.at(0, 'critical');
    d.at(1000, 'normal');
    d.at(2000, 'warning'); // escalation from normal: emitted within the cooldown
    d.at(3000, 'normal');
    assert.deepEqual(brief(monitor.getAlerts()), [
      'n:normal->critical@0',
      'n:critical->normal@1000',
      'n:normal->warning@2000',
      'n:warning->normal@3000',
    ]);
  });

  test('no resolving alert without an alerted episode (a re-registered node starts fresh)', () => {
    const { clock, monitor } = fakeMonitor();
    const d = driver(monitor, clock);
    d.at(0, 'critical');
    monitor.unregisterNode('n');
    const fresh = driver(monitor, clock);
    fresh.at(1000, 'normal');
    assert.deepEqual(brief(monitor.getAlerts()), ['n:normal->critical@0']);
  });

  test('the resolving alert carries the recovered lag figures', () => {
    const { clock, monitor } = fakeMonitor();
    const d = driver(monitor, clock);
    d.at(0, 'warning');
    const st = d.at(1000, 'normal');
    const resolved = monitor.getAlerts()[1]!;
    assert.equal(resolved.lagSeconds, st.lagSeconds);
    assert.equal(resolved.lagEntries, st.lagEntries);
    assert.equal(resolved.timestamp, 1000);
  });
});

describe('alert contents', () => {
  test('an alert carries node, severities, lag figures, clock timestamp and a message naming the node', () => {
    const { clock, monitor } = fakeMonitor();
    clock.t = 123_456;
    monitor.updateLag('pg-standby-1', 5000, 4200, 12.5);
    const [alert] = monitor.getAlerts();
    assert.ok(alert);
    assert.equal(alert.nodeId, 'pg-standby-1');
    assert.equal(alert.severity, 'warning');
    assert.equal(alert.previousSeverity, 'normal');
    assert.equal(alert.lagEntries, 800);
    assert.equal(alert.lagSeconds, 12.5);
    assert.equal(alert.timestamp, 123_456);
    assert.match(alert.message, /pg-standby-1/);
    assert.match(alert.message, /warning/);
  });

  test('getAlerts returns a copy', () => {
    const { clock, monitor } = fakeMonitor();
    driver(monitor, clock).at(0, 'warning');
    const alerts = monitor.getAlerts();
    alerts.pop();
    assert.equal(monitor.getAlerts().length, 1);
  });
});

describe('the alert list', () => {
  test('maxAlerts keeps the newest alerts, oldest first; totalAlerts counts all until clear()', () => {
    const { clock, monitor } = fakeMonitor({ maxAlerts: 3, alertCooldownSeconds: 0 });
    const d = driver(monitor, clock);
    const expected: string[] = [];
    let prev: LagSeverity = 'normal';
    for (let i = 1; i <= 7; i++) {
      const sev = i % 2 === 1 ? 'critical' : 'warning';
      d.at(i * 1000, sev);
      expected.push(`n:${prev}->${sev}@${i * 1000}`);
      prev = sev;
    }
    assert.deepEqual(brief(monitor.getAlerts()), expected.slice(-3));
    assert.equal(monitor.getStats().totalAlerts, 7);
    monitor.clear();
    assert.deepEqual(monitor.getAlerts(), []);
    assert.equal(monitor.getStats().totalAlerts, 0);
  });

  test('maxAlerts 0 keeps none but still counts and delivers them', () => {
    const { clock, monitor } = fakeMonitor({ maxAlerts: 0 });
    const got: LagAlert[] = [];
    monitor.onAlert((a) => got.push(a));
    driver(monitor, clock).at(0, 'critical');
    assert.deepEqual(monitor.getAlerts(), []);
    assert.equal(monitor.getStats().totalAlerts, 1);
    assert.equal(got.length, 1);
  });

  test('clearAlerts(node) removes only that node’s alerts and keeps its alert state and totalAlerts', () => {
    const { clock, monitor } = fakeMonitor({ maxAlerts: 4 });
    const a = driver(monitor, clock, 'a');
    const b = driver(monitor, clock, 'b');
    a.at(0, 'warning');
    b.at(1000, 'warning');
    a.at(2000, 'critical');
    b.at(3000, 'critical');
    monitor.clearAlerts('a');
    assert.deepEqual(brief(monitor.getAlerts()), ['b:normal->warning@1000', 'b:warning->critical@3000']);
    assert.equal(monitor.getStats().totalAlerts, 4);
    a.at(4000, 'normal'); // the episode is still open: it resolves from critical
    b.at(5000, 'normal');
    a.at(6000, 'warning');
    // the list keeps working as a ring after the removal
    assert.deepEqual(brief(monitor.getAlerts()), ['b:warning->critical@3000', 'a:critical->normal@4000', 'b:critical->normal@5000', 'a:normal->warning@6000']);
    monitor.clearAlerts('unknown'); // harmless
    assert.equal(monitor.getAlerts().length, 4);
  });

  test('unregisterNode keeps the node’s past alerts', () => {
    const { clock, monitor } = fakeMonitor();
    driver(monitor, clock).at(0, 'warning');
    monitor.unregisterNode('n');
    assert.equal(monitor.getAlerts().length, 1);
  });
});

describe('listeners', () => {
  test('alerts are delivered synchronously within updateLag, after the status is recorded', () => {
    const { monitor } = fakeMonitor();
    const seen: string[] = [];
    monitor.onAlert((alert) => {
      seen.push(`${alert.nodeId}:${alert.severity}:${monitor.getStatus(alert.nodeId)?.severity}`);
    });
    monitor.updateLag('n', 100, 50, 40);
    assert.deepEqual(seen, ['n:critical:critical']);
  });

  test('every listener receives the same alert, in subscription order', () => {
    const { monitor } = fakeMonitor();
    const order: string[] = [];
    const received: LagAlert[] = [];
    monitor.onAlert((a) => {
      order.push('first');
      received.push(a);
    });
    monitor.onAlert((a) => {
      order.push('second');
      received.push(a);
    });
    monitor.updateLag('n', 100, 50, 40);
    assert.deepEqual(order, ['first', 'second']);
    assert.equal(received[0], received[1]);
    assert.deepEqual(received[0], monitor.getAlerts()[0]);
  });

  test('a throwing listener breaks neither updateLag nor the other listeners, and is reported to onListenerError', () => {
    const reported: unknown[] = [];
    const { monitor } = fakeMonitor({ onListenerError: (e) => reported.push(e) });
    const boom = new Error('listener failed');
    const got: string[] = [];
    monitor.onAlert(() => {
      throw boom;
    });
    monitor.onAlert((a) => got.push(a.severity));
    const st = monitor.updateLag('n', 100, 50, 40);
    assert.equal(st.severity, 'critical');
    assert.deepEqual(got, ['critical']);
    assert.deepEqual(reported, [boom]);
    assert.equal(monitor.getAlerts().length, 1);
    assert.equal(monitor.getStats().totalAlerts, 1);
  });

  test('a throwing listener without onListenerError, and a throwing onListenerError, are ignored', () => {
    for (const onListenerError of [undefined, () => { throw new Error('handler failed'); }]) {
      const { monitor } = fakeMonitor(onListenerError === undefined ? {} : { onListenerError });
      const got: string[] = [];
      monitor.onAlert(() => {
        throw 'not even an Error';
      });
      monitor.onAlert((a) => got.push(a.severity));
      assert.doesNotThrow(() => monitor.updateLag('n', 100, 50, 40));
      assert.deepEqual(got, ['critical']);
    }
  });

  test('unsubscribe stops delivery to that listener only; calling it twice is harmless', () => {
    const { clock, monitor } = fakeMonitor({ alertCooldownSeconds: 0 });
    const a: string[] = [];
    const b: string[] = [];
    const offA = monitor.onAlert((x) => a.push(x.severity));
    monitor.onAlert((x) => b.push(x.severity));
    const d = driver(monitor, clock);
    d.at(0, 'warning');
    offA();
    offA();
    d.at(1000, 'critical');
    assert.deepEqual(a, ['warning']);
    assert.deepEqual(b, ['warning', 'critical']);
  });

  test('a listener unsubscribing itself during dispatch does not skip the others', () => {
    const { monitor } = fakeMonitor();
    const got: string[] = [];
    const off = monitor.onAlert(() => {
      got.push('self');
      off();
    });
    monitor.onAlert(() => got.push('other'));
    monitor.updateLag('n', 100, 50, 40);
    monitor.updateLag('m', 100, 50, 40);
    assert.deepEqual(got, ['self', 'other', 'other']);
  });

  test('listeners stay subscribed across clear()', () => {
    const { monitor } = fakeMonitor();
    const got: string[] = [];
    monitor.onAlert((a) => got.push(a.nodeId));
    monitor.updateLag('a', 100, 50, 40);
    monitor.clear();
    monitor.updateLag('b', 100, 50, 40);
    assert.deepEqual(got, ['a', 'b']);
  });

  test('onAlert rejects a non-function with a TypeError', () => {
    const { monitor } = fakeMonitor();
    assert.throws(() => monitor.onAlert('nope' as never), TypeError);
  });
});
