/**
 * The retention a source reports with an update (a replication slot) and the monitor's time until it is lost, on a
 * fake clock: the loss time is the safe size over the smoothed growth of the retained log, undefined without a limit
 * or while the consumer keeps up, 0 once unreserved or lost; a lost retention stalls the node at once and alerts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LagAlert, LogRetention } from '../../src/index.ts';
import { fakeMonitor } from './helpers.ts';

const MB = 1024 * 1024;

/** Feeds a slot whose consumer stopped at `follower` while the leader writes `rate` bytes/s, from `safe0`. */
function stoppedConsumer(options: { rate: number; safe0: number; seconds: number; state?: (t: number) => LogRetention['state'] }) {
  const { clock, monitor } = fakeMonitor({ stallTimeoutSeconds: 1000 });
  const alerts: LagAlert[] = [];
  monitor.onAlert((a) => alerts.push(a));
  const losses: (number | undefined)[] = [];
  for (let t = 0; t <= options.seconds; t++) {
    clock.t = t * 1000;
    const written = options.rate * t;
    const s = monitor.updateLag('slot', 1_000_000 + written, 1_000_000, {
      retention: { retained: written, safeSize: options.safe0 - written, state: options.state?.(t) ?? 'reserved' },
    });
    losses.push(s.retention?.lossSeconds);
  }
  return { monitor, losses, alerts, clock };
}

describe('retention: the time until a slot is lost', () => {
  it('is the safe size over the leader\'s write rate when the consumer is stopped, once two intervals are measured', () => {
    const { losses } = stoppedConsumer({ rate: MB, safe0: 64 * MB, seconds: 20 });
    assert.equal(losses[0], undefined, 'no rate yet');
    assert.equal(losses[1], undefined, 'one interval is not enough');
    for (let t = 2; t <= 20; t++) assert.ok(Math.abs(losses[t]! - (64 - t)) < 1e-9, `t=${t}: ${losses[t]} vs ${64 - t}`);
  });

  it('follows a change of the write rate within a few time constants', () => {
    const { clock, monitor } = fakeMonitor({ stallTimeoutSeconds: 1000 });
    let written = 0;
    let loss: number | undefined;
    for (let t = 0; t <= 40; t++) {
      clock.t = t * 1000;
      written += t <= 20 ? MB : 2 * MB;
      loss = monitor.updateLag('slot', written + 1, 1, { retention: { retained: written, safeSize: 1000 * MB - written } }).retention!.lossSeconds;
    }
    const truth = (1000 * MB - written) / (2 * MB);
    assert.ok(loss !== undefined && Math.abs(loss / truth - 1) < 0.05, `20 s after the rate doubled: ${loss} vs ${truth}`);
  });

  it('gives none while the consumer keeps up (retained swinging around a constant) or while there is no limit', () => {
    const { clock, monitor } = fakeMonitor();
    for (let t = 0; t <= 60; t++) {
      clock.t = t * 1000;
      const retained = 4 * MB + (t % 4) * MB; // a sawtooth: restart_lsn advancing in steps
      const s = monitor.updateLag('kept-up', 100 * MB * t + retained, 100 * MB * t, { retention: { retained, safeSize: 64 * MB - retained, state: 'reserved' } });
      if (t > 8) assert.equal(s.retention!.lossSeconds, undefined, `t=${t}: no loss time for a consumer that keeps up`);
      const u = monitor.updateLag('unlimited', 1 + MB * t, 1, { retention: { retained: MB * t, state: 'reserved' } });
      assert.equal(u.retention!.lossSeconds, undefined, 'no loss time without a limit');
      assert.equal(u.retention!.safeSize, undefined);
    }
  });

  it('is 0 once unreserved or the safe size is spent, and stays finite and ≥ 0', () => {
    const { losses } = stoppedConsumer({ rate: MB, safe0: 10 * MB, seconds: 14, state: (t) => (t >= 12 ? 'unreserved' : 'reserved') });
    assert.equal(losses[10], 0, 'the safe size is 0');
    assert.equal(losses[11], 0, 'the safe size is negative');
    assert.equal(losses[13], 0, 'unreserved');
    for (const l of losses) assert.ok(l === undefined || (Number.isFinite(l) && l >= 0));
    const { clock, monitor } = fakeMonitor();
    for (let t = 0; t < 5; t++) {
      clock.t = t * 1000;
      const s = monitor.updateLag('huge', 1 + t, 1, { retention: { retained: t * 1e-300, safeSize: Number.MAX_VALUE } });
      assert.ok(s.retention!.lossSeconds === undefined || Number.isFinite(s.retention!.lossSeconds), 'never infinite');
    }
  });

  it('a lost retention stalls the node at once and alerts that the consumer must be resynchronised, even when it was stalled already', () => {
    const { monitor, alerts, clock } = stoppedConsumer({ rate: MB, safe0: 64 * MB, seconds: 5 });
    assert.equal(monitor.getStatus('slot')!.severity === 'stalled', false, 'not stalled before (stall timeout 1000 s)');
    clock.t = 6000;
    const s = monitor.updateLag('slot', 1_000_000 + 6 * MB, 1_000_000, { retention: { retained: 0, state: 'lost' } });
    assert.equal(s.severity, 'stalled');
    assert.equal(s.retention!.lossSeconds, 0);
    const last = alerts.at(-1)!;
    assert.equal(last.severity, 'stalled');
    assert.match(last.message, /replication slot is lost.*consumer must be resynchronised/);
    clock.t = 7000;
    monitor.updateLag('slot', 1_000_000 + 7 * MB, 1_000_000, { retention: { retained: 0, state: 'lost' } });
    assert.equal(alerts.filter((a) => /is lost/.test(a.message)).length, 1, 'one alert per loss');

    // Already stalled (its consumer stopped long ago) when the slot is lost: a new alert says so.
    const { clock: c2, monitor: m2 } = fakeMonitor({ stallTimeoutSeconds: 2 });
    const a2: LagAlert[] = [];
    m2.onAlert((a) => a2.push(a));
    for (let t = 0; t <= 5; t++) {
      c2.t = t * 1000;
      m2.updateLag('old', 100 + t * 10, 100, { retention: { retained: t * 10, safeSize: 1000, state: 'reserved' } });
    }
    assert.equal(m2.getStatus('old')!.severity, 'stalled');
    const before = a2.length;
    c2.t = 6000;
    m2.updateLag('old', 200, 100, { retention: { retained: 0, state: 'lost' } });
    assert.equal(a2.length, before + 1);
    assert.match(a2.at(-1)!.message, /must be resynchronised/);
  });

  it('keeps the apply health as given, drops retention and apply when an update carries none, and shows them in toJSON', () => {
    const { clock, monitor } = fakeMonitor();
    const apply = { errors: { apply: 3, sync: 0 }, tables: { init: 0, copy: 1, finished: 0, synced: 0, ready: 2 } };
    const s = monitor.updateLag('sub', 10, 5, { apply, retention: { retained: 5, safeSize: 100, state: 'extended' } });
    assert.deepEqual(s.apply, apply);
    assert.deepEqual(s.retention, { retained: 5, safeSize: 100, state: 'extended', lossSeconds: undefined });
    assert.deepEqual((s as unknown as { toJSON(): Record<string, unknown> }).toJSON().apply, apply);
    clock.t = 1000;
    const t = monitor.updateLag('sub', 11, 6);
    assert.equal(t.apply, undefined);
    assert.equal(t.retention, undefined);
  });

  it('rejects bad retention and apply facts with the node and field named, changing nothing', () => {
    const { monitor } = fakeMonitor();
    monitor.updateLag('n', 10, 5, { retention: { retained: 5 } });
    const before = monitor.getStatus('n');
    const bad: [unknown, RegExp][] = [
      [{ retention: { retained: -1 } }, /"n".*retention\.retained must be a finite number ≥ 0, got -1/],
      [{ retention: { retained: Number.NaN } }, /retention\.retained/],
      [{ retention: { retained: 1, safeSize: Infinity } }, /retention\.safeSize must be a finite number/],
      [{ retention: { retained: 1, state: 'gone' } }, /retention\.state must be one of reserved, extended, unreserved, lost/],
      [{ retention: 'x' }, /retention must be an object/],
      [{ apply: { errors: { apply: 1.5 } } }, /apply\.errors\.apply must be an integer ≥ 0, got 1\.5/],
      [{ apply: { tables: { ready: -1 } } }, /apply\.tables\.ready must be an integer ≥ 0/],
      [{ apply: [] }, /apply must be an object/],
      [{ apply: { tables: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`s${i}`, 0])) } }, /apply\.tables must have at most 16 keys \(each is a series\), got 17/],
    ];
    for (const [options, message] of bad) {
      assert.throws(() => monitor.updateLag('n', 20, 5, options as never), message);
      assert.equal(monitor.getStatus('n'), before, 'nothing changed');
    }
  });
});
