/** SimulatedClusterSource on a fake clock, fed into a monitor once a second for a 120 s cycle. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplicationLagMonitor, SimulatedClusterSource, type LagAlert, type LagSeverity } from '../../src/index.ts';

interface Run {
  /** Severity of each node at each simulated second 0..seconds. */
  severities: Map<string, LagSeverity[]>;
  alerts: LagAlert[];
  monitor: ReplicationLagMonitor;
}

/** Feeds `followers` simulated followers into a default monitor every second, from 0 to `seconds` s. */
function simulate(followers: number, seconds = 120): Run {
  let t = 0;
  const source = new SimulatedClusterSource({ followers, now: () => t });
  const monitor = new ReplicationLagMonitor({ now: () => t });
  const alerts: LagAlert[] = [];
  monitor.onAlert((a) => alerts.push(a));
  const severities = new Map<string, LagSeverity[]>();
  for (let s = 0; s <= seconds; s++) {
    t = s * 1000;
    for (const r of source.read()) {
      if (r.attributes !== undefined && monitor.getStatus(r.nodeId) === undefined) monitor.registerNode(r.nodeId, r.attributes);
      const st = monitor.updateLag(r.nodeId, r.leaderSeq, r.followerSeq, { lagSeconds: r.lagSeconds, reportedDelaySeconds: r.reportedDelaySeconds }); // as the poller does
      let list = severities.get(r.nodeId);
      if (list === undefined) severities.set(r.nodeId, (list = []));
      list.push(st.severity);
    }
  }
  return { severities, alerts, monitor };
}

/** Seconds at which the node had `severity`. */
const secondsWith = (run: Run, node: string, severity: LagSeverity) =>
  run.severities.get(node)!.flatMap((s, i) => (s === severity ? [i] : []));

const alertsOf = (run: Run, node: string) => run.alerts.filter((a) => a.nodeId === node).map((a) => ({ at: a.timestamp / 1000, change: `${a.previousSeverity}->${a.severity}` }));

function assertAlerts(actual: { at: number; change: string }[], expected: { at: number; change: string }[], node: string): void {
  assert.deepEqual(
    actual.map((a) => a.change),
    expected.map((a) => a.change),
    `${node}: alert sequence ${JSON.stringify(actual)}`,
  );
  actual.forEach((a, i) => assert.ok(Math.abs(a.at - expected[i]!.at) <= 1, `${node}: ${a.change} at ${a.at} s, expected about ${expected[i]!.at} s`));
}

describe('SimulatedClusterSource', () => {
  test('profiles cycle healthy, slow, lagging, frozen; node ids number each round', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => SimulatedClusterSource.profileOf(i)), [
      'healthy', 'slow', 'lagging', 'frozen', 'healthy', 'slow', 'lagging', 'frozen', 'healthy',
    ]);
    const t = 5000;
    const src = new SimulatedClusterSource({ followers: 6, now: () => t });
    const ids = src.read().map((r) => r.nodeId);
    assert.deepEqual(ids, ['healthy-1', 'slow-1', 'lagging-1', 'frozen-1', 'healthy-2', 'slow-2']);
    for (const r of src.read()) {
      assert.equal(r.attributes?.['replication.profile'], r.nodeId.replace(/-\d+$/, ''));
      assert.equal(r.attributes?.['replication.system'], 'raft');
    }
  });

  test('the leader appends leaderRate entries per second and every follower is at or behind it', () => {
    let t = 0;
    const src = new SimulatedClusterSource({ followers: 4, leaderRate: 200, now: () => t });
    const start = Number(src.read()[0]!.leaderSeq);
    assert.ok(start > 0, 'the leader has a history before the simulation starts, so no follower begins at 0');
    for (let s = 0; s <= 120; s += 7) {
      t = s * 1000;
      for (const r of src.read()) {
        assert.equal(r.leaderSeq, start + 200 * s);
        assert.ok(Number(r.followerSeq) <= Number(r.leaderSeq));
        assert.ok(Number(r.followerSeq) >= 0);
      }
    }
  });

  test('reports its own delay figure: the delay that its positions encode', () => {
    let t = 0;
    const src = new SimulatedClusterSource({ followers: 4, leaderRate: 1000, now: () => t });
    for (let s = 0; s <= 120; s += 5) {
      t = s * 1000;
      for (const r of src.read()) {
        const behind = Number(r.leaderSeq) - Number(r.followerSeq);
        assert.ok(r.reportedDelaySeconds !== undefined && Math.abs(r.reportedDelaySeconds - behind / 1000) <= 0.002, `${r.nodeId} at ${s}s: ${r.reportedDelaySeconds} vs ${behind / 1000}`);
      }
    }
  });

  test('a monitor fed like the poller shows no made-up zero on the first poll: the reported figure', () => {
    let t = 0;
    const src = new SimulatedClusterSource({ followers: 4, now: () => t });
    t = 25_000; // the frozen follower is 5 s into its stall
    const monitor = new ReplicationLagMonitor({ now: () => t });
    for (const r of src.read()) {
      const st = monitor.updateLag(r.nodeId, r.leaderSeq, r.followerSeq, { reportedDelaySeconds: r.reportedDelaySeconds });
      assert.equal(st.lagSeconds, st.lagEntries === 0 ? 0 : r.reportedDelaySeconds, r.nodeId);
    }
    assert.equal(monitor.getStatus('frozen-1')!.delayEstimated, false);
    assert.ok(monitor.getStatus('frozen-1')!.lagSeconds >= 5);
  });

  test('is deterministic for a given clock, and poll() resolves to the same positions as read()', async () => {
    const t = 73_456;
    const a = new SimulatedClusterSource({ followers: 8, now: () => t });
    const b = new SimulatedClusterSource({ followers: 8, now: () => t });
    assert.deepEqual(a.read(), b.read());
    assert.deepEqual(await a.poll(), b.read());
    assert.equal(a.name, 'simulated');
  });

  test('rejects invalid options with a RangeError', () => {
    for (const followers of [0, -1, 1.5, Number.NaN]) assert.throws(() => new SimulatedClusterSource({ followers }), RangeError);
    for (const leaderRate of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) assert.throws(() => new SimulatedClusterSource({ leaderRate }), RangeError);
  });
});

describe('a simulated cycle through the monitor (4 followers, 120 s)', () => {
  const run = simulate(4);

  test('healthy stays normal and never alerts', () => {
    assert.ok(run.severities.get('healthy-1')!.every((s) => s === 'normal'));
    assert.deepEqual(alertsOf(run, 'healthy-1'), []);
  });

  test('slow swings into warning and back, twice, never worse', () => {
    const sev = run.severities.get('slow-1')!;
    assert.ok(sev.every((s) => s === 'normal' || s === 'warning'));
    // delay 5 − 4·cos(2πt/60) ≥ 5 s for t in [15, 45] and [75, 105]
    for (const s of [20, 30, 40, 80, 90, 100]) assert.equal(sev[s], 'warning', `at ${s}s`);
    for (const s of [0, 10, 50, 60, 70, 110, 120]) assert.equal(sev[s], 'normal', `at ${s}s`);
    assertAlerts(alertsOf(run, 'slow-1'), [
      { at: 15, change: 'normal->warning' },
      { at: 45, change: 'warning->normal' },
      { at: 75, change: 'normal->warning' },
      { at: 105, change: 'warning->normal' },
    ], 'slow-1');
  });

  test('lagging reaches critical around 40 s, stays there while the delay is ≥ 30 s, then recovers', () => {
    // delay 0.5 + 0.75·t up to 60 s (45.5 s), then 45.5 − 1.5·(t − 60): ≥ 30 s from 39.3 s to 70.3 s
    const critical = secondsWith(run, 'lagging-1', 'critical');
    assert.ok(critical.length > 0);
    assert.ok(Math.abs(critical[0]! - 40) <= 1, `first critical at ${critical[0]}s`);
    assert.ok(Math.abs(critical.at(-1)! - 70) <= 1, `last critical at ${critical.at(-1)}s`);
    assert.deepEqual(critical, Array.from({ length: critical.length }, (_, i) => critical[0]! + i), 'one critical stretch');
    assert.deepEqual(secondsWith(run, 'lagging-1', 'stalled'), [], 'a slowly applying follower is not stalled');
    assert.equal(run.severities.get('lagging-1')![120], 'normal');
    // warning at 6 s, critical at 40 s; the fall back to warning is within the 60 s cooldown (suppressed); resolved at 88 s
    assertAlerts(alertsOf(run, 'lagging-1'), [
      { at: 6, change: 'normal->warning' },
      { at: 40, change: 'warning->critical' },
      { at: 88, change: 'critical->normal' },
    ], 'lagging-1');
  });

  test('lagging’s estimated delay follows the simulated one', () => {
    let t = 0;
    const src = new SimulatedClusterSource({ followers: 4, now: () => t });
    const m = new ReplicationLagMonitor({ now: () => t });
    for (let s = 0; s <= 60; s++) {
      t = s * 1000;
      const r = src.read()[2]!;
      const st = m.updateLag(r.nodeId, r.leaderSeq, r.followerSeq);
      if (s >= 2) assert.ok(Math.abs(st.lagSeconds - (0.5 + 0.75 * s)) <= 0.01, `at ${s}s: ${st.lagSeconds}`);
    }
  });

  test('frozen becomes stalled during its frozen stretch (10 s after it stops at 20 s, until it resumes after 50 s)', () => {
    const stalled = secondsWith(run, 'frozen-1', 'stalled');
    assert.ok(stalled.length > 0);
    assert.ok(Math.abs(stalled[0]! - 30) <= 1, `first stalled at ${stalled[0]}s`);
    assert.ok(Math.abs(stalled.at(-1)! - 50) <= 1, `last stalled at ${stalled.at(-1)}s`);
    assert.deepEqual(stalled, Array.from({ length: stalled.length }, (_, i) => stalled[0]! + i), 'one stalled stretch');
    assert.equal(run.severities.get('frozen-1')![120], 'normal');
    assertAlerts(alertsOf(run, 'frozen-1'), [
      { at: 25, change: 'normal->warning' },
      { at: 30, change: 'warning->stalled' },
      { at: 63, change: 'stalled->normal' },
    ], 'frozen-1');
  });

  test('the monitor registered every node with its attributes', () => {
    const statuses = run.monitor.getAllStatuses();
    assert.deepEqual([...statuses.keys()], ['frozen-1', 'healthy-1', 'lagging-1', 'slow-1']);
    for (const st of statuses.values()) assert.equal(st.attributes['replication.profile'], st.nodeId.replace(/-\d+$/, ''));
  });
});

describe('phase-shifted followers (8 followers: the second round starts 7 s into its cycle)', () => {
  const run = simulate(8);

  test('healthy-2 stays normal', () => {
    assert.ok(run.severities.get('healthy-2')!.every((s) => s === 'normal'));
  });

  test('frozen-2 stalls 7 s earlier than frozen-1', () => {
    const stalled = secondsWith(run, 'frozen-2', 'stalled');
    assert.ok(Math.abs(stalled[0]! - 23) <= 1, `first stalled at ${stalled[0]}s`);
    assert.ok(Math.abs(stalled.at(-1)! - 43) <= 1, `last stalled at ${stalled.at(-1)}s`);
  });

  test('lagging-2 behaves like a lagging follower from the start: critical, never stalled', () => {
    assert.ok(secondsWith(run, 'lagging-2', 'critical').length > 20);
    assert.deepEqual(secondsWith(run, 'lagging-2', 'stalled'), [], 'a lagging follower must not look frozen at start-up');
  });
});
