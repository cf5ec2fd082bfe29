/** lagEntries, the delay estimate (lagSeconds omitted), the apply rate and the forecast. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReplicationLagMonitor } from '../../src/index.ts';
import { fakeMonitor, near } from './helpers.ts';

const TOL = 1e-6;

describe('lagEntries', () => {
  test('is leader − follower for numbers', () => {
    const { monitor } = fakeMonitor();
    assert.equal(monitor.updateLag('a', 1500, 1200).lagEntries, 300);
    assert.equal(monitor.updateLag('b', Number.MAX_SAFE_INTEGER, 0).lagEntries, Number.MAX_SAFE_INTEGER);
  });

  test('is exact for bigints beyond 2^53', () => {
    const { monitor } = fakeMonitor();
    const s = monitor.updateLag('a', 2n ** 63n - 1n, 2n ** 63n - 1001n);
    assert.equal(s.lagEntries, 1000);
    assert.equal(typeof s.lagEntries, 'number');
    // 2^53 + 1 is not representable as a double: a lossy implementation would report 0 or 2.
    assert.equal(monitor.updateLag('b', 2n ** 60n + 2n ** 53n + 1n, 2n ** 60n + 2n ** 53n).lagEntries, 1);
  });

  test('mixes number and bigint positions', () => {
    const { monitor } = fakeMonitor();
    assert.equal(monitor.updateLag('a', 10n, 4).lagEntries, 6);
    assert.equal(monitor.updateLag('b', 2n ** 53n + 10n, Number.MAX_SAFE_INTEGER).lagEntries, 11);
  });

  test('a follower ahead of its leader has lag 0 and is not an error', () => {
    const { monitor } = fakeMonitor();
    const s = monitor.updateLag('a', 100, 250);
    assert.equal(s.lagEntries, 0);
    assert.equal(s.lagSeconds, 0);
    assert.equal(s.severity, 'normal');
    assert.equal(monitor.updateLag('b', 2n ** 63n - 1001n, 2n ** 63n - 1n).lagEntries, 0);
  });

  test('a number position above 2^53 − 1 is rejected with a RangeError telling to pass a bigint', () => {
    const { monitor } = fakeMonitor();
    assert.throws(() => monitor.updateLag('a', 2 ** 53, 1), (e: unknown) => e instanceof RangeError && /bigint/i.test(e.message) && /leaderSeq/.test(e.message));
    assert.throws(() => monitor.updateLag('a', 5, 2 ** 60), (e: unknown) => e instanceof RangeError && /bigint/i.test(e.message) && /followerSeq/.test(e.message));
    assert.equal(monitor.getStatus('a'), undefined);
  });
});

/**
 * Feeds a follower exactly `delayMs` behind a leader that appends `ratePerMs` entries per ms, every `stepMs`,
 * and returns the estimated lagSeconds of every update made once the history covers the delay.
 */
function steadyDelay(opts: { ratePerMs: number; stepMs: number; delayMs: number; updates: number; base?: bigint; config?: ConstructorParameters<typeof ReplicationLagMonitor>[0] }): number[] {
  const { clock, monitor } = fakeMonitor(opts.config);
  const start = 10_000_000; // leader position stays ≥ 0 at now − delay
  const out: number[] = [];
  for (let k = 0; k < opts.updates; k++) {
    clock.t = start + k * opts.stepMs;
    const leader = opts.ratePerMs * clock.t;
    const follower = opts.ratePerMs * (clock.t - opts.delayMs);
    const s =
      opts.base === undefined
        ? monitor.updateLag('n', leader, follower)
        : monitor.updateLag('n', opts.base + BigInt(leader), opts.base + BigInt(follower));
    if (k * opts.stepMs >= opts.delayMs + opts.stepMs) out.push(s.lagSeconds);
  }
  return out;
}

describe('lagSeconds estimate (lagSeconds omitted)', () => {
  test('a caller-given lagSeconds is used as is', () => {
    const { clock, monitor } = fakeMonitor();
    for (let i = 0; i < 10; i++) {
      clock.t = i * 1000;
      assert.equal(monitor.updateLag('a', 1000 * i, Math.max(0, 1000 * i - 1), 0.123 * i).lagSeconds, 0.123 * i);
    }
    // even a delay that contradicts the positions (caught up) is kept
    assert.equal(monitor.updateLag('a', 10_000, 10_000, 42).lagSeconds, 42);
  });

  const cases = [
    { name: '1 s sampling, 3 s behind', ratePerMs: 1, stepMs: 1000, delayMs: 3000, updates: 40 },
    { name: '0.7 s sampling (not a divisor of the delay), 3 s behind', ratePerMs: 1, stepMs: 700, delayMs: 3000, updates: 40 },
    { name: '100 ms sampling, 10 s behind (beyond the 32 raw samples)', ratePerMs: 2, stepMs: 100, delayMs: 10_000, updates: 400 },
    { name: '1 Hz sampling, 120 s behind (coarse ring)', ratePerMs: 1, stepMs: 1000, delayMs: 120_000, updates: 400 },
    { name: '10 s sampling, 20 min behind', ratePerMs: 1, stepMs: 10_000, delayMs: 1_200_000, updates: 300 },
    { name: '5 ms sampling, 250 ms behind', ratePerMs: 4, stepMs: 5, delayMs: 250, updates: 500 },
  ];
  for (const c of cases) {
    test(`equals the true delay: ${c.name}`, () => {
      const estimates = steadyDelay(c);
      assert.ok(estimates.length > 10);
      for (const e of estimates) near(e, c.delayMs / 1000, TOL, 'lagSeconds');
    });
  }

  test('equals the true delay for bigint positions near 2^63', () => {
    const estimates = steadyDelay({ ratePerMs: 1, stepMs: 1000, delayMs: 45_000, updates: 200, base: 2n ** 63n - 10n ** 12n });
    assert.ok(estimates.length > 100);
    for (const e of estimates) near(e, 45, TOL, 'lagSeconds');
  });

  test('equals the true delay when the leader rate changes (piecewise linear)', () => {
    // leader: 1 entry/ms until 60 s, then 5 entries/ms; follower exactly 20 s behind; 1 s sampling
    const leaderAt = (ms: number) => (ms <= 60_000 ? ms : 60_000 + 5 * (ms - 60_000));
    const { clock, monitor } = fakeMonitor();
    for (let s = 0; s <= 200; s++) {
      clock.t = s * 1000;
      const st = monitor.updateLag('a', leaderAt(clock.t), leaderAt(Math.max(0, clock.t - 20_000)));
      if (s >= 21) near(st.lagSeconds, 20, TOL, `lagSeconds at ${s}s`);
    }
  });

  test('fuzz: linear leader, random rate, sampling and delay', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }), // entries per ms
        fc.integer({ min: 1, max: 5000 }), // sampling interval (ms)
        fc.integer({ min: 0, max: 600_000 }), // delay (ms)
        (ratePerMs, stepMs, delayMs) => {
          const updates = Math.min(300, Math.ceil(delayMs / stepMs) + 40);
          for (const e of steadyDelay({ ratePerMs, stepMs, delayMs, updates })) near(e, delayMs / 1000, 1e-6, 'lagSeconds');
        },
      ),
      { numRuns: 60, seed: 1234 },
    );
  });

  test('a caught-up follower has delay 0, with a busy and with an idle leader', () => {
    const { clock, monitor } = fakeMonitor();
    for (let s = 0; s < 50; s++) {
      clock.t = s * 1000;
      assert.equal(monitor.updateLag('busy', 500 * s, 500 * s).lagSeconds, 0);
      assert.equal(monitor.updateLag('idle', 777, 777).lagSeconds, 0);
    }
  });

  test('a follower frozen behind an idle leader: delay = now − when the leader passed the follower', () => {
    // leader 100 entries/s until 50 s, then idle at 5000; follower applies until position 2050 (passed at 20.5 s), then freezes
    const { clock, monitor } = fakeMonitor();
    for (let s = 0; s <= 1000; s++) {
      clock.t = s * 1000;
      const leader = 100 * Math.min(s, 50);
      const follower = Math.min(leader, 2050);
      const st = monitor.updateLag('a', leader, follower);
      if (s >= 21) near(st.lagSeconds, s - 20.5, TOL, `lagSeconds at ${s}s`);
    }
  });

  test('a follower frozen behind an idle leader keeps an exact delay up to the retention window (10 s polls)', () => {
    // Default retention (3600 s). Polled every 10 s: the history must still reach back to when the
    // leader passed the follower (50 s) for as long as that lies within the window.
    const { clock, monitor } = fakeMonitor();
    const misses: string[] = [];
    for (let s = 0; s <= 3500; s += 10) {
      clock.t = s * 1000;
      const leader = 100 * Math.min(s, 100); // idle from 100 s
      const follower = Math.min(leader, 5000); // frozen at the position the leader passed at 50 s
      const st = monitor.updateLag('a', leader, follower);
      if (s >= 60 && Math.abs(st.lagSeconds - (s - 50)) > 1e-6) misses.push(`${s}s: ${st.lagSeconds}`);
    }
    assert.deepEqual(misses.slice(0, 5), [], `delay wrong at ${misses.length} updates`);
  });

  test('a burst after a long idle stretch does not spike to the idle time', () => {
    // leader idle 10 min with the follower caught up, then +1000 in one step while the follower is still at the old position
    const { clock, monitor } = fakeMonitor();
    for (let s = 0; s <= 600; s++) {
      clock.t = s * 1000;
      monitor.updateLag('a', 1000, 1000);
    }
    clock.t += 1000;
    const st = monitor.updateLag('a', 2000, 1000);
    assert.ok(st.lagSeconds > 0, 'the follower is behind');
    assert.ok(st.lagSeconds <= 1 + TOL, `delay ${st.lagSeconds} exceeds one sampling interval`);
    assert.equal(st.severity, 'normal');
  });

  test('a first observation behind the leader has no history: a finite delay, never NaN or negative', () => {
    const { monitor } = fakeMonitor();
    const st = monitor.updateLag('a', 1000, 10);
    assert.ok(Number.isFinite(st.lagSeconds) && st.lagSeconds >= 0, `lagSeconds ${st.lagSeconds}`);
    assert.equal(st.lagEntries, 990);
  });

  test('many updates at one instant never give NaN or a negative delay', () => {
    const { clock, monitor } = fakeMonitor();
    clock.t = 5000;
    for (let i = 0; i < 100; i++) {
      const st = monitor.updateLag('a', 10 * i + 10, 5 * i);
      assert.ok(Number.isFinite(st.lagSeconds) && st.lagSeconds >= 0, `lagSeconds ${st.lagSeconds}`);
      assert.ok(Number.isFinite(st.replicationRate) && st.replicationRate >= 0);
    }
  });
});

describe('replicationRate (follower apply rate)', () => {
  test('a healthy follower with constant lag under steady load reports the load rate, not 0', () => {
    const { clock, monitor } = fakeMonitor();
    let st;
    for (let s = 0; s <= 60; s++) {
      clock.t = s * 1000;
      st = monitor.updateLag('a', 500 * s + 2000, 500 * s); // always 2000 entries behind
      if (s >= 1) near(st.replicationRate, 500, 1e-9, `rate at ${s}s`);
    }
    assert.equal(st!.lagEntries, 2000);
  });

  test('uses the follower, not the leader: a frozen follower has rate 0 while the leader moves', () => {
    const { clock, monitor } = fakeMonitor();
    for (let s = 0; s <= 40; s++) {
      clock.t = s * 1000;
      const st = monitor.updateLag('a', 1000 * s, 300);
      assert.equal(st.replicationRate, 0);
    }
  });

  test('a catching-up follower applies faster than the leader appends', () => {
    const { clock, monitor } = fakeMonitor();
    let st;
    for (let s = 0; s <= 20; s++) {
      clock.t = s * 1000;
      st = monitor.updateLag('a', 10_000 + 100 * s, 300 * s); // leader 100/s, follower 300/s
    }
    near(st!.replicationRate, 300, 1e-9, 'rate');
  });

  test('0 on the first update and when no time elapsed', () => {
    const { clock, monitor } = fakeMonitor();
    assert.equal(monitor.updateLag('a', 10, 5).replicationRate, 0);
    assert.equal(monitor.updateLag('a', 20, 15).replicationRate, 0); // same instant
    clock.t = 2000;
    near(monitor.updateLag('a', 30, 25).replicationRate, 10, 1e-9, 'rate'); // 20 entries over 2 s
  });

  test('is exact with bigint positions near 2^63', () => {
    const { clock, monitor } = fakeMonitor();
    const base = 2n ** 63n - 10n ** 9n;
    let st;
    for (let s = 0; s <= 10; s++) {
      clock.t = s * 250;
      st = monitor.updateLag('a', base + BigInt(800 * s + 50), base + BigInt(800 * s));
    }
    near(st!.replicationRate, 3200, 1e-6, 'rate'); // 800 entries per 250 ms
  });
});

describe('predictedLagSeconds', () => {
  test('undefined for updates 1–2, defined from the 3rd (two intervals to measure rates)', () => {
    const { clock, monitor } = fakeMonitor({ retentionWindowSeconds: 60 });
    for (let i = 1; i <= 10; i++) {
      clock.t = i * 1000;
      const p = monitor.updateLag('a', 100 * i, 100 * i - 10, 2).predictedLagSeconds;
      if (i < 3) assert.equal(p, undefined, `update ${i}`);
      else near(p, 2, 1e-9, `update ${i}`);
    }
  });

  test('defined from the 3rd update even when 1000 updates fall within one ms', () => {
    const { clock, monitor } = fakeMonitor();
    for (let i = 1; i <= 1000; i++) {
      clock.t = 1_000_000 + i / 1000; // all within one millisecond
      const p = monitor.updateLag('a', 10 * i, 10 * i - 5, 3).predictedLagSeconds;
      if (i < 3) assert.equal(p, undefined, `update ${i}`);
      else near(p, 3, 1e-6, `update ${i}`);
    }
  });

  test('updates all at one instant measure no rate: no forecast until time passes', () => {
    const { clock, monitor } = fakeMonitor();
    let p: number | undefined;
    [1, 2, 3, 4, 10].forEach((lag, i) => {
      p = monitor.updateLag('a', 100 + i, 90, lag).predictedLagSeconds;
      assert.equal(p, undefined, `update ${i + 1}`);
    });
    clock.t = 1000;
    monitor.updateLag('a', 110, 90, 11);
    clock.t = 2000;
    p = monitor.updateLag('a', 120, 90, 12).predictedLagSeconds;
    assert.ok(p !== undefined && p >= 12, `prediction ${p}`);
  });

  test('a given lag growing at 1 s/s is forecast at current + horizon within a few time constants', () => {
    const { clock, monitor } = fakeMonitor({ predictionHorizonSeconds: 60 });
    let previousError = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 50; i++) {
      clock.t = i * 1000;
      const st = monitor.updateLag('a', 1000 + i, 500, 3 + i);
      if (i >= 2) {
        const error = 3 + i + 60 - st.predictedLagSeconds!;
        assert.ok(error >= -1e-9 && error <= previousError + 1e-9, `at ${i}s the error ${error} does not shrink (was ${previousError})`);
        previousError = error;
      }
      if (i >= 30) near(st.predictedLagSeconds, 3 + i + 60, 0.5, `prediction at ${i}s`);
    }
  });

  test('a shrinking lag is forecast along its slope and clamped at 0', () => {
    const { clock, monitor } = fakeMonitor({ predictionHorizonSeconds: 60 });
    for (let i = 0; i <= 100; i++) {
      clock.t = i * 1000;
      const lag = 100 - i;
      const st = monitor.updateLag('a', 1000 + i, 500, lag);
      if (i >= 30) near(st.predictedLagSeconds, Math.max(0, lag - 60), 0.5, `prediction at ${i}s`);
    }
  });

  test('enablePrediction false: always undefined (the catch-up ETA and time to critical are still given)', () => {
    const { clock, monitor } = fakeMonitor({ enablePrediction: false });
    for (let i = 0; i < 50; i++) {
      clock.t = i * 1000;
      const st = monitor.updateLag('a', 100 * i, 50 * i, i);
      assert.equal(st.predictedLagSeconds, undefined);
      if (i >= 40) assert.equal(st.secondsToCritical, 0);
    }
  });

  test('the forecast is never negative or NaN', () => {
    const { clock, monitor } = fakeMonitor();
    for (let i = 0; i < 100; i++) {
      clock.t = i * 10;
      const p = monitor.updateLag('a', 1000, 1000 - (i % 7), (i * 37) % 11).predictedLagSeconds;
      if (p !== undefined) assert.ok(Number.isFinite(p) && p >= 0, `prediction ${p}`);
    }
  });
});
