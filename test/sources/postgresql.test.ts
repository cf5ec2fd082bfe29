/**
 * PostgresSource against a real PostgreSQL 15 primary with two streaming standbys (Debian packages, run as the
 * `postgres` OS user on 127.0.0.1): replica-a uses the physical slot `replica_a_slot` (its node id), replica-b
 * has no slot (node id: its application_name). The primary's WAL starts above 2^53 bytes, so every position
 * checked here would lose precision as a number.
 *
 * The same primary serves TLS (test CA, certificate for 127.0.0.1 and localhost): the roles above connect over
 * plain TCP, while `replag_tls` (SCRAM) and `replag` (client certificate, CN=replag) are refused without TLS.
 *
 * Multi-host URLs (libpq style, `host:port,host:port`) are checked on the same cluster (standbys listed before the
 * primary, no primary at all, TLS per host), and a failover on a small cluster of its own (primary + one standby),
 * which the test destroys: the primary frozen, the standby promoted, both stopped.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import { ReplicationLagMonitor } from '../../src/monitor.ts';
import { startPoller, type Poller } from '../../src/sources/poller.ts';
import { parseLsn, PostgresSource, type PostgresSourceOptions } from '../../src/sources/postgresql.ts';
import type { ReplicaPosition } from '../../src/sources/source.ts';
import { findFreePort, startPostgresCluster, waitUntil, type PgServer, type PostgresCluster } from '../harness/postgresql.ts';
import { ensureServiceUser } from '../harness/service-user.ts';
import { makeTestCertificates, type TestCertificates } from '../harness/tls.ts';

// The tests set PGSSLMODE themselves where they mean to; one in the environment would change the others.
delete process.env.PGSSLMODE;

const PORTS: [number, number] = [21000, 22000];
/** The monitoring role's password: distinctive, with URL-special characters. It must appear in no error. */
const PASSWORD = 'Pg-S3cret_xq7!@:/%';
const A = 'replica_a_slot';
const B = 'replica-b';
/** Node ids in the order the source reports them (sorted by code point). */
const IDS = [B, A];
const WAL_START_HIGH = 0xabcdef; // LSN ABCDEF/0 = 48358647050649600 bytes > 2^53

let cluster: PostgresCluster;
let certs: TestCertificates;
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

/** Runs `fn` with the environment variable `name` set to `value` (unset when undefined), then restores it. */
function withEnv<T>(name: string, value: string | undefined, fn: () => T): T {
  const before = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}

function assertNoSecret(message: string): void {
  for (const s of [PASSWORD, encodeURIComponent(PASSWORD), 'S3cret']) assert.ok(!message.includes(s), `message leaks the password: ${message}`);
  if (certs !== undefined) for (const key of [certs.client.key, certs.server.key]) assert.ok(!message.includes(key.split('\n')[1]!), `message leaks a private key: ${message}`);
}

/** The server's own view, byte positions as text computed by the server (pg_wal_lsn_diff), not by our parser. */
async function snapshot() {
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
}

/** Polls `src` until nothing moved during the poll and the primary's view of each standby is the standby's own. */
async function pollAtQuietMoment(src: PostgresSource) {
  let polled: readonly ReplicaPosition[] = [];
  let server = await snapshot();
  await waitUntil('a quiet moment to compare positions', 15_000, async () => {
    const first = await snapshot();
    polled = await src.poll();
    server = await snapshot();
    return JSON.stringify(first) === JSON.stringify(server) && server.senders.every((s) => s.bytes === server.own[s.name]);
  }, 100);
  return { polled, server };
}

/** The polled positions are exactly the server's: leader = pg_current_wal_lsn(), follower = each standby's own replay LSN. */
function assertPositions({ polled, server }: Awaited<ReturnType<typeof pollAtQuietMoment>>): void {
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

/** A TCP server on 127.0.0.1 that only counts connections (to prove that nothing connects before a poll). */
async function countingServer(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let count = 0;
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    count++;
    sockets.push(s);
  });
  const port = await findFreePort(...PORTS);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    connections: () => count,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('PostgresSource options', () => {
  test('bad options throw naming the option, before any I/O and without echoing a password', async () => {
    // A TCP server that counts connections: nothing may reach it until the first poll.
    const { port, connections, close } = await countingServer();
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
        [{ url, tls: 'yes' }, TypeError, /^PostgresSourceOptions\.tls must be an object/],
        [{ url, tls: { ca: '/etc/ssl/ca.pem' } }, RangeError, /^PostgresSourceOptions\.tls\.ca is not PEM text/],
        [{ url, tls: { verify: false } }, RangeError, /^PostgresSourceOptions\.tls\.verify is not a TLS option/],
        // The URL can switch TLS on or off, never verification off; contradictions are errors, not a silent pick.
        [{ url: `${url}?sslmode=disable`, tls: {} }, RangeError, /^PostgresSourceOptions\.url: sslmode=disable \(no TLS\) contradicts PostgresSourceOptions\.tls \(TLS\): keep one/],
        [{ url: `${url}?ssl=false&sslmode=require` }, RangeError, /ssl=false \(no TLS\) contradicts sslmode=require/],
        [{ url: `${url}?sslmode=disable&sslrootcert=/etc/ssl/ca.pem` }, RangeError, /sslmode=disable \(no TLS\) contradicts sslrootcert/],
        [{ url: `${url}?sslmode=no-verify` }, RangeError, /sslmode=no-verify would turn certificate verification off: .*tls: \{ rejectUnauthorized: false \}$/],
        [{ url: `${url}?ssl=no-verify`, tls: {} }, RangeError, /ssl=no-verify would turn certificate verification off/],
        [{ url: `${url}?sslmode=bogus` }, RangeError, /sslmode="bogus" is not an sslmode \(disable, allow, prefer, require, verify-ca, verify-full\)/],
        [{ url: `${url}?ssl=yes` }, RangeError, /ssl="yes" is not true, false, 1 or 0/],
        [{ url: `${url}?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem` }, RangeError, /^PostgresSourceOptions\.url: sslrootcert=\/nonexistent\/ca\.pem: cannot read the file \(ENOENT\)/],
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
      assert.equal(connections(), 0);
      // ...and its first poll connects: a server that accepts and never answers is a timeout, not a hang.
      const { error, ms } = await rejection(lazy.poll());
      assert.equal(connections(), 1);
      assert.match(error.message, /^PostgreSQL primary postgres:\/\/127\.0\.0\.1:\d+\/postgres: no answer within 300 ms while connecting/);
      assert.ok(ms < 1000, `took ${ms} ms`);
      assertNoSecret(error.message);
    } finally {
      await close();
    }
  });

  test('PGSSLMODE: no-verify or an unknown mode is refused like in the URL; ignored when the options or URL decide', () => {
    const url = 'postgres://watcher@127.0.0.1:5432/postgres';
    for (const [mode, message] of [['no-verify', /^PGSSLMODE \(environment\)=no-verify would turn certificate verification off/], ['bogus', /^PGSSLMODE \(environment\)="bogus" is not an sslmode/]] as const) {
      withEnv('PGSSLMODE', mode, () => {
        assert.throws(() => new PostgresSource({ url }), (e: Error) => e instanceof RangeError && message.test(e.message));
        for (const decided of [{ url, tls: {} }, { url: `${url}?sslmode=require` }, { url: `${url}?sslmode=disable` }]) new PostgresSource(decided);
      });
    }
  });

  test('which settings ask for TLS: a server that answers "no TLS" gets an SSLRequest exactly when TLS is wanted', async () => {
    // Stands in for a PostgreSQL server with ssl = off: answers 'N' to an SSLRequest, hangs up on a StartupMessage.
    const firsts: string[] = [];
    const server = createServer((socket) => {
      socket.once('data', (data: Buffer) => {
        const sslRequest = data.length >= 8 && data.readInt32BE(0) === 8 && data.readInt32BE(4) === 80877103;
        firsts.push(sslRequest ? 'SSLRequest' : 'StartupMessage');
        if (sslRequest) socket.end('N');
        else socket.destroy();
      });
    });
    const port = await findFreePort(...PORTS);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const url = `postgres://watcher:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/postgres`;
    try {
      const cases: [string, PostgresSourceOptions, string | undefined, boolean][] = [
        // [case, options, PGSSLMODE, TLS wanted]
        ['nothing said', { url }, undefined, false],
        ['tls: {}', { url, tls: {} }, undefined, true],
        ...['require', 'verify-ca', 'verify-full', 'prefer', 'allow'].map((m): [string, PostgresSourceOptions, undefined, boolean] => [`sslmode=${m}`, { url: `${url}?sslmode=${m}` }, undefined, true]),
        ['sslmode=disable', { url: `${url}?sslmode=disable` }, undefined, false],
        ['ssl=true', { url: `${url}?ssl=true` }, undefined, true],
        ['ssl=1', { url: `${url}?ssl=1` }, undefined, true],
        ['ssl=false (TLS for pg itself)', { url: `${url}?ssl=false` }, undefined, false],
        ['ssl=0', { url: `${url}?ssl=0` }, undefined, false],
        ['sslrootcert=system', { url: `${url}?sslrootcert=system` }, undefined, true],
        ['uselibpqcompat=true alone', { url: `${url}?uselibpqcompat=true` }, undefined, false],
        ['PGSSLMODE=require', { url }, 'require', true],
        ['PGSSLMODE=disable', { url }, 'disable', false],
        ['PGSSLMODE=require, URL sslmode=disable', { url: `${url}?sslmode=disable` }, 'require', false],
        ['PGSSLMODE=disable, tls: {}', { url, tls: {} }, 'disable', true],
      ];
      for (const [name, options, env, wanted] of cases) {
        const src = withEnv('PGSSLMODE', env, () => source({ ...options, timeoutMs: 3000 }));
        const { error } = await rejection(src.poll());
        assert.equal(firsts.at(-1), wanted ? 'SSLRequest' : 'StartupMessage', name);
        if (wanted) {
          assert.match(error.message, /^PostgreSQL primary postgres:\/\/127\.0\.0\.1:\d+\/postgres: the server does not accept TLS connections \(ssl = off in its postgresql\.conf\): turn ssl on there, or connect without TLS/, name);
        }
        assertNoSecret(error.message);
      }
      assert.equal(firsts.length, cases.length, 'one connection per case');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('PostgresSource with several hosts (libpq multi-host URL): URL checks', () => {
  test('an empty host, a bad port, an IPv6 address without brackets, host=/port= parameters, a standby or unknown target_session_attrs: RangeError before any I/O, no password', async () => {
    const { port, connections, close } = await countingServer();
    try {
      const user = `watcher:${encodeURIComponent(PASSWORD)}`;
      const url = (hosts: string, query = '') => `postgres://${user}@${hosts}/postgres${query}`;
      const here = `127.0.0.1:${port}`;
      const cases: [string, RegExp][] = [
        [url(`${here},,${here}`), /^PostgresSourceOptions\.url: host 2 of 3 is empty: separate hosts by single commas/],
        [url(`${here},`), /^PostgresSourceOptions\.url: host 2 of 2 is empty/],
        [url(`,${here}`), /^PostgresSourceOptions\.url: host 1 of 2 is empty/],
        [url(`${here},:5432`), /^PostgresSourceOptions\.url: host 2 of 2 \(":5432"\) has no host name/],
        [url(`${here},127.0.0.1:65536`), /^PostgresSourceOptions\.url: host 2 of 2 \("127\.0\.0\.1:65536"\) has a bad port "65536": expected 1\.\.65535$/],
        [url(`127.0.0.1:0,${here}`), /^PostgresSourceOptions\.url: host 1 of 2 \("127\.0\.0\.1:0"\) has a bad port "0"/],
        [url(`${here},db2:54x2`), /host 2 of 2 \("db2:54x2"\) has a bad port "54x2"/],
        [url(`${here},db2:`), /host 2 of 2 \("db2:"\) has a bad port ""/],
        [url(`${here},::1:5432`), /host 2 of 2 \("::1:5432"\) is not host\[:port\]: write an IPv6 address in brackets/],
        [url(`${here},[::1`), /host 2 of 2 \("\[::1"\) is not host\[:port\]/],
        [url(`${here},db 2`), /host 2 of 2 \("db 2"\) is not a valid host name or address/],
        [url(`${here},db2`, '?port=5433'), /^PostgresSourceOptions\.url: a port= parameter is ambiguous with several hosts/],
        [url(`${here},db2`, '?host=db3'), /^PostgresSourceOptions\.url: a host= parameter is ambiguous with several hosts/],
        ...['standby', 'read-only', 'prefer-standby'].map((v): [string, RegExp] => [url(`${here},db2`, `?target_session_attrs=${v}`), new RegExp(`^PostgresSourceOptions\\.url: target_session_attrs="${v}" asks for a standby, but the source reads the primary`)]),
        [url(`${here},db2`, '?target_session_attrs=master'), /^PostgresSourceOptions\.url: target_session_attrs="master" is not read-write, primary or any/],
        [url(here, '?target_session_attrs=standby'), /target_session_attrs="standby" asks for a standby/], // one host: checked too
        [`mysql://${user}@${here},db2:3306/db`, /^PostgresSourceOptions\.url must be a postgres:\/\/ or postgresql:\/\/ URL, got "mysql:\/\/127\.0\.0\.1:\d+,db2:3306\/db"$/],
      ];
      for (const [bad, message] of cases) {
        assert.throws(
          () => new PostgresSource({ url: bad, password: PASSWORD }),
          (error: Error) => {
            assert.ok(error instanceof RangeError, `${String(error)} for ${bad}`);
            assert.match(error.message, message);
            assertNoSecret(error.message);
            return true;
          },
        );
      }
      // Accepted: a port per host or 5432, IPv6 in brackets, read-write / primary / any. The source's name for
      // messages lists every host:port, without credentials (shown here by a poll after close(): no I/O).
      for (const attrs of ['', '?target_session_attrs=read-write', '?target_session_attrs=primary', '?target_session_attrs=any']) {
        const src = source({ url: url(`${here},[::1],DB.example:6432`, attrs) });
        await src.close();
        const { error } = await rejection(src.poll());
        assert.equal(error.message, `PostgreSQL primary postgres://${here},[::1]:5432,DB.example:6432/postgres: the source is closed`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(connections(), 0, 'no connection before a poll');
    } finally {
      await close();
    }
  });
});

describe('PostgresSource on a primary with two standbys', () => {
  before(async () => {
    // The server's key must belong to the postgres user (mode 0600), which runs the servers when we are root.
    certs = makeTestCertificates(process.getuid?.() === 0 ? { owner: ensureServiceUser('postgres') } : {});
    cluster = await startPostgresCluster({
      standbys: [{ name: 'replica-a', slot: A }, { name: B }],
      portRange: PORTS,
      walStartHigh: WAL_START_HIGH,
      tls: { certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.ca.certFile },
      hba: [
        'hostssl    all  replag_tls    127.0.0.1/32  scram-sha-256',
        'hostnossl  all  replag_tls    127.0.0.1/32  reject',
        'hostssl    all  replag        127.0.0.1/32  cert', // the client certificate's CN is the user name
        'hostssl    all  replag_other  127.0.0.1/32  cert',
        'hostnossl  all  replag        127.0.0.1/32  reject',
      ],
    });
    await cluster.createRole('watcher', PASSWORD);
  });

  afterEach(async () => {
    for (const p of pollers.splice(0)) await p.stop();
  });

  after(async () => {
    for (const p of pollers.splice(0)) await p.stop();
    for (const s of opened) await s.close();
    await cluster?.close();
    certs?.dispose();
  });

  test("reports the primary's pg_current_wal_lsn and each standby's replay_lsn exactly, as bigints", async () => {
    const src = source({ url: cluster.url() });
    await cluster.write(500);
    await cluster.waitCaughtUp();
    const quiet = await pollAtQuietMoment(src);
    assertPositions(quiet);
    const { polled } = quiet;
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

  describe('over TLS (the same primary: replag_tls and replag accept TLS only)', () => {
    /** The server's record of the source's connection (pg_stat_ssl), found by user and application_name. */
    const sslOf = async (user: string) => {
      const rows = await cluster.primary.query<{ ssl: boolean; version: string | null; client_dn: string | null }>(
        "SELECT s.ssl, s.version, s.client_dn FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = $1 AND a.application_name = 'otel-replication-lag'",
        [user],
      );
      assert.equal(rows.length, 1, `one connection of ${user}`);
      return rows[0]!;
    };
    const tlsUrl = (user: string, query = '', host = '127.0.0.1') => `postgres://${user}@${host}:${cluster.primary.port}/postgres${query}`;

    before(async () => {
      for (const role of ['replag_tls', 'replag', 'replag_other']) await cluster.createRole(role, PASSWORD);
      await cluster.primary.query('GRANT pg_monitor TO replag_tls, replag, replag_other');
    });

    test('tls with the CA: exact positions over a verified TLS connection, by IP address and by host name', async () => {
      for (const host of ['127.0.0.1', 'localhost']) {
        const src = source({ url: tlsUrl('replag_tls', '', host), password: PASSWORD, tls: { ca: certs.ca.cert } });
        await cluster.write(200);
        await cluster.waitCaughtUp();
        assertPositions(await pollAtQuietMoment(src));
        const ssl = await sslOf('replag_tls');
        assert.equal(ssl.ssl, true, host);
        assert.match(ssl.version ?? '', /^TLSv1\.[23]$/);
        assert.equal(ssl.client_dn, null, 'no client certificate sent');
        await src.close();
      }
    });

    test('client certificate (pg_hba cert, CN = user): exact positions; missing, foreign or for another user: says what to pass', async () => {
      const src = source({ url: tlsUrl('replag'), tls: { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key } });
      assertPositions(await pollAtQuietMoment(src));
      assert.equal((await sslOf('replag')).client_dn, '/CN=replag');
      await src.close();

      const none = await rejection(source({ url: tlsUrl('replag'), tls: { ca: certs.ca.cert } }).poll());
      assert.match(none.error.message, /connection requires a valid client certificate: pass a client certificate .*PostgresSourceOptions\.tls\.cert and \.key\)$/);
      const foreign = await rejection(source({ url: tlsUrl('replag'), tls: { ca: certs.ca.cert, cert: certs.otherCa.cert, key: certs.otherCa.key } }).poll());
      assert.match(foreign.error.message, /the server refused the client certificate \(ERR_SSL_\w+\): pass one signed by a CA in the server's ssl_ca_file/);
      const otherUser = await rejection(source({ url: tlsUrl('replag_other'), tls: { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key } }).poll());
      assert.match(otherUser.error.message, /certificate authentication failed for user "replag_other": the client certificate's common name \(CN\) must be the user name/);
      for (const { error } of [none, foreign, otherUser]) assertNoSecret(error.message);
    });

    test('a TLS-only user without TLS (pg_hba hostnossl reject): the error says to enable TLS', async () => {
      for (const url of [tlsUrl('replag_tls'), tlsUrl('replag_tls', '?sslmode=disable')]) {
        const { error } = await rejection(source({ url, password: PASSWORD }).poll());
        assert.match(error.message, /^PostgreSQL primary postgres:\/\/127\.0\.0\.1:\d+\/postgres: pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "replag_tls", database "postgres", no encryption: /);
        assert.match(error.message, /connect with TLS \(PostgresSourceOptions\.tls, with tls\.ca for a private CA/);
        assertNoSecret(error.message);
      }
    });

    test('certificate not verified: no CA (Node roots), another CA, another name: rejected with what to pass; rejectUnauthorized: false connects', async () => {
      for (const tls of [{}, { ca: certs.otherCa.cert }]) {
        const { error } = await rejection(source({ url: tlsUrl('replag_tls'), password: PASSWORD, tls }).poll());
        assert.match(error.message, /^PostgreSQL primary postgres:\/\/127\.0\.0\.1:\d+\/postgres: the server's TLS certificate is not signed by a trusted CA \(\w+\): pass the CA that signed it \(tls\.ca\)$/);
        assertNoSecret(error.message);
      }
      // servername is checked whether the URL names an IP address or a host (where pg itself sends the host as SNI).
      for (const host of ['127.0.0.1', 'localhost']) {
        const { error } = await rejection(source({ url: tlsUrl('replag_tls', '', host), password: PASSWORD, tls: { ca: certs.ca.cert, servername: 'db.example' } }).poll());
        assert.match(error.message, /the server's TLS certificate is not valid for this host name \(ERR_TLS_CERT_ALTNAME_INVALID\)/, host);
      }
      const named = source({ url: tlsUrl('replag_tls'), password: PASSWORD, tls: { ca: certs.ca.cert, servername: 'localhost' } });
      assert.deepEqual((await named.poll()).map((r) => r.nodeId), IDS, 'a name the certificate lists');
      await named.close();
      const insecure = source({ url: tlsUrl('replag_tls'), password: PASSWORD, tls: { rejectUnauthorized: false } });
      assert.deepEqual((await insecure.poll()).map((r) => r.nodeId), IDS);
      assert.equal((await sslOf('replag_tls')).ssl, true, 'encrypted, only not verified');
      await insecure.close();
    });

    test('URL sslmode never weakens verification, nor overrides tls (pg alone would let it replace the whole ssl option)', async () => {
      // Without tls: TLS verified against Node's roots, which do not hold the test CA; libpq semantics ignored.
      for (const query of ['?sslmode=require', '?sslmode=verify-ca', '?sslmode=prefer', '?sslmode=require&uselibpqcompat=true', '?sslmode=prefer&uselibpqcompat=true']) {
        const { error } = await rejection(source({ url: tlsUrl('replag_tls', query), password: PASSWORD }).poll());
        assert.match(error.message, /the server's TLS certificate is not signed by a trusted CA/, query);
      }
      // With tls: its CA stays the one verified against, whatever the URL says (pg alone: no verification here)...
      const { error } = await rejection(source({ url: tlsUrl('replag_tls', '?sslmode=require&uselibpqcompat=true'), password: PASSWORD, tls: { ca: certs.otherCa.cert } }).poll());
      assert.match(error.message, /the server's TLS certificate is not signed by a trusted CA/);
      // ...and is kept (pg alone: verify-ca drops tls.ca, so this fails).
      for (const query of ['?sslmode=verify-ca', '?sslmode=require&uselibpqcompat=true']) {
        const src = source({ url: tlsUrl('replag_tls', query), password: PASSWORD, tls: { ca: certs.ca.cert } });
        assert.deepEqual((await src.poll()).map((r) => r.nodeId), IDS, query);
        await src.close();
      }
    });

    test('URL certificate files (sslrootcert, sslcert, sslkey) work like tls.ca/cert/key; the same field both ways is a RangeError', async () => {
      const rootOnly = source({ url: tlsUrl('replag_tls', `?sslmode=verify-full&sslrootcert=${certs.ca.certFile}`), password: PASSWORD });
      assertPositions(await pollAtQuietMoment(rootOnly));
      const files = `?sslrootcert=${certs.ca.certFile}&sslcert=${certs.client.certFile}&sslkey=${certs.client.keyFile}`;
      const mutual = source({ url: tlsUrl('replag', files) });
      assert.deepEqual((await mutual.poll()).map((r) => r.nodeId), IDS);
      assert.equal((await sslOf('replag')).client_dn, '/CN=replag');
      // A file and a tls field for different things combine: the CA from tls, the client certificate from the URL.
      const mixed = source({ url: tlsUrl('replag', `?sslcert=${certs.client.certFile}&sslkey=${certs.client.keyFile}`), tls: { ca: certs.ca.cert } });
      assert.deepEqual((await mixed.poll()).map((r) => r.nodeId), IDS);
      assert.throws(() => new PostgresSource({ url: tlsUrl('replag', files), tls: { ca: certs.ca.cert } }), /^RangeError: PostgresSourceOptions\.url: sslrootcert and PostgresSourceOptions\.tls\.ca both give the ca: keep one$/);
      assert.throws(() => new PostgresSource({ url: tlsUrl('replag', `?sslcert=${certs.client.certFile}`) }), /^RangeError: PostgresSourceOptions\.tls with the URL's sslcert: cert and key go together/);
      assert.throws(() => new PostgresSource({ url: tlsUrl('replag', `?sslrootcert=${certs.dir}/server.ext`) }), /^RangeError: PostgresSourceOptions\.url: sslrootcert=\S+\/server\.ext holds no PEM block/);
    });
  });

  describe('several hosts in the URL (libpq multi-host): the first primary in host order', () => {
    /** The source's connections as the server `s` sees them, for role `user`. */
    const ours = (s: PgServer, user: string) =>
      s.query<{ pid: number; ssl: boolean }>("SELECT a.pid, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.usename = $1 AND a.application_name = 'otel-replication-lag'", [user]);
    /** `postgres://user:password@` followed by `hosts` (127.0.0.1:port for a number) and `/postgres`. */
    const hostsUrl = (user: string, hosts: (number | string)[], query = '') =>
      `postgres://${user}:${encodeURIComponent(PASSWORD)}@${hosts.map((h) => (typeof h === 'number' ? `127.0.0.1:${h}` : h)).join(',')}/postgres${query}`;

    before(async () => {
      for (const role of ['multi_plain', 'multi_tls']) await cluster.createRole(role, PASSWORD);
      await cluster.primary.query('GRANT pg_monitor TO multi_plain, multi_tls');
    });

    test('standbys listed first, then the primary: exact positions from the primary; the connection is kept there, none left on the standbys', async () => {
      const [a, b] = [cluster.standby('replica-a'), cluster.standby(B)];
      const src = source({ url: hostsUrl('multi_plain', [a.port, b.port, cluster.primary.port], '?target_session_attrs=read-write'), timeoutMs: 3000 });
      await cluster.write(300);
      await cluster.waitCaughtUp();
      assertPositions(await pollAtQuietMoment(src));
      const [kept, ...others] = await ours(cluster.primary, 'multi_plain');
      assert.ok(kept !== undefined && others.length === 0, 'one connection on the primary');
      await src.poll();
      assert.deepEqual((await ours(cluster.primary, 'multi_plain')).map((r) => r.pid), [kept.pid], 'the next poll reuses it: no new search');
      for (const s of [a, b]) await waitUntil(`no connection left on ${s.name}`, 5000, async () => (await ours(s, 'multi_plain')).length === 0, 50);
      await src.close();
      await waitUntil('close() to end the connection', 5000, async () => (await ours(cluster.primary, 'multi_plain')).length === 0, 50);
    });

    test('no primary among the hosts (hung, refused, IPv6 refused, standbys): one error within timeoutMs naming each host and why', async () => {
      const sockets: Socket[] = [];
      const hung = createServer((s) => sockets.push(s)); // accepts and never answers, like a frozen server
      const hungPort = await findFreePort(...PORTS);
      await new Promise<void>((resolve) => hung.listen(hungPort, '127.0.0.1', resolve));
      const refused = await findFreePort(...PORTS);
      const [a, b] = [cluster.standby('replica-a'), cluster.standby(B)];
      try {
        const src = source({ url: hostsUrl('multi_plain', [hungPort, refused, `[::1]:${refused}`, a.port, b.port]), timeoutMs: 2000 });
        const { error, ms } = await rejection(src.poll());
        assert.ok(ms < 2300, `took ${ms} ms`);
        const host = (h: string) => `postgres://${h.replace(/[.[\]]/g, '\\$&')}/postgres`;
        const expected = [
          `^PostgreSQL primary ${host(`127.0.0.1:${hungPort},127.0.0.1:${refused},[::1]:${refused},127.0.0.1:${a.port},127.0.0.1:${b.port}`)}: no primary among the 5 hosts \\(tried in order within timeoutMs 2000 ms\\): `,
          `${host(`127.0.0.1:${hungPort}`)}: no answer within (\\d+) ms \\(its share of timeoutMs 2000 ms\\) while connecting: .*?; `,
          `${host(`127.0.0.1:${refused}`)}: connection refused: .*?; `,
          `${host(`[::1]:${refused}`)}: .*?; `,
          `${host(`127.0.0.1:${a.port}`)} is a standby \\(pg_is_in_recovery\\(\\) is true\\); `,
          `${host(`127.0.0.1:${b.port}`)} is a standby \\(pg_is_in_recovery\\(\\) is true\\)$`,
        ];
        assert.match(error.message, new RegExp(expected.join('')));
        const share = Number(new RegExp(expected.join('')).exec(error.message)![1]);
        assert.ok(share > 300 && share <= 400, `the hung host got ${share} ms: a fifth of timeoutMs (5 hosts), not all of it`);
        assertNoSecret(error.message);
        // The same password check on every host: each says so, none shows the password.
        const wrong = `postgres://multi_plain:${encodeURIComponent(`${PASSWORD}-wrong`)}@127.0.0.1:${a.port},127.0.0.1:${cluster.primary.port}/postgres`;
        const auth = await rejection(source({ url: wrong }).poll());
        assert.match(auth.error.message, /: no primary among the 2 hosts .*\d\/postgres: password authentication failed for user "multi_plain": check the password .*; postgres:\/\/127\.0\.0\.1:\d+\/postgres: password authentication failed for user "multi_plain"/);
        assertNoSecret(auth.error.message);
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise((resolve) => hung.close(resolve));
      }
    });

    test('TLS to each host, its certificate checked against the host connected to (not the first host listed)', async () => {
      // nonexistent.invalid never resolves; a standby by the name localhost; the primary by IP address (pg would
      // send a name as SNI itself, hiding a wrong servername: an IP address shows which name is checked).
      const hosts = ['nonexistent.invalid:5432', `localhost:${cluster.standby('replica-a').port}`, cluster.primary.port];
      const src = source({ url: hostsUrl('multi_tls', hosts), tls: { ca: certs.ca.cert }, timeoutMs: 4000 });
      assert.deepEqual((await src.poll()).map((r) => r.nodeId), IDS);
      assertPositions(await pollAtQuietMoment(src));
      assert.deepEqual((await ours(cluster.primary, 'multi_tls')).map((r) => r.ssl), [true]);
      await src.close();
    });
  });
});

describe('PostgresSource following the primary across a failover (a cluster of its own: primary + one standby)', () => {
  const SLOT = 'fo_slot';
  let fo: PostgresCluster;

  before(async () => {
    fo = await startPostgresCluster({ standbys: [{ name: 'fo-standby', slot: SLOT }], portRange: PORTS });
    await fo.createRole('watcher', PASSWORD);
    await fo.primary.query('GRANT pg_monitor TO watcher');
  });

  after(async () => {
    for (const s of opened) await s.close();
    await fo?.close();
  });

  /**
   * Polls `src` at a moment when `primary`'s WAL position and its walsenders' and slots' positions did not move
   * during the poll; returns the poll and `primary`'s own view (bytes as text, computed by the server).
   */
  async function quietPoll(src: PostgresSource, primary: PgServer) {
    const view = async () =>
      (await primary.query<{ v: string }>(
        `SELECT json_build_object('lsn', pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text,
            'replay', (SELECT json_object_agg(application_name, pg_wal_lsn_diff(replay_lsn, '0/0')::text) FROM pg_stat_replication),
            'slots', (SELECT json_object_agg(slot_name, pg_wal_lsn_diff(restart_lsn, '0/0')::text) FROM pg_replication_slots))::text AS v`,
      ))[0]!.v;
    let polled: readonly ReplicaPosition[] = [];
    let seen = '';
    await waitUntil('a quiet moment on the primary', 15_000, async () => {
      const first = await view();
      polled = await src.poll();
      seen = await view();
      return first === seen;
    }, 100);
    return { polled, server: JSON.parse(seen) as { lsn: string; replay: Record<string, string> | null; slots: Record<string, string> | null } };
  }

  test('primary frozen (SIGSTOP) and the standby promoted: the very next poll finds the new primary; a stopped old primary is skipped; all down → error naming both', async () => {
    const oldPrimary = fo.primary;
    const standby = fo.standby('fo-standby');
    const url = `postgres://watcher:${encodeURIComponent(PASSWORD)}@127.0.0.1:${oldPrimary.port},127.0.0.1:${standby.port}/postgres?target_session_attrs=primary`;
    const src = source({ url, timeoutMs: 3000 });

    // Before: the old primary reports its standby (through its slot) at the position it sees.
    await fo.write(100);
    await fo.waitCaughtUp();
    const before = await quietPoll(src, oldPrimary);
    assert.deepEqual(before.polled.map((r) => [r.nodeId, r.leaderSeq, r.followerSeq]), [[SLOT, BigInt(before.server.lsn), BigInt(before.server.replay!['fo-standby']!)]]);

    // Failover while the old primary hangs: the kept connection gets no answer within its share of timeoutMs, the
    // old primary none within its share either, and the promoted standby is the primary: all in one poll.
    const pids = oldPrimary.pids();
    fo.suspend(pids);
    try {
      await standby.promote();
      const t0 = Date.now();
      const after = await src.poll();
      const ms = Date.now() - t0;
      assert.deepEqual(after, [], 'the new primary has no standby');
      assert.ok(ms < 3000, `took ${ms} ms`);
      const [conn] = await standby.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = 'watcher' AND application_name = 'otel-replication-lag'");
      assert.equal(conn!.n, 1, 'connected to the new primary');
    } finally {
      fo.continue(pids);
      await oldPrimary.stop(); // for good: it must not come back as a second primary
    }

    // The new primary's own positions: a slot created there is reported with its pg_current_wal_lsn.
    await standby.query("SELECT pg_create_physical_replication_slot('after_failover', true)");
    const later = await quietPoll(src, standby);
    assert.deepEqual(later.polled.map((r) => [r.nodeId, r.leaderSeq, r.followerSeq]), [['after_failover', BigInt(later.server.lsn), BigInt(later.server.slots!['after_failover']!)]]);
    // A new source skips the stopped old primary (refused) and finds the new one in its first poll.
    assert.deepEqual((await source({ url, timeoutMs: 3000 }).poll()).map((r) => r.nodeId), ['after_failover']);

    // Everything down: one error within timeoutMs naming both hosts, without the password.
    await standby.stop();
    const { error, ms } = await rejection(src.poll());
    assert.ok(ms < 3300, `took ${ms} ms`);
    assert.match(
      error.message,
      new RegExp(`^PostgreSQL primary postgres://127\\.0\\.0\\.1:${oldPrimary.port},127\\.0\\.0\\.1:${standby.port}/postgres: no primary among the 2 hosts .*: ` +
        `postgres://127\\.0\\.0\\.1:${oldPrimary.port}/postgres: connection refused.*?; postgres://127\\.0\\.0\\.1:${standby.port}/postgres: connection refused`),
    );
    assertNoSecret(error.message);
  });
});
