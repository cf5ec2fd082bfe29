/**
 * A hung MariaDB replica under load (issue 11, point 4), on a real MariaDB 10.11 primary and GTID replica
 * (test/harness/mariadb.ts): the replica's server is SIGSTOPped for 20 s while the primary takes a write every
 * 100 ms. The replica must stay reported (at its last known position), turn stalled within the stall timeout plus
 * two poll intervals, the primary must keep being sampled at its interval (polls counted against the rate before the
 * stop, in the same run), and after SIGCONT the replica must be read again and return to normal.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ReplicationLagInstrumentation } from '../../src/instrumentation.ts';
import { MySqlSource } from '../../src/sources/mysql.ts';
import { startPoller } from '../../src/sources/poller.ts';
import { startMariaDbCluster, type MariaDbCluster } from '../harness/mariadb.ts';
import { waitUntil } from '../harness/wait.ts';
import { inMemoryPipeline } from '../helpers/in-memory-sdk.ts';

const PORTS = { minPort: 25000, maxPort: 27000 };
const PASSWORD = 'hung-Pw-3kq9Zr';
const INTERVAL_MS = 500;
const STALL_SECONDS = 5;
const STOP_MS = 20_000;

let cluster: MariaDbCluster;

before(async () => {
  cluster = await startMariaDbCluster(PORTS);
  await cluster.sql('primary', `CREATE USER 'replag'@'%' IDENTIFIED BY '${PASSWORD}'; GRANT REPLICA MONITOR ON *.* TO 'replag'@'%';`);
  await cluster.waitCaughtUp();
});

after(async () => {
  await cluster?.close(); // SIGCONTs a replica still stopped
});

test('a replica SIGSTOPped for 20 s under load stays reported, turns stalled in time, the primary keeps its sampling interval, and it is normal again after SIGCONT', async () => {
  const replicaId = `127.0.0.1:${cluster.port('replica')}`;
  const url = (server: 'primary' | 'replica') => `mysql://replag:${PASSWORD}@127.0.0.1:${cluster.port(server)}`;
  const errors: Error[] = [];
  const source = new MySqlSource({ primary: url('primary'), replicas: [url('replica')], timeoutMs: 2000, replicaTimeoutMs: 300, onReplicaError: (_r, e) => errors.push(e) });
  // The real instrumentation over an in-memory SDK pipeline: replication.replica.readable is checked as exported.
  const pipeline = inMemoryPipeline();
  const instrumentation = new ReplicationLagInstrumentation({ stallTimeoutSeconds: STALL_SECONDS, enabled: false });
  instrumentation.setMeterProvider(pipeline.meterProvider);
  instrumentation.enable();
  const monitor = instrumentation.monitor;
  const readable = async () => (await pipeline.collect()).get('replication.replica.readable')?.points ?? [];
  /** performance.now() at the end of each successful poll, with the replica's status then. */
  const polls: { at: number; severity: string | undefined; followerSeq: unknown; lagEntries: number | undefined; lagSeconds: number | undefined }[] = [];
  const pollErrors: Error[] = [];
  const load = await cluster.startLoad(100);
  const poller = startPoller({
    source,
    monitor,
    intervalMs: INTERVAL_MS,
    onError: (e) => pollErrors.push(e),
    onPoll: () => {
      const s = monitor.getStatus(replicaId);
      polls.push({ at: performance.now(), severity: s?.severity, followerSeq: s?.followerSeq, lagEntries: s?.lagEntries, lagSeconds: s?.lagSeconds });
    },
  });
  instrumentation.observeSource(poller);
  const point = (value: number) => [{ value, attributes: { 'replication.source': 'mysql', 'replication.node.id': replicaId } }];
  let stoppedAt = 0;
  let continuedAt = 0;
  try {
    // Baseline: the rate of polls with a healthy replica, in this run, on this machine.
    await waitUntil('a normal status', 10_000, () => monitor.getStatus(replicaId)?.severity === 'normal', 50);
    assert.deepEqual(await readable(), point(1), 'readable while it answers');
    const baselineFrom = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const baselineTo = performance.now();

    await cluster.signal('replica', 'SIGSTOP');
    stoppedAt = performance.now();
    try {
      await new Promise((resolve) => setTimeout(resolve, STOP_MS));
      assert.deepEqual(await readable(), point(0), 'not readable while hung');
    } finally {
      await cluster.signal('replica', 'SIGCONT');
      continuedAt = performance.now();
    }
    await waitUntil('the replica to be normal again after SIGCONT', 20_000, () => {
      const s = monitor.getStatus(replicaId);
      return s?.severity === 'normal' && (s.lagSeconds ?? 99) < 2;
    }, 50);

    assert.deepEqual(await readable(), point(1), 'readable again');
    const rate = (from: number, to: number) => polls.filter((p) => p.at >= from && p.at < to).length / ((to - from) / 1000);
    const before = rate(baselineFrom, baselineTo);
    const during = rate(stoppedAt, continuedAt);
    assert.ok(during >= 0.8 * before, `polls per second: ${during.toFixed(2)} while the replica was hung, ${before.toFixed(2)} before (the primary must keep its sampling interval)`);
    const stopped = polls.filter((p) => p.at >= stoppedAt && p.at < continuedAt);
    assert.ok(stopped.every((p) => p.severity !== undefined), 'the hung replica never disappears');
    const frozen = stopped.at(-1)!.followerSeq;
    const firstStalled = stopped.find((p) => p.severity === 'stalled');
    assert.ok(firstStalled !== undefined, `never stalled: ${JSON.stringify(stopped.map((p) => p.severity))}`);
    const toStall = firstStalled.at - stoppedAt;
    assert.ok(toStall <= STALL_SECONDS * 1000 + 2 * INTERVAL_MS, `stalled ${Math.round(toStall)} ms after SIGSTOP; the bound is the stall timeout + 2 intervals = ${STALL_SECONDS * 1000 + 2 * INTERVAL_MS} ms`);
    assert.ok(stopped.filter((p) => p.at >= firstStalled.at).every((p) => p.severity === 'stalled'), 'stalled until SIGCONT');
    assert.ok(stopped.slice(-5).every((p) => p.followerSeq === frozen), 'reported at its last known position');
    assert.ok(errors.some((e) => e.message === `MySqlSource: replica ${replicaId}: did not answer within 2000 ms (timeoutMs): the server may be hung, overloaded or unreachable`),
      errors.map((e) => e.message).join('\n'));
    assert.deepEqual(pollErrors, [], 'every poll of the primary succeeded');
    const after = polls.filter((p) => p.at > continuedAt);
    assert.ok(after.some((p) => p.followerSeq !== frozen), 'read again after SIGCONT');
    // Never "far behind, ~0 s" (what a replica re-registered after vanishing used to show): at most ~10 writes a
    // second, 30 transactions behind means the oldest waited about 3 s or more.
    const madeUp = polls.filter((p) => (p.lagEntries ?? 0) >= 30 && (p.lagSeconds ?? 0) < 2);
    assert.deepEqual(madeUp, [], `a status far behind that claims a small delay or normal; after SIGCONT: ${JSON.stringify(after.slice(0, 8).map((p) => [Math.round(p.at - continuedAt), p.severity, p.lagEntries, p.lagSeconds?.toFixed(2)]))}`);
    console.log(`# first polls after SIGCONT [ms, severity, lag, delay s]: ${JSON.stringify(after.slice(0, 3).map((p) => [Math.round(p.at - continuedAt), p.severity, p.lagEntries, p.lagSeconds?.toFixed(2)]))}`);
    console.log(`# polls/s before ${before.toFixed(2)}, while hung ${during.toFixed(2)}; stalled ${Math.round(toStall)} ms after SIGSTOP; ${load.rows} rows written`);
  } finally {
    if (stoppedAt > 0 && continuedAt === 0) await cluster.signal('replica', 'SIGCONT');
    await poller.stop();
    await source.close();
    await load.stop();
    instrumentation.disable();
    await pipeline.shutdown();
  }
});
