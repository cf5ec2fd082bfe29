/**
 * Right within two polls (issue 20): the time to critical of a follower that stopped, and the catch-up ETA of a
 * follower that gains on its leader, through the monitor on a fake clock with positions only (the monitor
 * estimates the delay) — and no crying wolf on a healthy follower whose delay saws up and down.
 *
 * "The n-th poll" of a regime is counted from the positions as the monitor sees them: a poll at which the follower,
 * behind, has not advanced since the previous one (a freeze), or has advanced by more than the leader (gaining).
 * Regimes start mid-interval, as they do for a poller: the first poll of a freeze still shows some progress.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReplicationStatus } from '../../src/index.ts';
import { fakeMonitor } from './helpers.ts';

const CRITICAL = 30;
const HORIZON = 60;

interface Poll {
  t: number;
  status: ReplicationStatus;
  /** Consecutive polls at which the follower, behind, has not advanced (this one included). */
  still: number;
  /** Consecutive polls at which the follower gained on the leader (this one included). */
  gaining: number;
}

/**
 * Polls a follower every `interval` seconds for `seconds`: leader position L(t), follower F(t) (continuous,
 * floored to integers, from 10^6 on), and returns every poll with its freeze / gaining counters.
 */
function poll(interval: number, seconds: number, leader: (t: number) => number, follower: (t: number) => number): Poll[] {
  const { clock, monitor } = fakeMonitor({ predictionHorizonSeconds: HORIZON, criticalThresholdSeconds: CRITICAL });
  const out: Poll[] = [];
  let lastL = Number.NaN;
  let lastF = Number.NaN;
  let still = 0;
  let gaining = 0;
  for (let k = 0; k * interval <= seconds + 1e-9; k++) {
    const t = k * interval;
    clock.t = Math.round(t * 1000);
    const l = 1e6 + Math.floor(leader(t));
    const f = Math.min(l, 1e6 + Math.floor(follower(t)));
    const behindBefore = lastL > lastF;
    still = behindBefore && l > f && f === lastF ? still + 1 : 0;
    gaining = behindBefore && f - lastF > l - lastL ? gaining + 1 : 0;
    lastL = l;
    lastF = f;
    out.push({ t, status: monitor.updateLag('replica', l, f), still, gaining });
  }
  return out;
}

/** |actual − expected| ≤ max(interval, 10 % of expected). */
function withinBound(actual: number | undefined, expected: number, interval: number, what: string): void {
  const bound = Math.max(interval, 0.1 * expected);
  assert.ok(actual !== undefined && Math.abs(actual - expected) <= bound, `${what}: expected ${expected.toFixed(3)} ± ${bound.toFixed(3)}, got ${actual}`);
}

const RATE = 1000; // leader entries/s
const leader = (t: number) => RATE * t;

for (const interval of [0.5, 1, 2]) {
  describe(`polled every ${interval} s`, () => {
    test('a follower frozen behind a steady leader: time to critical and forecast right from the second poll without progress', () => {
      // 0.3 s behind until it stops applying at 40.3 s (mid-interval); the delay then ages exactly 1 s/s.
      const stop = 40.3;
      const trueDelay = (t: number) => (t < stop ? 0.3 : t - stop + 0.3);
      const polls = poll(interval, 100, leader, (t) => leader(Math.min(t, stop) - 0.3));
      const second = polls.findIndex((p) => p.still === 2);
      assert.ok(second > 0 && polls[second]!.t <= stop + 3 * interval + 1e-9, `the second poll without progress at ${polls[second]?.t}`);
      let checked = 0;
      for (const p of polls.slice(second)) {
        const delay = trueDelay(p.t);
        const s = p.status;
        assert.equal(s.catchUpSeconds, undefined, `not gaining at ${p.t}s`);
        withinBound(s.predictedLagSeconds, delay + HORIZON, interval, `forecast at ${p.t}s`);
        if (delay < CRITICAL) {
          withinBound(s.secondsToCritical, CRITICAL - delay, interval, `time to critical at ${p.t}s`);
          checked++;
        } else assert.equal(s.secondsToCritical, 0, `at critical at ${p.t}s`);
      }
      assert.ok(checked >= 20 / interval, `${checked} polls checked before critical`);
    });

    for (const before of ['stopped', 'slowed down'] as const) {
      test(`a follower ${before}, then catching up at three times the leader's rate: the ETA right from its second poll of gaining`, () => {
        // Keeps pace 0.3 s behind until 30.3 s; then stopped (or applying at half the leader's rate) until 60.3 s;
        // then applies 3000 entries/s until it has caught up with the leader (lag 0), and keeps pace from then on.
        const pauseAt = 30.3;
        const resumeAt = 60.3;
        const during = before === 'stopped' ? 0 : RATE / 2;
        const atResume = leader(pauseAt - 0.3) + during * (resumeAt - pauseAt);
        const caughtUpAt = (leader(resumeAt) - atResume) / (3 * RATE - RATE) + resumeAt;
        const follower = (t: number) =>
          t < pauseAt ? leader(t - 0.3) : t < resumeAt ? leader(pauseAt - 0.3) + during * (t - pauseAt) : Math.min(leader(t), atResume + 3 * RATE * (t - resumeAt));
        const polls = poll(interval, 120, leader, follower);
        const second = polls.findIndex((p) => p.t > resumeAt && p.gaining === 2);
        assert.ok(second > 0 && polls[second]!.t <= resumeAt + 2 * interval + 1e-9, `the second poll of gaining at ${polls[second]?.t}`);
        let checked = 0;
        for (const p of polls.slice(second)) {
          if (p.status.lagEntries === 0) break;
          const remaining = caughtUpAt - p.t;
          const eta = p.status.catchUpSeconds;
          assert.ok(eta !== undefined && Math.abs(eta - remaining) <= 0.3 * remaining, `ETA at ${p.t}s: ${eta} s, truth ${remaining.toFixed(3)} s`);
          assert.equal(p.status.secondsToCritical, p.status.lagSeconds >= CRITICAL ? 0 : undefined, `no time to critical while catching up (${p.t}s)`);
          checked++;
        }
        assert.ok(checked >= 2, `${checked} polls checked`);
        for (const p of polls.filter((x) => x.t >= caughtUpAt + interval)) assert.equal(p.status.catchUpSeconds, 0, `caught up at ${p.t}s`);
      });
    }
  });
}

describe('a healthy follower with a sawtooth: no time to critical, no catch-up ETA', () => {
  /** Every poll from `from` s on: no time to critical, and no ETA while behind (0 when caught up is the truth). */
  function assertQuiet(polls: Poll[], from: number, what: string): void {
    let checked = 0;
    for (const p of polls.filter((x) => x.t >= from)) {
      assert.equal(p.status.secondsToCritical, undefined, `${what}: time to critical ${p.status.secondsToCritical} at ${p.t}s (delay ${p.status.lagSeconds})`);
      if (p.status.lagEntries > 0) assert.equal(p.status.catchUpSeconds, undefined, `${what}: ETA ${p.status.catchUpSeconds} at ${p.t}s`);
      checked++;
    }
    assert.ok(checked > 100, `${what}: ${checked} polls`);
  }

  /** A leader writing ~1000 entries/s whose rate changes every second by up to ±30 % (deterministic). */
  function noisyLeader(): (t: number) => number {
    const positions = [0];
    let seed = 12345;
    for (let i = 1; i <= 400; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      positions.push(positions[i - 1]! + RATE * (0.7 + (0.6 * seed) / 2 ** 31));
    }
    return (t) => (t <= 0 ? 0 : positions[Math.floor(t)]! + (positions[Math.floor(t) + 1]! - positions[Math.floor(t)]!) * (t - Math.floor(t)));
  }

  for (const interval of [0.5, 1]) {
    test(`batch apply (polled every ${interval} s): every 3 s the follower applies what the leader had 0.2 s before; its delay saws between 0.2 and 3.2 s`, () => {
      // Without the jitter learned from its teeth, each tooth would be a freeze (time to critical ~28 s) ending in a
      // catch-up. Checked from the end of the monitor's 10 s warm-up (its first teeth teach it the jitter).
      const polls = poll(interval, 300, leader, (t) => leader(3 * Math.floor(t / 3) - 0.2));
      assert.ok(Math.max(...polls.map((p) => p.status.lagSeconds)) >= 2, 'the delay saws up to 2–3 s');
      assertQuiet(polls, 10, 'batch apply');
    });

    test(`a sawtooth that begins after a steady minute (polled every ${interval} s): learned within its first tooth`, () => {
      // Its first tooth (60–63 s) is a freeze and a catch-up like any other: nothing tells them apart yet.
      const polls = poll(interval, 300, leader, (t) => (t < 60 ? leader(t - 0.2) : leader(3 * Math.floor(t / 3) - 0.2)));
      assert.ok(polls.some((p) => p.t > 60 && p.t < 63 && p.status.secondsToCritical !== undefined), 'the first tooth looks like a freeze');
      assertQuiet(polls, 63 + interval, 'sawtooth after a steady minute');
    });

    test(`a gradual sawtooth (polled every ${interval} s): the delay rises from 0.2 to 2.2 s over 4 s and falls back over 4 s`, () => {
      const latency = (t: number) => {
        const phase = t % 8;
        return 0.2 + (phase < 4 ? 0.5 * phase : 0.5 * (8 - phase));
      };
      const polls = poll(interval, 300, leader, (t) => leader(t - latency(t)));
      assertQuiet(polls, 10, 'gradual sawtooth');
    });

    test(`keeping pace 0.3 s behind a bursty leader (polled every ${interval} s): the lag in entries saws, the delay does not`, () => {
      const L = noisyLeader();
      const polls = poll(interval, 300, L, (t) => L(t - 0.3));
      assertQuiet(polls, 0, 'bursty leader');
    });
  }
});
