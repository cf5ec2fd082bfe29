/**
 * GaleraSource: the status parsing and discovery rules on their own, then against a real MariaDB Galera cluster
 * (test/harness/galera.ts: two mariadbd nodes + garbd, ports 21001-21032): discovery of every node from one
 * address, positions equal to each node's own wsrep_last_committed, healthy nodes normal through a real monitor,
 * flow control (LOCK TABLES on one node) reported as docs/sources/galera.md says, a SIGSTOPped node under a write
 * loop stalled then normal again after SIGCONT and IST, and the poll deadline against a stopped node.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReplicationLagMonitor } from '../../../src/monitor.ts';
import { GaleraSource, keepWatching, parseGaleraStatus, parseIncomingAddresses, primaryView, type GaleraSourceOptions } from '../../../src/sources/galera.ts';
import { startPoller, type Poller } from '../../../src/sources/poller.ts';
import { MONITOR_PASSWORD, startGaleraCluster, type GaleraCluster } from '../../harness/galera.ts';
import { ensureServiceUser } from '../../harness/service-user.ts';
import { makeTestCertificates, type TestCertificates } from '../../harness/tls.ts';
import { waitUntil } from '../../harness/wait.ts';

/** Inside the Galera suite's range 21000-21499. */
const BASE_PORT = 21000;
const WRONG_PASSWORD = 'Wrong-3c7a-NotTheGaleraSecret';
const SECRETS = [MONITOR_PASSWORD, WRONG_PASSWORD];
const INTERVAL_MS = 250;
const STALL_S = 2;

let cluster: GaleraCluster;
let certs: TestCertificates;
const sources: GaleraSource[] = [];
const pollers: Poller[] = [];

const id = (node: 1 | 2) => `127.0.0.1:${BASE_PORT + node}`;

function source(options: Partial<GaleraSourceOptions> = {}): GaleraSource {
  const s = new GaleraSource({ nodes: [cluster.url(1)], password: MONITOR_PASSWORD, timeoutMs: 2000, ...options });
  sources.push(s);
  return s;
}

function watch(s: GaleraSource, monitor: ReplicationLagMonitor, errors: Error[]): Poller {
  const p = startPoller({ source: s, monitor, intervalMs: INTERVAL_MS, onError: (e) => errors.push(e) });
  pollers.push(p);
  return p;
}

function assertNoSecret(text: string): void {
  for (const secret of SECRETS) assert.ok(!text.includes(secret), `leaks a password: ${text}`);
}

const row = (name: string, value: string) => ({ Variable_name: name, Value: value });
const statusRows = (over: Record<string, string> = {}) => Object.entries({
  wsrep_on: 'ON', wsrep_ready: 'ON', wsrep_last_committed: '42', wsrep_local_recv_queue: '3', wsrep_local_state_comment: 'Synced',
  wsrep_cluster_status: 'Primary', wsrep_cluster_size: '3', wsrep_cluster_conf_id: '5', wsrep_cluster_state_uuid: 'u-1',
  wsrep_incoming_addresses: '10.0.0.1:3306,,10.0.0.2:3306', wsrep_flow_control_active: 'false', wsrep_flow_control_sent: '0', ...over,
}).map(([k, v]) => row(k, v));

describe('status and discovery rules', () => {
  test('parseGaleraStatus reads the live figures; -1 seqno and 2^64-1 conf id map to 0 and -1', () => {
    const s = parseGaleraStatus(statusRows({ wsrep_flow_control_active: 'ON', wsrep_flow_control_sent: '7' }));
    assert.equal(s.lastCommitted, 42n);
    assert.equal(s.recvQueue, 3);
    assert.equal(s.flowControlActive, true);
    assert.equal(s.flowControlSent, 7n);
    assert.deepEqual(s.incomingAddresses, ['10.0.0.1:3306', '10.0.0.2:3306']);
    assert.equal(s.clusterStatus, 'Primary');
    const lost = parseGaleraStatus(statusRows({ wsrep_cluster_status: 'non-Primary', wsrep_cluster_conf_id: '18446744073709551615', wsrep_last_committed: '-1' }));
    assert.equal(lost.confId, -1n);
    assert.equal(lost.lastCommitted, 0n);
    assert.equal(lost.clusterStatus, 'non-Primary');
    assert.equal(parseGaleraStatus(statusRows({ wsrep_cluster_status: 'Disconnected' })).clusterStatus, 'non-Primary');
  });

  test('parseGaleraStatus refuses a server without Galera', () => {
    assert.throws(() => parseGaleraStatus([row('Uptime', '5')]), /is not a Galera node/);
    assert.throws(() => parseGaleraStatus(statusRows({ wsrep_on: 'OFF' })), /wsrep_on is OFF/);
  });

  test('parseIncomingAddresses drops garbd\'s empty entry, AUTO and junk, keeps IPv6 in brackets', () => {
    assert.deepEqual(parseIncomingAddresses('127.0.0.1:21001,,127.0.0.1:21002,AUTO,[::1]:3306,not an address,127.0.0.1:21001'),
      ['127.0.0.1:21001', '127.0.0.1:21002', '[::1]:3306']);
  });

  test('primaryView: the newest Primary view wins over a resumed node\'s stale one; its members are the union', () => {
    const st = (over: Record<string, string>) => parseGaleraStatus(statusRows(over));
    const view = primaryView([
      { address: 'a', fresh: st({ wsrep_cluster_conf_id: '9', wsrep_last_committed: '100', wsrep_incoming_addresses: 'a:1,b:1' }) },
      { address: 'b', fresh: st({ wsrep_cluster_conf_id: '7', wsrep_last_committed: '500', wsrep_incoming_addresses: 'a:1,b:1,c:1' }) },
      { address: 'c', fresh: st({ wsrep_cluster_status: 'non-Primary', wsrep_last_committed: '900' }) },
      { address: 'd', fresh: undefined },
    ]);
    assert.equal(view?.confId, 9n);
    assert.equal(view?.leaderSeq, 100n);
    assert.deepEqual([...view!.members], ['a:1', 'b:1']);
    assert.equal(primaryView([{ address: 'c', fresh: st({ wsrep_cluster_status: 'non-Primary' }) }]), undefined);
  });

  test('keepWatching: configured or answering always; a discovered node the cluster dropped is forgotten only when it refuses connections', () => {
    const view = primaryView([{ address: 'a:1', fresh: parseGaleraStatus(statusRows({ wsrep_incoming_addresses: 'a:1' })) }]);
    const node = { address: 'b:1', configured: false, answered: false, refused: false };
    assert.equal(keepWatching(node, view), true, 'hung (timeout): kept, it stalls');
    assert.equal(keepWatching({ ...node, refused: true }, view), false, 'shut down and no longer a member: forgotten');
    assert.equal(keepWatching({ ...node, refused: true, configured: true }, view), true);
    assert.equal(keepWatching({ ...node, address: 'a:1', refused: true }, view), true, 'still listed by the cluster');
  });
});

describe('GaleraSource options', () => {
  test('bad options throw naming the option, never echoing a password, before any I/O', () => {
    const cases: [unknown, RegExp][] = [
      [undefined, /GaleraSourceOptions must be an object/],
      [{ nodes: 'mysql://u@h:1' }, /GaleraSourceOptions\.nodes must be an array/],
      [{ nodes: [] }, /GaleraSourceOptions\.nodes must list at least one node URL/],
      [{ nodes: [`http://u:${MONITOR_PASSWORD}@h:1`] }, /GaleraSourceOptions\.nodes\[0\] must be a mysql:\/\/ URL/],
      [{ nodes: [`mysql://u:${MONITOR_PASSWORD}@h:1?ssl=1`] }, /GaleraSourceOptions\.nodes\[0\] must not have a query string/],
      [{ nodes: ['mysql://u@h:1', 'mysql://v@h:1'] }, /GaleraSourceOptions\.nodes\[1\] is h:1, already given/],
      [{ nodes: ['mysql://u@h:1'], timeoutMs: 0 }, /GaleraSourceOptions\.timeoutMs must be > 0/],
      [{ nodes: ['mysql://u@h:1'], timeoutMs: 500, nodeTimeoutMs: 600 }, /GaleraSourceOptions\.nodeTimeoutMs must be > 0 and <= timeoutMs \(500 ms\)/],
      [{ nodes: ['mysql://u@h:1'], tls: { ca: 'not pem' } }, /GaleraSourceOptions\.tls\.ca is not PEM text/],
    ];
    for (const [options, pattern] of cases) {
      assert.throws(() => new GaleraSource(options as GaleraSourceOptions), (e: Error) => {
        assert.match(e.message, pattern);
        assertNoSecret(e.message);
        return true;
      }, JSON.stringify(options));
    }
  });
});

describe('GaleraSource against a real Galera cluster (2 nodes + garbd)', () => {
  before(async () => {
    certs = makeTestCertificates({ owner: ensureServiceUser('mysql') });
    cluster = await startGaleraCluster({ basePort: BASE_PORT, tls: { certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.ca.certFile } });
  });
  after(async () => {
    for (const p of pollers) await p.stop();
    for (const s of sources) await s.close();
    await cluster?.close();
    certs?.dispose();
  });

  test('from one address, every node is found, at its own wsrep_last_committed against the highest', async () => {
    await cluster.insert(25);
    for (const seed of [1, 2] as const) {
      const s = source({ nodes: [cluster.url(seed)] });
      const own = async () => ({ 1: BigInt(await cluster.status(1, 'wsrep_last_committed')), 2: BigInt(await cluster.status(2, 'wsrep_last_committed')) });
      const before = await own();
      const positions = await s.poll();
      const afterwards = await own();
      assert.deepEqual(before, afterwards, 'no write during the poll');
      assert.deepEqual(positions.map((p) => p.nodeId).sort(), [id(1), id(2)], `seed ${seed} finds both nodes`);
      const leader = before[1] > before[2] ? before[1] : before[2];
      for (const n of [1, 2] as const) {
        const p = positions.find((x) => x.nodeId === id(n))!;
        assert.equal(p.followerSeq, before[n]);
        assert.equal(p.leaderSeq, leader);
        assert.deepEqual(p.attributes, {
          'replication.system': 'galera', 'server.address': '127.0.0.1', 'server.port': BASE_PORT + n,
          'galera.state': 'Synced', 'galera.cluster.status': 'Primary',
        });
      }
      assert.ok(leader >= 25n, `25 inserts moved the seqno: ${leader}`);
      assert.deepEqual(Object.fromEntries(s.replicaReadability()), { [id(1)]: true, [id(2)]: true });
    }
  });

  test('TLS: an account that REQUIRES SSL reads every node, discovered ones too, with tls.ca; without tls the error says to enable it; another CA is refused', async () => {
    await cluster.sql(1, `CREATE USER tlsmon@'127.0.0.1' IDENTIFIED BY '${MONITOR_PASSWORD}' REQUIRE SSL`);
    const url = `mysql://tlsmon@127.0.0.1:${BASE_PORT + 1}`;
    const positions = await source({ nodes: [url], tls: { ca: certs.ca.cert } }).poll();
    assert.deepEqual(positions.map((p) => p.nodeId), [id(1), id(2)]);
    const plain = await source({ nodes: [url] }).poll().then(() => assert.fail('expected a rejection'), (e: Error) => e);
    assert.match(plain.message, /GaleraSource: node 127\.0\.0\.1:21001: authentication failed for user 'tlsmon'.*if the account requires TLS \(REQUIRE SSL\), enable it/);
    const other = await source({ nodes: [url], tls: { ca: certs.otherCa.cert } }).poll().then(() => assert.fail('expected a rejection'), (e: Error) => e);
    assert.match(other.message, /GaleraSource: node 127\.0\.0\.1:21001: TLS handshake failed: the server's TLS certificate is not signed by a trusted CA/);
    for (const e of [plain, other]) assertNoSecret(e.message);
  });

  test('a wrong password: a clear error naming the node, without the password', async () => {
    const s = source({ password: WRONG_PASSWORD });
    const error = await s.poll().then(() => assert.fail('expected a rejection'), (e: Error) => e);
    assert.match(error.message, /GaleraSource: node 127\.0\.0\.1:21001: authentication failed for user 'monitor'/);
    assertNoSecret(error.message);
    assertNoSecret(String(error.stack));
  });

  test('healthy nodes are normal, lag 0, in a monitor fed by startPoller', async () => {
    const monitor = new ReplicationLagMonitor({ stallTimeoutSeconds: STALL_S });
    const errors: Error[] = [];
    watch(source(), monitor, errors);
    await cluster.insert(20);
    const leader = BigInt(await cluster.status(1, 'wsrep_last_committed'));
    await waitUntil('both nodes caught up with the 20 inserts and normal', 10_000, () => [1, 2].every((n) => {
      const st = monitor.getStatus(id(n as 1 | 2));
      return st !== undefined && st.leaderSeq === leader && st.followerSeq === leader && st.lagEntries === 0 && st.severity === 'normal';
    }), 50);
    assert.deepEqual(errors, []);
  });

  test('flow control: LOCK TABLES on node 2 pauses every commit; node 2 shows its receive queue as lag and stalls, node 1 stays normal; UNLOCK: normal', async () => {
    const monitor = new ReplicationLagMonitor({ stallTimeoutSeconds: STALL_S });
    const errors: Error[] = [];
    const s = source();
    watch(s, monitor, errors);
    await waitUntil('both nodes normal', 10_000, () => monitor.getStatus(id(2))?.severity === 'normal' && monitor.getStatus(id(1))?.severity === 'normal', 50);
    const load = await cluster.startLoad(10);
    const lock = await cluster.lockTables(2);
    const lockedAt = performance.now();
    try {
      await waitUntil('flow control active, seen by the source', 15_000, () => s.clusterView().flowControlActive, 50);
      const fcSeenMs = performance.now() - lockedAt;
      const view = s.clusterView();
      assert.ok(view.nodes.get(id(2))!.status.recvQueue > 0, 'node 2 holds a receive queue');
      assert.deepEqual(view.flowControlBy, [id(2)], 'node 2 asked for the pause, node 1 did not');
      await waitUntil('node 2 stalled', (STALL_S * 1000) + 10_000, () => monitor.getStatus(id(2))?.severity === 'stalled', 50);
      const stalledMs = performance.now() - lockedAt;
      // The whole cluster is paused: the leader position stands still across polls, node 1 is caught up with it.
      const a = monitor.getStatus(id(1))!;
      await sleep(4 * INTERVAL_MS);
      const b = monitor.getStatus(id(1))!;
      assert.equal(b.leaderSeq, a.leaderSeq, 'no commit anywhere while flow control pauses the cluster');
      assert.equal(b.lagEntries, 0);
      assert.equal(b.severity, 'normal', 'node 1 is not lagging: the cluster is paused');
      const n2 = monitor.getStatus(id(2))!;
      assert.equal(n2.leaderSeq, b.leaderSeq);
      assert.ok(n2.lagEntries > 0, 'node 2 is behind by the writesets it has not applied');
      const queue = s.clusterView().nodes.get(id(2))!.status.recvQueue;
      console.log(`# flow control seen ${fcSeenMs.toFixed(0)} ms after LOCK TABLES; node 2 stalled after ${stalledMs.toFixed(0)} ms; lag ${n2.lagEntries} writesets, receive queue ${queue}`);
    } finally {
      await lock.release();
    }
    const releasedAt = performance.now();
    await waitUntil('both nodes normal after UNLOCK TABLES', 15_000, () => [1, 2].every((n) => {
      const st = monitor.getStatus(id(n as 1 | 2));
      return st?.severity === 'normal' && st.lagEntries === 0;
    }) && !s.clusterView().flowControlActive, 50);
    console.log(`# normal ${(performance.now() - releasedAt).toFixed(0)} ms after UNLOCK TABLES`);
    const { rows } = await load.stop();
    assert.ok(rows > 0);
    assert.deepEqual(errors, []);
  });

  test('a node SIGSTOPped under a write loop stalls (reported at its last position, never dropped), and is normal again after SIGCONT and IST; the poll deadline holds', async () => {
    const monitor = new ReplicationLagMonitor({ stallTimeoutSeconds: STALL_S });
    const errors: Error[] = [];
    const replicaErrors: string[] = [];
    const s = source({ onReplicaError: (node, e) => replicaErrors.push(`${node}: ${e.message}`) });
    watch(s, monitor, errors);
    await waitUntil('both nodes normal', 10_000, () => monitor.getStatus(id(2))?.severity === 'normal' && monitor.getStatus(id(1))?.severity === 'normal', 50);
    const load = await cluster.startLoad(20);
    await sleep(500);
    await cluster.signal(2, 'SIGSTOP');
    const stoppedAt = performance.now();
    try {
      const frozen = monitor.getStatus(id(2))!.followerSeq;
      // A source that knows only the stopped node: the poll gives up within the deadline (nodeTimeoutMs 1000).
      const lonely = source({ nodes: [cluster.url(2)] });
      const t0 = performance.now();
      const error = await lonely.poll().then(() => assert.fail('expected a rejection'), (e: Error) => e);
      const took = performance.now() - t0;
      assert.match(error.message, /GaleraSource: no node answered within 1000 ms \(127\.0\.0\.1:21002\)/);
      assert.ok(took < 2000, `rejected after ${took.toFixed(0)} ms (timeoutMs 2000)`);
      console.log(`# a source knowing only the stopped node rejected after ${took.toFixed(0)} ms`);
      // The watching source: one poll waits for the stopped node once, the next not at all.
      const t1 = performance.now();
      await s.poll();
      await s.poll();
      const twoPolls = performance.now() - t1;
      assert.ok(twoPolls < 2 * 2000, 'two polls within two deadlines');
      console.log(`# two polls with node 2 stopped took ${twoPolls.toFixed(0)} ms`);
      await waitUntil('node 2 stalled', 30_000, () => monitor.getStatus(id(2))?.severity === 'stalled', 50);
      const stalledMs = performance.now() - stoppedAt;
      const st = monitor.getStatus(id(2))!;
      assert.ok(st.followerSeq >= frozen, 'node 2 is at its last known position');
      assert.ok(st.lagEntries > 0, 'the cluster commits on without node 2 (garbd keeps the quorum)');
      assert.equal(s.replicaReadability().get(id(2)), false);
      assert.ok(replicaErrors.some((e) => e.startsWith(`${id(2)}: GaleraSource: node ${id(2)}: did not answer within 1000 ms`)), replicaErrors.join('\n'));
      console.log(`# node 2 stalled ${stalledMs.toFixed(0)} ms after SIGSTOP (stallTimeout ${STALL_S} s, interval ${INTERVAL_MS} ms, evs.suspect_timeout 5 s)`);
      // Evicted by the cluster, it is still reported (a hung node, not a removed one).
      await waitUntil('node 1 to see a view without node 2', 15_000, async () => (await cluster.status(1, 'wsrep_cluster_size')) === '2', 100);
      await sleep(3 * INTERVAL_MS);
      assert.equal(monitor.getStatus(id(2))?.severity, 'stalled', 'still reported, still stalled after eviction');
    } finally {
      await cluster.signal(2, 'SIGCONT');
    }
    const resumedAt = performance.now();
    await waitUntil('node 2 normal again after SIGCONT (rejoin + IST)', 60_000, () => {
      const st = monitor.getStatus(id(2));
      // Right after SIGCONT the node still answers with its old view (Synced, Primary, an older conf_id) for ~6 s:
      // the source reports it non-Primary until it is a member of the current Primary view again.
      return st?.severity === 'normal' && st.lagEntries < 50 && st.attributes['galera.cluster.status'] === 'Primary';
    }, 50);
    console.log(`# node 2 normal ${(performance.now() - resumedAt).toFixed(0)} ms after SIGCONT`);
    await load.stop();
    await cluster.waitSynced();
    await waitUntil('node 2 caught up, Synced, Primary', 15_000, () => {
      const st = monitor.getStatus(id(2));
      return st?.lagEntries === 0 && st.attributes['galera.state'] === 'Synced' && st.attributes['galera.cluster.status'] === 'Primary';
    }, 50);
    for (const e of [...errors.map((x) => x.message), ...replicaErrors]) assertNoSecret(e);
  });

  test('a node shut down (it leaves the cluster): forgotten when it was discovered, kept and stalled when configured', async () => {
    const discovered = new ReplicationLagMonitor({ stallTimeoutSeconds: STALL_S });
    const configured = new ReplicationLagMonitor({ stallTimeoutSeconds: STALL_S });
    const errors: Error[] = [];
    const replicaErrors: string[] = [];
    const onReplicaError = (node: string, e: Error) => void replicaErrors.push(`${node}: ${e.message}`);
    watch(source({ onReplicaError }), discovered, errors);
    watch(source({ nodes: [cluster.url(1), cluster.url(2)], onReplicaError }), configured, errors);
    await waitUntil('both monitors see both nodes', 10_000, () => [discovered, configured].every((m) => m.getStatus(id(2))?.severity === 'normal'), 50);
    await cluster.shutdown(2);
    await waitUntil('node 1 to see a view without node 2', 15_000, async () => (await cluster.status(1, 'wsrep_cluster_size')) === '2', 100);
    await cluster.insert(10);
    await waitUntil('the discovered node 2 forgotten (connection refused, no longer a member)', 10_000, () => discovered.getStatus(id(2)) === undefined, 50);
    await waitUntil('the configured node 2 stalled', 10_000, () => configured.getStatus(id(2))?.severity === 'stalled', 50);
    assert.equal(discovered.getStatus(id(1))?.severity, 'normal');
    assert.deepEqual(errors, [], 'every poll succeeded');
    assert.ok(replicaErrors.some((e) => e.startsWith(`${id(2)}: GaleraSource: node ${id(2)}: connection refused`)), replicaErrors.join('\n'));
  });
});
