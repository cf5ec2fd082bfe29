/**
 * RedisSource against a real Redis master + replica (Debian redis-server, 127.0.0.1, requirepass): positions
 * cross-checked with the servers' own INFO, a replica caught up / SIGSTOPped (stalled) / resumed through a real
 * monitor, replicas dropped by the master, ACL permissions, authentication and timeout errors that never
 * contain the password, option validation without I/O, and close(). Over TLS against a second, TLS-only cluster
 * (the replica replicating over TLS): rediss:// and the tls option, certificate and client-certificate errors,
 * plaintext/TLS port mix-ups, a TLS-only Sentinel. Through a real Redis Sentinel (Debian redis-sentinel, its own
 * cluster): discovery, Sentinels down or hung, unknown master name, Sentinel auth errors, all Sentinels
 * unreachable, option validation, close(), a real SENTINEL FAILOVER, and a master turned replica under an open
 * connection (asked again within the poll).
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReplicationLagMonitor } from '../../src/monitor.ts';
import { startPoller, type Poller } from '../../src/sources/poller.ts';
import type { ReplicaPosition } from '../../src/sources/source.ts';
import { parseReplicationInfo, RedisSource, type RedisSourceOptions } from '../../src/sources/redis.ts';
import { findFreePort, startRedisCluster, waitUntil, type RedisCluster, type RedisSentinel, type RedisServer } from '../harness/redis.ts';
import { ensureServiceUser } from '../harness/service-user.ts';
import { makeTestCertificates, type TestCertificates } from '../harness/tls.ts';

const PASSWORD = 'Pw-7f3c-DistinctiveRedisSecret';
const WRONG_PASSWORD = 'Wrong-91ab-NotTheRedisSecret';
const ACL_PASSWORD = 'Acl-5d2e-ReplagUserSecret';
const SENTINEL_PASSWORD = 'Sp-3b9d-SentinelOwnSecret';
const SECRETS = [PASSWORD, WRONG_PASSWORD, ACL_PASSWORD, SENTINEL_PASSWORD];
/** Per-test bound: a hung poll fails its test instead of hanging the file. */
const LIMIT = { timeout: 20_000 };

let cluster: RedisCluster;
const usedPorts = new Set<number>();
const sources: RedisSource[] = [];
const pollers: Poller[] = [];

async function freePort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await findFreePort(22000, 23000);
    if (!usedPorts.has(port)) {
      usedPorts.add(port);
      return port;
    }
  }
  throw new Error('no distinct free port in 22000..22999');
}

const masterUrl = () => `redis://127.0.0.1:${cluster.master.port}`;
const replicaId = () => `127.0.0.1:${cluster.replica.port}`;

/** A source on the master (closed in after()); the default user's password unless options say otherwise. */
function source(options: Partial<RedisSourceOptions> = {}): RedisSource {
  const s = new RedisSource({ url: masterUrl(), password: PASSWORD, timeoutMs: 2000, ...options });
  sources.push(s);
  return s;
}

/** Asserts that `promise` rejects within `withinMs` with a message matching `pattern` and containing no secret. */
async function rejectsClearly(promise: Promise<unknown>, pattern: RegExp, withinMs: number): Promise<Error> {
  const start = Date.now();
  const error = await promise.then(
    () => assert.fail(`expected a rejection matching ${pattern}`),
    (e: unknown) => e as Error,
  );
  const elapsed = Date.now() - start;
  assert.ok(error instanceof Error, `rejects with an Error, got ${String(error)}`);
  assert.match(error.message, pattern);
  assertNoSecret(error);
  assert.ok(elapsed <= withinMs, `rejected after ${elapsed} ms, expected within ${withinMs} ms`);
  return error;
}

function assertNoSecret(error: Error): void {
  for (const secret of SECRETS) {
    assert.ok(!error.message.includes(secret), `error message leaks a password: ${error.message}`);
    assert.ok(!String(error.stack).includes(secret), 'error stack leaks a password');
  }
}

/** The master's own listing: master_repl_offset and each slaveN line, parsed independently of the source. */
async function masterListing(master: RedisServer = cluster.master): Promise<{ offset: bigint; replicas: Map<string, bigint> }> {
  const info = await master.info('replication');
  const replicas = new Map<string, bigint>();
  for (const [key, value] of info) {
    if (!/^slave\d+$/.test(key)) continue;
    const f = Object.fromEntries(value.split(',').map((kv) => kv.split('=') as [string, string]));
    replicas.set(`${f.ip}:${f.port}`, BigInt(f.offset!));
  }
  return { offset: BigInt(info.get('master_repl_offset')!), replicas };
}

/** Polls until the replica is listed caught up (replicas ACK once a second). */
async function waitCaughtUp(s: RedisSource, what: string): Promise<void> {
  await waitUntil(what, 10_000, async () => {
    const [r] = await s.poll();
    return r !== undefined && r.followerSeq === r.leaderSeq;
  }, 100);
}

/**
 * One poll across which `from`'s INFO replication held still (offset and replica `id`'s offset), with that
 * listing: the comparison the position tests make. Fails after 40 tries (masters PING their replicas).
 */
async function pollWhileStill(s: RedisSource, from: RedisServer, id: string): Promise<{ replicas: readonly ReplicaPosition[]; listed: Awaited<ReturnType<typeof masterListing>> }> {
  for (let attempt = 0; attempt < 40; attempt++) {
    if (attempt > 0) await sleep(100);
    const before = await masterListing(from);
    const replicas = await s.poll();
    const after = await masterListing(from);
    if (before.offset === after.offset && before.replicas.get(id) === after.replicas.get(id)) return { replicas, listed: after };
  }
  assert.fail(`the offset of :${from.port} never held still across one poll`);
}

const tcpSockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

before(async () => {
  cluster = await startRedisCluster({ masterPort: await freePort(), replicaPort: await freePort(), password: PASSWORD });
});

after(async () => {
  for (const p of pollers) await p.stop();
  for (const s of sources) await s.close();
  await cluster?.close();
});

describe('parseReplicationInfo', () => {
  test('reads role, master_repl_offset and every slaveN line, offsets as exact bigints', () => {
    const text = [
      '# Replication',
      'role:master',
      'connected_slaves:2',
      'slave0:ip=10.0.0.7,port=6380,state=online,offset=9223372036854775807,lag=0',
      'slave1:ip=::1,port=6381,state=wait_bgsave,offset=0,lag=3',
      'master_failover_state:no-failover',
      'master_replid:45be028c9b770fc4d5c1fee9f4329128af0ed2bc',
      'master_repl_offset:9223372036854775807',
      'second_repl_offset:-1',
      '',
    ].join('\r\n');
    assert.deepEqual(parseReplicationInfo(text), {
      role: 'master',
      masterReplOffset: 9223372036854775807n,
      replicas: [
        { id: '10.0.0.7:6380', ip: '10.0.0.7', port: 6380, state: 'online', offset: 9223372036854775807n },
        { id: '[::1]:6381', ip: '::1', port: 6381, state: 'wait_bgsave', offset: 0n },
      ],
    });
  });

  test('a replica reports its master', () => {
    const info = parseReplicationInfo('role:slave\nmaster_host:10.0.0.1\nmaster_port:6379\nmaster_link_status:up\nslave_repl_offset:42\nconnected_slaves:0\nmaster_repl_offset:42\n');
    assert.equal(info.role, 'slave');
    assert.equal(info.master, '10.0.0.1:6379');
    assert.deepEqual(info.replicas, []);
  });

  test('rejects text without role, with a bad offset or a malformed slave line', () => {
    assert.throws(() => parseReplicationInfo('master_repl_offset:1\n'), /no role field/);
    assert.throws(() => parseReplicationInfo('role:master\nmaster_repl_offset:-1\n'), /master_repl_offset/);
    assert.throws(() => parseReplicationInfo('role:master\nmaster_repl_offset:1.5\n'), /master_repl_offset/);
    assert.throws(() => parseReplicationInfo('role:master\nslave0:ip=10.0.0.7,port=6380,state=online\nmaster_repl_offset:1\n'), /malformed slave0/);
    assert.throws(() => parseReplicationInfo('role:master\nslave0:ip=10.0.0.7,port=x,offset=1\nmaster_repl_offset:1\n'), /malformed slave0/);
  });
});

describe('RedisSource options', () => {
  test('bad options throw a RangeError/TypeError naming the option, never echoing a password', () => {
    const url = 'redis://127.0.0.1:6379';
    const cases: [unknown, ErrorConstructor, RegExp][] = [
      [undefined, TypeError, /RedisSourceOptions must be an object/],
      [{}, TypeError, /RedisSourceOptions\.url must be a string/],
      [{ url: 'not a url' }, RangeError, /RedisSourceOptions\.url is not a valid URL/],
      [{ url: `http://user:${PASSWORD}@127.0.0.1:6379` }, RangeError, /RedisSourceOptions\.url must be a redis:\/\/ URL, got "http:\/\/127\.0\.0\.1:6379\/"/],
      [{ url: `rediss://:${PASSWORD}@127.0.0.1:6379/x?y=1` }, RangeError, /RedisSourceOptions\.url must be rediss:\/\/host:port .*, got "rediss:\/\/127\.0\.0\.1:6379\/x"/],
      [{ url: `redis://:${PASSWORD}@127.0.0.1:6379/x?y=1` }, RangeError, /RedisSourceOptions\.url must be redis:\/\/host:port/],
      [{ url: `redis://:${PASSWORD}@127.0.0.1:99999` }, RangeError, /RedisSourceOptions\.url is not a valid URL/],
      [{ url, username: 7 }, TypeError, /RedisSourceOptions\.username must be a string/],
      [{ url, password: 7 }, TypeError, /RedisSourceOptions\.password must be a string/],
      [{ url, password: '' }, RangeError, /RedisSourceOptions\.password must not be empty/],
      [{ url, username: 'replag' }, TypeError, /RedisSourceOptions\.username "replag" needs a password/],
      [{ url, timeoutMs: '5000' }, TypeError, /RedisSourceOptions\.timeoutMs must be a number/],
      [{ url, timeoutMs: 0 }, RangeError, /RedisSourceOptions\.timeoutMs must be > 0 and <= 2147483647 ms, got 0/],
      [{ url, timeoutMs: -5 }, RangeError, /RedisSourceOptions\.timeoutMs/],
      [{ url, timeoutMs: Number.NaN }, RangeError, /RedisSourceOptions\.timeoutMs/],
      [{ url, timeoutMs: 2.5 }, RangeError, /RedisSourceOptions\.timeoutMs/],
    ];
    for (const [options, type, pattern] of cases) {
      assert.throws(() => new RedisSource(options as RedisSourceOptions), (e: unknown) => {
        assert.ok(e instanceof type, `${JSON.stringify(options)}: expected a ${type.name}, got ${String(e)}`);
        assert.match(e.message, pattern);
        assertNoSecret(e);
        return true;
      }, JSON.stringify(options));
    }
  });

  test('the constructor does no I/O; the first poll connects and later polls reuse the connection', LIMIT, async () => {
    const connections = async () => Number((await cluster.master.info('stats')).get('total_connections_received'));
    const before = await connections();
    const s = source();
    assert.throws(() => new RedisSource({ url: masterUrl(), password: PASSWORD, timeoutMs: -1 }), RangeError);
    assert.throws(() => new RedisSource({ url: masterUrl(), username: 'replag' }), TypeError);
    await sleep(100);
    // Only redis-cli's own connection: nothing from the three constructors.
    assert.equal(await connections(), before + 1);
    await s.poll();
    // Concurrent polls are serialized on the same connection.
    const [a, b] = await Promise.all([s.poll(), s.poll()]);
    assert.equal(a[0]?.nodeId, replicaId());
    assert.equal(b[0]?.nodeId, replicaId());
    // One connection for the three polls, plus redis-cli's.
    assert.equal(await connections(), before + 3);
  });
});

describe('RedisSource against a real master and replica', () => {
  test('positions are the master_repl_offset and replica offset the servers report themselves', LIMIT, async () => {
    await cluster.write(200);
    const s = source();
    await waitCaughtUp(s, 'replica caught up in the master listing');
    // Compare against a snapshot the master did not move across (it PINGs its replicas every 10 s).
    let compared = false;
    for (let attempt = 0; attempt < 40 && !compared; attempt++) {
      if (attempt > 0) await sleep(100);
      const before = await masterListing();
      const replicas = await s.poll();
      const replicaSays = BigInt((await cluster.replica.info('replication')).get('slave_repl_offset')!);
      const after = await masterListing();
      if (before.offset !== after.offset || before.replicas.get(replicaId()) !== after.replicas.get(replicaId())) continue;
      if (replicas[0]?.followerSeq !== after.offset) continue; // a replication PING not yet acknowledged
      compared = true;
      assert.equal(replicas.length, 1);
      const [r] = replicas;
      assert.equal(r!.nodeId, replicaId());
      assert.equal(typeof r!.leaderSeq, 'bigint');
      assert.equal(typeof r!.followerSeq, 'bigint');
      assert.equal(r!.leaderSeq, after.offset);
      assert.equal(r!.followerSeq, after.replicas.get(replicaId()));
      assert.ok((r!.leaderSeq as bigint) > 0n, 'the writes moved the offset');
      // Caught up: the replica's own offset equals what the master lists.
      assert.equal(r!.followerSeq, replicaSays);
      assert.equal(r!.lagSeconds, undefined);
      assert.deepEqual(r!.attributes, { 'replication.system': 'redis', 'server.address': '127.0.0.1', 'server.port': cluster.replica.port });
    }
    assert.ok(compared, 'the master offset never held still across one poll');
  });

  test('pointed at the replica: rejects, naming the master to point at', LIMIT, async () => {
    const s = new RedisSource({ url: `redis://127.0.0.1:${cluster.replica.port}`, password: PASSWORD, timeoutMs: 2000 });
    sources.push(s);
    await rejectsClearly(s.poll(), new RegExp(`is a replica \\(role:slave\\) of 127\\.0\\.0\\.1:${cluster.master.port}, not the master`), 2000);
  });

  test('through startPoller: caught up after writes → lagEntries 0, normal; SIGSTOPped replica → stalled; SIGCONT → normal', LIMIT, async () => {
    const monitor = new ReplicationLagMonitor({ stallTimeoutSeconds: 2 });
    const errors: Error[] = [];
    const poller = startPoller({ source: source(), monitor, intervalMs: 200, onError: (e) => errors.push(e) });
    pollers.push(poller);
    const status = () => monitor.getStatus(replicaId());

    await cluster.write(500);
    const written = (await masterListing()).offset;
    await waitUntil('replica caught up after writes', 10_000, () => {
      const st = status();
      return st !== undefined && st.leaderSeq === written && st.lagEntries === 0 && st.severity === 'normal';
    }, 50);
    assert.equal(status()!.followerSeq, written);
    assert.equal(status()!.attributes['server.port'], cluster.replica.port);

    cluster.replica.pause();
    let stalledAt: { leaderSeq: bigint; followerSeq: bigint } | undefined;
    try {
      await waitUntil('stalled after SIGSTOP of the replica', 10_000, async () => {
        await cluster.write(20);
        return status()?.severity === 'stalled';
      }, 200);
      const st = status()!;
      stalledAt = { leaderSeq: st.leaderSeq as bigint, followerSeq: st.followerSeq as bigint };
      assert.ok(st.lagEntries > 0);
      // Still frozen while the master moves on; the master's own listing agrees.
      await cluster.write(20);
      await poller.pollOnce();
      const later = status()!;
      assert.equal(later.followerSeq, stalledAt.followerSeq);
      assert.ok((later.leaderSeq as bigint) > stalledAt.leaderSeq, 'the leader advanced');
      assert.equal(later.severity, 'stalled');
      const listing = await masterListing();
      assert.equal(listing.replicas.get(replicaId()), stalledAt.followerSeq, 'the master lists the SIGSTOPped replica with its frozen offset');
    } finally {
      cluster.replica.resume();
    }

    await waitUntil('caught up after SIGCONT', 10_000, () => {
      const st = status()!;
      return (st.followerSeq as bigint) > stalledAt!.followerSeq && st.lagEntries === 0 && st.severity === 'normal';
    }, 50);
    await poller.stop();
    assert.deepEqual(errors.map((e) => e.message), []);
  });

  test('replicas that go away: dropped by the master after repl-timeout (SIGSTOP) or at once (shutdown); the poller forgets them', LIMIT, async () => {
    const extra = await cluster.addReplica(await freePort());
    const extraId = `127.0.0.1:${extra.port}`;
    const monitor = new ReplicationLagMonitor({ stallTimeoutSeconds: 2 });
    const errors: Error[] = [];
    const s = source();
    const poller = startPoller({ source: s, monitor, intervalMs: 200, onError: (e) => errors.push(e) });
    pollers.push(poller);
    const ids = async () => (await s.poll()).map((r) => r.nodeId).sort();
    try {
      await waitUntil('both replicas reported', 10_000, () => monitor.getStatus(extraId) !== undefined && monitor.getStatus(replicaId()) !== undefined, 50);

      // A replica that stops answering (host gone, partition, SIGSTOP) is listed with a frozen offset
      // (stalled), until the master's repl-timeout drops it.
      assert.equal(await cluster.master.cli('CONFIG', 'SET', 'repl-timeout', '5'), 'OK');
      extra.pause();
      await waitUntil('the silent replica stalled', 10_000, async () => {
        await cluster.write(20);
        return monitor.getStatus(extraId)?.severity === 'stalled';
      }, 200);
      assert.deepEqual(await ids(), [replicaId(), extraId].sort(), 'still listed before repl-timeout');
      await waitUntil('the master drops the silent replica after repl-timeout', 10_000, async () => !(await masterListing()).replicas.has(extraId), 200);
      assert.deepEqual(await ids(), [replicaId()]);
      await poller.pollOnce();
      assert.equal(monitor.getStatus(extraId), undefined, 'the poller unregisters a replica the master no longer lists');
      assert.notEqual(monitor.getStatus(replicaId()), undefined);

      // Resumed, it reconnects; shut down, the master drops it at once (its connection closed).
      extra.resume();
      await waitUntil('the resumed replica listed again', 10_000, () => monitor.getStatus(extraId) !== undefined, 100);
      await extra.stop();
      await waitUntil('the master drops a replica that shut down', 2_000, async () => !(await masterListing()).replicas.has(extraId), 50);
      assert.deepEqual(await ids(), [replicaId()]);
      await poller.pollOnce();
      assert.equal(monitor.getStatus(extraId), undefined);
      assert.deepEqual(errors.map((e) => e.message), []);
    } finally {
      extra.resume();
      await poller.stop();
      await cluster.master.cli('CONFIG', 'SET', 'repl-timeout', '60');
      await extra.stop();
    }
  });
});

describe('RedisSource authentication and permissions', () => {
  test('requirepass: the default user authenticates with the password option or the URL; without one: NOAUTH, actionable', LIMIT, async () => {
    assert.equal((await source().poll()).length, 1);
    const viaUrl = source({ url: `redis://:${PASSWORD}@127.0.0.1:${cluster.master.port}`, password: undefined });
    assert.equal((await viaUrl.poll())[0]?.nodeId, replicaId());
    const none = source({ password: undefined });
    await rejectsClearly(none.poll(), /requires authentication .*NOAUTH.*give the password of a user allowed to run INFO/, 2000);
  });

  test('wrong password: authentication failed, within timeoutMs, without the password', LIMIT, async () => {
    const wrong = source({ password: WRONG_PASSWORD });
    const error = await rejectsClearly(wrong.poll(), new RegExp(`Redis redis://127\\.0\\.0\\.1:${cluster.master.port}: authentication failed for user "default" \\(WRONGPASS`), 2000);
    assert.ok(!error.message.includes(WRONG_PASSWORD));
    const wrongInUrl = source({ url: `redis://replag:${WRONG_PASSWORD}@127.0.0.1:${cluster.master.port}`, password: undefined });
    await rejectsClearly(wrongInUrl.poll(), /authentication failed for user "replag"/, 2000);
  });

  test('a password for a server without one: says so', LIMIT, async () => {
    // On the replica (AUTH fails before the role check), so that the master keeps its password.
    assert.equal(await cluster.replica.cli('CONFIG', 'SET', 'requirepass', ''), 'OK');
    try {
      const s = source({ url: `redis://127.0.0.1:${cluster.replica.port}` });
      await rejectsClearly(s.poll(), /a password was given but the default user has none .*: omit the password/, 2000);
    } finally {
      assert.equal(await cluster.replica.cli('CONFIG', 'SET', 'requirepass', PASSWORD), 'OK');
    }
  });

  test('an ACL user without +info gets the ACL rule to add; with exactly `-@all +info` it works', LIMIT, async () => {
    assert.equal(await cluster.master.cli('ACL', 'SETUSER', 'replag_noinfo', 'on', `>${ACL_PASSWORD}`, '-@all', '+ping'), 'OK');
    const denied = source({ username: 'replag_noinfo', password: ACL_PASSWORD });
    await rejectsClearly(denied.poll(), /user "replag_noinfo" may not run INFO \(NOPERM.*\): allow it with `ACL SETUSER replag_noinfo \+info`/, 2000);

    // The README's minimal rule.
    assert.equal(await cluster.master.cli('ACL', 'SETUSER', 'replag', 'on', `>${ACL_PASSWORD}`, '-@all', '+info'), 'OK');
    const allowed = source({ username: 'replag', password: ACL_PASSWORD });
    const [r] = await allowed.poll();
    assert.equal(r?.nodeId, replicaId());
    assert.equal(r?.leaderSeq, (await masterListing()).offset);
    // The same user in the URL (credentials in the URL win over the options).
    const inUrl = source({ url: `redis://replag:${ACL_PASSWORD}@127.0.0.1:${cluster.master.port}`, password: WRONG_PASSWORD });
    assert.equal((await inUrl.poll()).length, 1);
  });
});

describe('RedisSource failures and close()', () => {
  test('nothing listening: rejects at once naming the address', LIMIT, async () => {
    const port = await freePort();
    const s = source({ url: `redis://127.0.0.1:${port}` });
    await rejectsClearly(s.poll(), new RegExp(`Redis redis://127\\.0\\.0\\.1:${port}: cannot connect \\(connect ECONNREFUSED.*is redis-server running`), 2000);
  });

  test('SIGSTOPped master: poll rejects after timeoutMs (open or new connection); resumed, the next poll reconnects', LIMIT, async () => {
    const connected = source({ timeoutMs: 500 });
    await connected.poll();
    cluster.master.pause();
    try {
      const start = Date.now();
      await rejectsClearly(connected.poll(), /timed out after 500 ms waiting for the reply to INFO replication: is the server stopped/, 1500);
      assert.ok(Date.now() - start >= 450, 'not before the timeout');
      // The kernel still accepts the connection: AUTH is what hangs.
      await rejectsClearly(source({ timeoutMs: 500 }).poll(), /timed out after 500 ms waiting for the reply to AUTH/, 1500);
    } finally {
      cluster.master.resume();
    }
    assert.equal((await connected.poll())[0]?.nodeId, replicaId());
  });

  test('close() is idempotent, releases the socket, rejects later polls and a poll in flight', LIMIT, async () => {
    // Close the earlier tests' sources first, so that no socket is still closing while we count.
    for (const earlier of sources.splice(0)) await earlier.close();
    const baseline = tcpSockets();
    const s = source();
    await s.poll();
    assert.equal(tcpSockets(), baseline + 1);
    await s.close();
    await s.close();
    assert.equal(tcpSockets(), baseline);
    await rejectsClearly(s.poll(), /the source is closed/, 100);

    const inFlight = source({ timeoutMs: 5000 });
    await inFlight.poll();
    cluster.master.pause();
    try {
      const pending = inFlight.poll();
      await sleep(50);
      await inFlight.close();
      await rejectsClearly(pending, /the source was closed/, 200);
    } finally {
      cluster.master.resume();
    }
    assert.equal(tcpSockets(), baseline);
    // Never polled: nothing to release.
    await source().close();
  });
});

describe('RedisSource over TLS (a TLS-only master and replica, replicating over TLS)', () => {
  let certs: TestCertificates;
  let tlsCluster: RedisCluster;
  const tlsSources: RedisSource[] = [];
  const tlsUrl = (scheme = 'redis') => `${scheme}://127.0.0.1:${tlsCluster.master.port}`;
  const tlsReplicaId = () => `127.0.0.1:${tlsCluster.replica.port}`;
  /** A source on the TLS master (closed in after()), with the CA unless options say otherwise. */
  const tlsSource = (options: Partial<RedisSourceOptions> = {}): RedisSource => {
    const s = new RedisSource({ url: tlsUrl(), password: PASSWORD, timeoutMs: 2000, tls: { ca: certs.ca.cert }, ...options });
    tlsSources.push(s);
    return s;
  };
  const noKeyIn = (error: Error) => {
    for (const pem of [certs.client.key, certs.server.key]) {
      const body = pem.split('\n')[1]!;
      assert.ok(!error.message.includes(body), `error message quotes a private key: ${error.message}`);
    }
  };

  before(async () => {
    // The servers run as the redis user: it must read its key (mode 0600) and, as a replica, the client key.
    certs = makeTestCertificates(process.getuid?.() === 0 ? { owner: ensureServiceUser('redis') } : {});
    tlsCluster = await startRedisCluster({
      masterPort: await freePort(),
      replicaPort: await freePort(),
      password: PASSWORD,
      tls: {
        certFile: certs.server.certFile,
        keyFile: certs.server.keyFile,
        caFile: certs.ca.certFile,
        authClients: 'no',
        clientCertFile: certs.client.certFile,
        clientKeyFile: certs.client.keyFile,
      },
    });
  });

  after(async () => {
    for (const s of tlsSources) await s.close();
    await tlsCluster?.close();
    certs?.dispose();
  });

  test('tls: { ca } (redis:// URL) and rediss:// + ca: the positions INFO replication reports, over one kept connection', LIMIT, async () => {
    assert.equal(await tlsCluster.master.cli('CONFIG', 'GET', 'port'), 'port\n0', 'the master has no plaintext port');
    assert.equal((await tlsCluster.replica.info('replication')).get('master_link_status'), 'up', 'the replica replicates over TLS');
    await tlsCluster.write(100);
    const s = tlsSource();
    await waitCaughtUp(s, 'TLS replica caught up in the master listing');
    const { replicas, listed } = await pollWhileStill(s, tlsCluster.master, tlsReplicaId());
    assert.deepEqual(replicas.map((r) => [r.nodeId, r.leaderSeq, r.followerSeq]), [[tlsReplicaId(), listed.offset, listed.replicas.get(tlsReplicaId())]]);
    assert.ok(listed.offset > 0n);
    // One TLS connection for several polls (plus redis-cli's own).
    const connections = async () => Number((await tlsCluster.master.info('stats')).get('total_connections_received'));
    const before = await connections();
    const kept = tlsSource();
    for (let i = 0; i < 3; i++) assert.equal((await kept.poll())[0]?.nodeId, tlsReplicaId());
    assert.equal(await connections(), before + 2);

    const viaScheme = tlsSource({ url: `rediss://:${PASSWORD}@127.0.0.1:${tlsCluster.master.port}`, password: undefined });
    const [r] = await viaScheme.poll();
    assert.equal(r?.nodeId, tlsReplicaId());
    assert.equal(r?.leaderSeq, (await masterListing(tlsCluster.master)).offset);
  });

  test('no tls (plaintext to the TLS-only port): rejects at once suggesting rediss:// and --tls-ca, never the password', LIMIT, async () => {
    const s = tlsSource({ url: `redis://:${PASSWORD}@127.0.0.1:${tlsCluster.master.port}`, password: undefined, tls: undefined });
    const pattern = new RegExp(`^Redis redis://127\\.0\\.0\\.1:${tlsCluster.master.port}: cannot connect \\(.*before any reply\\): if the server accepts only TLS, use a rediss:// URL \\(with tls\\.ca for a private CA\\)`);
    await rejectsClearly(s.poll(), pattern, 1000);
    // The next poll reconnects (and fails the same way).
    await rejectsClearly(s.poll(), pattern, 1000);
  });

  test('tls: {} or rediss:// alone (Node\'s public roots) or another CA: "not signed by a trusted CA", pass tls.ca', LIMIT, async () => {
    const advice = /: cannot connect \(TLS handshake failed\): the server's TLS certificate is not signed by a trusted CA \(\w+\): pass the CA that signed it \(tls\.ca\)$/;
    for (const options of [{ tls: {} }, { url: tlsUrl('rediss'), tls: undefined }, { tls: { ca: certs.otherCa.cert } }]) {
      const error = await rejectsClearly(tlsSource(options).poll(), advice, 1000);
      assert.match(error.message, new RegExp(`^Redis redis(s://127\\.0\\.0\\.1:\\d+|://127\\.0\\.0\\.1:\\d+ \\(TLS\\)):`), 'names the server, and TLS for a redis:// URL');
    }
    const wrongName = tlsSource({ tls: { ca: certs.ca.cert, servername: 'db.example' } });
    await rejectsClearly(wrongName.poll(), /not valid for this host name \(ERR_TLS_CERT_ALTNAME_INVALID\).*tls\.servername/, 1000);
  });

  test('rejectUnauthorized: false encrypts without verifying, and works', LIMIT, async () => {
    const s = tlsSource({ url: tlsUrl('rediss'), tls: { rejectUnauthorized: false } });
    assert.equal((await s.poll())[0]?.nodeId, tlsReplicaId());
  });

  test('tls-auth-clients yes: with cert + key it works; without, the error asks for them', LIMIT, async () => {
    assert.equal(await tlsCluster.master.cli('CONFIG', 'SET', 'tls-auth-clients', 'yes'), 'OK');
    try {
      const without = tlsSource();
      const error = await rejectsClearly(without.poll(), /: cannot connect \(the server refused the TLS connection: ERR_SSL_\w+\): it requires a client certificate: pass tls\.cert and tls\.key$/, 1000);
      noKeyIn(error);
      const withCert = tlsSource({ tls: { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key } });
      const [r] = await withCert.poll();
      assert.equal(r?.nodeId, tlsReplicaId());
      assert.equal(r?.leaderSeq, (await masterListing(tlsCluster.master)).offset);
      // A certificate the server's CA did not sign is refused.
      const foreign = tlsSource({ tls: { ca: certs.ca.cert, cert: certs.otherCa.cert, key: certs.otherCa.key } });
      noKeyIn(await rejectsClearly(foreign.poll(), /: cannot connect \(the server refused the client certificate: ERR_SSL_\w+\): pass one signed by a CA the server trusts/, 1000));
    } finally {
      assert.equal(await tlsCluster.master.cli('CONFIG', 'SET', 'tls-auth-clients', 'no'), 'OK');
    }
  });

  test('tls on a plaintext port: fails the TLS handshake within timeoutMs, and says so', LIMIT, async () => {
    const s = tlsSource({ url: masterUrl(), timeoutMs: 800 });
    await rejectsClearly(s.poll(), /^Redis redis:\/\/127\.0\.0\.1:\d+ \(TLS\): .*TLS handshake.*is this a plaintext \(non-TLS\) port\? Then connect without TLS/, 1300);
  });

  test('SIGSTOPped TLS master: the open connection and a new handshake time out; resumed, the next poll reconnects', LIMIT, async () => {
    const s = tlsSource({ timeoutMs: 500 });
    await s.poll();
    tlsCluster.master.pause();
    try {
      await rejectsClearly(s.poll(), /timed out after 500 ms waiting for the reply to INFO replication/, 1500);
      await rejectsClearly(s.poll(), /timed out after 500 ms in the TLS handshake: is the server stopped or overloaded/, 1500);
    } finally {
      tlsCluster.master.resume();
    }
    assert.equal((await s.poll())[0]?.nodeId, tlsReplicaId());
  });

  test('a TLS-only Sentinel: rediss:// Sentinel URLs with tls.ca find the master, reached over TLS; tls.servername is the master\'s; a redis:// Sentinel URL is told to use rediss://', LIMIT, async () => {
    const sentinel = await tlsCluster.addSentinel({ port: await freePort(), masterName: 'replag-tls' });
    const sentinelUrl = `rediss://127.0.0.1:${sentinel.port}`;
    const viaTlsSentinel = (options: Partial<RedisSourceOptions> = {}) => tlsSource({ url: undefined, sentinels: [sentinelUrl], masterName: 'replag-tls', ...options });
    const [r] = await viaTlsSentinel().poll();
    assert.equal(r?.nodeId, tlsReplicaId());
    assert.equal(r?.attributes?.['redis.sentinel.master'], 'replag-tls');
    assert.equal(r?.leaderSeq, (await masterListing(tlsCluster.master)).offset);
    // Without the tls option a rediss:// Sentinel is checked against Node's public roots: refused, pass tls.ca.
    await rejectsClearly(viaTlsSentinel({ tls: undefined }).poll(), new RegExp(`Sentinel rediss://127\\.0\\.0\\.1:${sentinel.port}: cannot connect \\(TLS handshake failed\\): the server's TLS certificate is not signed by a trusted CA`), 2000);
    // The Sentinel's certificate is checked against its own host, the master's against tls.servername.
    await rejectsClearly(viaTlsSentinel({ tls: { ca: certs.ca.cert, servername: 'db.example' } }).poll(),
      new RegExp(`^Redis rediss://127\\.0\\.0\\.1:${tlsCluster.master.port} \\(master "replag-tls" from Sentinel rediss://127\\.0\\.0\\.1:${sentinel.port}\\): cannot connect \\(TLS handshake failed\\): .*not valid for this host name`), 2000);
    await rejectsClearly(viaTlsSentinel({ sentinels: [`redis://127.0.0.1:${sentinel.port}`] }).poll(),
      /Sentinel redis:\/\/127\.0\.0\.1:\d+: cannot connect \(.*before any reply\): if the Sentinel accepts only TLS, use rediss:\/\/ Sentinel URLs/, 2000);
  });

  test('bad tls options: TypeError/RangeError naming RedisSourceOptions.tls, before any I/O, without key or password', LIMIT, async () => {
    const connections = async () => Number((await tlsCluster.master.info('stats')).get('total_connections_received'));
    const before = await connections();
    const url = `rediss://:${PASSWORD}@127.0.0.1:${tlsCluster.master.port}`;
    const cases: [unknown, ErrorConstructor, RegExp][] = [
      ['yes', TypeError, /^RedisSourceOptions\.tls must be an object/],
      [{ ca: 5 }, TypeError, /^RedisSourceOptions\.tls\.ca must be PEM text \(a string\)/],
      [{ ca: certs.ca.certFile }, RangeError, /^RedisSourceOptions\.tls\.ca is not PEM text/],
      [{ key: certs.client.key }, RangeError, /^RedisSourceOptions\.tls: cert and key go together/],
      [{ cert: certs.client.cert, key: 'my-secret-key' }, RangeError, /^RedisSourceOptions\.tls\.key is not PEM text/],
      [{ rejectUnauthorized: 'false' }, TypeError, /^RedisSourceOptions\.tls\.rejectUnauthorized must be a boolean/],
      [{ insecure: true }, RangeError, /^RedisSourceOptions\.tls\.insecure is not a TLS option/],
    ];
    for (const [tls, type, pattern] of cases) {
      assert.throws(() => new RedisSource({ url, tls } as RedisSourceOptions), (e: unknown) => {
        assert.ok(e instanceof type, `${String(tls)}: expected a ${type.name}, got ${String(e)}`);
        assert.match(e.message, pattern);
        assertNoSecret(e);
        noKeyIn(e);
        assert.ok(!e.message.includes('my-secret-key'));
        return true;
      });
    }
    await sleep(100);
    assert.equal(await connections(), before + 1, 'only redis-cli\'s own connection');
  });
});

describe('RedisSource through Redis Sentinel (a master, a replica and a real Sentinel)', () => {
  const MASTER_NAME = 'replag-master';
  let sc: RedisCluster;
  let sentinel: RedisSentinel;
  /** The servers' roles change with the failovers below. */
  let master: RedisServer;
  let replica: RedisServer;
  /** Accepts connections and never answers: a hung Sentinel. */
  let hung: Server;
  const hungSockets = new Set<Socket>();
  let hungPort: number;
  /** Nothing listens there. */
  let deadPort: number;
  const sentinelSources: RedisSource[] = [];
  const sentinelUrl = (port = sentinel.port) => `redis://127.0.0.1:${port}`;
  const idOf = (server: RedisServer) => `127.0.0.1:${server.port}`;
  /** A source through the Sentinel (closed in after()), with both passwords unless options say otherwise. */
  const viaSentinel = (options: Partial<RedisSourceOptions> = {}): RedisSource => {
    const s = new RedisSource({ sentinels: [sentinelUrl()], masterName: MASTER_NAME, sentinelPassword: SENTINEL_PASSWORD, password: PASSWORD, timeoutMs: 2000, ...options });
    sentinelSources.push(s);
    return s;
  };
  const closeSources = async () => {
    for (const s of sentinelSources.splice(0)) await s.close();
  };
  const sentinelConnections = async () => Number((await sentinel.info('stats')).get('total_connections_received'));
  /** Client connections that last ran INFO on `server`, other than the Sentinel's: the sources'. */
  const infoClients = async (server: RedisServer) =>
    (await server.cli('CLIENT', 'LIST')).split('\n').filter((l) => / cmd=info /.test(l) && !/ name=sentinel-/.test(l)).length;

  /** Asserts that one poll returns exactly what `from` lists in INFO replication (compared when it held still). */
  async function assertReportsFrom(s: RedisSource, from: RedisServer, listed: RedisServer): Promise<void> {
    const id = idOf(listed);
    const { replicas, listed: after } = await pollWhileStill(s, from, id);
    assert.deepEqual(replicas.map((r) => [r.nodeId, r.leaderSeq, r.followerSeq]), [[id, after.offset, after.replicas.get(id)]]);
    assert.deepEqual(replicas[0]!.attributes, { 'replication.system': 'redis', 'server.address': '127.0.0.1', 'server.port': listed.port, 'redis.sentinel.master': MASTER_NAME });
  }

  before(async () => {
    sc = await startRedisCluster({ masterPort: await freePort(), replicaPort: await freePort(), password: PASSWORD });
    sentinel = await sc.addSentinel({ port: await freePort(), masterName: MASTER_NAME, password: SENTINEL_PASSWORD, downAfterMs: 1000, failoverTimeoutMs: 5000 });
    master = sc.master;
    replica = sc.replica;
    deadPort = await freePort();
    hungPort = await freePort();
    hung = createServer((socket) => {
      hungSockets.add(socket);
      socket.resume(); // reads (and ignores) commands, so that it sees the client's FIN
      socket.on('close', () => hungSockets.delete(socket));
    });
    await new Promise<void>((resolve) => hung.listen(hungPort, '127.0.0.1', resolve));
  });

  after(async () => {
    await closeSources();
    for (const socket of hungSockets) socket.destroy();
    await new Promise((resolve) => hung?.close(resolve));
    await sc?.close();
  });

  test('discovery: the positions the master named by the Sentinel reports, with redis.sentinel.master; one question, then the kept connection', LIMIT, async () => {
    await sc.write(100);
    const s = viaSentinel();
    await waitCaughtUp(s, 'replica caught up in the master listing');
    await assertReportsFrom(s, master, replica);
    // The Sentinel is asked only to (re)connect: three more polls, no new Sentinel connection but redis-cli's own.
    const before = await sentinelConnections();
    for (let i = 0; i < 3; i++) assert.equal((await s.poll())[0]?.nodeId, idOf(replica));
    assert.equal(await sentinelConnections(), before + 1);
    // The Sentinel's password in its URL instead of sentinelPassword.
    const inUrl = viaSentinel({ sentinels: [`redis://:${SENTINEL_PASSWORD}@127.0.0.1:${sentinel.port}`], sentinelPassword: undefined });
    assert.equal((await inUrl.poll())[0]?.nodeId, idOf(replica));
  });

  test('a first Sentinel down (nothing listening) and a second hung (never answers): the third answers, within timeoutMs', LIMIT, async () => {
    const s = viaSentinel({ sentinels: [sentinelUrl(deadPort), sentinelUrl(hungPort), sentinelUrl()], timeoutMs: 2000 });
    const start = Date.now();
    const replicas = await s.poll();
    const elapsed = Date.now() - start;
    assert.deepEqual(replicas.map((r) => r.nodeId), [idOf(replica)]);
    assert.equal(replicas[0]?.leaderSeq, (await masterListing(master)).offset);
    assert.ok(elapsed >= 500 && elapsed < 2000, `the hung Sentinel got a share of timeoutMs, then the next was asked (${elapsed} ms)`);
  });

  test('unknown master name, wrong or missing Sentinel password, a Redis server as Sentinel: clear errors naming the Sentinel', LIMIT, async () => {
    const where = `Sentinel redis://127\\.0\\.0\\.1:${sentinel.port}`;
    await rejectsClearly(viaSentinel({ masterName: 'no-such-master' }).poll(),
      new RegExp(`^Redis Sentinel master "no-such-master": no Sentinel gave the master's address \\(1 asked\\): ${where} does not know a master named "no-such-master" \\(SENTINEL get-master-addr-by-name returned null\\)`), 2000);
    await rejectsClearly(viaSentinel({ sentinelPassword: WRONG_PASSWORD }).poll(), new RegExp(`${where}: authentication failed \\(WRONGPASS`), 2000);
    await rejectsClearly(viaSentinel({ sentinelPassword: undefined }).poll(), new RegExp(`${where}: the Sentinel requires a password \\(NOAUTH`), 2000);
    await rejectsClearly(viaSentinel({ sentinels: [`redis://127.0.0.1:${master.port}`], sentinelPassword: PASSWORD }).poll(),
      new RegExp(`Sentinel redis://127\\.0\\.0\\.1:${master.port}: not a Sentinel \\(ERR unknown command`), 2000);
  });

  test('all Sentinels unreachable: one error listing each (redacted), within timeoutMs', LIMIT, async () => {
    const s = viaSentinel({ sentinels: [`redis://:${SENTINEL_PASSWORD}@127.0.0.1:${deadPort}`, `redis://u:${WRONG_PASSWORD}@127.0.0.1:${hungPort}`], timeoutMs: 800 });
    const error = await rejectsClearly(s.poll(), new RegExp(
      `^Redis Sentinel master "${MASTER_NAME}": no Sentinel gave the master's address \\(2 asked\\): ` +
      `Sentinel redis://127\\.0\\.0\\.1:${deadPort}: cannot connect \\(connect ECONNREFUSED [^)]*\\): is redis-sentinel running and listening there\\?; ` +
      `Sentinel redis://127\\.0\\.0\\.1:${hungPort}: timed out after \\d+ ms \\(its share of timeoutMs\\) waiting for the reply to AUTH$`), 800);
    assert.ok(!error.message.includes('u:'), 'no user either');
  });

  test('bad options: RangeError/TypeError naming the option, before any I/O, never echoing a password', LIMIT, async () => {
    const before = await sentinelConnections();
    const sentinels = [`redis://:${SENTINEL_PASSWORD}@127.0.0.1:${sentinel.port}`];
    const masterName = MASTER_NAME;
    const cases: [unknown, ErrorConstructor, RegExp][] = [
      [{ url: `redis://:${PASSWORD}@127.0.0.1:6379`, sentinels, masterName }, RangeError, /^RedisSourceOptions: give either url, or sentinels and masterName, not both$/],
      [{ url: 'redis://127.0.0.1:6379', masterName }, RangeError, /give either url, or sentinels and masterName, not both/],
      [{ sentinels }, TypeError, /^RedisSourceOptions\.masterName must be a string \(the name in the Sentinels' "sentinel monitor" line\), got undefined$/],
      [{ sentinels, masterName: ' ' }, RangeError, /^RedisSourceOptions\.masterName must be a non-empty name/],
      [{ masterName }, TypeError, /^RedisSourceOptions\.sentinels must be an array of redis:\/\/ or rediss:\/\/ Sentinel URLs, got undefined$/],
      [{ sentinels: sentinels[0], masterName }, TypeError, /^RedisSourceOptions\.sentinels must be an array/],
      [{ sentinels: [], masterName }, RangeError, /^RedisSourceOptions\.sentinels is empty/],
      [{ sentinels: [7], masterName }, TypeError, /^RedisSourceOptions\.sentinels\[0\] must be a string, got number$/],
      [{ sentinels: [...sentinels, `http://:${SENTINEL_PASSWORD}@127.0.0.1:26379`], masterName }, RangeError, /^RedisSourceOptions\.sentinels\[1\] must be a redis:\/\/ or rediss:\/\/ URL, got "http:\/\/127\.0\.0\.1:26379\/"$/],
      [{ sentinels: [`${SENTINEL_PASSWORD}@127.0.0.1`], masterName }, RangeError, /^RedisSourceOptions\.sentinels\[0\] is not a valid URL/],
      [{ sentinels: [`redis://:${SENTINEL_PASSWORD}@127.0.0.1/0`], masterName }, RangeError, /^RedisSourceOptions\.sentinels\[0\] must be redis:\/\/host:port without a path \(a Sentinel has no database\), got "redis:\/\/127\.0\.0\.1:26379\/0"$/],
      [{ sentinels: [...sentinels, `rediss://:${SENTINEL_PASSWORD}@127.0.0.1:26380`], masterName }, RangeError, /^RedisSourceOptions\.sentinels mixes redis:\/\/ and rediss:\/\/ URLs/],
      [{ sentinels: ['redis://admin@127.0.0.1'], masterName }, TypeError, /^RedisSourceOptions\.sentinels\[0\] has user "admin" but no password/],
      [{ sentinels, masterName, sentinelPassword: '' }, RangeError, /^RedisSourceOptions\.sentinelPassword must not be empty/],
      [{ sentinels, masterName, sentinelPassword: 5 }, TypeError, /^RedisSourceOptions\.sentinelPassword must be a string/],
      [{ sentinels, masterName, username: 'replag' }, TypeError, /^RedisSourceOptions\.username "replag" needs a password/],
      [{ sentinels, masterName, timeoutMs: 0 }, RangeError, /^RedisSourceOptions\.timeoutMs/],
    ];
    for (const [options, type, pattern] of cases) {
      assert.throws(() => new RedisSource(options as RedisSourceOptions), (e: unknown) => {
        assert.ok(e instanceof type, `${String(pattern)}: expected a ${type.name}, got ${String(e)}`);
        assert.match(e.message, pattern);
        assertNoSecret(e);
        return true;
      });
    }
    await sleep(100);
    assert.equal(await sentinelConnections(), before + 1, 'only redis-cli\'s own connection');
  });

  test('close() closes every connection: the master\'s, and a Sentinel\'s being asked (the poll in flight rejects)', LIMIT, async () => {
    await closeSources();
    const baseline = tcpSockets();
    const s = viaSentinel();
    await s.poll();
    // The master connection is kept; the Sentinel's was closed after its answer.
    await waitUntil('only the master connection open', 2000, () => tcpSockets() === baseline + 1, 20);
    await s.close();
    assert.equal(tcpSockets(), baseline);
    await rejectsClearly(s.poll(), /the source is closed/, 100);

    const asking = viaSentinel({ sentinels: [sentinelUrl(hungPort)], timeoutMs: 5000 });
    const pending = asking.poll();
    await waitUntil('the hung Sentinel has the connection', 2000, () => hungSockets.size === 1, 20);
    await asking.close();
    await rejectsClearly(pending, new RegExp(`^Redis Sentinel master "${MASTER_NAME}": the source was closed`), 200);
    // Our side is closed at once; the hung server's side once it sees the FIN.
    await waitUntil('every socket closed', 2000, () => hungSockets.size === 0 && tcpSockets() === baseline, 20);
  });

  test('a real failover (SENTINEL FAILOVER): the source follows the new master, which lists the old one as its replica', { timeout: 60_000 }, async () => {
    const s = viaSentinel();
    await assertReportsFrom(s, master, replica);
    assert.equal(await sentinel.cli('SENTINEL', 'FAILOVER', MASTER_NAME), 'OK');
    // Sentinel promotes the replica at once; it turns the old master into a replica some 10 s later (its
    // publish period × 4 plus an INFO period), closing the clients' connections: the next poll asks again.
    const [oldMaster, newMaster] = [master, replica];
    const errors: string[] = [];
    await waitUntil('the source reports the old master as a replica of the new one', 40_000, async () => {
      const replicas = await s.poll().catch((e: Error) => {
        errors.push(e.message);
        return [];
      });
      return replicas.length === 1 && replicas[0]!.nodeId === idOf(oldMaster);
    }, 200);
    [master, replica] = [newMaster, oldMaster];
    assert.equal((await master.info('replication')).get('role'), 'master');
    assert.equal((await replica.info('replication')).get('role'), 'slave');
    assert.equal(await sentinel.cli('SENTINEL', 'get-master-addr-by-name', MASTER_NAME), `127.0.0.1\n${master.port}`);
    await assertReportsFrom(s, master, replica);
    assertNoSecret(new Error(errors.join('\n')));
    assert.ok(errors.length <= 1, `at most the poll the old master's client kill interrupted fails: ${errors.join('\n')}`);
  });

  test('the master turned replica while the connection stayed open: the Sentinel is asked again and the same poll succeeds', LIMIT, async () => {
    await closeSources();
    const s = viaSentinel();
    assert.equal((await s.poll())[0]?.nodeId, idOf(replica));
    assert.equal(await infoClients(master), 1, 'the source\'s connection to the master');
    // Switch roles by hand (REPLICAOF closes no client connection), then point the Sentinel at the new master.
    const [oldMaster, newMaster] = [master, replica];
    assert.equal(await sentinel.cli('SENTINEL', 'REMOVE', MASTER_NAME), 'OK');
    assert.equal(await newMaster.cli('REPLICAOF', 'NO', 'ONE'), 'OK');
    assert.equal(await oldMaster.cli('REPLICAOF', '127.0.0.1', String(newMaster.port)), 'OK');
    await waitUntil('the old master online at the new one', 10_000, async () => (await masterListing(newMaster)).replicas.has(idOf(oldMaster)), 100);
    assert.equal(await sentinel.cli('SENTINEL', 'MONITOR', MASTER_NAME, '127.0.0.1', String(newMaster.port), '1'), 'OK');
    assert.equal(await sentinel.cli('SENTINEL', 'SET', MASTER_NAME, 'auth-pass', PASSWORD), 'OK');
    [master, replica] = [newMaster, oldMaster];
    assert.equal(await infoClients(replica), 1, 'the source\'s connection to the old master is still open');

    const start = Date.now();
    const replicas = await s.poll();
    assert.ok(Date.now() - start < 2000, 'within timeoutMs');
    assert.deepEqual(replicas.map((r) => r.nodeId), [idOf(replica)]);
    await waitUntil('the connection to the old master closed', 2000, async () => (await infoClients(replica)) === 0, 50);
    await assertReportsFrom(s, master, replica);
  });
});
