/**
 * `replag` started during an incident (issue 11, point 3): a replica already ~20 s behind under load must not come
 * out `normal` (nor with a made-up 0 s delay when the system reports one) on replag's first poll. Two real systems:
 * - PostgreSQL 15, standby replay paused (`pg_wal_replay_pause()`): `replay_lag` reports the delay;
 * - MariaDB 10.11, replica SQL thread stopped: `Seconds_Behind_Master` is NULL, so the delay is unknown.
 * replag runs as a subprocess with `--output plain`: its first summary line is its first poll.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startMariaDbCluster, type MariaDbCluster } from '../harness/mariadb.ts';
import { startPostgresCluster, type PostgresCluster } from '../harness/postgresql.ts';
import { runNode } from '../helpers/run-node.ts';

delete process.env.PGSSLMODE;

const CLI = 'src/cli/replag.ts';
const PORTS = { minPort: 25000, maxPort: 27000 };
const BEHIND_MS = 20_000;
const MYSQL_PASSWORD = 'firstPoll-Pw-8s2m';

/** The summary lines replag printed (one per poll), in order. */
function summaries(stdout: string): string[] {
  return stdout.split('\n').filter((line) => / nodes=\d+ normal=\d+ /.test(line));
}

/** `replag <args> --output plain` for a few polls; the result, after checking it exited 0. */
async function replag(args: string[], env: Record<string, string> = {}) {
  const result = await runNode([CLI, ...args, '--interval', '500', '--duration', '3', '--output', 'plain'], { env, timeoutMs: 30_000 });
  assert.equal(result.code, 0, result.stderr);
  return result;
}

describe('replag started while a replica is already ~20 s behind', () => {
  let pg: PostgresCluster;
  let maria: MariaDbCluster;
  let pgLoad: { stop(): Promise<void> } | undefined;
  let mariaLoad: { stop(): Promise<void> } | undefined;
  let paused = false;
  let sqlThreadStopped = false;

  before(async () => {
    [pg, maria] = await Promise.all([startPostgresCluster({ standbys: [{ name: 'standby' }], portRange: [PORTS.minPort, PORTS.maxPort] }), startMariaDbCluster(PORTS)]);
    await maria.sql('primary', `CREATE USER 'replag'@'%' IDENTIFIED BY '${MYSQL_PASSWORD}'; GRANT REPLICA MONITOR ON *.* TO 'replag'@'%';`);
    await maria.waitCaughtUp();
    // Both incidents start now and run together under load.
    pgLoad = pg.startLoad(100);
    mariaLoad = await maria.startLoad(100);
    await pg.standby('standby').query('SELECT pg_wal_replay_pause()');
    paused = true;
    await maria.sql('replica', 'STOP REPLICA SQL_THREAD');
    sqlThreadStopped = true;
    await new Promise((resolve) => setTimeout(resolve, BEHIND_MS));
  });

  after(async () => {
    await pgLoad?.stop().catch(() => {});
    await mariaLoad?.stop().catch(() => {});
    if (paused) await pg.standby('standby').query('SELECT pg_wal_replay_resume()').catch(() => {});
    if (sqlThreadStopped) await maria.sql('replica', 'START REPLICA SQL_THREAD').catch(() => {});
    await pg?.close();
    await maria?.close();
  });

  it('PostgreSQL, replay paused: the first poll shows the reported delay (~20 s, warning), not 0 s / normal', async () => {
    const { stdout } = await replag(['postgres', '--url', pg.url()]);
    const [first] = summaries(stdout);
    console.log(`# PostgreSQL, first poll: ${first}`);
    assert.match(first ?? '', / nodes=1 normal=0 warning=1 /, stdout);
    const delay = Number(/max_delay=([\d.]+)s/.exec(first!)?.[1]);
    assert.ok(delay >= 15 && delay < 30, `first poll: max_delay ${delay} s, replay paused for over ${BEHIND_MS / 1000} s: ${first}`);
    assert.doesNotMatch(stdout, /^ALERT NORMAL/m);
  });

  it('MariaDB, SQL thread stopped (Seconds_Behind_Master NULL): never normal on the first poll (the delay is unknown)', async () => {
    const url = (server: 'primary' | 'replica') => `mysql://replag@127.0.0.1:${maria.port(server)}`;
    const { stdout } = await replag(['mysql', '--primary', url('primary'), '--replica', url('replica')], { MYSQL_PWD: MYSQL_PASSWORD });
    const lines = summaries(stdout);
    console.log(`# MariaDB, first poll: ${lines[0]}`);
    assert.match(lines[0] ?? '', / nodes=1 normal=0 /, stdout);
    for (const line of lines) assert.match(line, / nodes=1 normal=0 /, `a replica far behind is never normal: ${stdout}`);
    assert.doesNotMatch(stdout, /^ALERT NORMAL/m);
  });
});
