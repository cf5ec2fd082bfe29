/**
 * Measures the heartbeat delay (1 s interval) beside the system's own figure in the faults of the README's
 * measured comparison, on real PostgreSQL 15 (primary + a standby with a physical slot) and MariaDB 10.11 (primary
 * + GTID replica), under a write every 100 ms. Truth: PostgreSQL, the standby's `now() − pg_last_xact_replay_timestamp()`;
 * MariaDB, the time since the fault began (or the configured delay). Prints one line per sample.
 * Run: `node scripts/measure-heartbeat.ts` (as root: the harnesses start the servers as their service users).
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { MySqlSource } from '../src/sources/mysql.ts';
import { PostgresSource } from '../src/sources/postgresql.ts';
import { startMariaDbCluster } from '../test/harness/mariadb.ts';
import { startPostgresCluster } from '../test/harness/postgresql.ts';

delete process.env.PGSSLMODE;
const f = (x: number | undefined) => (x === undefined ? '—' : x.toFixed(2));

async function postgres(): Promise<void> {
  const cluster = await startPostgresCluster({ standbys: [{ name: 'sb', slot: 'sb_slot' }], portRange: [18000, 18300] });
  const sb = cluster.standby('sb');
  const source = new PostgresSource({ url: cluster.url(), heartbeat: { intervalMs: 1000 }, standbys: [cluster.url('postgres', sb)], onReplicaError: () => {} });
  const load = cluster.startLoad(100);
  const truth = async () => Number((await sb.query<{ t: number }>('SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS t'))[0]!.t);
  const sample = async (label: string) => {
    const [p] = await source.poll();
    console.log(`postgres | ${label} | replay_lag ${f(p?.reportedDelaySeconds)} | heartbeat ${f(p?.heartbeatDelaySeconds)} | truth ${f(await truth())}`);
  };
  const episode = async (label: string, start: () => Promise<void>, stop: () => Promise<void>) => {
    await start();
    const t0 = performance.now();
    try {
      for (const at of [4, 8, 12]) {
        await sleep(Math.max(0, t0 + at * 1000 - performance.now()));
        await sample(`${label} ${at} s`);
      }
    } finally {
      await stop();
    }
    await cluster.waitCaughtUp();
    await sleep(2000);
  };
  const childWith = (name: string) => sb.pids().find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(name);
    } catch {
      return false;
    }
  })!;
  try {
    for (let i = 0; i < 5; i++) await source.poll();
    await sample('healthy');
    await episode('replay paused', async () => void (await sb.query('SELECT pg_wal_replay_pause()')), async () => void (await sb.query('SELECT pg_wal_replay_resume()')));
    const startup = childWith('startup');
    await episode('startup SIGSTOP', async () => cluster.suspend([startup]), async () => cluster.continue([startup]));
    const walreceiver = await cluster.walReceiverPid('sb');
    await episode('walreceiver SIGSTOP', async () => cluster.suspend([walreceiver]), async () => cluster.continue([walreceiver]));
    await sb.query("ALTER SYSTEM SET recovery_min_apply_delay = '10s'");
    await sb.query('SELECT pg_reload_conf()');
    await sleep(15_000);
    await sample('recovery_min_apply_delay 10s');
    await sleep(1000);
    await sample('recovery_min_apply_delay 10s');
    await sb.query('ALTER SYSTEM RESET recovery_min_apply_delay');
    await sb.query('SELECT pg_reload_conf()');
    await cluster.waitCaughtUp(30_000);
    const conninfo = String(Object.values((await sb.query("SHOW primary_conninfo"))[0] ?? {})[0] ?? "");
    await sb.query("ALTER SYSTEM SET primary_conninfo = ''");
    await sb.query('SELECT pg_reload_conf()');
    await sleep(8000);
    await sample('walreceiver stopped 8 s');
    await sb.query(`ALTER SYSTEM SET primary_conninfo = '${conninfo.replaceAll("'", "''")}'`);
    await sb.query('SELECT pg_reload_conf()');
  } finally {
    await load.stop().catch(() => {});
    await source.close();
    await cluster.close();
  }
}

async function mariadb(): Promise<void> {
  const cluster = await startMariaDbCluster({ minPort: 18300, maxPort: 18600 });
  await cluster.sql('primary', "CREATE USER 'replag'@'%' IDENTIFIED BY 'm-pw'; GRANT REPLICA MONITOR ON *.* TO 'replag'@'%'; GRANT CREATE, SELECT, INSERT, UPDATE ON app.* TO 'replag'@'%';");
  await cluster.waitCaughtUp();
  const url = (s: 'primary' | 'replica') => `mysql://replag:m-pw@127.0.0.1:${cluster.port(s)}${s === 'primary' ? '/app' : ''}`;
  const source = new MySqlSource({ primary: url('primary'), replicas: [url('replica')], heartbeat: { intervalMs: 1000 }, onReplicaError: () => {} });
  const load = await cluster.startLoad(100);
  const sample = async (label: string, truth: number) => {
    const [p] = await source.poll();
    console.log(`mariadb | ${label} | Seconds_Behind_Master ${f(p?.reportedDelaySeconds)} | heartbeat ${f(p?.heartbeatDelaySeconds)} | truth ${f(truth)}`);
  };
  const episode = async (label: string, start: () => Promise<unknown>, stop: () => Promise<unknown>) => {
    await start();
    const t0 = performance.now();
    try {
      for (const at of [4, 8, 12]) {
        await sleep(Math.max(0, t0 + at * 1000 - performance.now()));
        await sample(`${label} ${at} s`, (performance.now() - t0) / 1000);
      }
    } finally {
      await stop();
    }
    await cluster.waitCaughtUp();
    await sleep(2000);
  };
  try {
    for (let i = 0; i < 5; i++) await source.poll();
    await sample('healthy', 0);
    await episode('SQL thread stopped', () => cluster.sql('replica', 'STOP REPLICA SQL_THREAD'), () => cluster.sql('replica', 'START REPLICA SQL_THREAD'));
    await episode('IO thread stopped', () => cluster.sql('replica', 'STOP REPLICA IO_THREAD'), () => cluster.sql('replica', 'START REPLICA IO_THREAD'));
    await cluster.sql('replica', 'STOP REPLICA; CHANGE MASTER TO MASTER_DELAY=10; START REPLICA;');
    await sleep(15_000);
    await sample('MASTER_DELAY=10', 10);
    await cluster.sql('replica', 'STOP REPLICA; CHANGE MASTER TO MASTER_DELAY=0; START REPLICA;');
    await cluster.waitCaughtUp(30_000);
    await episode('replica SIGSTOPped', () => cluster.signal('replica', 'SIGSTOP'), () => cluster.signal('replica', 'SIGCONT'));
  } finally {
    await load.stop().catch(() => {});
    await source.close();
    await cluster.close();
  }
}

await postgres();
await mariadb();
