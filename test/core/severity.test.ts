/** Severity classification: order of the rules and exact boundaries. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SEVERITIES, severityRank, type LagSeverity } from '../../src/index.ts';
import { fakeMonitor } from './helpers.ts';

/** Severity of a fresh node's first update (no stall possible yet). */
function firstSeverity(lagEntries: number, lagSeconds: number, config = {}): LagSeverity {
  const { monitor } = fakeMonitor(config);
  return monitor.updateLag('n', 1_000 + lagEntries, 1_000, lagSeconds).severity;
}

describe('severity ranks', () => {
  test('SEVERITIES lists normal < warning < critical < stalled', () => {
    assert.deepEqual([...SEVERITIES], ['normal', 'warning', 'critical', 'stalled']);
    assert.deepEqual(SEVERITIES.map(severityRank), [0, 1, 2, 3]);
    assert.ok(Object.isFrozen(SEVERITIES));
  });
});

describe('delay thresholds (lagSeconds given, default 5 s / 30 s)', () => {
  const cases: [number, LagSeverity][] = [
    [0, 'normal'],
    [0.5, 'normal'],
    [1, 'normal'],
    [4.999, 'normal'],
    [5, 'warning'],
    [5.001, 'warning'],
    [29.999, 'warning'],
    [30, 'critical'],
    [30.001, 'critical'],
    [1e6, 'critical'],
  ];
  for (const [lagSeconds, expected] of cases) {
    test(`${lagSeconds} s behind with entries outstanding → ${expected}`, () => {
      assert.equal(firstSeverity(10, lagSeconds), expected);
    });
  }

  test('custom thresholds move the boundaries', () => {
    const config = { warningThresholdSeconds: 2, criticalThresholdSeconds: 3 };
    assert.equal(firstSeverity(1, 1.999, config), 'normal');
    assert.equal(firstSeverity(1, 2, config), 'warning');
    assert.equal(firstSeverity(1, 2.999, config), 'warning');
    assert.equal(firstSeverity(1, 3, config), 'critical');
  });

  test('warning = critical threshold: critical wins at the boundary', () => {
    const config = { warningThresholdSeconds: 7, criticalThresholdSeconds: 7 };
    assert.equal(firstSeverity(1, 6.999, config), 'normal');
    assert.equal(firstSeverity(1, 7, config), 'critical');
  });
});

describe('caught up (lagEntries 0)', () => {
  test('lagEntries 0 and lagSeconds < 1 is normal', () => {
    assert.equal(firstSeverity(0, 0), 'normal');
    assert.equal(firstSeverity(0, 0.999), 'normal');
  });

  test('lagEntries 0 and lagSeconds 1 falls through to the thresholds: normal below the warning threshold', () => {
    assert.equal(firstSeverity(0, 1), 'normal');
    assert.equal(firstSeverity(0, 4.999), 'normal');
    // with a 1 s warning threshold the caught-up rule no longer applies at exactly 1 s
    assert.equal(firstSeverity(0, 1, { warningThresholdSeconds: 1 }), 'warning');
    assert.equal(firstSeverity(0, 0.999, { warningThresholdSeconds: 0.5 }), 'normal');
  });

  test('a delay reported by the caller is honoured even with lagEntries 0', () => {
    assert.equal(firstSeverity(0, 5), 'warning');
    assert.equal(firstSeverity(0, 30), 'critical');
  });

  test('a caught-up follower is never stalled, however long the leader is idle', () => {
    const { clock, monitor } = fakeMonitor();
    for (let s = 0; s <= 120; s += 5) {
      clock.t = s * 1000;
      assert.equal(monitor.updateLag('n', 500, 500).severity, 'normal');
    }
    // a follower ahead of the leader is not behind either
    clock.t += 60_000;
    assert.equal(monitor.updateLag('n', 500, 600).severity, 'normal');
  });
});

describe('stalled', () => {
  test('behind and not advancing for exactly stallTimeoutSeconds is stalled, 1 ms less is not', () => {
    const { clock, monitor } = fakeMonitor();
    monitor.updateLag('n', 200, 100, 0.5);
    clock.t = 9_999;
    assert.equal(monitor.updateLag('n', 300, 100, 0.5).severity, 'normal');
    clock.t = 10_000;
    assert.equal(monitor.updateLag('n', 400, 100, 0.5).severity, 'stalled');
  });

  test('stalled ranks above critical: a huge delay without progress is stalled, not critical', () => {
    const { clock, monitor } = fakeMonitor();
    monitor.updateLag('n', 200, 100, 100);
    clock.t = 9_999;
    assert.equal(monitor.updateLag('n', 200, 100, 100).severity, 'critical');
    clock.t = 10_000;
    assert.equal(monitor.updateLag('n', 200, 100, 100).severity, 'stalled');
  });

  test('an idle leader with the follower behind still stalls (the follower must apply what is outstanding)', () => {
    const { clock, monitor } = fakeMonitor();
    for (let s = 0; s <= 10; s++) {
      clock.t = s * 1000;
      const st = monitor.updateLag('n', 200, 100);
      assert.equal(st.severity === 'stalled', s >= 10, `at ${s}s: ${st.severity}`);
    }
  });

  test('the stall clock restarts when the follower advances', () => {
    const { clock, monitor } = fakeMonitor();
    monitor.updateLag('n', 1000, 100, 0);
    clock.t = 9_000;
    assert.equal(monitor.updateLag('n', 1000, 101, 0).severity, 'normal'); // progress at 9 s
    clock.t = 18_999;
    assert.equal(monitor.updateLag('n', 1000, 101, 0).severity, 'normal');
    clock.t = 19_000;
    assert.equal(monitor.updateLag('n', 1000, 101, 0).severity, 'stalled');
    clock.t = 19_001;
    assert.equal(monitor.updateLag('n', 1000, 102, 0).severity, 'normal'); // progress again
  });

  test('the stall clock restarts when the follower is caught up', () => {
    const { clock, monitor } = fakeMonitor();
    monitor.updateLag('n', 100, 50, 0);
    clock.t = 5_000;
    monitor.updateLag('n', 100, 100, 0); // caught up at 5 s
    clock.t = 14_999;
    assert.equal(monitor.updateLag('n', 200, 100, 0).severity, 'normal');
    clock.t = 15_000;
    assert.equal(monitor.updateLag('n', 200, 100, 0).severity, 'stalled');
  });

  test('a burst on an idle leader after a long caught-up stretch is not stalled', () => {
    const { clock, monitor } = fakeMonitor();
    for (let s = 0; s <= 600; s++) {
      clock.t = s * 1000;
      monitor.updateLag('n', 5000, 5000);
    }
    clock.t += 1000;
    const burst = monitor.updateLag('n', 6000, 5000);
    assert.equal(burst.severity, 'normal');
    // if the follower then does not move for the stall timeout (counted from the last caught-up update), it is stalled
    clock.t = 600_000 + 9_999;
    assert.notEqual(monitor.updateLag('n', 6000, 5000).severity, 'stalled');
    clock.t = 610_000;
    assert.equal(monitor.updateLag('n', 6000, 5000).severity, 'stalled');
  });

  test('custom stallTimeoutSeconds', () => {
    const { clock, monitor } = fakeMonitor({ stallTimeoutSeconds: 0.25 });
    monitor.updateLag('n', 10, 5, 0);
    clock.t = 249;
    assert.equal(monitor.updateLag('n', 10, 5, 0).severity, 'normal');
    clock.t = 250;
    assert.equal(monitor.updateLag('n', 10, 5, 0).severity, 'stalled');
  });

  test('a first update is never stalled', () => {
    const { clock, monitor } = fakeMonitor();
    clock.t = 1e9;
    assert.equal(monitor.updateLag('n', 10_000, 1, 0).severity, 'normal');
  });
});
