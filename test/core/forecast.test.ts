/**
 * The forecast model (predictedLagSeconds), catchUpSeconds and secondsToCritical, regime by regime, on a fake
 * clock with 1 s updates and positions only (the monitor estimates the delay).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReplicationLagConfig, ReplicationStatus } from '../../src/index.ts';
import { fakeMonitor, near } from './helpers.ts';

/**
 * Runs a follower for `seconds` 1-s updates: leader position L(t), follower position F(t) (integers), and returns
 * every status, indexed by t.
 */
function run(seconds: number, leader: (t: number) => number, follower: (t: number) => number, config: Partial<ReplicationLagConfig> = {}): ReplicationStatus[] {
  const { clock, monitor } = fakeMonitor({ predictionHorizonSeconds: 60, ...config });
  const out: ReplicationStatus[] = [];
  for (let t = 0; t <= seconds; t++) {
    clock.t = t * 1000;
    // (positions from 10^6 on, so that a follower behind the leader's start is still a valid position)
    const l = 1e6 + Math.floor(leader(t));
    out.push(monitor.updateLag('replica', l, Math.min(l, 1e6 + Math.floor(follower(t)))));
  }
  return out;
}

/** A leader writing ~1000 entries/s with a ±30 % rate that changes every second (deterministic). */
function noisyLeader(): (t: number) => number {
  const positions = [0];
  let seed = 12345;
  for (let i = 1; i <= 2000; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    positions.push(positions[i - 1]! + 1000 * (0.7 + (0.6 * seed) / 2 ** 31));
  }
  return (t) => {
    if (t <= 0) return 0;
    const i = Math.floor(t);
    return positions[i]! + (positions[i + 1]! - positions[i]!) * (t - i);
  };
}

describe('forecast regimes', () => {
  test('constant apply delay: after the delay settles the forecast holds it, although the leader rate is noisy', () => {
    const L = noisyLeader();
    // The 10 s apply delay switches on at 60 s: the follower pauses 10 s, then applies what is 10 s old.
    const st = run(200, L, (t) => (t < 60 ? L(t - 0.2) : L(Math.max(t - 10, 59.8))));
    for (let t = 80; t <= 200; t++) {
      near(st[t]!.lagSeconds, 10, 0.05, `delay at ${t}s`);
      near(st[t]!.predictedLagSeconds, 10, 2, `forecast at ${t}s (within 20 % of 10 s)`);
      assert.equal(st[t]!.secondsToCritical, undefined, `holding 10 s never reaches 30 s (at ${t}s)`);
    }
    // The least-squares line of the old forecast overshot here (~60 s): the ramp's slope is dropped within seconds.
    const worst = Math.max(...st.slice(75, 200).map((s) => s.predictedLagSeconds!));
    assert.ok(worst < 12, `forecast peaked at ${worst} s after the delay settled`);
  });

  test('frozen follower: the delay ages 1 s/s, so the forecast is delay + horizon and critical comes on time', () => {
    const st = run(120, (t) => 500 * t, (t) => 500 * Math.min(t, 30) - 100); // stops applying at 30 s
    for (let t = 31; t <= 120; t++) assert.ok(st[t]!.predictedLagSeconds! >= st[t - 1]!.predictedLagSeconds!, `the forecast rises at ${t}s`);
    for (let t = 55; t <= 120; t++) {
      const s = st[t]!;
      near(s.predictedLagSeconds, s.lagSeconds + 60, 1, `forecast at ${t}s`);
      assert.equal(s.catchUpSeconds, undefined, `not gaining at ${t}s`);
      if (s.lagSeconds < 30) near(s.secondsToCritical, 30 - s.lagSeconds, 0.6, `time to critical at ${t}s`);
      else assert.equal(s.secondsToCritical, 0);
    }
  });

  test('catching up: the forecast falls to 0 when the follower will be caught up within the horizon, and the ETA is right', () => {
    // Stopped for 60 s (60 000 entries behind), then applies 1500/s against the leader's 1000/s: caught up at 180 s.
    const st = run(240, (t) => 1000 * t, (t) => (t < 60 ? 0 : 1500 * (t - 60)));
    // The gain on the leader is smoothed with a 5 s time constant: the ETA settles ~20 s after the change.
    for (let t = 80; t < 180; t++) {
      const s = st[t]!;
      const eta = 180 - t;
      near(s.catchUpSeconds, eta, Math.max(1, 0.1 * eta), `catch-up ETA at ${t}s`);
    }
    for (let t = 85; t < 180; t++) {
      const s = st[t]!;
      const eta = 180 - t;
      const truthIn60 = Math.max(0, s.lagSeconds - 30); // the delay shrinks by 0.5 s per second (τ' = 1.5)
      near(s.predictedLagSeconds, eta <= 60 ? 0 : truthIn60, 2, `forecast at ${t}s`);
      assert.equal(s.secondsToCritical, s.lagSeconds >= 30 ? 0 : undefined, `time to critical at ${t}s`);
    }
    for (let t = 181; t <= 240; t++) {
      assert.equal(st[t]!.catchUpSeconds, 0, `caught up at ${t}s`);
      assert.equal(st[t]!.predictedLagSeconds, 0);
    }
  });

  test('leader going idle: a follower draining its apply delay is forecast caught up, not frozen at its delay', () => {
    // 10 s apply delay; the leader stops writing at 100 s; the follower has caught up at 110 s.
    const L = (t: number) => 1000 * Math.min(t, 100);
    const st = run(160, L, (t) => L(t - 10));
    near(st[99]!.predictedLagSeconds, 10, 0.5, 'forecast before the leader went idle');
    for (let t = 103; t < 110; t++) {
      const s = st[t]!;
      near(s.lagSeconds, 10, 0.05, `delay at ${t}s`);
      assert.equal(s.predictedLagSeconds, 0, `forecast at ${t}s: caught up within the horizon`);
      near(s.catchUpSeconds, 110 - t, 1, `catch-up ETA at ${t}s`);
    }
    for (let t = 110; t <= 160; t++) assert.equal(st[t]!.predictedLagSeconds, 0);
  });

  test('a ramp that stops: the forecast stops extrapolating it within a few seconds', () => {
    // The follower falls behind at 0.5 s/s from 60 s to 100 s, then keeps pace 20 s behind.
    const latency = (t: number) => (t < 60 ? 0.2 : t < 100 ? 0.2 + 0.5 * (t - 60) : 20.2);
    const st = run(200, (t) => 1000 * t, (t) => 1000 * (t - latency(t)));
    near(st[95]!.predictedLagSeconds, st[95]!.lagSeconds + 30, 2, 'during the ramp: +0.5 s/s over 60 s');
    assert.ok(st[95]!.secondsToCritical! > 0 && st[95]!.secondsToCritical! < 30, `time to critical during the ramp: ${st[95]!.secondsToCritical}`);
    for (let t = 110; t <= 200; t++) {
      near(st[t]!.predictedLagSeconds, 20.2, 0.5, `forecast at ${t}s`);
      assert.equal(st[t]!.secondsToCritical, undefined, `holding 20 s never reaches 30 s (at ${t}s)`);
    }
  });

  test('a healthy follower a fraction of a second behind a noisy leader: the forecast stays near its delay', () => {
    const L = noisyLeader();
    const st = run(300, L, (t) => L(t - 0.3));
    for (let t = 3; t <= 300; t++) {
      assert.ok(st[t]!.predictedLagSeconds! < 2, `forecast ${st[t]!.predictedLagSeconds} at ${t}s`);
      assert.equal(st[t]!.secondsToCritical, undefined, `time to critical at ${t}s`);
    }
  });
});

describe('catchUpSeconds and secondsToCritical', () => {
  test('catchUpSeconds is 0 whenever the follower is caught up, from the first observation', () => {
    const { clock, monitor } = fakeMonitor();
    assert.equal(monitor.updateLag('a', 100, 100).catchUpSeconds, 0);
    clock.t = 1000;
    assert.equal(monitor.updateLag('a', 200, 250).catchUpSeconds, 0); // ahead: caught up
  });

  test('catchUpSeconds is undefined when not gaining: keeping pace, or frozen', () => {
    const keep = run(60, (t) => 1000 * t, (t) => 1000 * (t - 5));
    const frozen = run(60, (t) => 1000 * t, () => 100);
    for (let t = 1; t <= 60; t++) {
      assert.equal(keep[t]!.catchUpSeconds, undefined, `keeping pace at ${t}s`);
      assert.equal(frozen[t]!.catchUpSeconds, undefined, `frozen at ${t}s`);
    }
  });

  test('secondsToCritical is 0 at or above the critical threshold, whatever the trend', () => {
    const { clock, monitor } = fakeMonitor({ criticalThresholdSeconds: 30, warningThresholdSeconds: 5 });
    assert.equal(monitor.updateLag('a', 100, 50, 30).secondsToCritical, 0);
    clock.t = 1000;
    assert.equal(monitor.updateLag('a', 100, 60, 29.999).secondsToCritical, undefined); // no trend yet
    clock.t = 2000;
    assert.equal(monitor.updateLag('a', 100, 70, 45).secondsToCritical, 0);
  });

  test('secondsToCritical is not limited to the horizon', () => {
    // The delay grows at 0.1 s/s from 1 s: critical (30 s) in 290 s, far beyond the 60 s horizon.
    const { clock, monitor } = fakeMonitor({ predictionHorizonSeconds: 60 });
    let st: ReplicationStatus | undefined;
    for (let t = 0; t <= 60; t++) {
      clock.t = t * 1000;
      st = monitor.updateLag('a', 1000 + t, 500, 1 + 0.1 * t);
    }
    near(st!.secondsToCritical, (30 - 7) / 0.1, 5, 'seconds to critical');
    assert.ok(st!.secondsToCritical! > 60);
  });

  test('secondsToCritical is undefined when the follower catches up before the delay gets there', () => {
    // The leader slowed down: the delay of the entries being applied still grows, but the follower gains on
    // the leader in entries and will be caught up (delay 0) long before the delay would reach 30 s.
    const { clock, monitor } = fakeMonitor();
    let st: ReplicationStatus | undefined;
    for (let t = 0; t <= 40; t++) {
      clock.t = t * 1000;
      st = monitor.updateLag('a', 20_000 + 10 * t, 10_000 + 100 * t, 5 + 0.2 * t); // gaining 90 entries/s
    }
    // At 40 s: 6400 entries behind, caught up in ~71 s; the delay (13 s, +0.2 s/s) would reach 30 s in 85 s.
    near(st!.catchUpSeconds, 6400 / 90, 2, 'catch-up ETA');
    assert.equal(st!.secondsToCritical, undefined);
    near(st!.predictedLagSeconds, 13 + 0.2 * 60, 1, 'forecast (the catch-up is beyond the horizon)');
  });
});

describe('first observation: no made-up zero', () => {
  test('behind with no figure: lagSeconds is only a bound (0), delayEstimated false, never normal, and no alert', () => {
    const { monitor } = fakeMonitor();
    const alerts: unknown[] = [];
    monitor.onAlert((a) => alerts.push(a));
    const st = monitor.updateLag('a', 10_000, 8_136);
    assert.equal(st.lagEntries, 1864);
    assert.equal(st.lagSeconds, 0);
    assert.equal(st.delayEstimated, false);
    assert.notEqual(st.severity, 'normal');
    assert.equal(st.severity, 'warning');
    assert.deepEqual(alerts, []);
    assert.equal(monitor.getStats().warningNodes, 1);
  });

  test('behind with the system reported figure: that figure, delayEstimated false, severity from it (and it may alert)', () => {
    const { monitor } = fakeMonitor();
    const alerts: string[] = [];
    monitor.onAlert((a) => alerts.push(a.severity));
    const st = monitor.updateLag('a', 10_000, 8_136, { reportedDelaySeconds: 20 });
    assert.equal(st.lagSeconds, 20);
    assert.equal(st.delayEstimated, false);
    assert.equal(st.severity, 'warning');
    assert.deepEqual(alerts, ['warning']);
    const crit = monitor.updateLag('b', 10_000, 8_136, { reportedDelaySeconds: 45 });
    assert.equal(crit.severity, 'critical');
    const small = monitor.updateLag('c', 10_000, 9_990, { reportedDelaySeconds: 0.2 });
    assert.equal(small.severity, 'normal', 'a reported small delay is evidence enough for normal');
  });

  test('caught up on the first observation: a true 0, estimated, normal', () => {
    const { monitor } = fakeMonitor();
    const st = monitor.updateLag('a', 500, 500, { reportedDelaySeconds: 3 });
    assert.equal(st.lagSeconds, 0);
    assert.equal(st.delayEstimated, true);
    assert.equal(st.severity, 'normal');
  });

  test('the caller lagSeconds wins over the reported figure and counts as a measurement', () => {
    const { monitor } = fakeMonitor();
    const st = monitor.updateLag('a', 10_000, 8_000, { lagSeconds: 2, reportedDelaySeconds: 40 });
    assert.equal(st.lagSeconds, 2);
    assert.equal(st.delayEstimated, true);
    assert.equal(st.severity, 'normal');
  });

  test('once the history covers the follower the monitor uses its own estimate and ignores the reported figure', () => {
    const { clock, monitor } = fakeMonitor();
    let st: ReplicationStatus | undefined;
    for (let t = 0; t <= 30; t++) {
      clock.t = t * 1000;
      st = monitor.updateLag('a', 1000 * t + 5000, 1000 * t, { reportedDelaySeconds: 99 }); // 5 s behind
      if (t === 0) assert.equal(st.lagSeconds, 99);
    }
    assert.equal(st!.delayEstimated, true);
    near(st!.lagSeconds, 5, 1e-6, 'own estimate');
  });

  test('a follower older than all history: the delay is at least the history span, growing, and not estimated', () => {
    const { clock, monitor } = fakeMonitor();
    for (let t = 0; t <= 5; t++) {
      clock.t = t * 1000;
      const st = monitor.updateLag('a', 100_000 + 1000 * t, 1000); // frozen far behind
      assert.equal(st.delayEstimated, false, `at ${t}s`);
      assert.ok(st.lagSeconds >= t, `delay ${st.lagSeconds} below the bound ${t} s`);
      assert.notEqual(st.severity, 'normal', `at ${t}s`);
    }
  });

  test('never normal, no alert, on re-registration and after a history reset; no resolve from a bound', () => {
    const { clock, monitor } = fakeMonitor({ alertCooldownSeconds: 0 });
    const alerts: string[] = [];
    monitor.onAlert((a) => alerts.push(`${a.previousSeverity}->${a.severity}`));
    for (let t = 0; t <= 40; t++) {
      clock.t = t * 1000;
      monitor.updateLag('a', 1000 * t, Math.min(1000 * t, 5000)); // frozen at 5 s: warning, critical, stalled
    }
    assert.equal(monitor.getStatus('a')!.severity, 'stalled');
    const before = alerts.length;
    // Positions go backwards (failover): the first sample of the new history is behind, with no estimate.
    clock.t = 41_000;
    const reset = monitor.updateLag('a', 2000, 100);
    assert.equal(reset.delayEstimated, false);
    assert.notEqual(reset.severity, 'normal');
    // ... and with a small reported figure: normal by that figure, but no resolve alert from it.
    clock.t = 42_000;
    monitor.unregisterNode('b');
    const reported = monitor.updateLag('a', 1, 0, { reportedDelaySeconds: 0.1 });
    assert.equal(reported.delayEstimated, false);
    assert.equal(reported.severity, 'normal');
    assert.deepEqual(alerts.slice(before), [], 'no alert from samples without an estimate');
    // Re-registration: a fresh node, same rule.
    monitor.unregisterNode('a');
    monitor.registerNode('a');
    const again = monitor.updateLag('a', 50_000, 10_000);
    assert.equal(again.delayEstimated, false);
    assert.notEqual(again.severity, 'normal');
    assert.deepEqual(alerts.slice(before), []);
  });

  test('the next sample with an estimate decides: normal without any alert when the follower is in fact healthy', () => {
    const { clock, monitor } = fakeMonitor();
    const alerts: unknown[] = [];
    monitor.onAlert((a) => alerts.push(a));
    assert.equal(monitor.updateLag('a', 10_000, 9_900).severity, 'warning'); // 100 entries behind: unknown yet
    clock.t = 1000;
    const next = monitor.updateLag('a', 11_000, 10_900);
    assert.equal(next.delayEstimated, true);
    assert.equal(next.severity, 'normal');
    assert.deepEqual(alerts, []);
  });
});
