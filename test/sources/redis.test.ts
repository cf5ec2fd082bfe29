/**
 * RedisSource against a real Redis master + replica (Debian redis-server, 127.0.0.1, requirepass): positions
 * cross-checked with the servers' own INFO, a replica caught up / SIGSTOPped (stalled) / resumed through a real
 * monitor, replicas dropped by the master, ACL permissions, authentication and timeout errors that never
 * contain the password, option validation without I/O, and close(). Over TLS against a second, TLS-only cluster
 * (the replica replicating over TLS): rediss:// and the tls option, certificate and client-certificate errors,
 * plaintext/TLS port mix-ups.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReplicationLagMonitor } from '../../src/monitor.ts';
import { startPoller, type Poller } from '../../src/sources/poller.ts';
import { parseReplicationInfo, RedisSource, type RedisSourceOptions } from '../../src/sources/redis.ts';
import { findFreePort, startRedisCluster, waitUntil, type RedisCluster, type RedisServer } from '../harness/redis.ts';
import { ensureServiceUser } from '../harness/service-user.ts';
import { makeTestCertificates, type TestCertificates } from '../harness/tls.ts';

const PASSWORD = 'Pw-7f3c-DistinctiveRedisSecret';
const WRONG_PASSWORD = 'Wrong-91ab-NotTheRedisSecret';
const ACL_PASSWORD = 'Acl-5d2e-ReplagUserSecret';
const SECRETS = [PASSWORD, WRONG_PASSWORD, ACL_PASSWORD];
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
      [{ url, timeoutMs: 0 }, RangeError, /RedisSourceOptions\.timeoutMs must be an integer in 1\.\.2147483647, got 0/],
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
    // The replica ACKs once a second: wait until the master lists it caught up.
    await waitUntil('replica caught up in the master listing', 10_000, async () => {
      const [r] = await s.poll();
      return r !== undefined && r.followerSeq === r.leaderSeq;
    }, 100);
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
    await waitUntil('TLS replica caught up in the master listing', 10_000, async () => {
      const [r] = await s.poll();
      return r !== undefined && r.followerSeq === r.leaderSeq;
    }, 100);
    let compared = false;
    for (let attempt = 0; attempt < 40 && !compared; attempt++) {
      if (attempt > 0) await sleep(100);
      const listed = await masterListing(tlsCluster.master);
      const replicas = await s.poll();
      const after = await masterListing(tlsCluster.master);
      if (listed.offset !== after.offset || listed.replicas.get(tlsReplicaId()) !== after.replicas.get(tlsReplicaId())) continue;
      compared = true;
      assert.deepEqual(replicas.map((r) => [r.nodeId, r.leaderSeq, r.followerSeq]), [[tlsReplicaId(), after.offset, after.replicas.get(tlsReplicaId())]]);
      assert.ok(after.offset > 0n);
    }
    assert.ok(compared, 'the master offset never held still across one poll');
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
    const pattern = new RegExp(`^Redis redis://127\\.0\\.0\\.1:${tlsCluster.master.port}: cannot connect \\(.*before any reply\\): if the server accepts only TLS, use a rediss:// URL \\(with tls\\.ca, replag --tls-ca FILE`);
    await rejectsClearly(s.poll(), pattern, 1000);
    // The next poll reconnects (and fails the same way).
    await rejectsClearly(s.poll(), pattern, 1000);
  });

  test('tls: {} or rediss:// alone (Node\'s public roots) or another CA: "not signed by a trusted CA", pass tls.ca', LIMIT, async () => {
    const advice = /: cannot connect \(TLS handshake failed\): the server's TLS certificate is not signed by a trusted CA \(\w+\): pass the CA that signed it \(tls\.ca, replag --tls-ca FILE\)$/;
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
      const error = await rejectsClearly(without.poll(), /: cannot connect \(the server refused the TLS connection: ERR_SSL_\w+\): it requires a client certificate: pass tls\.cert and tls\.key \(replag --tls-cert FILE --tls-key FILE\)$/, 1000);
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
