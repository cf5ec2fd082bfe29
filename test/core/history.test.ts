/** status.history contents, resets when a position goes backwards, clock steps, 64-bit positions. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ReplicationStatus } from '../../src/index.ts';
import { CoarseHistory, SampleRing } from '../../src/history.ts';
import { RECENT_SAMPLES } from '../../src/node-state.ts';
import { LEADER_PATTERNS, probeDelayResolution, type HistoryFactory } from '../../bench/lib/delay-probe.ts';
import { fakeMonitor } from './helpers.ts';

describe('status.history', () => {
  test('lists the updates oldest first with their positions, lag, delay and clock time', () => {
    // 20 s between updates: far coarser than the history's resolution, so nothing is coalesced
    const { clock, monitor } = fakeMonitor();
    const fed: { leaderSeq: number; followerSeq: number; lagEntries: number; lagSeconds: number; timestamp: number }[] = [];
    let st: ReplicationStatus | undefined;
    for (let i = 0; i < 12; i++) {
      clock.t = 1_000 + i * 20_000;
      const leaderSeq = 1000 * i + 7;
      const followerSeq = i % 3 === 0 ? leaderSeq + 2 : 1000 * i - 13 * i; // sometimes ahead
      const lagSeconds = (i * 7) % 11;
      st = monitor.updateLag('a', leaderSeq, followerSeq, lagSeconds);
      fed.push({ leaderSeq, followerSeq, lagEntries: Math.max(0, leaderSeq - followerSeq), lagSeconds, timestamp: clock.t });
    }
    assert.deepEqual(st!.history.map((h) => ({ ...h })), fed);
    assert.deepEqual(monitor.getStatus('a')!.history.map((h) => ({ ...h })), fed);
  });

  test('history samples are immutable', () => {
    const { monitor } = fakeMonitor();
    const [sample] = monitor.updateLag('a', 10, 5, 1).history;
    assert.ok(sample);
    assert.ok(Object.isFrozen(sample));
  });

  test('keeps bigint positions beyond 2^53 exact', () => {
    const { clock, monitor } = fakeMonitor();
    const base = 2n ** 63n - 1_000_000n;
    for (let i = 0; i < 5; i++) {
      clock.t = i * 30_000;
      monitor.updateLag('a', base + BigInt(1000 * i + 500), base + BigInt(1000 * i));
    }
    const h = monitor.getStatus('a')!.history;
    assert.equal(h.length, 5);
    h.forEach((s, i) => {
      assert.equal(s.leaderSeq, base + BigInt(1000 * i + 500));
      assert.equal(s.followerSeq, base + BigInt(1000 * i));
      assert.equal(s.lagEntries, 500);
    });
  });

  test('an earlier status keeps showing the history up to its own update', () => {
    const { clock, monitor } = fakeMonitor();
    clock.t = 0;
    monitor.updateLag('a', 10, 5, 1);
    clock.t = 30_000;
    const old = monitor.updateLag('a', 20, 15, 1);
    clock.t = 60_000;
    monitor.updateLag('a', 30, 25, 1);
    assert.deepEqual(old.history.map((h) => h.timestamp), [0, 30_000]);
  });

  test('a clock stepping back does not reorder history nor move lastUpdate back', () => {
    const { clock, monitor } = fakeMonitor();
    const times = [10_000, 40_000, 20_000, 5_000, 80_000, 80_000, 79_000];
    let lastUpdate = -Infinity;
    times.forEach((t, i) => {
      clock.t = t;
      const st = monitor.updateLag('a', 100 * i + 100, 100 * i, 2);
      assert.ok(st.lastUpdate >= lastUpdate, `lastUpdate went back at ${i}`);
      lastUpdate = st.lastUpdate;
      const ts = st.history.map((h) => h.timestamp);
      for (let k = 1; k < ts.length; k++) assert.ok(ts[k]! >= ts[k - 1]!, `history out of order: ${ts}`);
      assert.ok(Number.isFinite(st.lagSeconds) && st.lagSeconds >= 0);
      assert.ok(Number.isFinite(st.replicationRate) && st.replicationRate >= 0);
    });
  });

  test('a non-finite clock reading does not poison the status', () => {
    let t: number = 1000;
    const { monitor } = fakeMonitor({ now: () => t });
    monitor.updateLag('a', 100, 50);
    t = Number.NaN;
    const st = monitor.updateLag('a', 200, 150);
    assert.ok(Number.isFinite(st.lastUpdate));
    assert.ok(Number.isFinite(st.lagSeconds) && st.lagSeconds >= 0);
    assert.ok(st.history.every((h) => Number.isFinite(h.timestamp)));
  });
});

describe('a position going backwards resets the history', () => {
  /** Ten updates of a steadily replicating follower, 1 s apart. */
  function warmed() {
    const { clock, monitor } = fakeMonitor({ retentionWindowSeconds: 5 }); // small slots: several history samples
    for (let s = 0; s < 10; s++) {
      clock.t = s * 1000;
      monitor.updateLag('a', 10_000 + 100 * s, 9_500 + 100 * s);
    }
    const before = monitor.getStatus('a')!;
    assert.ok(before.history.length > 1);
    assert.ok(before.replicationRate > 0);
    assert.notEqual(before.predictedLagSeconds, undefined);
    return { clock, monitor };
  }

  for (const which of ['leader', 'follower', 'both'] as const) {
    test(`${which} going backwards: history back to 1 sample, rate 0, no forecast, no error, nothing negative`, () => {
      const { clock, monitor } = warmed();
      clock.t = 10_000;
      const leader = which === 'follower' ? 11_000 : 500;
      const follower = which === 'leader' ? 400 : which === 'both' ? 300 : 100;
      const st = monitor.updateLag('a', leader, follower);
      assert.equal(st.history.length, 1);
      assert.deepEqual({ ...st.history[0]! }, { leaderSeq: leader, followerSeq: follower, lagEntries: leader - follower, lagSeconds: st.lagSeconds, timestamp: 10_000 });
      assert.equal(st.replicationRate, 0);
      assert.equal(st.predictedLagSeconds, undefined);
      assert.equal(st.lagEntries, leader - follower);
      assert.ok(st.lagSeconds >= 0 && Number.isFinite(st.lagSeconds));
      // the forecast comes back on the 3rd update after the reset (MIN_FORECAST_UPDATES)
      for (let i = 1; i <= 4; i++) {
        clock.t = 10_000 + i * 1000;
        const next = monitor.updateLag('a', leader + 10 * i, follower + 10 * i);
        assert.equal(next.predictedLagSeconds === undefined, i < 2, `update ${i + 1} after the reset`);
        assert.ok(next.replicationRate >= 0);
      }
      near10(monitor.getStatus('a')!.replicationRate);
    });
  }

  test('a follower ahead after the leader went back is caught up, not negative', () => {
    const { clock, monitor } = warmed();
    clock.t = 10_000;
    const st = monitor.updateLag('a', 50, 9_000);
    assert.equal(st.lagEntries, 0);
    assert.equal(st.lagSeconds, 0);
    assert.equal(st.history.length, 1);
  });

  test('bigint positions going backwards reset too', () => {
    const { clock, monitor } = fakeMonitor();
    const base = 2n ** 62n;
    for (let s = 0; s < 10; s++) {
      clock.t = s * 1000;
      monitor.updateLag('a', base + BigInt(100 * s + 50), base + BigInt(100 * s));
    }
    clock.t = 10_000;
    const st = monitor.updateLag('a', base, base - 20n);
    assert.equal(st.history.length, 1);
    assert.equal(st.lagEntries, 20);
    assert.equal(st.replicationRate, 0);
    assert.equal(st.history[0]!.followerSeq, base - 20n);
  });

  test('positions moving forward across 2^53 (as bigints) do not reset the history nor the delay', () => {
    // 1000 entries/s, follower exactly 3 s behind, crossing 2^53 − 1 half way through
    const { clock, monitor } = fakeMonitor();
    const start = 2n ** 53n - 5_000n;
    const problems: string[] = [];
    let maxHistory = 0;
    for (let s = 0; s < 12; s++) {
      clock.t = s * 1000;
      const leader = start + BigInt(1000 * s);
      const st = monitor.updateLag('a', leader, leader - 3000n);
      maxHistory = Math.max(maxHistory, st.history.length);
      if (st.history.length < maxHistory) problems.push(`history shrank to ${st.history.length} at ${s}s`);
      if (s >= 4 && Math.abs(st.lagSeconds - 3) > 1e-9) problems.push(`lagSeconds ${st.lagSeconds} at ${s}s`);
      if (s >= 1 && Math.abs(st.replicationRate - 1000) > 1e-6) problems.push(`replicationRate ${st.replicationRate} at ${s}s`);
    }
    assert.deepEqual(problems, []);
  });
});

function near10(rate: number): void {
  // 10 entries per second after the reset
  assert.ok(Math.abs(rate - 10) < 1e-9, `rate ${rate}`);
}

describe('SampleRing (internal)', () => {
  /** The newest index whose leader is ≤ offset, by a plain scan: the reference for the galloping search. */
  function scan(leaders: readonly number[], offset: number): number {
    for (let i = leaders.length - 1; i >= 0; i--) if (leaders[i]! <= offset) return i;
    return -1;
  }

  test('latestAtOrBelow agrees with a linear scan, across wrap-around, duplicates and every probe', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 0, maxLength: 120 }),
        fc.integer({ min: 0, max: 10 }),
        (capacity, steps, drops) => {
          const ring = new SampleRing(capacity);
          let leader = 0;
          const pushed: number[] = [];
          steps.forEach((step, i) => {
            leader += step; // non-decreasing, with repeats (idle leader)
            ring.push(i, leader, 0, 0);
            pushed.push(leader);
          });
          let kept = pushed.slice(-capacity);
          for (let d = 0; d < drops && kept.length > 0; d++) {
            ring.dropOldest();
            kept = kept.slice(1);
          }
          assert.equal(ring.size, kept.length);
          kept.forEach((l, i) => assert.equal(ring.leader(i), l));
          for (let offset = -1; offset <= leader + 1; offset++) {
            assert.equal(ring.latestAtOrBelow(offset), scan(kept, offset), `offset ${offset} in [${kept.join(',')}]`);
          }
        },
      ),
    );
  });
});

describe('resolution that follows the delay (multi-resolution history)', () => {
  // The delay of a follower 1 s … the retention window (3600 s) behind, estimated from the node's histories
  // exactly as NodeState reads them, against the truth, for leader patterns whose rate changes between samples
  // (the error is then up to the gap between the two samples around the follower's position).
  const history: HistoryFactory = (capacity, recent, retentionMs) => new CoarseHistory(capacity, recent, retentionMs);
  const intervals = [
    { intervalSeconds: 1 },
    { intervalSeconds: 1, jitter: true },
    { intervalSeconds: 0.1 },
    { intervalSeconds: 0.25, jitter: true },
    { intervalSeconds: 5 },
    { intervalSeconds: 20 },
  ];
  for (const pattern of LEADER_PATTERNS) {
    for (const i of intervals) {
      test(`${pattern}, sampled every ${i.intervalSeconds} s${i.jitter === true ? ' ± 50 %' : ''}: error ≤ max(interval, 5 % of the delay) at every delay`, () => {
        const run = probeDelayResolution({ pattern, ...i, retentionSeconds: 3600, capacity: 256, history });
        const bands = [0, 0, 0];
        const worst: string[] = [];
        for (const p of run.probes) {
          bands[p.truth <= 30 ? 0 : p.truth <= 300 ? 1 : 2]!++;
          assert.ok(Number.isFinite(p.estimate) && p.estimate >= 0, `estimate ${p.estimate}`);
          if (p.error > p.bound + 1e-9) worst.push(`delay ${p.truth.toFixed(1)} s: off by ${p.error.toFixed(2)} s (bound ${p.bound.toFixed(2)} s)`);
        }
        // every band probed (idle and stalled leaders leave gaps, not whole bands)
        assert.ok(bands.every((n) => n >= 100), `probes per band ≤30 s / 30–300 s / >300 s: ${bands}`);
        assert.deepEqual(worst.slice(0, 5), [], `${worst.length} of ${run.probes.length} probes out of bounds`);
      });
    }
  }

  test('through the monitor: followers 10 s … 3000 s behind an idle-then-burst leader sampled every 1 s', () => {
    // One node per delay, all fed the same leader; each follower sits at the position it is probed at (ahead of
    // the leader at first: lag 0), so nothing goes backwards.
    const { clock, monitor } = fakeMonitor();
    const leaderAt = (s: number) => {
      // idle 67 s, then 20 s at 1000 entries/s, repeated
      const n = Math.floor(s / 87);
      return Math.floor(n * 20_000 + Math.max(0, s - n * 87 - 67) * 1000);
    };
    const end = 57 * 87 + 86; // near the end of a burst
    const delays = [10, 45, 70, 95, 130, 170, 250, 400, 900, 1800, 3000];
    const followers = delays.map((d) => leaderAt(end - d));
    let last: ReplicationStatus[] = [];
    for (let s = 1; s <= end; s++) {
      clock.t = s * 1000;
      last = followers.map((f, i) => monitor.updateLag(`d${delays[i]}`, leaderAt(s), f));
    }
    const problems: string[] = [];
    followers.forEach((f, i) => {
      let t = end - delays[i]!; // truth: when the leader first went past the follower's position
      while (leaderAt(t) <= f) t += 0.001;
      const truth = end - t;
      const got = last[i]!.lagSeconds;
      if (!(Math.abs(got - truth) <= Math.max(1, 0.05 * truth))) problems.push(`${delays[i]} s back: estimated ${got.toFixed(2)} s, truth ${truth.toFixed(2)} s`);
    });
    assert.deepEqual(problems, []);
  });

  test('property: the series stays in time order, leader offsets non-decreasing, at most `capacity` samples', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 8, max: 80 }),
        fc.integer({ min: 1, max: 600 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: 50 })), { minLength: 1, maxLength: 600 }),
        (capacity, retentionSeconds, steps) => {
          const recent = new SampleRing(RECENT_SAMPLES);
          const coarse = new CoarseHistory(capacity, recent, retentionSeconds * 1000);
          let now = 0;
          let leader = 0;
          for (const [dt, dl] of steps) {
            now += dt;
            leader += dl;
            coarse.advance(now);
            recent.push(now, leader, leader, 0);
            assert.ok(coarse.size <= capacity, `size ${coarse.size}`);
            for (let i = 1; i < coarse.size; i++) {
              assert.ok(coarse.time(i) >= coarse.time(i - 1), 'time order');
              assert.ok(coarse.leader(i) >= coarse.leader(i - 1), 'leader order');
            }
            assert.equal(coarse.time(coarse.size - 1), now, 'newest sample is the latest observation');
            // at most one sample at or before the window's start
            if (coarse.size > 1) assert.ok(coarse.time(1) > now - retentionSeconds * 1000, 'one anchor only');
            for (let probe = -1; probe <= leader + 1; probe += Math.max(1, Math.floor(leader / 7))) {
              let expected = -1;
              for (let i = coarse.size - 1; i >= 0; i--) if (coarse.leader(i) <= probe) { expected = i; break; }
              assert.equal(coarse.latestAtOrBelow(probe), expected, `latestAtOrBelow(${probe})`);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
