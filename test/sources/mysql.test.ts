/**
 * MySqlSource: the GTID arithmetic on its own, then against a real MariaDB 10.11 primary and GTID replica
 * (test/harness/mariadb.ts): positions equal the servers' own GTIDs, caught up / stalled / resumed through a real
 * monitor, replicas that hang, vanish or are not replicas, the minimal privileges, timeouts, and passwords that
 * never appear in an error. MySQL 8 is exercised through the GTID-set arithmetic only (no MySQL server here).
 * TLS: a second cluster with the test certificates (test/harness/tls.ts), accounts that REQUIRE SSL / REQUIRE X509.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { RowDataPacket } from 'mysql2';
import { createConnection } from 'mysql2/promise';
import { ReplicationLagMonitor } from '../../src/monitor.ts';
import { mariadbGtidSeq, MySqlSource, mysqlGtidCount, secondsBehindOf, type MySqlSourceOptions } from '../../src/sources/mysql.ts';
import { startPoller, type Poller } from '../../src/sources/poller.ts';
import { startMariaDbCluster, type MariaDbCluster } from '../harness/mariadb.ts';
import { ensureServiceUser } from '../harness/service-user.ts';
import { makeTestCertificates, type TestCertificates } from '../harness/tls.ts';
import { findFreePort, waitUntil } from '../harness/wait.ts';
import { runNode } from '../helpers/run-node.ts';

const PORTS = { minPort: 24000, maxPort: 25000 };
/** Distinctive passwords: no error message may ever contain them. */
const MONITOR_PASSWORD = 'monPw-7xQzK3vTq';
const WRONG_PASSWORD = 'Wr0ng-9pLmQ2rXw';
const SECRETS = [MONITOR_PASSWORD, WRONG_PASSWORD];

const U1 = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
const U2 = 'a0b1c2d3-0000-4000-8000-00000000000f';

describe('GTID arithmetic', () => {
  test('mariadbGtidSeq sums the highest seq_no of each domain, exactly, whatever the server ids', () => {
    assert.equal(mariadbGtidSeq(''), 0n);
    assert.equal(mariadbGtidSeq('  \n '), 0n);
    assert.equal(mariadbGtidSeq('0-1-42'), 42n);
    assert.equal(mariadbGtidSeq('0-1-42,1-2-7'), 49n);
    assert.equal(mariadbGtidSeq(' 0-1-42 ,\n 1-2-7\n'), 49n);
    assert.equal(mariadbGtidSeq('0-1-5,0-2-9,0-3-7'), 9n, 'one domain, several server ids: the highest seq_no');
    assert.equal(mariadbGtidSeq('4294967295-4294967295-18446744073709551615'), 18446744073709551615n);
    assert.equal(mariadbGtidSeq('0-1-9007199254740993,1-1-1'), 9007199254740994n, 'exact above 2^53');
  });

  test('mariadbGtidSeq with the primary\'s list counts only its domains, each at most at its seq_no', () => {
    assert.equal(mariadbGtidSeq('0-1-8,1-1-7', '0-1-10,1-1-5'), 13n);
    assert.equal(mariadbGtidSeq('0-1-8,2-5-100', '0-1-10'), 8n, 'a domain the primary does not have is ignored');
    assert.equal(mariadbGtidSeq('', '0-1-10'), 0n);
    assert.equal(mariadbGtidSeq('0-1-3', ''), 0n);
  });

  test('mariadbGtidSeq rejects malformed lists with a RangeError', () => {
    for (const bad of ['0-1', '0-1-x', 'a-b-c', '0-1-2,', ',0-1-2', '0-1-2,,1-1-1', '-1-1-1', '0-1-2-3', '0 -1-2',
      '4294967296-1-1', '0-4294967296-1', '0-1-18446744073709551616']) {
      assert.throws(() => mariadbGtidSeq(bad), RangeError, bad);
      assert.throws(() => mariadbGtidSeq('0-1-1', bad), RangeError, `cappedBy ${bad}`);
    }
    assert.throws(() => mariadbGtidSeq(42 as unknown as string), TypeError);
  });

  test('mysqlGtidCount counts the transactions of a GTID set, merging overlaps, tags and case', () => {
    assert.equal(mysqlGtidCount(''), 0n);
    assert.equal(mysqlGtidCount(`${U1}:1-10:12,${U2}:1-3`), 14n);
    assert.equal(mysqlGtidCount(`${U1}:1-10:12,\n${U2}:1-3\n`), 14n, 'MySQL prints a newline after each comma');
    assert.equal(mysqlGtidCount(`${U1}:1-5:3-8:8:20`), 9n, 'overlapping and repeated intervals count once');
    assert.equal(mysqlGtidCount(`${U1}:1-5,${U1.toUpperCase()}:4-6`), 6n, 'UUIDs are case-insensitive');
    assert.equal(mysqlGtidCount(`${U1}:1-5:tag_a:1-3:7,${U1}:tag_b:1-2`), 11n, 'tagged GTIDs (MySQL 8.3+) are distinct transactions');
    assert.equal(mysqlGtidCount(`${U1}:1-9223372036854775807`), 9223372036854775807n);
  });

  test('mysqlGtidCount with the primary\'s set counts only the transactions both have', () => {
    assert.equal(mysqlGtidCount(`${U1}:1-10,${U2}:1-50`, `${U1}:1-8:10-20`), 9n);
    assert.equal(mysqlGtidCount(`${U1}:1-100`, `${U1}:5-6:50-59:200-300`), 12n);
    assert.equal(mysqlGtidCount(`${U1}:1-10`, `${U1}:tag_a:1-10`), 0n, 'an untagged and a tagged GTID are different transactions');
    assert.equal(mysqlGtidCount(`${U1}:1-10`, ''), 0n);
  });

  test('mysqlGtidCount rejects malformed sets with a RangeError', () => {
    for (const bad of [U1, `${U1}:`, `${U1}:0-5`, `${U1}:5-3`, `${U1}:1-9223372036854775808`, 'not-a-uuid:1-2', `${U1}:1-2,,${U2}:1`,
      `${U1}:1-2,`, `${U1}:tag`, `${U1}:1-2:tag`, `${U1}:Bad-Tag:1`, `${U1}:1-2-3`]) {
      assert.throws(() => mysqlGtidCount(bad), RangeError, bad);
      assert.throws(() => mysqlGtidCount(`${U1}:1`, bad), RangeError, `within ${bad}`);
    }
    assert.throws(() => mysqlGtidCount(undefined as unknown as string), TypeError);
  });
});

test('secondsBehindOf: Seconds_Behind_Master (or _Source) as a number, undefined when NULL in any row; the largest of several', () => {
  assert.equal(secondsBehindOf([{ Seconds_Behind_Master: 0 }]), 0);
  assert.equal(secondsBehindOf([{ Seconds_Behind_Master: 17 }]), 17);
  assert.equal(secondsBehindOf([{ Seconds_Behind_Master: '42' }]), 42, 'as text');
  assert.equal(secondsBehindOf([{ Seconds_Behind_Source: 9 }]), 9, 'MySQL 8.0.22+ column name');
  assert.equal(secondsBehindOf([{ Seconds_Behind_Master: null }]), undefined, 'NULL: a replication thread is stopped');
  assert.equal(secondsBehindOf([{}]), undefined, 'no such column');
  assert.equal(secondsBehindOf([]), undefined);
  assert.equal(secondsBehindOf([{ Seconds_Behind_Master: 3 }, { Seconds_Behind_Master: 11 }]), 11, 'multi-source: the worst connection');
  assert.equal(secondsBehindOf([{ Seconds_Behind_Master: 3 }, { Seconds_Behind_Master: null }]), undefined, 'one connection unknown: unknown');
  for (const bad of [-1, 'x', Number.NaN, Number.POSITIVE_INFINITY]) assert.equal(secondsBehindOf([{ Seconds_Behind_Master: bad }]), undefined, String(bad));
});

test('options are validated in the constructor, naming the option, never echoing a password, before any I/O', async () => {
  let connections = 0;
  const sockets = new Set<Socket>();
  const listener = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  const port = await findFreePort(PORTS.minPort, PORTS.maxPort);
  await new Promise<void>((resolve) => listener.listen(port, '127.0.0.1', resolve));
  listener.on('connection', (s) => sockets.add(s));
  try {
    const ok = `mysql://replag@127.0.0.1:${port}`;
    const cases: [Partial<MySqlSourceOptions> | null, ErrorConstructor, RegExp][] = [
      [null, TypeError, /^MySqlSourceOptions must be an object/],
      [{ replicas: [`mysql://r@127.0.0.1:1`] }, TypeError, /MySqlSourceOptions\.primary must be a mysql:\/\/ URL string/],
      [{ primary: `postgres://u:${WRONG_PASSWORD}@db:5432/x`, replicas: [ok] }, RangeError, /MySqlSourceOptions\.primary must be a mysql:\/\/ URL, got "postgres:\/\/db:5432\/x"/],
      [{ primary: `mysql://u:${WRONG_PASSWORD}@db:notaport`, replicas: [ok] }, RangeError, /MySqlSourceOptions\.primary must be a mysql:\/\/ URL, got "mysql:\/\/db:notaport"/],
      [{ primary: `mysql://u:${WRONG_PASSWORD}/x#@db:3306`, replicas: [ok] }, RangeError, /MySqlSourceOptions\.primary must be a mysql:\/\/ URL, got "mysql:\/\/db:3306"/],
      [{ primary: `mysql://u:${WRONG_PASSWORD}@db:0`, replicas: [ok] }, RangeError, /MySqlSourceOptions\.primary must have a port in 1-65535, got "mysql:\/\/db:0"/],
      [{ primary: 'mysql://db:3306', replicas: [ok] }, RangeError, /MySqlSourceOptions\.primary must name the monitoring user/],
      [{ primary: `mysql://u:${WRONG_PASSWORD}@db:3306/?ssl=1`, replicas: [ok] }, RangeError, /MySqlSourceOptions\.primary must not have a query string/],
      [{ primary: ok }, TypeError, /MySqlSourceOptions\.replicas must be an array/],
      [{ primary: ok, replicas: ok as unknown as string[] }, TypeError, /MySqlSourceOptions\.replicas must be an array/],
      [{ primary: ok, replicas: [] }, RangeError, /MySqlSourceOptions\.replicas must list at least one/],
      [{ primary: ok, replicas: [42 as unknown as string] }, TypeError, /MySqlSourceOptions\.replicas\[0\] must be a mysql:\/\/ URL string/],
      [{ primary: ok, replicas: [`http://u:${WRONG_PASSWORD}@r:1/`] }, RangeError, /MySqlSourceOptions\.replicas\[0\] must be a mysql:\/\/ URL, got "http:\/\/r:1\/"/],
      [{ primary: ok, replicas: [`mysql://other:${WRONG_PASSWORD}@127.0.0.1:${port}`] }, RangeError, /MySqlSourceOptions\.replicas\[0\] is 127\.0\.0\.1:\d+, already given/],
      [{ primary: ok, replicas: ['mysql://u@r1', 'mysql://u@r2:3306', 'mysql://u@r1:3306'] }, RangeError, /MySqlSourceOptions\.replicas\[2\] is r1:3306, already given/],
      [{ primary: ok, replicas: ['mysql://u@r1'], timeoutMs: 0 }, RangeError, /MySqlSourceOptions\.timeoutMs must be > 0/],
      [{ primary: ok, replicas: ['mysql://u@r1'], timeoutMs: -5 }, RangeError, /MySqlSourceOptions\.timeoutMs/],
      [{ primary: ok, replicas: ['mysql://u@r1'], timeoutMs: Number.NaN }, RangeError, /MySqlSourceOptions\.timeoutMs/],
      [{ primary: ok, replicas: ['mysql://u@r1'], timeoutMs: Number.POSITIVE_INFINITY }, RangeError, /MySqlSourceOptions\.timeoutMs/],
      [{ primary: ok, replicas: ['mysql://u@r1'], timeoutMs: '5000' as unknown as number }, TypeError, /MySqlSourceOptions\.timeoutMs must be a number/],
      [{ primary: ok, replicas: ['mysql://u@r1'], password: 12345678 as unknown as string }, TypeError, /MySqlSourceOptions\.password must be a string, got number$/],
      [{ primary: ok, replicas: ['mysql://u@r1'], onReplicaError: 'log' as unknown as () => void }, TypeError, /MySqlSourceOptions\.onReplicaError must be a function/],
      [{ primary: ok, replicas: ['mysql://u@r1'], replicaTimeoutMs: 0 }, RangeError, /MySqlSourceOptions\.replicaTimeoutMs must be > 0 and <= timeoutMs \(5000 ms\), got 0/],
      [{ primary: ok, replicas: ['mysql://u@r1'], timeoutMs: 2000, replicaTimeoutMs: 2001 }, RangeError, /MySqlSourceOptions\.replicaTimeoutMs must be > 0 and <= timeoutMs \(2000 ms\), got 2001/],
      [{ primary: ok, replicas: ['mysql://u@r1'], replicaTimeoutMs: Number.NaN }, RangeError, /MySqlSourceOptions\.replicaTimeoutMs/],
      [{ primary: ok, replicas: ['mysql://u@r1'], replicaTimeoutMs: '500' as unknown as number }, TypeError, /MySqlSourceOptions\.replicaTimeoutMs must be a number/],
    ];
    for (const [options, type, message] of cases) {
      assert.throws(() => new MySqlSource(options as MySqlSourceOptions), (error: Error) => {
        assert.ok(error instanceof type, `${error.name}: ${error.message}`);
        assert.match(error.message, message);
        for (const secret of SECRETS) assert.ok(!error.message.includes(secret), error.message);
        return true;
      });
    }
    // A valid source connects lazily: nothing until the first poll, which then does reach the server.
    const source = new MySqlSource({ primary: ok, replicas: [`mysql://replag@127.0.0.1:${await findFreePort(PORTS.minPort, PORTS.maxPort)}`], timeoutMs: 2000, onReplicaError: () => {} });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(connections, 0, 'no connection before the first poll');
    await assert.rejects(source.poll(), /^Error: MySqlSource: primary 127\.0\.0\.1:\d+: connection lost/);
    assert.equal(connections, 1);
    await source.close();
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => listener.close(resolve));
  }
});

describe('MySqlSource on a MariaDB primary and replica', () => {
  let cluster: MariaDbCluster;
  let replicaId: string;
  const sources: MySqlSource[] = [];
  const pollers: Poller[] = [];
  /** Every error message any source produced, checked for passwords at the end. */
  const messages: string[] = [];

  /** URL of a server for `user`; `password` null: none in the URL. */
  const url = (server: 'primary' | 'replica', user = 'replag', password: string | null = MONITOR_PASSWORD) =>
    `mysql://${user}${password === null ? '' : `:${password}`}@127.0.0.1:${cluster.port(server)}`;

  /** A source on the cluster (monitoring user `replag` unless given), closed after the tests; errors are recorded. */
  function source(options: Partial<MySqlSourceOptions> = {}, errors: Error[] = []): MySqlSource {
    const s = new MySqlSource({
      primary: url('primary'),
      replicas: [url('replica')],
      onReplicaError: (_replica, error) => {
        errors.push(error);
        messages.push(error.message);
      },
      ...options,
    });
    sources.push(s);
    const poll = s.poll.bind(s);
    s.poll = () => poll().catch((error: Error) => {
      messages.push(error.message);
      throw error;
    });
    return s;
  }

  function watch(s: MySqlSource, monitor: ReplicationLagMonitor, pollErrors: Error[] = []): Poller {
    const poller = startPoller({ source: s, monitor, intervalMs: 100, onError: (e) => pollErrors.push(e) });
    pollers.push(poller);
    return poller;
  }

  /** Sum of seq_no of a GTID position as printed by the server (one GTID per domain), computed independently. */
  const sumOf = (gtids: string) => gtids.split(',').filter((g) => g.trim() !== '').reduce((sum, g) => sum + BigInt(g.trim().split('-')[2]!), 0n);

  before(async () => {
    cluster = await startMariaDbCluster(PORTS);
    replicaId = `127.0.0.1:${cluster.port('replica')}`;
    // Exactly the README's grants: a login on the primary, REPLICA MONITOR for SHOW ALL REPLICAS STATUS on replicas.
    await cluster.sql('primary', `
      CREATE USER 'replag'@'%' IDENTIFIED BY '${MONITOR_PASSWORD}'; GRANT REPLICA MONITOR ON *.* TO 'replag'@'%';
      CREATE USER 'nogrant'@'%' IDENTIFIED BY '${MONITOR_PASSWORD}';
      CREATE USER 'closer'@'%' IDENTIFIED BY '${MONITOR_PASSWORD}'; GRANT REPLICA MONITOR ON *.* TO 'closer'@'%';`);
    await cluster.waitCaughtUp();
  });

  after(async () => {
    for (const p of pollers) await p.stop();
    for (const s of sources) await s.close();
    await cluster?.close();
  });

  test('positions are the servers\' own GTID positions, in transactions, across domains and server ids', async () => {
    await cluster.insert(3);
    await cluster.sql('primary', 'SET SESSION gtid_domain_id = 2; SET SESSION server_id = 7; INSERT INTO app.t (v) VALUES (2); INSERT INTO app.t (v) VALUES (3);');
    await cluster.waitCaughtUp();
    const primaryPos = await cluster.gtidPos('primary');
    assert.match(primaryPos, /(^|,)2-7-2(,|$)/, `a second domain written by server id 7: ${primaryPos}`);
    const s = source();
    const [position, ...more] = await s.poll();
    assert.equal(more.length, 0);
    assert.deepEqual(position, {
      nodeId: replicaId,
      leaderSeq: sumOf(primaryPos),
      followerSeq: sumOf(await cluster.gtidPos('replica')),
      reportedDelaySeconds: 0,
      attributes: { 'replication.system': 'mariadb', 'server.address': '127.0.0.1', 'server.port': cluster.port('replica') },
    });
    assert.equal(typeof position!.leaderSeq, 'bigint');
    assert.equal(position!.followerSeq, position!.leaderSeq);

    // One GTID per transaction: 5 inserts move both positions by exactly 5.
    await cluster.insert(5);
    await cluster.waitCaughtUp();
    const [next] = await s.poll();
    assert.equal(next!.leaderSeq, (position!.leaderSeq as bigint) + 5n);
    assert.equal(next!.followerSeq, (position!.followerSeq as bigint) + 5n);
    assert.equal(next!.leaderSeq, sumOf(await cluster.gtidPos('primary')));
  });

  test('after writes, a caught-up replica has lagEntries 0 and severity normal in a monitor fed by startPoller', async () => {
    const monitor = new ReplicationLagMonitor();
    const pollErrors: Error[] = [];
    const poller = watch(source(), monitor, pollErrors);
    await cluster.insert(20);
    await cluster.waitCaughtUp();
    const leader = sumOf(await cluster.gtidPos('primary'));
    await waitUntil('the monitor to see the replica caught up', 10_000, () => monitor.getStatus(replicaId)?.followerSeq === leader, 50);
    const status = monitor.getStatus(replicaId)!;
    assert.equal(status.leaderSeq, leader);
    assert.equal(status.lagEntries, 0);
    assert.equal(status.severity, 'normal');
    assert.equal(status.attributes['replication.system'], 'mariadb');
    assert.deepEqual(pollErrors, []);
    await poller.stop();
  });

  test('a replica whose SQL thread is stopped is stalled while the primary advances, then catches up and is normal', async () => {
    const monitor = new ReplicationLagMonitor({ stallTimeoutSeconds: 2 });
    const pollErrors: Error[] = [];
    const poller = watch(source(), monitor, pollErrors);
    await waitUntil('a first status', 5000, () => monitor.getStatus(replicaId)?.severity === 'normal', 50);
    await cluster.sql('replica', 'STOP REPLICA SQL_THREAD');
    const frozen = sumOf(await cluster.gtidPos('replica'));
    const leaderAtStop = monitor.getStatus(replicaId)!.leaderSeq;
    let writes = 0;
    await waitUntil('the replica to be stalled', 15_000, async () => {
      await cluster.insert(1);
      writes++;
      return monitor.getStatus(replicaId)?.severity === 'stalled';
    }, 250);
    const stalled = monitor.getStatus(replicaId)!;
    assert.equal(stalled.followerSeq, frozen, 'the follower position is frozen');
    assert.equal(sumOf(await cluster.gtidPos('replica')), frozen, '… and is what the replica itself reports');
    assert.ok(stalled.leaderSeq > leaderAtStop, `the leader advanced: ${stalled.leaderSeq} > ${leaderAtStop}`);
    assert.ok(stalled.lagEntries > 0 && stalled.lagEntries <= writes, `lagEntries ${stalled.lagEntries} after ${writes} writes`);

    await cluster.sql('replica', 'START REPLICA SQL_THREAD');
    await cluster.waitCaughtUp();
    const leader = sumOf(await cluster.gtidPos('primary'));
    await waitUntil('the replica to be caught up and normal again', 10_000, () => {
      const s = monitor.getStatus(replicaId);
      return s?.followerSeq === leader && s.lagEntries === 0 && s.severity === 'normal';
    }, 50);
    assert.deepEqual(pollErrors, []);
    await poller.stop();
  });

  test('reportedDelaySeconds is the replica\'s Seconds_Behind_Master: 0 caught up, the apply delay with MASTER_DELAY, omitted while NULL (SQL thread stopped)', async () => {
    const s = source();
    assert.equal((await s.poll())[0]?.reportedDelaySeconds, 0);
    /** The replica's own Seconds_Behind_Master, read independently of the source (NULL as 'NULL'). */
    const own = async () => {
      const conn = await createConnection({ host: '127.0.0.1', port: cluster.port('replica'), user: 'replag', password: MONITOR_PASSWORD });
      try {
        const [rows] = await conn.query<RowDataPacket[]>('SHOW ALL REPLICAS STATUS');
        return String(rows[0]?.Seconds_Behind_Master ?? 'NULL');
      } finally {
        await conn.end();
      }
    };
    await cluster.sql('replica', 'STOP REPLICA SQL_THREAD');
    try {
      await cluster.insert(1);
      assert.equal(await own(), 'NULL');
      const [stopped] = await s.poll();
      assert.ok(stopped !== undefined && stopped.followerSeq < stopped.leaderSeq, 'behind');
      assert.equal(stopped.reportedDelaySeconds, undefined, 'NULL is omitted, not 0');
      assert.ok(!('reportedDelaySeconds' in stopped));
    } finally {
      await cluster.sql('replica', 'START REPLICA SQL_THREAD');
    }
    await cluster.waitCaughtUp();
    await cluster.sql('replica', 'STOP REPLICA; CHANGE MASTER TO MASTER_DELAY = 3; START REPLICA');
    try {
      await cluster.insert(1);
      let reported: number | undefined;
      let server = '';
      await waitUntil('the replica to report a delay of 2 s or more', 10_000, async () => {
        reported = (await s.poll())[0]?.reportedDelaySeconds;
        server = (await own()) ?? '';
        return reported !== undefined && reported >= 2;
      }, 200);
      assert.ok(Math.abs(reported! - Number(server)) <= 1, `polled ${reported} s, the replica said ${server} s right after`);
      assert.ok(reported! <= 4, `${reported} s with MASTER_DELAY = 3`);
    } finally {
      await cluster.sql('replica', 'STOP REPLICA; CHANGE MASTER TO MASTER_DELAY = 0; START REPLICA');
    }
    await cluster.waitCaughtUp();
  });

  test('a SIGSTOPped replica: the poll waits replicaTimeoutMs once, then not at all; its last known position is reported, its failures go to onReplicaError; read again after SIGCONT', async () => {
    const errors: Error[] = [];
    const s = source({ timeoutMs: 1500, replicaTimeoutMs: 300 }, errors);
    assert.deepEqual(s.replicaReadability(), new Map(), 'nothing before the first poll');
    const [before] = await s.poll();
    assert.equal(before?.reportedDelaySeconds, 0);
    assert.deepEqual(s.replicaReadability(), new Map([[replicaId, true]]));
    await cluster.signal('replica', 'SIGSTOP');
    try {
      await cluster.insert(2);
      let started = performance.now();
      const [first, ...more] = await s.poll();
      const waited = performance.now() - started;
      assert.equal(more.length, 0);
      assert.ok(waited >= 250 && waited < 1400, `the first poll waited ${waited} ms for the hung replica with replicaTimeoutMs 300`);
      assert.deepEqual(first, { nodeId: before!.nodeId, leaderSeq: (before!.leaderSeq as bigint) + 2n, followerSeq: before!.followerSeq, attributes: before!.attributes },
        'the last known follower position against the advancing primary, without the replica\'s own figure');
      assert.equal(errors.at(-1)?.message, `MySqlSource: replica ${replicaId}: did not answer within 300 ms (replicaTimeoutMs); reported at its last known position until it answers`);
      assert.deepEqual(s.replicaReadability(), new Map([[replicaId, false]]));
      // The next polls do not wait for it: its read is still in flight (up to timeoutMs), then fails and is retried.
      started = performance.now();
      const [second] = await s.poll();
      assert.ok(performance.now() - started < 250, `the second poll waited ${performance.now() - started} ms for a replica known to be hung`);
      assert.equal(second?.followerSeq, before!.followerSeq);
      await waitUntil('the hung read to fail at timeoutMs', 5000, async () => {
        await s.poll();
        return /did not answer within 1500 ms \(timeoutMs\)/.test(errors.at(-1)?.message ?? '');
      }, 100);
      assert.equal(errors.at(-1)!.message, `MySqlSource: replica ${replicaId}: did not answer within 1500 ms (timeoutMs): the server may be hung, overloaded or unreachable`);
      const [still] = await s.poll();
      assert.equal(still?.followerSeq, before!.followerSeq, 'still reported, at its last known position');
      assert.equal(still?.reportedDelaySeconds, undefined);
    } finally {
      await cluster.signal('replica', 'SIGCONT');
    }
    await cluster.waitCaughtUp();
    const leader = sumOf(await cluster.gtidPos('primary'));
    await waitUntil('the replica to be read again, caught up', 10_000, async () => (await s.poll())[0]?.followerSeq === leader, 100);
    const errorsBefore = errors.length;
    assert.equal((await s.poll())[0]?.reportedDelaySeconds, 0);
    assert.equal(errors.length, errorsBefore, 'no more errors once it answers');
    assert.deepEqual(s.replicaReadability(), new Map([[replicaId, true]]));
  });

  test('a SIGSTOPped primary makes poll() reject within timeoutMs, naming the primary', async () => {
    const s = source({ timeoutMs: 1000 });
    assert.equal((await s.poll()).length, 1);
    await cluster.signal('primary', 'SIGSTOP');
    try {
      const started = performance.now();
      await assert.rejects(s.poll(), {
        message: `MySqlSource: primary 127.0.0.1:${cluster.port('primary')}: did not answer within 1000 ms (timeoutMs): the server may be hung, overloaded or unreachable`,
      });
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 900 && elapsed < 2000, `poll took ${elapsed} ms with timeoutMs 1000`);
    } finally {
      await cluster.signal('primary', 'SIGCONT');
    }
    await waitUntil('the primary to be read again', 10_000, async () => (await s.poll()).length === 1);
  });

  test('a replica that is shut down keeps being reported at its last position and turns stalled as the primary advances; normal again once restarted', async () => {
    const monitor = new ReplicationLagMonitor({ stallTimeoutSeconds: 2 });
    const errors: Error[] = [];
    const pollErrors: Error[] = [];
    const poller = watch(source({}, errors), monitor, pollErrors);
    await waitUntil('a first status', 5000, () => monitor.getStatus(replicaId)?.severity === 'normal', 50);
    const frozen = monitor.getStatus(replicaId)!.followerSeq;
    await cluster.stop('replica');
    await waitUntil('the replica to be stalled', 15_000, async () => {
      await cluster.insert(1);
      return monitor.getStatus(replicaId)?.severity === 'stalled';
    }, 250);
    assert.equal(monitor.getStatus(replicaId)!.followerSeq, frozen, 'reported at its last known position');
    assert.ok(monitor.getStatus(replicaId)!.lagEntries > 0);
    assert.equal(errors.at(-1)!.message, `MySqlSource: replica ${replicaId}: connection refused: is the server running and listening on this address?`);
    assert.deepEqual(pollErrors, [], 'the primary is still read: polls succeed');

    await cluster.restart('replica');
    await cluster.waitCaughtUp();
    const leader = sumOf(await cluster.gtidPos('primary'));
    await waitUntil('the restarted replica to be reported, caught up', 10_000, () => {
      const s = monitor.getStatus(replicaId);
      return s?.followerSeq === leader && s.lagEntries === 0 && s.severity === 'normal';
    }, 50);
    await poller.stop();
  });

  test('a replica removed from the configuration disappears (a source without it; the poller forgets it)', async () => {
    const monitor = new ReplicationLagMonitor();
    const withReplica = source();
    let current: MySqlSource = withReplica;
    const switching = { name: 'mysql', poll: () => current.poll() };
    const poller = startPoller({ source: switching, monitor, intervalMs: 100 });
    pollers.push(poller);
    await waitUntil('the replica to be reported', 5000, () => monitor.getStatus(replicaId) !== undefined, 50);
    // The same primary with another (unreachable) replica only: the removed one is no longer reported.
    current = source({ replicas: [`mysql://replag:${MONITOR_PASSWORD}@127.0.0.1:${await findFreePort(PORTS.minPort, PORTS.maxPort)}`] });
    await waitUntil('the removed replica to be forgotten', 5000, () => monitor.getStatus(replicaId) === undefined, 50);
    await poller.stop();
  });

  test('a server that is not (any more) a replica is reported as such', async () => {
    const errors: Error[] = [];
    const s = source({}, errors);
    await cluster.sql('replica', 'STOP REPLICA; RESET REPLICA ALL');
    try {
      const expected = `MySqlSource: replica ${replicaId}: is not a replica: SHOW ALL REPLICAS STATUS returned no row; configure replication on it or remove it from the replicas`;
      assert.deepEqual(await s.poll(), []);
      assert.equal(errors.length, 1);
      assert.equal(errors[0]!.message, expected);
      // Without onReplicaError, the replica's error rejects the poll instead of going unnoticed.
      await assert.rejects(source({ onReplicaError: undefined }).poll(), { message: expected });
    } finally {
      await cluster.configureReplication();
    }
    await cluster.insert(1);
    await cluster.waitCaughtUp();
    const [position] = await s.poll();
    assert.equal(position?.followerSeq, sumOf(await cluster.gtidPos('primary')));
  });

  test('permissions: a login is enough on the primary, REPLICA MONITOR on replicas, and the error gives the GRANT that fixes it', async () => {
    // The user the other tests use has exactly the README's grant.
    assert.deepEqual((await cluster.sql('replica', "SHOW GRANTS FOR 'replag'@'%'")).split('\n').map((g) => g.replace(/ IDENTIFIED BY .*/, '')), [
      'GRANT SLAVE MONITOR ON *.* TO `replag`@`%`',
    ]);
    const errors: Error[] = [];
    const s = source({ primary: url('primary', 'nogrant'), replicas: [url('replica', 'nogrant')] }, errors);
    assert.deepEqual(await s.poll(), [], 'the primary is read without any privilege: the poll resolves');
    assert.equal(errors.length, 1);
    assert.deepEqual(s.replicaReadability(), new Map([[replicaId, false]]), 'never read: left out of the positions, not readable');
    const message = errors[0]!.message;
    assert.match(message, new RegExp(`^MySqlSource: replica ${replicaId}: the monitoring user may not run SHOW ALL REPLICAS STATUS \\(server said: .*SLAVE MONITOR.*\\): `));
    const grant = /run (GRANT REPLICA MONITOR ON \*\.\* TO 'nogrant'@'%') on the primary/.exec(message)?.[1];
    assert.ok(grant !== undefined, message);
    await cluster.sql('primary', grant); // exactly what the message says
    await cluster.waitCaughtUp();
    const [position] = await s.poll();
    assert.equal(position?.nodeId, replicaId, 'the next poll reconnects and is allowed');
    assert.equal(errors.length, 1);
  });

  test('a wrong password, an unreachable port: clear errors, within timeoutMs, without the password', async () => {
    const wrongInUrl = source({ primary: url('primary', 'replag', WRONG_PASSWORD), timeoutMs: 2000 });
    await assert.rejects(wrongInUrl.poll(), (error: Error) => {
      assert.match(error.message, new RegExp(`^MySqlSource: primary 127\\.0\\.0\\.1:${cluster.port('primary')}: authentication failed for user 'replag': check the user name and password \\(server said: Access denied for user 'replag'@'127\\.0\\.0\\.1' \\(using password: YES\\)\\)$`));
      return true;
    });
    // Password from the option (the CLI's MYSQL_PWD) for URLs without one: wrong for the replica only.
    const errors: Error[] = [];
    const wrongOption = source({ replicas: [url('replica', 'replag', null)], password: WRONG_PASSWORD }, errors);
    assert.deepEqual(await wrongOption.poll(), []);
    assert.match(errors[0]?.message ?? '', new RegExp(`^MySqlSource: replica ${replicaId}: authentication failed for user 'replag'`));
    const rightOption = source({ primary: url('primary', 'replag', null), replicas: [url('replica', 'replag', null)], password: MONITOR_PASSWORD });
    assert.equal((await rightOption.poll()).length, 1, 'the password option is used for URLs without one');

    const nobody = await findFreePort(PORTS.minPort, PORTS.maxPort);
    const unreachable = source({ primary: `mysql://replag:${MONITOR_PASSWORD}@127.0.0.1:${nobody}`, timeoutMs: 2000 });
    const started = performance.now();
    await assert.rejects(unreachable.poll(), { message: `MySqlSource: primary 127.0.0.1:${nobody}: connection refused: is the server running and listening on this address?` });
    assert.ok(performance.now() - started < 2000);
  });

  test('close() is idempotent, releases every connection, and poll() rejects afterwards', async () => {
    const connections = async () => Promise.all((['primary', 'replica'] as const).map(async (server) =>
      Number(await cluster.sql(server, "SELECT COUNT(*) FROM information_schema.processlist WHERE user = 'closer'"))));
    const s = source({ primary: url('primary', 'closer'), replicas: [url('replica', 'closer')] });
    assert.equal((await s.poll()).length, 1);
    assert.deepEqual(await connections(), [1, 1]);
    await Promise.all([s.close(), s.close()]);
    await s.close();
    await waitUntil('the servers to see the connections closed', 5000, async () => (await connections()).every((n) => n === 0), 50);
    await assert.rejects(s.poll(), { message: 'MySqlSource: poll() called after close()' });
  });

  test('a process that polled a hung replica and closed the source exits by itself', async () => {
    const script = `
      import { MySqlSource } from ${JSON.stringify(new URL('../../src/sources/mysql.ts', import.meta.url).href)};
      const source = new MySqlSource({ primary: process.env.PRIMARY, replicas: [process.env.REPLICA], timeoutMs: 500,
        onReplicaError: (replica, error) => console.log('replica error:', error.message) });
      const positions = await source.poll();
      console.log('positions:', positions.length);
      await source.close();
      await source.close();`;
    await cluster.signal('replica', 'SIGSTOP');
    try {
      const started = performance.now();
      const result = await runNode(['--input-type=module', '-e', script], {
        env: { PRIMARY: url('primary'), REPLICA: url('replica') },
        timeoutMs: 15_000,
      });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /replica error: MySqlSource: replica .*: did not answer within 500 ms/);
      assert.match(result.stdout, /positions: 0/);
      assert.ok(performance.now() - started < 8000, 'no handle kept the process alive after close()');
      messages.push(result.stdout, result.stderr);
    } finally {
      await cluster.signal('replica', 'SIGCONT');
    }
    await cluster.waitCaughtUp();
  });

  test('no error message of any test above contained a password', () => {
    assert.ok(messages.length >= 8, `${messages.length} messages collected`);
    for (const message of messages) for (const secret of SECRETS) assert.ok(!message.includes(secret), message);
  });
});

describe('MySqlSource over TLS (MariaDB with ssl_cert; accounts that REQUIRE SSL / REQUIRE X509)', () => {
  let certs: TestCertificates;
  let cluster: MariaDbCluster;
  /** 127.0.0.2:port → the replica: an address the server certificate does not list. */
  let forwarder: Server;
  let forwardedReplica: string;
  const sockets = new Set<Socket>();
  const sources: MySqlSource[] = [];
  const messages: string[] = [];
  type User = 'replag_tls' | 'replag_x509' | 'replag_plain';

  const url = (server: 'primary' | 'replica', user: User) => `mysql://${user}:${MONITOR_PASSWORD}@127.0.0.1:${cluster.port(server)}`;
  const at = (server: 'primary' | 'replica') => `127.0.0.1:${cluster.port(server)}`;
  /** Sum of seq_no of a GTID position as printed by the server, computed independently of the source. */
  const sumOf = (gtids: string) => gtids.split(',').filter((g) => g.trim() !== '').reduce((sum, g) => sum + BigInt(g.trim().split('-')[2]!), 0n);

  /** A source for `user` on both servers (unless `options` says otherwise); errors are recorded. */
  function source(user: User, tls: MySqlSourceOptions['tls'], options: Partial<MySqlSourceOptions> = {}, errors: Error[] = []): MySqlSource {
    const s = new MySqlSource({
      primary: url('primary', user),
      replicas: [url('replica', user)],
      timeoutMs: 2000,
      onReplicaError: (_replica, error) => {
        errors.push(error);
        messages.push(error.message);
      },
      ...(tls !== undefined ? { tls } : {}),
      ...options,
    });
    sources.push(s);
    return s;
  }

  /** poll() must reject within timeoutMs; returns the message. */
  async function failure(s: MySqlSource): Promise<string> {
    const started = performance.now();
    const error = await s.poll().then(() => assert.fail('poll() resolved'), (e: Error) => e);
    assert.ok(performance.now() - started < 2000, `failed after ${performance.now() - started} ms with timeoutMs 2000`);
    messages.push(error.message);
    return error.message;
  }

  /** One poll: the replica's position equals the servers' own GTID positions. */
  async function assertRealPositions(s: MySqlSource, nodeId = at('replica')): Promise<void> {
    await cluster.insert(2);
    await cluster.waitCaughtUp();
    const [position, ...more] = await s.poll();
    assert.equal(more.length, 0);
    assert.equal(position?.nodeId, nodeId);
    assert.equal(position.leaderSeq, sumOf(await cluster.gtidPos('primary')));
    assert.equal(position.followerSeq, sumOf(await cluster.gtidPos('replica')));
    assert.ok((position.leaderSeq as bigint) > 0n);
  }

  before(async () => {
    certs = makeTestCertificates({ owner: ensureServiceUser('mysql') });
    cluster = await startMariaDbCluster({ ...PORTS, tls: { certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.ca.certFile } });
    assert.equal(await cluster.sql('replica', "SELECT @@have_ssl"), 'YES');
    // Created on the primary, replicated to the replica; the same grant as the plaintext tests.
    await cluster.sql('primary', `
      CREATE USER 'replag_tls'@'%' IDENTIFIED BY '${MONITOR_PASSWORD}' REQUIRE SSL; GRANT REPLICA MONITOR ON *.* TO 'replag_tls'@'%';
      CREATE USER 'replag_x509'@'%' IDENTIFIED BY '${MONITOR_PASSWORD}' REQUIRE X509; GRANT REPLICA MONITOR ON *.* TO 'replag_x509'@'%';
      CREATE USER 'replag_plain'@'%' IDENTIFIED BY '${MONITOR_PASSWORD}'; GRANT REPLICA MONITOR ON *.* TO 'replag_plain'@'%';`);
    await cluster.waitCaughtUp();
    forwarder = createServer((client) => {
      const server = connect({ host: '127.0.0.1', port: cluster.port('replica') });
      for (const s of [client, server]) {
        sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => sockets.delete(s));
      }
      client.pipe(server).pipe(client);
      client.on('close', () => server.destroy());
      server.on('close', () => client.destroy());
    });
    const port = await findFreePort(PORTS.minPort, PORTS.maxPort);
    await new Promise<void>((resolve) => forwarder.listen(port, '127.0.0.2', resolve));
    forwardedReplica = `127.0.0.2:${port}`;
  });

  after(async () => {
    for (const s of sources) await s.close();
    for (const s of sockets) s.destroy();
    if (forwarder !== undefined) await new Promise((resolve) => forwarder.close(resolve));
    await cluster?.close();
    certs?.dispose();
  });

  test('tls: { ca } reads both servers over TLS (their accounts refuse plaintext) and reports the real positions', async () => {
    await assertRealPositions(source('replag_tls', { ca: certs.ca.cert }));
    await assertRealPositions(source('replag_tls', { ca: certs.ca.cert, servername: 'localhost' }));
  });

  test('without tls, an account that requires it fails with a hint to enable TLS, on the primary and through onReplicaError', async () => {
    const hint = '; or, if the account requires TLS (REQUIRE SSL), enable it: the tls option';
    const denied = (role: string, address: string) =>
      `MySqlSource: ${role} ${address}: authentication failed for user 'replag_tls': check the user name and password ` +
      `(server said: Access denied for user 'replag_tls'@'127.0.0.1' (using password: YES))${hint}`;
    assert.equal(await failure(source('replag_tls', undefined)), denied('primary', at('primary')));
    const errors: Error[] = [];
    assert.deepEqual(await source('replag_tls', undefined, { primary: url('primary', 'replag_plain') }, errors).poll(), []);
    assert.deepEqual(errors.map((e) => e.message), [denied('replica', at('replica'))]);
  });

  test('tls: {} (Node\'s public roots) or another CA: refused, and the error says to pass the CA', async () => {
    for (const tls of [{}, { ca: certs.otherCa.cert }]) {
      assert.match(await failure(source('replag_tls', tls)),
        new RegExp(`^MySqlSource: primary ${at('primary')}: TLS handshake failed: the server's TLS certificate is not signed by a trusted CA \\([A-Z_]+\\): pass the CA that signed it \\(tls\\.ca\\)$`));
    }
  });

  test('the certificate\'s name is checked against the host (also an IP address) or tls.servername', async () => {
    // The replica through 127.0.0.2, which the certificate does not list: refused, through onReplicaError.
    const errors: Error[] = [];
    const viaOtherAddress = source('replag_tls', { ca: certs.ca.cert }, { replicas: [`mysql://replag_tls:${MONITOR_PASSWORD}@${forwardedReplica}`] }, errors);
    assert.deepEqual(await viaOtherAddress.poll(), [], 'the primary (127.0.0.1, listed) is read');
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, new RegExp(`^MySqlSource: replica ${forwardedReplica}: TLS handshake failed: the server's TLS certificate is not valid for this host name \\(ERR_TLS_CERT_ALTNAME_INVALID\\): .*tls\\.servername`));
    // A name the certificate does not list.
    assert.match(await failure(source('replag_tls', { ca: certs.ca.cert, servername: 'db.example' })),
      new RegExp(`^MySqlSource: primary ${at('primary')}: TLS handshake failed: the server's TLS certificate is not valid for this host name \\(ERR_TLS_CERT_ALTNAME_INVALID\\)`));
    // servername naming one it lists makes 127.0.0.2 acceptable.
    await assertRealPositions(source('replag_tls', { ca: certs.ca.cert, servername: 'localhost' }, { replicas: [`mysql://replag_tls:${MONITOR_PASSWORD}@${forwardedReplica}`] }), forwardedReplica);
  });

  test('rejectUnauthorized: false encrypts without verifying: unknown CA and unlisted address are accepted', async () => {
    await assertRealPositions(source('replag_tls', { rejectUnauthorized: false }));
    await assertRealPositions(source('replag_tls', { rejectUnauthorized: false }, { replicas: [`mysql://replag_tls:${MONITOR_PASSWORD}@${forwardedReplica}`] }), forwardedReplica);
  });

  test('REQUIRE X509: with cert and key it works; without, the error says to pass them', async () => {
    await assertRealPositions(source('replag_x509', { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key }));
    const hint = '; or, if the account requires a client certificate (REQUIRE X509), pass one: tls.cert and tls.key';
    const denied = (role: string, address: string) =>
      `MySqlSource: ${role} ${address}: authentication failed for user 'replag_x509': check the user name and password ` +
      `(server said: Access denied for user 'replag_x509'@'127.0.0.1' (using password: YES))${hint}`;
    assert.equal(await failure(source('replag_x509', { ca: certs.ca.cert })), denied('primary', at('primary')));
    const errors: Error[] = [];
    assert.deepEqual(await source('replag_x509', { ca: certs.ca.cert }, { primary: url('primary', 'replag_tls') }, errors).poll(), []);
    assert.deepEqual(errors.map((e) => e.message), [denied('replica', at('replica'))]);
  });

  test('bad tls options throw in the constructor, naming MySqlSourceOptions.tls, never quoting a key', () => {
    const secretKey = '-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n';
    const cases: [unknown, ErrorConstructor, RegExp][] = [
      ['yes', TypeError, /^MySqlSourceOptions\.tls must be an object/],
      [null, TypeError, /^MySqlSourceOptions\.tls must be an object/],
      [{ ca: '/etc/ssl/ca.pem' }, RangeError, /^MySqlSourceOptions\.tls\.ca is not PEM text/],
      [{ ca: 42 }, TypeError, /^MySqlSourceOptions\.tls\.ca must be PEM text/],
      [{ cert: certs.client.cert }, RangeError, /^MySqlSourceOptions\.tls: cert and key go together/],
      [{ key: secretKey }, RangeError, /^MySqlSourceOptions\.tls: cert and key go together/],
      [{ rejectUnauthorized: 'no' }, TypeError, /^MySqlSourceOptions\.tls\.rejectUnauthorized must be a boolean/],
      [{ servername: '' }, TypeError, /^MySqlSourceOptions\.tls\.servername must be a non-empty string/],
      [{ ssl: true }, RangeError, /^MySqlSourceOptions\.tls\.ssl is not a TLS option/],
    ];
    for (const [tls, type, message] of cases) {
      assert.throws(() => new MySqlSource({ primary: url('primary', 'replag_tls'), replicas: [url('replica', 'replag_tls')], tls: tls as MySqlSourceOptions['tls'] }), (error: Error) => {
        assert.ok(error instanceof type, `${error.name}: ${error.message}`);
        assert.match(error.message, message);
        assert.ok(!error.message.includes('c2VjcmV0') && !error.message.includes(MONITOR_PASSWORD), error.message);
        return true;
      });
    }
    // TLS is never taken from the URL: one rule, the tls option.
    assert.throws(() => new MySqlSource({ primary: `${url('primary', 'replag_tls')}/?ssl=true`, replicas: [url('replica', 'replag_tls')] }),
      { name: 'RangeError', message: /^MySqlSourceOptions\.primary must not have a query string .*TLS is the tls option/ });
  });

  test('no error message above contained a password or a key', () => {
    assert.ok(messages.length >= 8, `${messages.length} messages collected`);
    for (const message of messages) {
      for (const secret of [...SECRETS, certs.client.key.split('\n')[1]!]) assert.ok(!message.includes(secret), message);
    }
  });
});
