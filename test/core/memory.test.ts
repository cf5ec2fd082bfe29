/** Memory bound: each node's history stays within maxSamplesPerNode and still spans the retention window. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoarseHistory, SampleRing } from '../../src/history.ts';
import { RECENT_SAMPLES } from '../../src/node-state.ts';
import { fakeMonitor } from './helpers.ts';

/** Timestamps of a node's history after `updates` updates `stepMs` apart (leader 2 entries/ms, follower 1 entry behind). */
function historyAfter(opts: { retentionSeconds: number; maxSamples?: number; stepMs: number; updates: number }) {
  const { clock, monitor } = fakeMonitor({ retentionWindowSeconds: opts.retentionSeconds, maxSamplesPerNode: opts.maxSamples ?? 256 });
  let maxLength = 0;
  for (let i = 0; i < opts.updates; i++) {
    clock.t = i * opts.stepMs;
    const st = monitor.updateLag('a', 2 * i + 1, 2 * i);
    if (i % 1000 === 0) maxLength = Math.max(maxLength, st.history.length);
  }
  const history = monitor.getStatus('a')!.history;
  return { now: clock.t, history, times: history.map((h) => h.timestamp), maxLength: Math.max(maxLength, history.length) };
}

describe('memory bound', () => {
  // status.history lists at most maxSamplesPerNode samples.
  const listed = (capacity: number) => capacity;

  test('100k updates 1 ms apart: bounded, spanning the 60 s window, anchored close to its start', () => {
    const { now, history, times, maxLength } = historyAfter({ retentionSeconds: 60, stepMs: 1, updates: 100_000 });
    assert.ok(maxLength <= listed(256), `history length ${maxLength}`);
    // 1000 updates/s for 60 s need more samples than the capacity holds at 5 % resolution: still, the anchor
    // (the one sample at or before the window's start) is within 5 % of the window of its start
    const windowStart = now - 60_000;
    assert.ok(times[0]! <= windowStart && times[0]! >= windowStart - 3_000, `oldest ${times[0]} vs window start ${windowStart}`);
    assert.ok(times[1]! > windowStart, 'one anchor only');
    assert.equal(times.at(-1), now, 'the newest sample is the latest update');
    // coalesced, not thinned out to a handful of samples
    assert.ok(history.length >= 128, `only ${history.length} samples kept`);
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! > times[i - 1]!, 'timestamps increase');
    // every kept sample is a real observation
    for (const h of history) assert.equal(h.leaderSeq, 2 * h.timestamp + 1);
  });

  test('the minimum capacity (8) holds under 20k updates and still reaches the window start', () => {
    const { maxLength, times, now } = historyAfter({ retentionSeconds: 10, maxSamples: 8, stepMs: 1, updates: 20_000 });
    assert.ok(maxLength <= listed(8), `history length ${maxLength}`);
    assert.ok(times[0]! <= now - 10_000 && times[1]! > now - 10_000, `oldest ${times[0]}, next ${times[1]} vs window start ${now - 10_000}`);
  });

  test('many nodes each stay within the bound', () => {
    const { clock, monitor } = fakeMonitor({ retentionWindowSeconds: 1, maxSamplesPerNode: 16 });
    for (let i = 0; i < 2_000; i++) {
      clock.t = i;
      for (let n = 0; n < 20; n++) monitor.updateLag(`node-${n}`, i + n, i);
    }
    for (const st of monitor.getAllStatuses().values()) assert.ok(st.history.length <= listed(16), `${st.nodeId}: ${st.history.length}`);
  });

  test('sample storage per node is not above the fixed-slot history it replaced ((capacity − 1) × 32 bytes)', () => {
    for (const capacity of [8, 9, 16, 17, 100, 256, 257, 1000, 4096, 65_536]) {
      const recent = new SampleRing(RECENT_SAMPLES);
      const bytes = new CoarseHistory(capacity, recent, 3_600_000).storageBytes;
      assert.ok(bytes <= (capacity - 1) * 32, `capacity ${capacity}: ${bytes} bytes`);
      assert.ok(bytes >= (capacity - 1) * 32 * 0.45, `capacity ${capacity}: only ${bytes} bytes used`);
    }
  });

  // The history must reach back over the whole window whatever the update rate: the oldest sample is the anchor,
  // at or before the window's start, and the gap from it to the next sample is within the history's resolution
  // there: max(one update interval, 5 % of the window).
  const rates = [
    { retentionSeconds: 60, stepMs: 3 },
    { retentionSeconds: 60, stepMs: 17 }, // ~60 Hz
    { retentionSeconds: 60, stepMs: 200 },
    { retentionSeconds: 3600, stepMs: 100 }, // 10 Hz
    { retentionSeconds: 3600, stepMs: 1_000 }, // the poller's default interval
    { retentionSeconds: 3600, stepMs: 5_000 },
    { retentionSeconds: 3600, stepMs: 10_000 },
  ];
  for (const r of rates) {
    test(`spans the ${r.retentionSeconds} s window with updates every ${r.stepMs} ms`, () => {
      const updates = Math.ceil((1.5 * r.retentionSeconds * 1000) / r.stepMs);
      const { now, times, maxLength } = historyAfter({ ...r, updates });
      assert.ok(maxLength <= listed(256), `history length ${maxLength}`);
      const windowStart = now - r.retentionSeconds * 1000;
      assert.ok(times[0]! <= windowStart, `history reaches back only to ${(now - times[0]!) / 1000} s of ${r.retentionSeconds} s`);
      assert.ok(times[1]! > windowStart, 'one anchor only');
      const resolution = Math.max(r.stepMs, 0.05 * r.retentionSeconds * 1000);
      assert.ok(times[1]! - times[0]! <= resolution, `gap across the window start ${(times[1]! - times[0]!) / 1000} s`);
    });
  }
});

describe('retention', () => {
  test('slow updates older than the retention window are pruned (at most one anchor sample before the window)', () => {
    // retention 60 s, one update every 100 s
    const { now, times } = historyAfter({ retentionSeconds: 60, stepMs: 100_000, updates: 10 });
    const beforeWindow = times.filter((t) => t <= now - 60_000);
    assert.ok(beforeWindow.length <= 1, `samples older than the window: ${beforeWindow.map((t) => (now - t) / 1000 + ' s ago').join(', ')}`);
    assert.ok(times[0]! >= now - 60_000 - 100_000, `oldest sample ${(now - times[0]!) / 1000} s ago`);
  });

  test('updates every 25 s with a 60 s window keep only the window plus one anchor', () => {
    const { now, times } = historyAfter({ retentionSeconds: 60, stepMs: 25_000, updates: 40 });
    assert.ok(times.filter((t) => t <= now - 60_000).length <= 1);
    assert.ok(times[0]! >= now - 85_000, `oldest sample ${(now - times[0]!) / 1000} s ago`);
    assert.deepEqual(times.slice(-3), [now - 50_000, now - 25_000, now]);
  });

  test('a long gap leaves only the anchor and the new sample', () => {
    const { clock, monitor } = fakeMonitor({ retentionWindowSeconds: 60 });
    for (let s = 0; s < 60; s++) {
      clock.t = s * 1000;
      monitor.updateLag('a', s + 1, s);
    }
    clock.t = 3_600_000;
    const st = monitor.updateLag('a', 1000, 999);
    assert.ok(st.history.length <= 2, `history ${st.history.map((h) => h.timestamp)}`);
    assert.equal(st.history.at(-1)!.timestamp, 3_600_000);
  });
});
