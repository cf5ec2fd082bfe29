/**
 * RedisClusterSource: CLUSTER NODES parsing and shard grouping on their own, then against a real Redis Cluster
 * (test/harness/redis-cluster.ts: 3 masters + 3 replicas, ports 21501-21516): every shard and replica found from one
 * seed, positions equal to each master's own INFO replication, healthy replicas normal through a real monitor, a
 * SIGSTOPped replica under a write loop stalled (and still reported once flagged fail) then normal after SIGCONT,
 * a master failover followed (the old master reported as a replica), and the poll deadline against stopped nodes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReplicationLagMonitor } from '../../../src/monitor.ts';
import { parseClusterNodes, RedisClusterSource, shardsOf, type RedisClusterSourceOptions } from '../../../src/sources/redis-cluster.ts';
import { startPoller, type Poller } from '../../../src/sources/poller.ts';
import { startRedisClusterOf6, type RealRedisCluster } from '../../harness/redis-cluster.ts';
import { waitUntil } from '../../harness/wait.ts';

/** Inside the Redis Cluster suite's range 21500-21999. */
const BASE_PORT = 21500;
const PASSWORD = 'Rc-4a9e-DistinctiveClusterSecret';
const WRONG_PASSWORD = 'Wrong-6f1d-NotTheClusterSecret';
const SECRETS = [PASSWORD, WRONG_PASSWORD];
const INTERVAL_MS = 250;
const STALL_S = 2;

let cluster: RealRedisCluster;
const sources: RedisClusterSource[] = [];
const pollers: Poller[] = [];
const id = (port: number) => `127.0.0.1:${port}`;

function source(options: Partial<RedisClusterSourceOptions> = {}): RedisClusterSource {
  const s = new RedisClusterSource({ nodes: [`redis://127.0.0.1:${BASE_PORT + 1}`], password: PASSWORD, timeoutMs: 2000, ...options });
  sources.push(s);
  return s;
}

function watch(s: RedisClusterSource, monitor: ReplicationLagMonitor, errors: Error[]): Poller {
  const p = startPoller({ source: s, monitor, intervalMs: INTERVAL_MS, onError: (e) => errors.push(e) });
  pollers.push(p);
  return p;
}

function assertNoSecret(text: string): void {
  for (const secret of SECRETS) assert.ok(!text.includes(secret), `leaks a password: ${text}`);
}

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const D = 'd'.repeat(40);

describe('CLUSTER NODES parsing and shards', () => {
  test('parseClusterNodes reads ids, addresses, flags, masters, epochs and slot ranges (migration entries left out)', () => {
    const nodes = parseClusterNodes([
      `${A} 127.0.0.1:7001@17001,host-a myself,master - 0 0 3 connected 0-5460 [5461->-${B}]`,
      `${B} 127.0.0.1:7002@17002 slave,fail ${A} 0 0 3 disconnected`,
      `${C} :0@0 noaddr,master - 0 0 0 disconnected`,
      `${D} [::1]:7004@17004 master - 0 0 5 connected 5461 5462-10922`,
      '',
    ].join('\n'));
    assert.deepEqual(nodes.map((n) => [n.id, n.address, [...n.flags], n.masterId, n.configEpoch, n.slots]), [
      [A, '127.0.0.1:7001', ['myself', 'master'], undefined, 3n, ['0-5460']],
      [B, '127.0.0.1:7002', ['slave', 'fail'], A, 3n, []],
      [D, '[::1]:7004', ['master'], undefined, 5n, ['5461', '5462-10922']],
    ]);
    assert.throws(() => parseClusterNodes('garbage line'), /CLUSTER NODES: malformed line/);
  });

  test('shardsOf: of two masters claiming the same slots the live one, then the higher epoch wins; a failed master without successor keeps its shard; a failed replica stays in its shard', () => {
    const E = 'e'.repeat(40);
    const nodes = parseClusterNodes([
      `${A} 127.0.0.1:7001@1 master - 0 0 3 connected 0-5460`,
      `${B} 127.0.0.1:7002@1 master - 0 0 7 connected 0-5460`,
      `${C} 127.0.0.1:7003@1 slave,fail ${B} 0 0 7 connected`,
      `${D} 127.0.0.1:7004@1 master,fail - 0 0 9 connected 5461-10922`,
      `${E} 127.0.0.1:7005@1 slave ${D} 0 0 9 connected`,
    ].join('\n'));
    const shards = shardsOf(nodes);
    assert.deepEqual(shards.map((s) => [s.name, s.master.id, s.replicas.map((r) => r.id)]), [['0-5460', B, [C]], ['5461-10922', D, [E]]]);
    const failedOver = shardsOf(parseClusterNodes([
      `${D} 127.0.0.1:7004@1 master,fail - 0 0 9 connected 5461-10922`,
      `${E} 127.0.0.1:7005@1 master - 0 0 8 connected 5461-10922`,
    ].join('\n')));
    assert.deepEqual(failedOver.map((s) => s.master.id), [E], 'the live master wins over the failed one whatever the epochs');
  });

  test('bad options throw naming the option, never echoing a password', () => {
    const cases: [unknown, RegExp][] = [
      [undefined, /RedisClusterSourceOptions must be an object/],
      [{ nodes: 'redis://h:1' }, /RedisClusterSourceOptions\.nodes must be an array/],
      [{ nodes: [] }, /RedisClusterSourceOptions\.nodes must list at least one node URL/],
      [{ nodes: [`http://:${PASSWORD}@h:1`] }, /RedisClusterSourceOptions\.nodes\[0\] must be a redis:\/\/ URL/],
      [{ nodes: ['redis://h:1', 'rediss://h:2'] }, /mixes redis:\/\/ and rediss:\/\//],
      [{ nodes: ['redis://h:1'], username: 'u' }, /username "u" needs a password/],
      [{ nodes: ['redis://h:1'], timeoutMs: 0 }, /RedisClusterSourceOptions\.timeoutMs must be > 0/],
      [{ nodes: ['redis://h:1'], timeoutMs: 500, nodeTimeoutMs: 600 }, /nodeTimeoutMs must be > 0 and <= timeoutMs \(500 ms\)/],
      [{ nodes: ['redis://h:1'], tls: { ca: 'x' } }, /RedisClusterSourceOptions\.tls\.ca is not PEM/],
    ];
    for (const [options, pattern] of cases) {
      assert.throws(() => new RedisClusterSource(options as RedisClusterSourceOptions), (e: Error) => {
        assert.match(e.message, pattern);
        assertNoSecret(e.message);
        return true;
      }, JSON.stringify(options));
    }
  });
});

describe('RedisClusterSource against a real Redis Cluster (3 masters + 3 replicas)', () => {
  before(async () => {
    cluster = await startRedisClusterOf6({ basePort: BASE_PORT, password: PASSWORD });
  });
  after(async () => {
    for (const p of pollers) await p.stop();
    for (const s of sources) await s.close();
    await cluster?.close();
  });

  test('from one seed, every shard and replica; positions are each master\'s own INFO replication', async () => {
    const pairs = await cluster.pairs();
    for (const [m] of pairs) {
      const load = await cluster.startLoad(m, 1);
      await sleep(200);
      await load.stop();
    }
    await sleep(1200); // replicas ACK once a second
    for (const seed of [pairs[0]![1], pairs[2]![0]]) {
      const s = source({ nodes: [`redis://127.0.0.1:${seed}`] });
      let compared = false;
      for (let attempt = 0; attempt < 20 && !compared; attempt++) {
        const before = await Promise.all(pairs.map(([m]) => cluster.server(m).info('replication')));
        const positions = await s.poll();
        const afterwards = await Promise.all(pairs.map(([m]) => cluster.server(m).info('replication')));
        if (before.some((b, i) => b.get('master_repl_offset') !== afterwards[i]!.get('master_repl_offset') || b.get('slave0') !== afterwards[i]!.get('slave0'))) continue;
        compared = true;
        assert.deepEqual(positions.map((p) => p.nodeId).sort(), pairs.map(([, r]) => id(r)).sort(), `seed :${seed} finds every replica`);
        const nodes = await cluster.nodes();
        for (const [i, [m, r]] of pairs.entries()) {
          const p = positions.find((x) => x.nodeId === id(r))!;
          const info = afterwards[i]!;
          assert.equal(p.leaderSeq, BigInt(info.get('master_repl_offset')!));
          assert.equal(p.followerSeq, BigInt(/offset=(\d+)/.exec(info.get('slave0')!)![1]!));
          assert.ok((p.leaderSeq as bigint) > 0n);
          const firstRange = nodes.find((n) => n.port === m)!.slots[0]!;
          assert.deepEqual(p.attributes, { 'replication.system': 'redis', 'server.address': '127.0.0.1', 'server.port': r, 'redis.cluster.shard': firstRange, 'redis.role': 'replica' });
        }
      }
      assert.ok(compared, 'the offsets never held still across one poll');
    }
  });

  test('a wrong password: a clear error naming the node, without the password', async () => {
    const s = source({ password: WRONG_PASSWORD });
    const error = await s.poll().then(() => assert.fail('expected a rejection'), (e: Error) => e);
    assert.match(error.message, /Redis Cluster node redis:\/\/127\.0\.0\.1:21501: authentication failed for user "default"/);
    assertNoSecret(error.message);
    assertNoSecret(String(error.stack));
  });

  test('healthy replicas are normal, lag 0, in a monitor fed by startPoller', async () => {
    const monitor = new ReplicationLagMonitor({ stallTimeoutSeconds: STALL_S });
    const errors: Error[] = [];
    watch(source(), monitor, errors);
    const pairs = await cluster.pairs();
    await waitUntil('every replica normal and caught up', 10_000, () => pairs.every(([, r]) => {
      const st = monitor.getStatus(id(r));
      return st?.severity === 'normal' && st.lagEntries === 0;
    }), 50);
    assert.deepEqual(errors, []);
  });

  test('privileges: an ACL user with -@all +cluster|nodes +info is enough; without cluster|nodes the error gives the ACL SETUSER that fixes it', async () => {
    const aclPassword = 'Acl-2e7b-ClusterUserSecret';
    SECRETS.push(aclPassword);
    for (const server of cluster.servers) await server.cli('ACL', 'SETUSER', 'replag', 'on', `>${aclPassword}`, '-@all', '+cluster|nodes', '+info');
    const ok = await source({ username: 'replag', password: aclPassword }).poll();
    assert.equal(ok.length, 3);
    const userInUrl = await source({ nodes: [`redis://replag@127.0.0.1:${BASE_PORT + 1}`], password: aclPassword }).poll();
    assert.equal(userInUrl.length, 3, 'the user from the URL, the password from the option');
    for (const server of cluster.servers) await server.cli('ACL', 'SETUSER', 'replag', '-cluster|nodes');
    const error = await source({ username: 'replag', password: aclPassword }).poll().then(() => assert.fail('expected a rejection'), (e: Error) => e);
    assert.match(error.message, /user "replag" may not run CLUSTER NODES .*ACL SETUSER replag \+cluster\|nodes \+info/);
    assertNoSecret(error.message);
  });

  test('a replica SIGSTOPped under a write loop stalls, stays reported once flagged fail, and is normal after SIGCONT; the poll deadline holds', async () => {
    const monitor = new ReplicationLagMonitor({ stallTimeoutSeconds: STALL_S });
    const errors: Error[] = [];
    const s = source();
    watch(s, monitor, errors);
    const [m, r] = (await cluster.pairs()).find(([master]) => master !== BASE_PORT + 1)!;
    await waitUntil('normal', 10_000, () => monitor.getStatus(id(r))?.severity === 'normal', 50);
    const load = await cluster.startLoad(m, 5);
    await sleep(1500);
    cluster.server(r).pause();
    const stoppedAt = performance.now();
    try {
      await waitUntil('the replica stalled', 15_000, () => monitor.getStatus(id(r))?.severity === 'stalled', 50);
      console.log(`# replica stalled ${(performance.now() - stoppedAt).toFixed(0)} ms after SIGSTOP (stallTimeout ${STALL_S} s, interval ${INTERVAL_MS} ms)`);
      // A source seeded with the stopped replica only: rejects within timeoutMs. Seeded with it first: the next seed answers.
      const lonely = source({ nodes: [`redis://127.0.0.1:${r}`] });
      const t0 = performance.now();
      const error = await lonely.poll().then(() => assert.fail('expected a rejection'), (e: Error) => e);
      const took = performance.now() - t0;
      assert.match(error.message, /no node answered CLUSTER NODES \(1 of 1 known asked, each for at most 1000 ms, within timeoutMs 2000 ms\): Redis Cluster node redis:\/\/127\.0\.0\.1:\d+: CLUSTER NODES: no answer within 1000 ms/);
      assert.ok(took < 2500, `rejected after ${took.toFixed(0)} ms (timeoutMs 2000)`);
      console.log(`# a source seeded only with the stopped replica rejected after ${took.toFixed(0)} ms`);
      const two = source({ nodes: [`redis://127.0.0.1:${r}`, `redis://127.0.0.1:${m}`] });
      const t1 = performance.now();
      assert.ok((await two.poll()).some((p) => p.nodeId === id(r)), 'the stopped replica is reported');
      const tookTwo = performance.now() - t1;
      assert.ok(tookTwo < 2000, 'within the deadline');
      console.log(`# seeded with the stopped replica then its master: answered after ${tookTwo.toFixed(0)} ms`);
      const t2 = performance.now();
      await two.poll();
      const tookNext = performance.now() - t2;
      assert.ok(tookNext < 1000, `the next poll asks the answering seed first: ${tookNext.toFixed(0)} ms`);
      console.log(`# … and its next poll took ${tookNext.toFixed(0)} ms`);
      await waitUntil('the cluster flags the replica fail', 15_000, async () => (await cluster.nodes(m)).find((n) => n.port === r)!.flags.includes('fail'), 200);
      await sleep(3 * INTERVAL_MS);
      const st = monitor.getStatus(id(r))!;
      assert.equal(st.severity, 'stalled', 'flagged fail: still reported, still stalled');
      assert.ok(st.lagEntries > 0);
      // Past repl-timeout its master drops it from INFO replication: still reported at its last offset, stalled.
      await waitUntil('the master to drop the replica from INFO replication', 15_000, async () => (await cluster.server(m).info('replication')).get('connected_slaves') === '0', 200);
      await sleep(3 * INTERVAL_MS);
      const dropped = monitor.getStatus(id(r))!;
      assert.equal(dropped.severity, 'stalled', 'dropped by its master: still reported, still stalled');
      assert.equal(dropped.followerSeq, st.followerSeq, 'at its last known offset');
      assert.ok((dropped.leaderSeq as bigint) > (st.leaderSeq as bigint), 'against the advancing master');
      assert.equal(s.replicaReadability().get(id(r)), false);
    } finally {
      cluster.server(r).resume();
    }
    const resumedAt = performance.now();
    await waitUntil('the replica normal again after SIGCONT', 30_000, () => {
      const st = monitor.getStatus(id(r));
      return st?.severity === 'normal';
    }, 50);
    console.log(`# replica normal ${(performance.now() - resumedAt).toFixed(0)} ms after SIGCONT`);
    await load.stop();
    await cluster.waitStable();
    for (const e of errors) assertNoSecret(e.message);
  });

  test('a master failover is followed: the promoted replica leaves the report, the old master comes back as a replica and is reported as one', async () => {
    const monitor = new ReplicationLagMonitor({ stallTimeoutSeconds: STALL_S });
    const errors: Error[] = [];
    const replicaErrors: string[] = [];
    const s = source({ onReplicaError: (node, e) => replicaErrors.push(`${node}: ${e.message}`) });
    watch(s, monitor, errors);
    const [m, r] = (await cluster.pairs()).find(([master]) => master !== BASE_PORT + 1)!;
    const shard = (await cluster.nodes()).find((n) => n.port === m)!.slots[0]!;
    await waitUntil('normal', 10_000, () => monitor.getStatus(id(r))?.severity === 'normal', 50);
    cluster.server(m).pause();
    const stoppedAt = performance.now();
    try {
      await waitUntil('the replica promoted (left the report)', 20_000, () => monitor.getStatus(id(r)) === undefined, 50);
      console.log(`# failover seen ${(performance.now() - stoppedAt).toFixed(0)} ms after SIGSTOP of the master (cluster-node-timeout 3 s)`);
    } finally {
      cluster.server(m).resume();
    }
    const resumedAt = performance.now();
    await waitUntil('the old master reported as a replica, normal', 30_000, () => {
      const st = monitor.getStatus(id(m));
      return st?.severity === 'normal' && st.attributes['redis.role'] === 'replica' && st.attributes['redis.cluster.shard'] === shard;
    }, 50);
    console.log(`# old master reported as a normal replica ${(performance.now() - resumedAt).toFixed(0)} ms after SIGCONT`);
    assert.equal(monitor.getStatus(id(r)), undefined, 'the new master is not a follower');
    await cluster.waitStable();
    const info = await cluster.server(m).info('replication');
    assert.equal(info.get('role'), 'slave');
    assert.equal(info.get('master_port'), String(r));
    for (const e of [...errors.map((x) => x.message), ...replicaErrors]) assertNoSecret(e);
  });
});
