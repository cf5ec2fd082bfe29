/**
 * A constant apply delay (issue 11, point 1, real-server check): a PostgreSQL 15 standby with
 * `recovery_min_apply_delay = '10s'` under a steady write load, polled every 500 ms by PostgresSource into a
 * monitor. Once the delay has settled, the exported delay is ~10 s and the forecast (`predictedLagSeconds`, 60 s
 * horizon) stays within 20 % of 10 s: a ramp that has ended is not extrapolated.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ReplicationLagMonitor } from '../../src/monitor.ts';
import { startPoller, type Poller } from '../../src/sources/poller.ts';
import { PostgresSource } from '../../src/sources/postgresql.ts';
import { startPostgresCluster, waitUntil, type PostgresCluster } from '../harness/postgresql.ts';

delete process.env.PGSSLMODE;

const PORTS: [number, number] = [25000, 27000];
const DELAY_SECONDS = 10;
const INTERVAL_MS = 500;
/** From the delay first reaching 95 % of the apply delay to the start of the checked window. */
const SETTLE_MS = 8000;

let cluster: PostgresCluster;

before(async () => {
  cluster = await startPostgresCluster({ standbys: [{ name: 'delayed', slot: 'delayed_slot' }], portRange: PORTS });
});

after(async () => {
  await cluster?.close();
});

test(`recovery_min_apply_delay = '${DELAY_SECONDS}s' under load: once settled, the delay is ~${DELAY_SECONDS} s and the forecast stays within 20 % of it`, async () => {
  const source = new PostgresSource({ url: cluster.url() });
  const monitor = new ReplicationLagMonitor();
  const samples: { at: number; delay: number; predicted: number | undefined; severity: string }[] = [];
  const errors: Error[] = [];
  let poller: Poller | undefined;
  const load = cluster.startLoad(100);
  try {
    poller = startPoller({
      source,
      monitor,
      intervalMs: INTERVAL_MS,
      onError: (e) => errors.push(e),
      onPoll: () => {
        const s = monitor.getStatus('delayed_slot');
        if (s !== undefined) samples.push({ at: performance.now(), delay: s.lagSeconds, predicted: s.predictedLagSeconds, severity: s.severity });
      },
    });
    await waitUntil('a first status', 10_000, () => samples.length > 2, 50);
    await cluster.standby('delayed').query(`ALTER SYSTEM SET recovery_min_apply_delay = '${DELAY_SECONDS}s'`);
    await cluster.standby('delayed').query('SELECT pg_reload_conf()');
    await waitUntil('the delay to reach the apply delay', 30_000, () => (samples.at(-1)?.delay ?? 0) >= DELAY_SECONDS * 0.95, 50);
    const settledAt = performance.now();
    // The forecast gets a few seconds to see that the ramp has ended (its smoothing spans ~5 s), then must hold 10 s.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const from = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const window = samples.filter((s) => s.at >= from);
    const shown = window.map((s) => `${s.delay.toFixed(1)}/${s.predicted?.toFixed(1)}`).join(' ');
    const off = (x: { predicted: number | undefined }) => x.predicted === undefined || Math.abs(x.predicted - DELAY_SECONDS) > 0.2 * DELAY_SECONDS;
    const lastOff = samples.filter((x) => x.at >= settledAt && off(x)).at(-1);
    console.log(`# forecast within 20 % from ${lastOff === undefined ? 0 : ((lastOff.at - settledAt) / 1000).toFixed(1)} s after the delay reached 95 %; peak ${Math.max(...samples.map((x) => x.predicted ?? 0)).toFixed(1)} s`);
    console.log(`# delay/predicted from ${((from - settledAt) / 1000).toFixed(1)} s after settling: ${shown}`);
    assert.ok(window.length >= 10, `${window.length} polls in 10 s`);
    for (const s of window) {
      assert.ok(Math.abs(s.delay - DELAY_SECONDS) <= 1.5, `delay ${s.delay} s with an apply delay of ${DELAY_SECONDS} s: ${shown}`);
      assert.ok(s.predicted !== undefined && Math.abs(s.predicted - DELAY_SECONDS) <= 0.2 * DELAY_SECONDS, `forecast ${s.predicted} s, not within 20 % of ${DELAY_SECONDS} s: ${shown}`);
    }
    assert.deepEqual(errors, []);
  } finally {
    await poller?.stop();
    await load.stop();
    await source.close();
  }
});
