/**
 * PostgresSource's `reportedDelaySeconds` (the standby's `replay_lag`) against a real PostgreSQL 15 primary and one
 * streaming standby using a physical slot (test/harness/postgresql.ts): passed on while the standby's replies are
 * fresh (replay paused under load: it grows with the pause, as the standby's own figures say), omitted when NULL,
 * when the standby's last reply is older than 2 s (walreceiver SIGSTOPped), and for a slot without a walsender
 * (standby stopped).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PostgresSource } from '../../src/sources/postgresql.ts';
import { startPostgresCluster, waitUntil, type PostgresCluster } from '../harness/postgresql.ts';

delete process.env.PGSSLMODE;

const PORTS: [number, number] = [25000, 27000];
const SLOT = 'delay_slot';

let cluster: PostgresCluster;
let source: PostgresSource;

/** The primary's own view of the standby: replay_lag in seconds (null when NULL) and the age of its last reply. */
async function serverView(): Promise<{ replayLag: number | null; replyAge: number } | undefined> {
  const [row] = await cluster.primary.query<{ replay_lag: number | null; reply_age: number }>(
    'SELECT extract(epoch FROM replay_lag)::float8 AS replay_lag, extract(epoch FROM clock_timestamp() - reply_time)::float8 AS reply_age FROM pg_stat_replication',
  );
  return row === undefined ? undefined : { replayLag: row.replay_lag, replyAge: row.reply_age };
}

before(async () => {
  cluster = await startPostgresCluster({ standbys: [{ name: 'standby', slot: SLOT }], portRange: PORTS });
  source = new PostgresSource({ url: cluster.url() });
});

after(async () => {
  await source?.close();
  await cluster?.close();
});

test('replay paused under load: reportedDelaySeconds is replay_lag, growing with the pause like the standby\'s own figure', async () => {
  const standby = cluster.standby('standby');
  const load = cluster.startLoad(100);
  try {
    await waitUntil('a first reported figure', 10_000, async () => (await source.poll())[0]?.reportedDelaySeconds !== undefined, 100);
    const [healthy] = await source.poll();
    assert.ok(healthy!.reportedDelaySeconds !== undefined && healthy!.reportedDelaySeconds < 1, `healthy: ${healthy!.reportedDelaySeconds} s`);
    await standby.query('SELECT pg_wal_replay_pause()');
    const pausedAt = performance.now();
    try {
      await new Promise((resolve) => setTimeout(resolve, 5000));
      const [paused] = await source.poll();
      const elapsed = (performance.now() - pausedAt) / 1000;
      const view = await serverView();
      const reported = paused!.reportedDelaySeconds;
      assert.ok(reported !== undefined, 'passed on while the standby still replies');
      assert.ok(reported >= elapsed - 1.5 && reported <= elapsed + 0.5, `reported ${reported} s, ${elapsed.toFixed(2)} s after the pause`);
      assert.ok(view?.replayLag !== null && Math.abs(reported - view!.replayLag) <= 1, `reported ${reported} s, the primary then said ${view?.replayLag} s`);
      assert.ok(paused!.followerSeq < paused!.leaderSeq);
    } finally {
      await standby.query('SELECT pg_wal_replay_resume()');
    }
  } finally {
    await load.stop();
  }
  await cluster.waitCaughtUp();
});

test('walreceiver SIGSTOPped (no reply for > 2 s): the stale replay_lag is omitted; passed on again after SIGCONT', async () => {
  const load = cluster.startLoad(100);
  const pid = await cluster.walReceiverPid('standby');
  try {
    await waitUntil('a reported figure', 10_000, async () => (await source.poll())[0]?.reportedDelaySeconds !== undefined, 100);
    cluster.suspend([pid]);
    try {
      await new Promise((resolve) => setTimeout(resolve, 3500));
      const [stale] = await source.poll();
      const view = await serverView();
      assert.ok(view !== undefined && view.replyAge > 2, `the last reply is ${view?.replyAge} s old`);
      assert.ok(stale !== undefined && !('reportedDelaySeconds' in stale), `omitted (the primary still shows replay_lag = ${view?.replayLag} s from ${view?.replyAge.toFixed(1)} s ago): ${stale?.reportedDelaySeconds}`);
    } finally {
      cluster.continue([pid]);
    }
    await waitUntil('a fresh reported figure after SIGCONT', 10_000, async () => (await source.poll())[0]?.reportedDelaySeconds !== undefined, 100);
  } finally {
    await load.stop();
  }
  await cluster.waitCaughtUp();
});

test('replay_lag NULL (caught up, idle): omitted, not 0', async () => {
  await cluster.waitCaughtUp();
  await waitUntil('replay_lag to turn NULL on an idle, caught-up standby', 20_000, async () => (await serverView())?.replayLag === null, 200);
  const [idle] = await source.poll();
  assert.ok(idle !== undefined && !('reportedDelaySeconds' in idle), `omitted: ${idle?.reportedDelaySeconds}`);
  assert.equal(idle.followerSeq, idle.leaderSeq);
});

test('standby stopped (its slot reported without a walsender): omitted', async () => {
  const standby = cluster.standby('standby');
  await standby.stop();
  try {
    await cluster.write(50);
    await waitUntil('the walsender to be gone', 10_000, async () => (await serverView()) === undefined, 100);
    const [slotOnly] = await source.poll();
    assert.equal(slotOnly?.nodeId, SLOT);
    assert.ok(!('reportedDelaySeconds' in slotOnly!), `omitted: ${slotOnly?.reportedDelaySeconds}`);
  } finally {
    await standby.start();
  }
  await cluster.waitStreaming(1);
});
