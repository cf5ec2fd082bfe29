/**
 * Property-based tests: random command sequences against the monitor.
 * - only TypeError / RangeError are thrown, exactly for the invalid calls;
 * - a twin monitor that receives only the valid calls always has the same observable state
 *   (so invalid calls change nothing, not even hidden state that would show later);
 * - the invariants of statuses, history, alerts and statistics hold after every command.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReplicationLagMonitor, SEVERITIES, severityRank, type LagAlert, type ReplicationLagConfig } from '../../src/index.ts';
import { exactLag, observable } from './helpers.ts';

const IDS = ['a', 'b', 'c', 'd', 'e', 'f'] as const;
type Id = (typeof IDS)[number];

/** How positions are passed: plain numbers, small bigints, bigints near 2^53 (crossing it) or near 2^63. */
type Mode = 'number' | 'bigint' | 'near53' | 'near63';
const BASES: Record<Exclude<Mode, 'number' | 'bigint'>, bigint> = { near53: 2n ** 53n - 3_000n, near63: 2n ** 63n - 2n ** 40n };

type Cmd =
  | { k: 'register'; id: Id; attrs: 'none' | 'valid' | 'invalid'; variant: number }
  | { k: 'unregister'; id: Id }
  | { k: 'update'; id: Id; step: number; fstep: number; back: boolean; mode: Mode | undefined; lag: number | undefined }
  | { k: 'badUpdate'; id: Id; field: 'nodeId' | 'leaderSeq' | 'followerSeq' | 'lagSeconds'; variant: number }
  | { k: 'advance'; ms: number }
  | { k: 'clearAlerts'; id: Id }
  | { k: 'clear' };

// mostly one node, so that histories grow; the others for ordering, maxNodes and per-node state
const idArb = fc.oneof({ weight: 3, arbitrary: fc.constant<Id>('a') }, { weight: 2, arbitrary: fc.constantFrom(...IDS) });
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ k: fc.constant('register' as const), id: idArb, attrs: fc.constantFrom('none' as const, 'valid' as const, 'invalid' as const), variant: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('unregister' as const), id: idArb }) },
  {
    weight: 12,
    arbitrary: fc.record({
      k: fc.constant('update' as const),
      id: idArb,
      step: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2_000 })),
      back: fc.integer({ min: 0, max: 9 }).map((v) => v === 0), // a position going backwards one time in ten
      fstep: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2_500 })),
      // usually keep the node's current encoding; now and then switch (a big jump forward or back)
      mode: fc.option(fc.constantFrom<Mode>('number', 'bigint', 'near53', 'near63'), { nil: undefined, freq: 8 }),
      lag: fc.option(fc.double({ min: 0, max: 1e4, noNaN: true }), { nil: undefined, freq: 3 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('badUpdate' as const), id: idArb, field: fc.constantFrom('nodeId' as const, 'leaderSeq' as const, 'followerSeq' as const, 'lagSeconds' as const), variant: fc.nat(20) }) },
  {
    weight: 8,
    arbitrary: fc.record({
      k: fc.constant('advance' as const),
      ms: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2_000 }), fc.integer({ min: 2_000, max: 20_000_000 }), fc.integer({ min: -5_000, max: -1 })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('clearAlerts' as const), id: idArb }) },
  { weight: 1, arbitrary: fc.constant({ k: 'clear' as const }) },
);

const configArb = fc
  .record({
    maxSamplesPerNode: fc.integer({ min: 8, max: 48 }),
    maxAlerts: fc.integer({ min: 0, max: 12 }),
    maxNodes: fc.integer({ min: 1, max: 7 }),
    autoRegister: fc.boolean(),
    retentionWindowSeconds: fc.constantFrom(1, 10, 60, 3600),
    stallTimeoutSeconds: fc.integer({ min: 1, max: 30 }),
    alertCooldownSeconds: fc.integer({ min: 0, max: 120 }),
    warningThresholdSeconds: fc.integer({ min: 1, max: 20 }),
    criticalExtra: fc.integer({ min: 0, max: 40 }),
    enablePrediction: fc.boolean(),
    predictionHorizonSeconds: fc.integer({ min: 0, max: 120 }),
  })
  .map(({ criticalExtra, ...c }) => ({ ...c, criticalThresholdSeconds: c.warningThresholdSeconds + criticalExtra }));

const BAD_POSITIONS: unknown[] = [Number.NaN, Number.POSITIVE_INFINITY, -1, 1.5, 2 ** 53, '5', null, {}, -1n, undefined, true];
const BAD_LAGS: unknown[] = [-1, Number.NaN, Number.POSITIVE_INFINITY, '1', null, 1n];
const BAD_IDS: unknown[] = ['', 5, null, undefined, {}];
const VALID_ATTRS = (v: number) => ({ 'server.address': `db-${v}`, port: 5000 + v, primary: v % 2 === 0 });
const INVALID_ATTRS: unknown[] = [{ a: Number.NaN }, null, [], { '': 1 }, { 'replication.node.id': 'x' }, { a: {} }, 'attrs'];

const pick = <T>(xs: readonly T[], v: number): T => xs[v % xs.length]!;

function run(config: Omit<ReplicationLagConfig, 'now' | 'onListenerError'>, cmds: Cmd[]): void {
  const clock = { t: 1_000_000 };
  const m = new ReplicationLagMonitor({ ...config, now: () => clock.t });
  const twin = new ReplicationLagMonitor({ ...config, now: () => clock.t });
  const delivered: LagAlert[] = [];
  m.onAlert((a) => delivered.push(a));
  const registered = new Set<string>();
  const last = new Map<string, [bigint, bigint]>();
  const modes = new Map<string, Mode>();
  let totalSeen = 0;
  /** Model of the alert list. */
  let kept: LagAlert[] = [];

  const canAdd = (id: string) => registered.has(id) || registered.size < config.maxNodes;

  cmds.forEach((cmd, step) => {
    const where = `command ${step}: ${JSON.stringify(cmd)}`;
    let call: ((mon: ReplicationLagMonitor) => unknown) | undefined;
    let valid = true;
    let onValid: () => void = () => {};

    switch (cmd.k) {
      case 'register': {
        const attrs = cmd.attrs === 'none' ? undefined : cmd.attrs === 'valid' ? VALID_ATTRS(cmd.variant) : pick(INVALID_ATTRS, cmd.variant);
        valid = cmd.attrs !== 'invalid' && canAdd(cmd.id);
        call = (mon) => mon.registerNode(cmd.id, attrs as never);
        onValid = () => registered.add(cmd.id);
        break;
      }
      case 'unregister':
        call = (mon) => assert.equal(mon.unregisterNode(cmd.id), registered.has(cmd.id), where);
        onValid = () => registered.delete(cmd.id);
        break;
      case 'update': {
        // the leader advances by step; the follower by fstep, at most 5 entries past the leader (briefly ahead);
        // backwards: both move back
        const [prevL, prevF] = last.get(cmd.id) ?? [0n, 0n];
        const sub = (a: bigint, b: number) => (a > BigInt(b) ? a - BigInt(b) : 0n);
        const leader = cmd.back ? sub(prevL, cmd.step) : prevL + BigInt(cmd.step);
        const follower = cmd.back
          ? sub(prevF < leader ? prevF : leader, cmd.fstep)
          : (prevF + BigInt(cmd.fstep) < leader + 5n ? prevF + BigInt(cmd.fstep) : prevF > leader + 5n ? prevF : leader + 5n);
        const mode = cmd.mode ?? modes.get(cmd.id) ?? 'number';
        const encode = (p: bigint): number | bigint => (mode === 'number' ? Number(p) : mode === 'bigint' ? p : BASES[mode] + p);
        const l = encode(leader);
        const f = encode(follower);
        valid = mode === 'number' ? Number.isSafeInteger(l) && Number.isSafeInteger(f) : true;
        valid &&= registered.has(cmd.id) || (config.autoRegister && canAdd(cmd.id));
        // every third update with a delay passes it as the system's reported figure instead of lagSeconds
        const reported = cmd.lag !== undefined && cmd.step % 3 === 0;
        call = (mon) => {
          const st = reported ? mon.updateLag(cmd.id, l, f, { reportedDelaySeconds: cmd.lag }) : mon.updateLag(cmd.id, l, f, cmd.lag);
          assert.equal(st.leaderSeq, l, where);
          assert.equal(st.followerSeq, f, where);
          assert.equal(st.lagEntries, exactLag(l, f), where);
          if (cmd.lag !== undefined && !reported) assert.equal(st.lagSeconds, cmd.lag, where);
          if (!st.delayEstimated) {
            assert.ok(st.lagEntries > 0, `${where}: a caught-up follower's 0 is a true 0`);
            if (reported) assert.ok(st.lagSeconds >= cmd.lag!, `${where}: below the reported figure`);
            else assert.notEqual(st.severity, 'normal', `${where}: a delay without estimate nor figure is never normal`);
          }
        };
        onValid = () => {
          registered.add(cmd.id);
          last.set(cmd.id, [leader, follower]);
          modes.set(cmd.id, mode);
        };
        break;
      }
      case 'badUpdate': {
        valid = false;
        const v = cmd.variant;
        call = (mon) => {
          switch (cmd.field) {
            case 'nodeId':
              return mon.updateLag(pick(BAD_IDS, v) as string, 10, 5);
            case 'leaderSeq':
              return mon.updateLag(cmd.id, pick(BAD_POSITIONS, v) as number, 5);
            case 'followerSeq':
              return mon.updateLag(cmd.id, 10, pick(BAD_POSITIONS, v) as number);
            case 'lagSeconds':
              return mon.updateLag(cmd.id, 10, 5, pick(BAD_LAGS, v) as number);
          }
        };
        break;
      }
      case 'advance':
        clock.t += cmd.ms;
        break;
      case 'clearAlerts':
        call = (mon) => mon.clearAlerts(cmd.id);
        onValid = () => {
          kept = kept.filter((a) => a.nodeId !== cmd.id);
        };
        break;
      case 'clear':
        call = (mon) => mon.clear();
        onValid = () => {
          registered.clear();
          delivered.length = 0;
          totalSeen = 0;
          kept = [];
        };
        break;
    }

    if (call !== undefined) {
      const before = delivered.length;
      let thrown: unknown;
      try {
        call(m);
      } catch (e) {
        thrown = e;
      }
      if (valid) {
        if (thrown !== undefined) throw new Error(`${where}: a valid call threw ${String(thrown)}`);
        call(twin);
      } else {
        assert.ok(thrown instanceof TypeError || thrown instanceof RangeError, `${where}: expected a TypeError or RangeError, got ${String(thrown)}`);
        assert.equal(delivered.length, before, `${where}: an invalid call emitted an alert`);
      }
      // alerts: each one is a change of severity, delivered synchronously and counted
      for (const a of delivered.slice(before)) {
        kept.push(a);
        if (kept.length > config.maxAlerts) kept.shift();
        assert.notEqual(a.severity, a.previousSeverity, where);
        assert.equal(a.timestamp, m.getStatus(a.nodeId)?.lastUpdate, where);
      }
      totalSeen += delivered.length - before;
      if (valid) onValid();
    }

    // the twin, which never saw an invalid call, is indistinguishable
    const state = observable(m);
    assert.deepStrictEqual(state, observable(twin), `${where}: state differs from the twin that only received valid calls`);

    // invariants
    const keys = state.statuses.map(([id]) => id);
    assert.deepEqual(keys, [...keys].sort(), `${where}: getAllStatuses not sorted`);
    for (const id of keys) assert.ok(registered.has(id), `${where}: status of unregistered ${id}`);
    assert.equal(state.stats.totalNodes, registered.size, where);
    const counts = { warning: 0, critical: 0, stalled: 0 };
    let sum = 0;
    let max = 0;
    for (const [, s] of state.statuses) {
      assert.ok(SEVERITIES.includes(s.severity as never), where);
      assert.ok(Number.isFinite(s.lagSeconds) && s.lagSeconds >= 0, `${where}: lagSeconds ${s.lagSeconds}`);
      assert.ok(Number.isInteger(s.lagEntries) && s.lagEntries >= 0, `${where}: lagEntries ${s.lagEntries}`);
      assert.equal(s.lagEntries, exactLag(s.leaderSeq, s.followerSeq), where);
      assert.ok(Number.isFinite(s.replicationRate) && s.replicationRate >= 0, `${where}: replicationRate ${s.replicationRate}`);
      if (config.enablePrediction) {
        assert.ok(s.predictedLagSeconds === undefined || (Number.isFinite(s.predictedLagSeconds) && s.predictedLagSeconds >= 0), `${where}: prediction ${s.predictedLagSeconds}`);
      } else {
        assert.equal(s.predictedLagSeconds, undefined, where);
      }
      for (const [name, v] of [['catchUpSeconds', s.catchUpSeconds], ['secondsToCritical', s.secondsToCritical]] as const) {
        assert.ok(v === undefined || (Number.isFinite(v) && v >= 0), `${where}: ${name} ${v}`);
      }
      if (s.lagEntries === 0) assert.equal(s.catchUpSeconds, 0, `${where}: caught up, catchUpSeconds ${s.catchUpSeconds}`);
      else assert.notEqual(s.catchUpSeconds, 0, `${where}: behind, catchUpSeconds 0`);
      assert.equal(s.secondsToCritical === 0, s.lagSeconds >= config.criticalThresholdSeconds, `${where}: secondsToCritical ${s.secondsToCritical} at ${s.lagSeconds} s`);
      assert.equal(typeof s.delayEstimated, 'boolean', where);
      assert.ok(s.history.length >= 1 && s.history.length <= config.maxSamplesPerNode, `${where}: history length ${s.history.length}`);
      for (let i = 0; i < s.history.length; i++) {
        const h = s.history[i]!;
        if (i > 0) assert.ok(h.timestamp >= s.history[i - 1]!.timestamp, `${where}: history timestamps decrease`);
        assert.ok(Number.isFinite(h.lagSeconds) && h.lagSeconds >= 0, where);
        assert.equal(h.lagEntries, exactLag(h.leaderSeq, h.followerSeq), where);
        assert.ok(h.timestamp <= s.lastUpdate, where);
      }
      assert.equal(s.history.at(-1)!.timestamp, s.lastUpdate, `${where}: newest history sample is not the latest update`);
      if (s.severity !== 'normal') counts[s.severity as keyof typeof counts]++;
      sum += s.lagSeconds;
      if (s.lagSeconds > max) max = s.lagSeconds;
    }
    assert.equal(state.stats.warningNodes, counts.warning, where);
    assert.equal(state.stats.criticalNodes, counts.critical, where);
    assert.equal(state.stats.stalledNodes, counts.stalled, where);
    assert.equal(state.stats.maxLagSeconds, max, where);
    const avg = keys.length === 0 ? 0 : sum / keys.length;
    assert.ok(Math.abs(state.stats.avgLagSeconds - avg) <= 1e-9 * Math.max(1, avg), where);
    assert.deepEqual(
      state.critical,
      state.statuses.filter(([, s]) => s.severity === 'critical' || s.severity === 'stalled').map(([id]) => id),
      where,
    );
    assert.ok(state.alerts.length <= config.maxAlerts, `${where}: ${state.alerts.length} alerts kept`);
    assert.ok(state.stats.totalAlerts >= state.alerts.length, where);
    assert.equal(state.stats.totalAlerts, totalSeen, `${where}: totalAlerts vs alerts delivered`);
    // the alert list is the newest maxAlerts alerts in emission order, minus those removed by clearAlerts
    assert.deepStrictEqual(state.alerts, kept.map((a) => ({ ...a })), `${where}: alert list`);
    for (const a of state.alerts) assert.ok(severityRank(a.severity) >= 0 && a.severity !== a.previousSeverity, where);
  });
}

test('random command sequences: only invalid calls throw, invalid calls change nothing, invariants hold', () => {
  fc.assert(
    fc.property(configArb, fc.array(cmdArb, { minLength: 1, maxLength: 150, size: 'max' }), (config, cmds) => run(config, cmds)),
    { numRuns: 250, seed: 20240601 },
  );
});

test('random short command sequences (another seed)', () => {
  fc.assert(
    fc.property(configArb, fc.array(cmdArb, { minLength: 1, maxLength: 30, size: 'max' }), (config, cmds) => run(config, cmds)),
    { numRuns: 150, seed: 99 },
  );
});

test('long sequences of valid updates on one node keep the invariants', () => {
  const updates = fc.array(
    fc.record({
      ms: fc.oneof(
        { weight: 1, arbitrary: fc.constant(0) },
        { weight: 8, arbitrary: fc.integer({ min: 1, max: 300 }) },
        { weight: 1, arbitrary: fc.integer({ min: 300, max: 120_000 }) },
      ),
      step: fc.integer({ min: 0, max: 500 }),
      back: fc.boolean(), // thinned out below: a reset every update would leave nothing to check
      fstep: fc.integer({ min: 0, max: 600 }),
    }),
    { minLength: 50, maxLength: 400, size: 'max' },
  );
  const small = fc.record({
    retentionWindowSeconds: fc.constantFrom(1, 5, 60),
    maxSamplesPerNode: fc.integer({ min: 8, max: 16 }),
    enablePrediction: fc.boolean(),
  });
  fc.assert(
    fc.property(small, updates, (cfg, list) => {
      const cmds: Cmd[] = [];
      list.forEach((u, i) => {
        cmds.push({ k: 'advance', ms: u.ms });
        cmds.push({ k: 'update', id: 'a', step: u.step, fstep: u.fstep, back: u.back && i % 17 === 0, mode: undefined, lag: undefined });
      });
      run(
        {
          warningThresholdSeconds: 5,
          criticalThresholdSeconds: 30,
          alertCooldownSeconds: 60,
          predictionHorizonSeconds: 60,
          stallTimeoutSeconds: 10,
          maxAlerts: 50,
          ...cfg,
          maxNodes: 10,
          autoRegister: true,
        },
        cmds,
      );
    }),
    { numRuns: 40, seed: 7 },
  );
});

test('forecast figures are never NaN, negative or infinite, whatever the positions, delays, times and horizon', () => {
  const step = fc.record({
    ms: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 5000, max: 10_000_000 })),
    leaderStep: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 10_000 }), fc.constant(2 ** 40)),
    followerStep: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 20_000 }), fc.constant(2 ** 40)),
    lag: fc.option(fc.oneof(fc.double({ min: 0, max: 1e10, noNaN: true }), fc.constant(0), fc.constant(1e10))),
    how: fc.constantFrom('lagSeconds', 'reported', 'both'),
  });
  const cfg = fc.record({
    predictionHorizonSeconds: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 600 }), fc.constant(1e12)),
    criticalThresholdSeconds: fc.oneof(fc.constant(1e-9), fc.integer({ min: 1, max: 100 }), fc.constant(1e12)),
    retentionWindowSeconds: fc.constantFrom(1, 60, 3600),
  });
  fc.assert(
    fc.property(cfg, fc.array(step, { minLength: 1, maxLength: 120 }), (c, steps) => {
      const clock = { t: 0 };
      const m = new ReplicationLagMonitor({ ...c, warningThresholdSeconds: Math.min(5, c.criticalThresholdSeconds), now: () => clock.t });
      let leader = 0;
      let follower = 0;
      for (const [i, u] of steps.entries()) {
        clock.t += u.ms;
        leader += u.leaderStep;
        follower = Math.min(leader, follower + u.followerStep);
        const options = u.lag === null ? undefined : u.how === 'lagSeconds' ? u.lag : u.how === 'reported' ? { reportedDelaySeconds: u.lag } : { lagSeconds: u.lag, reportedDelaySeconds: u.lag };
        const st = m.updateLag('a', leader, follower, options);
        for (const [name, v] of [['predictedLagSeconds', st.predictedLagSeconds], ['catchUpSeconds', st.catchUpSeconds], ['secondsToCritical', st.secondsToCritical]] as const) {
          assert.ok(v === undefined || (Number.isFinite(v) && v >= 0), `update ${i}: ${name} ${v}`);
        }
      }
    }),
    { numRuns: 300, seed: 1111 },
  );
});

test('a first observation behind, with no delay and no reported figure, is never normal and never alerts', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2 ** 52 }), fc.integer({ min: 1, max: 2 ** 20 }), fc.integer({ min: 1, max: 100 }), (leader, behind, warning) => {
      const m = new ReplicationLagMonitor({ now: () => 0, warningThresholdSeconds: warning, criticalThresholdSeconds: warning * 2 });
      const alerts: unknown[] = [];
      m.onAlert((a) => alerts.push(a));
      const st = m.updateLag('a', leader, Math.max(0, leader - behind));
      assert.equal(st.delayEstimated, false);
      assert.notEqual(st.severity, 'normal');
      assert.deepEqual(alerts, []);
    }),
    { numRuns: 200, seed: 5 },
  );
});
