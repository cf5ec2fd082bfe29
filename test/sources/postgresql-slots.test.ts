/**
 * Replication slots before the disk fills, against a real PostgreSQL 15: with `max_slot_wal_keep_size = 64MB`, a
 * logical slot no one consumes and a physical slot whose standby is stopped, under a steady write rate, the source
 * reports what each slot retains, its safe size and `wal_status`; the monitor's time until the slot is lost tracks
 * the time until `safe_wal_size` actually reaches 0; the slots go reserved → unreserved → lost (after a CHECKPOINT)
 * and the nodes turn stalled with an alert that says the consumer must be resynchronised. Then, with
 * `max_slot_wal_keep_size = -1`, retained WAL grows with no safe size and no loss time.
 * The monitor is `startTelemetry`'s, serving its Prometheus endpoint; a real Prometheus scrapes it with the shipped
 * rules (only `for:` shortened) and the slot alerts fire.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { ReplicationLagMonitor } from '../../src/monitor.ts';
import { startTelemetry, type Telemetry } from '../../src/sdk/index.ts';
import { startPoller, type Poller } from '../../src/sources/poller.ts';
import { PostgresSource } from '../../src/sources/postgresql.ts';
import type { LagAlert, ReplicationStatus } from '../../src/types.ts';
import { startPostgresCluster, waitUntil, type PostgresCluster } from '../harness/postgresql.ts';
import { findFreePort, startPrometheus, type RunningPrometheus } from '../harness/prometheus.ts';
import { ALERTING_FILES, withShortFor } from '../alerting/metric-names.ts';

const PORTS: [number, number] = [19_000, 19_300];
const INTERVAL_MS = 1000;
/** WAL written per second by the load: 64 MB of safe size last about 35–40 s. */
const RATE_BYTES_PER_SECOND = 2 * 1024 * 1024;
const CHUNK_BYTES = 128 * 1024;
const SLOTS = ['cdc', 'standby_slot'];

/** One poll's view of a node, with the wall clock when it was taken. */
interface Seen {
  at: number;
  status: ReplicationStatus;
  /** The truth right after the poll: pg_current_wal_lsn() − restart_lsn, and safe_wal_size. */
  retainedTruth: number | undefined;
}

/** Writes WAL at `RATE_BYTES_PER_SECOND` on average (catching up on the schedule when a write was late). */
function steadyWal(url: string): { stop(): Promise<void>; startedAt: number } {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  let stopped = false;
  const startedAt = Date.now();
  let written = 0;
  const loop = (async () => {
    await client.connect();
    for (let i = 0; i < 5000 && !stopped; i++) {
      const due = ((Date.now() - startedAt) / 1000) * RATE_BYTES_PER_SECOND;
      while (written < due && !stopped) {
        await client.query(`SELECT pg_logical_emit_message(false, 'load', repeat('x', ${CHUNK_BYTES}))`);
        written += CHUNK_BYTES;
      }
      await sleep(50);
    }
  })();
  return {
    startedAt,
    async stop() {
      stopped = true;
      await loop;
      await client.end();
    },
  };
}

describe('PostgreSQL replication slots: retained WAL, safe size, time until lost, wal_status', { timeout: 170_000 }, () => {
  let cluster: PostgresCluster;
  let source: PostgresSource;
  let monitor: ReplicationLagMonitor;
  let telemetry: Telemetry;
  let prometheus: RunningPrometheus;
  let workDir: string;
  /** Every (alert, slot, state) Prometheus showed, polled every 500 ms. */
  const alertStates = new Set<string>();
  let alertWatcher: Promise<void> | undefined;
  let poller: Poller;
  const errors: string[] = [];
  const alerts: LagAlert[] = [];
  const seen = new Map<string, Seen[]>();
  /** When safe_wal_size of each slot was first seen ≤ 0 (polled every 200 ms). */
  const zeroAt = new Map<string, number>();
  let watching = true;
  let watcher: Promise<void> | undefined;
  let closeTruth: (() => Promise<void>) | undefined;

  before(async () => {
    cluster = await startPostgresCluster({ standbys: [{ name: 'standby-1', slot: 'standby_slot' }], portRange: PORTS, walLevel: 'logical' });
    const p = cluster.primary;
    await p.query("ALTER SYSTEM SET max_slot_wal_keep_size = '64MB'");
    await p.query('ALTER SYSTEM SET wal_keep_size = 0');
    await p.query('SELECT pg_reload_conf()');
    await p.query("SELECT pg_create_logical_replication_slot('cdc', 'test_decoding')");
    await cluster.waitCaughtUp();
    const endpointPort = await findFreePort(19_800, 19_900);
    telemetry = await startTelemetry({
      serviceName: 'slots-test',
      otlp: false,
      prometheus: { host: '127.0.0.1', port: endpointPort },
      instrumentation: { stallTimeoutSeconds: 5 },
    });
    monitor = telemetry.monitor;
    monitor.onAlert((a) => alerts.push(a));
    workDir = mkdtempSync(join(tmpdir(), 'slots-rules-'));
    const rules = join(workDir, 'replication-lag.rules.yml');
    writeFileSync(rules, withShortFor(readFileSync(ALERTING_FILES.rules, 'utf8'), '3s'));
    let promPort = await findFreePort(19_900, 20_000);
    while (promPort === endpointPort) promPort = await findFreePort(19_900, 20_000);
    prometheus = await startPrometheus({ port: promPort, scrapeTargets: [`127.0.0.1:${endpointPort}`], ruleFiles: [rules], scrapeIntervalSeconds: 1, evaluationIntervalSeconds: 1 });
    // pg_monitor is all the source needs (pg_replication_slots itself needs no privilege).
    await cluster.createRole('watcher', 'watch-pw');
    await p.query('GRANT pg_monitor TO watcher');
    source = new PostgresSource({ url: cluster.url('watcher'), password: 'watch-pw' });
    const truthClient = new pg.Client({ connectionString: cluster.url() });
    truthClient.on('error', () => {});
    await truthClient.connect();
    const counted = {
      name: source.name,
      poll: async () => {
        const out = await source.poll();
        const at = Date.now();
        const { rows } = await truthClient.query<{ slot_name: string; retained: string | null }>(
          'SELECT slot_name, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS retained FROM pg_replication_slots',
        );
        // The statuses are read after this poll's updates (the poller updates the monitor once poll() resolved).
        setImmediate(() => {
          for (const r of rows) {
            const status = monitor.getStatus(r.slot_name);
            if (status === undefined) continue;
            const list = seen.get(r.slot_name) ?? [];
            list.push({ at, status, retainedTruth: r.retained === null ? undefined : Number(r.retained) });
            seen.set(r.slot_name, list);
          }
        });
        return out;
      },
    };
    closeTruth = () => truthClient.end();
    poller = startPoller({ source: counted, monitor, intervalMs: INTERVAL_MS, onError: (e) => errors.push(e.message) });
    await waitUntil('both slots reported', 20_000, () => SLOTS.every((s) => monitor.getStatus(s) !== undefined));
    await cluster.standby('standby-1').stop();
    await prometheus.waitForTargets(20_000);
    alertWatcher = (async () => {
      for (let i = 0; i < 1000 && watching; i++) {
        try {
          for (const a of await prometheus.alerts()) if (a.labels.alertname?.startsWith('ReplicationSlot')) alertStates.add(`${a.labels.alertname} ${a.labels.replication_node_id} ${a.state}`);
        } catch {
          // the next round tries again
        }
        await sleep(500);
      }
    })();
    watcher = (async () => {
      for (let i = 0; i < 2000 && watching; i++) {
        try {
          const rows = await p.query<{ slot_name: string; safe: string | null }>('SELECT slot_name, safe_wal_size::text AS safe FROM pg_replication_slots');
          for (const r of rows) if (r.safe !== null && Number(r.safe) <= 0 && !zeroAt.has(r.slot_name)) zeroAt.set(r.slot_name, Date.now());
        } catch {
          // the next round tries again
        }
        await sleep(200);
      }
    })();
  });

  after(async () => {
    watching = false;
    await watcher;
    await alertWatcher;
    await poller?.stop();
    await prometheus?.close();
    await telemetry?.shutdown();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
    await source?.close();
    await closeTruth?.();
    await cluster?.close();
  });

  it('reports retained WAL within one poll of the truth, a safe size, a loss time within 25 % of the truth, then unreserved → lost (stalled)', async () => {
    for (const slot of SLOTS) {
      const r = monitor.getStatus(slot)!.retention;
      assert.equal(r?.state, 'reserved', `${slot} starts reserved`);
      assert.ok(r.safeSize !== undefined && r.safeSize > 60 * 1024 * 1024, `${slot}: a safe size of about 64 MB, got ${r.safeSize}`);
    }
    const load = steadyWal(cluster.url());
    try {
      await waitUntil('both slots unreserved', 90_000, () => SLOTS.every((s) => monitor.getStatus(s)?.retention?.state === 'unreserved'), 250);
    } finally {
      await load.stop();
    }
    const steadyFrom = load.startedAt + 2000;
    for (const slot of SLOTS) {
      const list = seen.get(slot)!;
      const zero = zeroAt.get(slot);
      assert.ok(zero !== undefined, `${slot}: safe_wal_size reached 0`);
      // Retained: the truth read right after the poll is ahead by at most the WAL written meanwhile (< one poll's WAL).
      let maxPollWal = 0;
      for (let i = 1; i < list.length; i++) maxPollWal = Math.max(maxPollWal, Number(BigInt(list[i]!.status.leaderSeq) - BigInt(list[i - 1]!.status.leaderSeq)));
      for (const s of list) {
        if (s.retainedTruth === undefined || s.status.retention === undefined) continue;
        const d = s.retainedTruth - s.status.retention.retained;
        assert.ok(d >= 0 && d <= maxPollWal, `${slot}: retained ${s.status.retention.retained} vs truth ${s.retainedTruth} (one poll's WAL: ${maxPollWal})`);
      }
      // Loss time: from 10 s after the write rate is steady, within 25 % of the time left until safe_wal_size hit 0.
      const judged = list.filter((s) => s.at >= steadyFrom + 10_000 && zero - s.at >= 5000 && s.status.retention?.state === 'reserved');
      assert.ok(judged.length >= 5, `${slot}: at least 5 polls to judge, got ${judged.length}`);
      const ratios = judged.map((s) => {
        const loss = s.status.retention!.lossSeconds;
        assert.ok(loss !== undefined, `${slot}: a loss time while the safe size shrinks (at ${s.at - steadyFrom} ms)`);
        return loss / ((zero - s.at) / 1000);
      });
      console.log(`${slot}: loss time / truth over ${ratios.length} polls: ${ratios.map((r) => r.toFixed(2)).join(' ')}`);
      for (const r of ratios) assert.ok(r >= 0.75 && r <= 1.25, `${slot}: loss time / truth ${r.toFixed(2)} outside 0.75–1.25`);
      const status = monitor.getStatus(slot)!;
      assert.equal(status.retention?.lossSeconds, 0, `${slot}: 0 once unreserved`);
      assert.ok(status.retention!.safeSize! <= 0, `${slot}: the safe size is spent`);
    }
    await cluster.primary.query('SELECT pg_switch_wal()');
    await cluster.primary.query('CHECKPOINT');
    await waitUntil('both slots lost', 15_000, () => SLOTS.every((s) => monitor.getStatus(s)?.retention?.state === 'lost'), 250);
    for (const slot of SLOTS) {
      const status = monitor.getStatus(slot)!;
      assert.equal(status.severity, 'stalled', `${slot}: a lost slot is stalled`);
      assert.equal(status.retention?.lossSeconds, 0);
      assert.equal(status.retention?.safeSize, undefined, `${slot}: PostgreSQL gives no safe size for a lost slot`);
      const states = [...new Set(seen.get(slot)!.map((s) => s.status.retention?.state))];
      assert.deepEqual(states, ['reserved', 'unreserved', 'lost'], `${slot}: wal_status over time`);
      const last = alerts.filter((a) => a.nodeId === slot).at(-1);
      assert.equal(last?.severity, 'stalled');
      assert.match(last!.message, /slot is lost.*must be resynchronised/, `${slot}: the alert says what to do`);
    }
    assert.deepEqual(errors, []);
  });

  it('the slot rules fire in a real Prometheus: loss within 1h and 15m while the safe size shrinks, then lost', async () => {
    await waitUntil('ReplicationSlotLost firing for both slots', 20_000, () => SLOTS.every((s) => alertStates.has(`ReplicationSlotLost ${s} firing`)), 250);
    for (const slot of SLOTS) {
      for (const alert of ['ReplicationSlotLossWithin1h', 'ReplicationSlotLossWithin15m']) assert.ok(alertStates.has(`${alert} ${slot} firing`), `${alert} fired for ${slot}: ${[...alertStates].join('; ')}`);
    }
    const lossAlerts = (await prometheus.alerts()).filter((a) => /^ReplicationSlotLossWithin/.test(a.labels.alertname ?? ''));
    assert.deepEqual(lossAlerts, [], 'a lost slot is ReplicationSlotLost\'s, no longer a forecast');
    const [lost] = (await prometheus.alerts()).filter((a) => a.labels.alertname === 'ReplicationSlotLost' && a.labels.replication_node_id === 'cdc');
    assert.match(lost!.annotations.summary ?? '', /cdc is lost: its consumer must be resynchronised/);
    const status = await prometheus.query('replication_slot_wal_status_ratio{replication_node_id="cdc"} == 1');
    assert.deepEqual(status.map((s) => s.labels.postgresql_replication_slot_wal_status), ['lost']);
  });

  it('with max_slot_wal_keep_size = -1: retained grows, no safe size and no loss time', async () => {
    const p = cluster.primary;
    await p.query('ALTER SYSTEM SET max_slot_wal_keep_size = -1');
    await p.query('SELECT pg_reload_conf()');
    await p.query("SELECT pg_create_logical_replication_slot('cdc_unlimited', 'test_decoding')");
    await p.query("SELECT pg_create_physical_replication_slot('phys_unlimited', true)");
    await waitUntil('the new slots reported', 10_000, () => ['cdc_unlimited', 'phys_unlimited'].every((s) => monitor.getStatus(s)?.retention !== undefined));
    const first = new Map(['cdc_unlimited', 'phys_unlimited'].map((s) => [s, monitor.getStatus(s)!.retention!.retained]));
    const load = steadyWal(cluster.url());
    await sleep(5000);
    await load.stop();
    const before = monitor.getStatus('cdc_unlimited')!.lastUpdate;
    await waitUntil('a poll after the load', 5000, () => monitor.getStatus('cdc_unlimited')!.lastUpdate > before);
    for (const slot of ['cdc_unlimited', 'phys_unlimited']) {
      const r = monitor.getStatus(slot)!.retention!;
      assert.ok(r.retained >= first.get(slot)! + 5 * 1024 * 1024, `${slot}: retained grew from ${first.get(slot)} to ${r.retained}`);
      assert.equal(r.safeSize, undefined, `${slot}: no safe size when unlimited`);
      assert.equal(r.lossSeconds, undefined, `${slot}: no loss time when unlimited`);
      assert.ok(r.state === 'reserved' || r.state === 'extended', `${slot}: ${r.state}`);
      for (const s of seen.get(slot) ?? []) assert.equal(s.status.retention?.lossSeconds, undefined);
    }
    // Exported: retained WAL, no safe size and no loss time.
    await waitUntil('the unlimited slots scraped', 15_000, async () => (await prometheus.query('replication_slot_retained_bytes{replication_node_id=~".*_unlimited"}')).length === 2);
    assert.deepEqual(await prometheus.query('replication_slot_safe_size_bytes{replication_node_id=~".*_unlimited"}'), []);
    assert.deepEqual(await prometheus.query('replication_slot_loss_time_seconds{replication_node_id=~".*_unlimited"}'), []);
  });
});
