/**
 * PostgresSource against a real PostgreSQL 15 primary with two streaming standbys (Debian packages, run as the
 * `postgres` OS user on 127.0.0.1): replica-a uses the physical slot `replica_a_slot` (its node id), replica-b
 * has no slot (node id: its application_name). The primary's WAL starts above 2^53 bytes, so every position
 * checked here would lose precision as a number.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import { ReplicationLagMonitor } from '../../src/monitor.ts';
import { startPoller, type Poller } from '../../src/sources/poller.ts';
import { parseLsn, PostgresSource, type PostgresSourceOptions } from '../../src/sources/postgresql.ts';
import type { ReplicaPosition } from '../../src/sources/source.ts';
import { findFreePort, startPostgresCluster, waitUntil, type PostgresCluster } from '../harness/postgresql.ts';

const PORTS: [number, number] = [21000, 22000];
/** The monitoring role's password: distinctive, with URL-special characters. It must appear in no error. */
const PASSWORD = 'Pg-S3cret_xq7!@:/%';
const A = 'replica_a_slot';
const B = 'replica-b';
/** Node ids in the order the source reports them (sorted by code point). */
const IDS = [B, A];
const WAL_START_HIGH = 0xabcdef; // LSN ABCDEF/0 = 48358647050649600 bytes > 2^53

let cluster: PostgresCluster;
const opened: PostgresSource[] = [];

/** A source closed at the end whatever happens. */
function source(options: PostgresSourceOptions): PostgresSource {
  const s = new PostgresSource(options);
  opened.push(s);
  return s;
}

/** Pollers started by `watch`, stopped after each test whatever happens. */
const pollers: Poller[] = [];

/** A monitor fed by a poller (100 ms) over `src`, with a 2 s stall timeout. */
function watch(src: PostgresSource) {
  const monitor = new ReplicationLagMonitor({ stallTimeoutSeconds: 2 });
  const errors: Error[] = [];
  pollers.push(startPoller({ source: src, monitor, intervalMs: 100, onError: (e) => errors.push(e) }));
  return { monitor, errors };
}

const byId = (replicas: readonly ReplicaPosition[]) => new Map(replicas.map((r) => [r.nodeId, r]));

async function rejection(promise: Promise<unknown>): Promise<{ error: Error; ms: number }> {
  const t0 = Date.now();
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error);
    return { error, ms: Date.now() - t0 };
  }
  assert.fail('expected a rejection');
}

function assertNoSecret(message: string): void {
  for (const s of [PASSWORD, encodeURIComponent(PASSWORD), 'S3cret']) assert.ok(!message.includes(s), `message leaks the password: ${message}`);
}

describe('parseLsn', () => {
  test('reads X/Y as (X << 32) | Y, exactly over 64 bits', () => {
    assert.equal(parseLsn('0/0'), 0n);
    assert.equal(parseLsn('0/16B3748'), 0x16b3748n);
    assert.equal(parseLsn('16/B374D848'), 0x16b374d848n);
    assert.equal(parseLsn('abcdef/c38'), 0xabcdef00000c38n);
    assert.equal(parseLsn('FFFFFFFF/FFFFFFFF'), 2n ** 64n - 1n);
  });

  test('rejects anything else with a RangeError', () => {
    for (const bad of ['', '0', '0/', '/0', '1/2/3', 'G/0', ' 0/0', '0/0 ', '123456789/0', '0/123456789', '-1/0', '0x1/0']) {
      assert.throws(() => parseLsn(bad), RangeError, bad);
    }
  });
});

after(async () => {
  for (const s of opened) await s.close();
});

describe('PostgresSource options', () => {
  test('bad options throw naming the option, before any I/O and without echoing a password', async () => {
    // A TCP server that counts connections: nothing may reach it until the first poll.
    let connections = 0;
    const sockets: Socket[] = [];
    const server = createServer((s) => {
      connections++;
      sockets.push(s);
    });
    const port = await findFreePort(...PORTS);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      const url = `postgres://watcher:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/postgres`;
      const cases: [unknown, new (...args: never[]) => Error, RegExp][] = [
        [undefined, TypeError, /PostgresSourceOptions/],
        [{}, TypeError, /PostgresSourceOptions\.url/],
        [{ url: 42 }, TypeError, /PostgresSourceOptions\.url/],
        [{ url: 'not a url' }, RangeError, /PostgresSourceOptions\.url/],
        [{ url: `mysql://watcher:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/db` }, RangeError, /PostgresSourceOptions\.url must be a postgres:\/\/ or postgresql:\/\/ URL, got "mysql:\/\/127\.0\.0\.1:\d+\/db"/],
        [{ url: `http://watcher:${encodeURIComponent(PASSWORD)}@127.0.0.1/` }, RangeError, /PostgresSourceOptions\.url/],
        [{ url: 'postgres:///postgres' }, RangeError, /PostgresSourceOptions\.url must name the primary's host/],
        [{ url, password: 123 }, TypeError, /PostgresSourceOptions\.password/],
        [{ url, timeoutMs: '5000' }, TypeError, /PostgresSourceOptions\.timeoutMs/],
        [{ url, timeoutMs: 0 }, RangeError, /PostgresSourceOptions\.timeoutMs/],
        [{ url, timeoutMs: -1 }, RangeError, /PostgresSourceOptions\.timeoutMs/],
        [{ url, timeoutMs: Number.NaN }, RangeError, /PostgresSourceOptions\.timeoutMs/],
        [{ url, timeoutMs: Number.POSITIVE_INFINITY }, RangeError, /PostgresSourceOptions\.timeoutMs/],
        [{ url, timeoutMs: 1.5 }, RangeError, /PostgresSourceOptions\.timeoutMs/],
      ];
      for (const [options, type, message] of cases) {
        assert.throws(
          () => new PostgresSource(options as PostgresSourceOptions),
          (error: Error) => {
            assert.ok(error instanceof type, `${String(error)} for ${JSON.stringify(options)}`);
            assert.match(error.message, message);
            assertNoSecret(error.message);
            return true;
          },
        );
      }
      // A valid source does no I/O either until polled (lazy connect)...
      const lazy = source({ url, timeoutMs: 300 });
      assert.equal(lazy.name, 'postgresql');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(connections, 0);
      // ...and its first poll connects: a server that accepts and never answers is a timeout, not a hang.
      const { error, ms } = await rejection(lazy.poll());
      assert.equal(connections, 1);
      assert.match(error.message, /^PostgreSQL primary postgres:\/\/127\.0\.0\.1:\d+\/postgres: no answer within 300 ms while connecting/);
      assert.ok(ms < 1000, `took ${ms} ms`);
      assertNoSecret(error.message);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('PostgresSource on a primary with two standbys', () => {
  before(async () => {
    cluster = await startPostgresCluster({ standbys: [{ name: 'replica-a', slot: A }, { name: B }], portRange: PORTS, walStartHigh: WAL_START_HIGH });
    await cluster.createRole('watcher', PASSWORD);
  });

  afterEach(async () => {
    for (const p of pollers.splice(0)) await p.stop();
  });

  after(async () => {
    for (const p of pollers.splice(0)) await p.stop();
    for (const s of opened) await s.close();
    await cluster?.close();
  });

  test("reports the primary's pg_current_wal_lsn and each standby's replay_lsn exactly, as bigints", async () => {
    const src = source({ url: cluster.url() });
    await cluster.write(500);
    await cluster.waitCaughtUp();
    // The server's own byte arithmetic (pg_wal_lsn_diff, numeric) is the reference, not our parser.
    const snapshot = async () => {
      const [p] = await cluster.primary.query<{ bytes: string; senders: { name: string; pid: number; bytes: string | null }[]; slotPid: number | null }>(
        `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS bytes,
                (SELECT json_agg(json_build_object('name', application_name, 'pid', pid, 'bytes', pg_wal_lsn_diff(replay_lsn, '0/0')::text)) FROM pg_stat_replication) AS senders,
                (SELECT active_pid FROM pg_replication_slots WHERE slot_name = '${A}') AS "slotPid"`,
      );
      const own: Record<string, string> = {};
      for (const name of ['replica-a', 'replica-b']) {
        const [r] = await cluster.standby(name).query<{ bytes: string }>("SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::text AS bytes");
        own[name] = r!.bytes;
      }
      return { ...p!, own };
    };
    let polled: readonly ReplicaPosition[] = [];
    let server = await snapshot();
    // Retry until nothing moved during the poll and the primary's view of each standby is the standby's own.
    await waitUntil('a quiet moment to compare positions', 15_000, async () => {
      const first = await snapshot();
      polled = await src.poll();
      server = await snapshot();
      return JSON.stringify(first) === JSON.stringify(server) && server.senders.every((s) => s.bytes === server.own[s.name]);
    }, 100);

    const leader = BigInt(server.bytes);
    assert.ok(leader > 2n ** 53n, `leader LSN ${leader} should be above 2^53`);
    assert.deepEqual(polled.map((r) => r.nodeId), IDS);
    const senderA = server.senders.find((s) => s.name === 'replica-a')!;
    assert.equal(senderA.pid, server.slotPid, 'replica-a streams through its slot');
    for (const [id, name] of [[A, 'replica-a'], [B, 'replica-b']] as const) {
      const r = byId(polled).get(id)!;
      assert.equal(typeof r.leaderSeq, 'bigint');
      assert.equal(typeof r.followerSeq, 'bigint');
      assert.equal(r.leaderSeq, leader);
      assert.equal(r.followerSeq, BigInt(server.own[name]!), `${id} follower = ${name}'s own pg_last_wal_replay_lsn()`);
      assert.equal(r.lagSeconds, undefined, 'the delay is left to the monitor');
    }
    assert.deepEqual(byId(polled).get(A)!.attributes, { 'replication.system': 'postgresql', 'server.address': '127.0.0.1', 'postgresql.replication.slot': A });
    assert.deepEqual(byId(polled).get(B)!.attributes, { 'replication.system': 'postgresql', 'server.address': '127.0.0.1' });
  });

  test('after writes with the standbys caught up: lagEntries 0, severity normal', async () => {
    const { monitor, errors } = watch(source({ url: cluster.url() }));
    await cluster.write(2000);
    const written = parseLsn(await cluster.waitCaughtUp());
    await waitUntil('both standbys caught up in the monitor', 10_000, () =>
      [A, B].every((id) => {
        const s = monitor.getStatus(id);
        return s !== undefined && (s.leaderSeq as bigint) >= written && s.lagEntries === 0 && s.severity === 'normal';
      }),
    );
    assert.deepEqual(errors, []);
  });

  test('walreceiver SIGSTOPped: follower frozen while the leader advances → stalled; SIGCONT → caught up, normal', async () => {
    const { monitor, errors } = watch(source({ url: cluster.url() }));
    const walReceiver = await cluster.walReceiverPid('replica-a');
    const load = cluster.startLoad();
    try {
      await waitUntil(`${A} known`, 5000, () => monitor.getStatus(A) !== undefined);
      cluster.suspend([walReceiver]);
      await waitUntil(`${A} stalled`, 10_000, () => monitor.getStatus(A)?.severity === 'stalled');
      const first = monitor.getStatus(A)!;
      await waitUntil('the leader to advance', 5000, () => (monitor.getStatus(A)!.leaderSeq as bigint) > (first.leaderSeq as bigint));
      const later = monitor.getStatus(A)!;
      assert.equal(later.followerSeq, first.followerSeq, 'the follower position is frozen');
      assert.ok(later.lagEntries > 0);
      assert.equal(later.severity, 'stalled');
      assert.notEqual(monitor.getStatus(B)?.severity, 'stalled', 'replica-b keeps replaying');
    } finally {
      cluster.continue([walReceiver]);
      await load.stop();
    }
    await waitUntil(`${A} caught up`, 15_000, () => monitor.getStatus(A)?.lagEntries === 0 && monitor.getStatus(A)?.severity === 'normal');
    assert.deepEqual(errors, []);
  });

  test('replay paused on the standby (pg_wal_replay_pause): stalled while it still receives; resumed → normal', async () => {
    const { monitor, errors } = watch(source({ url: cluster.url() }));
    const standby = cluster.standby('replica-b');
    const load = cluster.startLoad();
    try {
      await waitUntil(`${B} known`, 5000, () => monitor.getStatus(B) !== undefined);
      await standby.query('SELECT pg_wal_replay_pause()');
      await waitUntil(`${B} stalled`, 10_000, () => monitor.getStatus(B)?.severity === 'stalled');
      const status = monitor.getStatus(B)!;
      const [own] = await standby.query<{ receive: string; replay: string }>(
        "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), '0/0')::text AS receive, pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::text AS replay",
      );
      assert.equal(status.followerSeq, BigInt(own!.replay), 'the follower is the paused replay position');
      assert.ok(BigInt(own!.receive) > BigInt(own!.replay), 'WAL still arrives, it is only not applied');
      assert.notEqual(monitor.getStatus(A)?.severity, 'stalled');
    } finally {
      await standby.query('SELECT pg_wal_replay_resume()');
      await load.stop();
    }
    await waitUntil(`${B} caught up`, 15_000, () => monitor.getStatus(B)?.lagEntries === 0 && monitor.getStatus(B)?.severity === 'normal');
    assert.deepEqual(errors, []);
  });

  test('walsender dropped after wal_sender_timeout: the slot keeps the standby reported, frozen, stalled, same id', async () => {
    const src = source({ url: cluster.url() });
    const { monitor, errors } = watch(src);
    await cluster.primary.query("ALTER SYSTEM SET wal_sender_timeout = '1s'");
    await cluster.primary.query('SELECT pg_reload_conf()');
    const walReceiver = await cluster.walReceiverPid('replica-a');
    const load = cluster.startLoad();
    try {
      await waitUntil(`${A} known`, 5000, () => monitor.getStatus(A) !== undefined);
      cluster.suspend([walReceiver]);
      await waitUntil('the walsender of replica-a to be gone', 10_000, async () => {
        const rows = await cluster.primary.query("SELECT 1 FROM pg_stat_replication WHERE application_name = 'replica-a'");
        return rows.length === 0;
      });
      const [slot] = await cluster.primary.query<{ active: boolean }>(`SELECT active FROM pg_replication_slots WHERE slot_name = '${A}'`);
      assert.equal(slot!.active, false);
      const polled = byId(await src.poll()).get(A);
      assert.ok(polled !== undefined, 'still reported through its slot');
      assert.equal(polled.attributes?.['server.address'], '127.0.0.1', 'with the attributes it had');
      await waitUntil(`${A} stalled`, 10_000, () => monitor.getStatus(A)?.severity === 'stalled');
      assert.equal(monitor.getStatus(A)!.followerSeq, polled.followerSeq, 'frozen');
    } finally {
      cluster.continue([walReceiver]);
      await load.stop();
      await cluster.primary.query('ALTER SYSTEM RESET wal_sender_timeout');
      await cluster.primary.query('SELECT pg_reload_conf()');
    }
    await waitUntil(`${A} reconnected and caught up`, 15_000, () => monitor.getStatus(A)?.lagEntries === 0 && monitor.getStatus(A)?.severity === 'normal');
    assert.deepEqual(errors, []);
  });

  test('standbys stopped with pg_ctl: the slot standby stays reported (frozen at its last replay → stalled), the slotless one disappears', async () => {
    const src = source({ url: cluster.url() });
    const { monitor, errors } = watch(src);
    const a = cluster.standby('replica-a');
    const b = cluster.standby(B);
    try {
      // replica-a stops replaying first, so it goes down having received (flushed) more WAL than it applied.
      await a.query('SELECT pg_wal_replay_pause()');
      await waitUntil('replay paused on replica-a', 5000, async () => (await a.query("SELECT pg_get_wal_replay_pause_state() = 'paused' AS p"))[0]?.p === true, 50);
      const [own] = await a.query<{ lsn: string; bytes: string }>("SELECT pg_last_wal_replay_lsn()::text AS lsn, pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::text AS bytes");
      const replayed = BigInt(own!.bytes);
      await cluster.write(500);
      await waitUntil('the primary to see replica-a flushed past its replay position', 10_000, async () => {
        const [r] = await cluster.primary.query<{ ok: boolean }>(
          "SELECT flush_lsn > replay_lsn AND replay_lsn = $1::pg_lsn AS ok FROM pg_stat_replication WHERE application_name = 'replica-a'",
          [own!.lsn],
        );
        return r?.ok === true;
      }, 50);
      // Polled now, after the primary saw the flush: what the source last saw of replica-a is its replay position.
      assert.equal(byId(await src.poll()).get(A)?.followerSeq, replayed, 'replay_lsn, not flush_lsn');

      await a.stop();
      await b.stop();
      await waitUntil('the walsenders to be gone', 10_000, async () => (await cluster.primary.query('SELECT 1 FROM pg_stat_replication')).length === 0, 50);
      const polled = await src.poll();
      assert.deepEqual(polled.map((r) => r.nodeId), [A], 'replica-b is gone; replica-a stays, through its slot');
      assert.equal(polled[0]!.followerSeq, replayed, 'at the replay position last seen');
      assert.equal(polled[0]!.attributes?.['server.address'], '127.0.0.1');
      // A source that never saw it connected can only report the slot's restart_lsn: the standby's last flush.
      const [slot] = await cluster.primary.query<{ bytes: string; active: boolean }>(
        `SELECT pg_wal_lsn_diff(restart_lsn, '0/0')::text AS bytes, active FROM pg_replication_slots WHERE slot_name = '${A}'`,
      );
      assert.equal(slot!.active, false);
      assert.ok(BigInt(slot!.bytes) > replayed);
      const fresh = await source({ url: cluster.url() }).poll();
      assert.deepEqual(fresh.map((r) => [r.nodeId, r.followerSeq, r.attributes]), [[A, BigInt(slot!.bytes), { 'replication.system': 'postgresql', 'postgresql.replication.slot': A }]]);

      await waitUntil(`${B} forgotten by the poller`, 5000, () => monitor.getStatus(B) === undefined);
      await waitUntil(`${A} stalled`, 10_000, () => monitor.getStatus(A)?.severity === 'stalled');
      assert.equal(monitor.getStatus(A)!.followerSeq, replayed);
      assert.ok(monitor.getStatus(A)!.lagEntries > 0);
    } finally {
      if (!a.running) await a.start();
      if (!b.running) await b.start();
      await a.query('SELECT pg_wal_replay_resume()').catch(() => {}); // a restart resumes replay anyway
    }
    await cluster.waitStreaming(2);
    await waitUntil('both back and caught up', 15_000, () =>
      [A, B].every((id) => monitor.getStatus(id)?.lagEntries === 0 && monitor.getStatus(id)?.severity === 'normal'),
    );
    assert.deepEqual(errors, []);
  });

  test('privileges: without pg_monitor the error says which GRANT fixes it; with pg_monitor it works', async () => {
    const watcher = source({ url: cluster.url('watcher'), password: PASSWORD });
    const { error } = await rejection(watcher.poll());
    assert.match(error.message, /^PostgreSQL primary postgres:\/\/127\.0\.0\.1:\d+\/postgres: role watcher cannot read/);
    assert.match(error.message, /GRANT pg_monitor TO watcher;/);
    assertNoSecret(error.message);

    await cluster.primary.query('GRANT pg_monitor TO watcher');
    try {
      await cluster.waitCaughtUp();
      const asWatcher = await watcher.poll();
      const asSuperuser = await source({ url: cluster.url() }).poll();
      assert.deepEqual(asWatcher.map((r) => [r.nodeId, r.attributes]), asSuperuser.map((r) => [r.nodeId, r.attributes]));
      assert.deepEqual(asWatcher.map((r) => r.nodeId), IDS);
      for (const r of asWatcher) assert.ok(typeof r.followerSeq === 'bigint' && r.followerSeq > 2n ** 53n);
    } finally {
      await cluster.primary.query('REVOKE pg_monitor FROM watcher');
    }
    // The error comes back with the grant revoked (checked on every poll, on the same connection).
    assert.match((await rejection(watcher.poll())).error.message, /GRANT pg_monitor TO watcher;/);
    // pg_read_all_stats, the part of pg_monitor that matters here, is enough on its own.
    await cluster.createRole('statsreader', PASSWORD);
    await cluster.primary.query('GRANT pg_read_all_stats TO statsreader');
    assert.deepEqual((await source({ url: cluster.url('statsreader'), password: PASSWORD }).poll()).map((r) => r.nodeId), IDS);
  });

  test('pointed at a standby: rejects, telling to point at the primary', async () => {
    const { error } = await rejection(source({ url: cluster.url('postgres', cluster.standby(B)) }).poll());
    assert.match(error.message, /^PostgreSQL primary postgres:\/\/127\.0\.0\.1:\d+\/postgres is a standby \(pg_is_in_recovery\(\) is true\): point PostgresSourceOptions\.url at the primary/);
  });

  test('wrong password, no password, refused port: clear errors, never the password', async () => {
    const wrong = await rejection(source({ url: cluster.url('watcher'), password: `${PASSWORD}-wrong` }).poll());
    assert.match(wrong.error.message, /password authentication failed for user "watcher": check the password/);
    assertNoSecret(wrong.error.message);

    const inUrl = `postgres://watcher:${encodeURIComponent(`${PASSWORD}-wrong`)}@127.0.0.1:${cluster.primary.port}/postgres`;
    const wrongInUrl = await rejection(source({ url: inUrl }).poll());
    assert.match(wrongInUrl.error.message, /password authentication failed for user "watcher"/);
    assertNoSecret(wrongInUrl.error.message);

    const none = await rejection(source({ url: cluster.url('watcher') }).poll());
    assert.match(none.error.message, /asks for a password and none was given/);

    const port = await findFreePort(...PORTS);
    const refused = await rejection(source({ url: `postgresql://watcher:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/postgres`, timeoutMs: 2000 }).poll());
    assert.match(refused.error.message, new RegExp(`^PostgreSQL primary postgresql://127\\.0\\.0\\.1:${port}/postgres: connection refused`));
    assert.ok(refused.ms < 2000, `took ${refused.ms} ms`);
    assertNoSecret(refused.error.message);
  });

  test('SIGSTOPped primary: poll rejects within timeoutMs, connected or connecting; reconnects after SIGCONT', async () => {
    await cluster.primary.query('GRANT pg_monitor TO watcher');
    try {
      const connected = source({ url: cluster.url('watcher'), password: PASSWORD, timeoutMs: 1000 });
      await connected.poll();
      const fresh = source({ url: cluster.url('watcher'), password: PASSWORD, timeoutMs: 1000 });
      const pids = cluster.primary.pids();
      assert.ok(pids.length > 3, 'postmaster and its children');
      cluster.suspend(pids);
      try {
        const [querying, connecting] = await Promise.all([rejection(connected.poll()), rejection(fresh.poll())]);
        assert.match(querying.error.message, /^PostgreSQL primary postgres:\/\/127\.0\.0\.1:\d+\/postgres: no answer within 1000 ms while querying pg_stat_replication/);
        assert.match(connecting.error.message, /no answer within 1000 ms while connecting/);
        for (const r of [querying, connecting]) {
          assert.ok(r.ms >= 900 && r.ms < 2000, `rejected after ${r.ms} ms`);
          assertNoSecret(r.error.message);
        }
        // close() does not hang on a stopped server either.
        const t0 = Date.now();
        await fresh.close();
        assert.ok(Date.now() - t0 < 1000);
      } finally {
        cluster.continue(pids);
      }
      const replicas = await connected.poll();
      assert.deepEqual(replicas.map((r) => r.nodeId), IDS);
    } finally {
      await cluster.primary.query('REVOKE pg_monitor FROM watcher');
    }
  });

  test('close() is idempotent, later polls reject, and the socket is released', async () => {
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    const before = sockets();
    const src = new PostgresSource({ url: cluster.url() });
    const [first, second] = await Promise.all([src.poll(), src.poll()]);
    assert.equal(first, second, 'concurrent polls share one query');
    assert.equal(sockets(), before + 1, 'one connection while open');
    await Promise.all([src.close(), src.close()]);
    await src.close();
    await waitUntil('the socket to be released', 2000, () => sockets() === before, 20);
    const { error } = await rejection(src.poll());
    assert.match(error.message, /the source is closed/);
    // A source never polled closes at once too.
    await new PostgresSource({ url: cluster.url() }).close();
  });
});
