/**
 * Time to critical and catch-up ETA right within two polls on a real PostgreSQL 15 standby (issue 20): replay
 * paused with `pg_wal_replay_pause()` for 30 s under a heavy write load, then resumed, polled every 500 ms by
 * PostgresSource into a monitor (positions only: the monitor estimates the delay).
 * - From the second poll that starts after the pause has taken effect, `secondsToCritical` is within
 *   max(one interval, 10 %) of `criticalThresholdSeconds − delay` (0 once the delay is there), and the forecast
 *   within the same bound of `delay + horizon`.
 * - From the second poll that starts after the resume, on a catch-up that lasts at least 3 s, `catchUpSeconds` is
 *   present until the delay is back under 1 s (its error against the time the catch-up really took is printed).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReplicationLagMonitor } from '../../src/monitor.ts';
import { startPoller, type Poller } from '../../src/sources/poller.ts';
import { PostgresSource } from '../../src/sources/postgresql.ts';
import type { ReplicationSource } from '../../src/sources/source.ts';
import { startPostgresCluster, waitUntil, type PostgresCluster } from '../harness/postgresql.ts';

delete process.env.PGSSLMODE;

const PORTS: [number, number] = [25000, 27000];
const NODE = 'paused_slot';
const INTERVAL_MS = 500;
const PAUSE_MS = 30_000;
const CRITICAL = 30;
const HORIZON = 60;
/** Rows per INSERT of the write load (~200 bytes each): big enough that replaying 30 s of it takes seconds. */
const LOAD_ROWS = 4000;

let cluster: PostgresCluster;

before(async () => {
  cluster = await startPostgresCluster({ standbys: [{ name: 'paused', slot: NODE }], portRange: PORTS });
});

after(async () => {
  await cluster?.close();
});

interface Sample {
  /** performance.now() when the poll started and when its status was read. */
  started: number;
  at: number;
  delay: number;
  lagEntries: number;
  predicted: number | undefined;
  catchUp: number | undefined;
  toCritical: number | undefined;
}

/** A write load as fast as the primary takes it (bounded in count and time), until `stop()`. */
function heavyLoad(): { stop(): Promise<number> } {
  let stopped = false;
  let statements = 0;
  const done = (async () => {
    const until = performance.now() + 180_000;
    while (!stopped && statements < 100_000 && performance.now() < until) {
      await cluster.primary.query(`INSERT INTO lag_load(v) SELECT repeat('x', 200) FROM generate_series(1, ${LOAD_ROWS})`);
      statements++;
    }
  })();
  return {
    async stop() {
      stopped = true;
      await done;
      return statements;
    },
  };
}

test('replay paused 30 s under load, then resumed: time to critical from the 2nd poll of the pause, ETA from the 2nd poll of the catch-up', { timeout: 240_000 }, async () => {
  const postgres = new PostgresSource({ url: cluster.url() });
  let pollStarted = 0;
  // The same source, noting when each poll starts (a poll that began before the pause took effect is not "after" it).
  const source: ReplicationSource = {
    name: postgres.name,
    poll: () => {
      pollStarted = performance.now();
      return postgres.poll();
    },
    close: () => postgres.close(),
  };
  const monitor = new ReplicationLagMonitor({ criticalThresholdSeconds: CRITICAL, predictionHorizonSeconds: HORIZON });
  const samples: Sample[] = [];
  const errors: Error[] = [];
  let poller: Poller | undefined;
  const standby = cluster.standby('paused');
  // A light load while healthy; a heavy one from the pause on (30 s of it takes seconds to replay).
  const light = cluster.startLoad(100);
  let load: { stop(): Promise<number> } | undefined;
  let resumed = false;
  try {
    poller = startPoller({
      source,
      monitor,
      intervalMs: INTERVAL_MS,
      onError: (e) => errors.push(e),
      onPoll: () => {
        const s = monitor.getStatus(NODE);
        if (s === undefined) return;
        samples.push({
          started: pollStarted,
          at: performance.now(),
          delay: s.lagSeconds,
          lagEntries: s.lagEntries,
          predicted: s.predictedLagSeconds,
          catchUp: s.catchUpSeconds,
          toCritical: s.secondsToCritical,
        });
      },
    });
    // A history of the healthy standby under load first (the monitor learns its usual jitter in 10 s).
    await waitUntil('a first status', 15_000, () => samples.length > 0, 50);
    await sleep(15_000);
    load = heavyLoad();
    await standby.query('SELECT pg_wal_replay_pause()');
    await waitUntil('replay paused', 10_000, async () => (await standby.query("SELECT pg_get_wal_replay_pause_state() = 'paused' AS p"))[0]?.p === true, 20);
    const pausedAt = performance.now();
    await sleep(PAUSE_MS);
    await standby.query('SELECT pg_wal_replay_resume()');
    resumed = true;
    const resumedAt = performance.now();
    await waitUntil('the catch-up to end (delay under 1 s)', 90_000, () => samples.some((s) => s.started > resumedAt && s.delay < 1), 50);
    await sleep(2000);
    const statements = await load.stop();

    const show = (s: Sample) => `${((s.started - pausedAt) / 1000).toFixed(1)}s: delay ${s.delay.toFixed(2)} ttc ${s.toCritical?.toFixed(2)} pred ${s.predicted?.toFixed(1)} eta ${s.catchUp?.toFixed(2)} lag ${s.lagEntries}`;
    // The pause: polls that started after it took effect and before the resume.
    const paused = samples.filter((s) => s.started > pausedAt && s.started < resumedAt);
    console.log(`# pause (${paused.length} polls, ${statements} INSERTs of ${LOAD_ROWS} rows in all):\n# ${paused.slice(0, 8).map(show).join('\n# ')}\n# …\n# ${paused.slice(-3).map(show).join('\n# ')}`);
    assert.ok(paused.length >= PAUSE_MS / INTERVAL_MS / 2, `${paused.length} polls during the pause`);
    let checked = 0;
    for (const s of paused.slice(1)) {
      const interval = INTERVAL_MS / 1000;
      if (s.delay < CRITICAL) {
        const truth = CRITICAL - s.delay;
        const bound = Math.max(interval, 0.1 * truth);
        assert.ok(s.toCritical !== undefined && Math.abs(s.toCritical - truth) <= bound, `time to critical ${s.toCritical} s at a delay of ${s.delay} s (truth ${truth.toFixed(2)} ± ${bound.toFixed(2)}): ${show(s)}`);
        checked++;
      } else assert.equal(s.toCritical, 0, show(s));
      const atHorizon = s.delay + HORIZON;
      assert.ok(s.predicted !== undefined && Math.abs(s.predicted - atHorizon) <= Math.max(interval, 0.1 * atHorizon), `forecast: ${show(s)}`);
      assert.equal(s.catchUp, undefined, `no catch-up ETA while paused: ${show(s)}`);
    }
    assert.ok(checked >= 40, `${checked} polls checked before the delay reached ${CRITICAL} s`);

    // The catch-up: polls that started after the resume, until the delay is back under 1 s.
    const after = samples.filter((s) => s.started > resumedAt);
    const end = after.findIndex((s) => s.delay < 1);
    const catchUp = after.slice(0, end);
    const lasted = (after[end]!.started - resumedAt) / 1000;
    console.log(`# catch-up of ${lasted.toFixed(1)} s (${catchUp.length} polls):\n# ${catchUp.map((s) => `${show(s)} (truth ~${((after[end]!.started - s.started) / 1000).toFixed(2)} s)`).join('\n# ')}`);
    assert.ok(lasted >= 3, `the catch-up lasted ${lasted.toFixed(1)} s: make LOAD_ROWS bigger so that it lasts at least 3 s`);
    assert.ok(catchUp.length >= 3, `${catchUp.length} polls during the catch-up`);
    for (const s of catchUp.slice(1)) assert.ok(s.catchUp !== undefined && s.catchUp > 0, `an ETA from the 2nd poll after the resume: ${show(s)}`);
    assert.deepEqual(errors, []);
  } finally {
    await poller?.stop();
    if (!resumed) await standby.query('SELECT pg_wal_replay_resume()').catch(() => undefined);
    await load?.stop();
    await light.stop();
    await source.close?.();
  }
});
