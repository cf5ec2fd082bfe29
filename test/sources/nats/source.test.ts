/**
 * NatsSource against a real three-server JetStream cluster (Debian nats-server 2.9, run as the `nats` user on
 * 127.0.0.1): discovery of every replica and durable consumer from one URL, positions checked against the stream
 * leader's own /jsz, healthy followers normal, a SIGSTOPped replica stalled and normal again, a consumer that stops
 * acknowledging stalled while the replicas stay normal, the poll deadline against a stopped server, a stream whose
 * leader is stopped failing alone. Offline: option validation, the descriptor, a server that never answers.
 * Ports 20500–20999 only.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ReplicationLagMonitor } from '../../../src/monitor.ts';
import { NatsSource } from '../../../src/sources/nats.ts';
import { descriptor as natsDescriptor } from '../../../src/sources/nats/descriptor.ts';
import { startPoller } from '../../../src/sources/poller.ts';
import { startNatsCluster, waitUntil, type NatsServer, type RunningNatsCluster } from '../../harness/nats.ts';
import { listenOnFreePort } from '../../harness/wait.ts';
import { failedPoll } from '../../helpers/failed-poll.ts';
import { assertOptionErrors, type OptionErrorCase } from '../../helpers/option-errors.ts';

const PORT_MIN = 20_500;
const PORT_MAX = 21_000;
const APP = { user: 'app', password: 'apppw' };

const listen = (server: Server): Promise<number> => listenOnFreePort(server, PORT_MIN, PORT_MAX);

describe('NatsSource without a cluster', () => {
  test('bad options throw a TypeError or RangeError naming the option, never echoing a secret', () => {
    const cases: OptionErrorCase[] = [
      [undefined, TypeError, /^NatsSourceOptions must be an object/],
      [{}, TypeError, /^NatsSourceOptions\.url must be a nats:\/\/ URL or an array/],
      [{ url: [] }, RangeError, /^NatsSourceOptions\.url must list at least one/],
      [{ url: 'http://127.0.0.1:4222' }, RangeError, /^NatsSourceOptions\.url must be a nats:\/\/host:port/],
      [{ url: ['nats://127.0.0.1:4222', 4222] }, TypeError, /^NatsSourceOptions\.url\[1\] must be a nats:\/\/ URL string/],
      [{ url: 'nats://app:s3cret@127.0.0.1:4222' }, RangeError, /^NatsSourceOptions\.url must not hold credentials \(nats:\/\/127\.0\.0\.1:4222\)/],
      [{ url: 'nats://s3cret@bad host:4222' }, RangeError, /^NatsSourceOptions\.url must be a nats:\/\/host:port \(or tls:\/\/host:port\) URL, got .*bad host:4222/],
      [{ url: 'nats://127.0.0.1:4222', token: 's3cret', user: 'app' }, RangeError, /^NatsSourceOptions: token and user\/password exclude each other/],
      [{ url: 'nats://127.0.0.1:4222', password: 's3cret' }, RangeError, /^NatsSourceOptions\.password is set without user/],
      [{ url: 'nats://127.0.0.1:4222', password: 5 }, TypeError, /^NatsSourceOptions\.password must be a string, got number/],
      [{ url: 'nats://127.0.0.1:4222', streams: 'ORDERS' }, TypeError, /^NatsSourceOptions\.streams must be an array/],
      [{ url: 'nats://127.0.0.1:4222', streams: [] }, RangeError, /^NatsSourceOptions\.streams must list at least one/],
      [{ url: 'nats://127.0.0.1:4222', streams: ['orders.new'] }, RangeError, /^NatsSourceOptions\.streams\[0\] must be a stream name/],
      [{ url: 'nats://127.0.0.1:4222', consumers: 'yes' }, TypeError, /^NatsSourceOptions\.consumers must be a boolean/],
      [{ url: 'nats://127.0.0.1:4222', timeoutMs: -1 }, RangeError, /^NatsSourceOptions\.timeoutMs must be > 0/],
    ];
    assertOptionErrors((options) => new NatsSource(options), cases);
    assert.equal(new NatsSource({ url: ['nats://127.0.0.1', 'tls://[::1]:4222'] }).name, 'nats');
  });

  test('the descriptor: type nats, secrets from NATS_PASSWORD / NATS_TOKEN, a secret-free description', async () => {
    assert.equal(natsDescriptor.type, 'nats');
    assert.deepEqual(natsDescriptor.secretEnv, { password: 'NATS_PASSWORD', token: 'NATS_TOKEN' });
    assert.equal(natsDescriptor.options.safeParse({ url: 'nats://a:s3cret@127.0.0.1:4222' }).success, false);
    assert.equal(natsDescriptor.options.safeParse({ url: 'nats://127.0.0.1:4222', token: 't', user: 'u' }).success, false);
    const options = natsDescriptor.options.parse({ url: ['nats://127.0.0.1:4222', 'nats://127.0.0.1:4223'], user: 'app', streams: ['ORDERS'] });
    const text = natsDescriptor.describe({ ...options, password: 's3cret' });
    assert.equal(text, 'NATS JetStream nats://127.0.0.1:4222, nats://127.0.0.1:4223 (streams ORDERS and their durable consumers)');
    assert.equal(natsDescriptor.options.safeParse({ url: 'nats://127.0.0.1:4222', password: 's3cret' }).success, false, 'a password needs its user');
    // replag fills the secrets from NATS_PASSWORD / NATS_TOKEN before create (secretEnv).
    const source = await natsDescriptor.create({ ...options, password: 's3cret' }, { sourceName: 'nats', timeoutMs: 700, onReplicaError: () => {}, env: {} });
    assert.ok(source instanceof NatsSource);
    await source.close?.();
  });

  test('a server that never answers: the poll rejects after timeoutMs naming it; close() then refuses polls', async (t) => {
    const sockets = new Set<Socket>();
    const blackhole = createServer((s) => {
      sockets.add(s);
      s.resume();
      s.on('close', () => sockets.delete(s));
    });
    const port = await listen(blackhole);
    t.after(() => {
      for (const s of sockets) s.destroy();
      blackhole.close();
    });
    const source = new NatsSource({ url: `nats://127.0.0.1:${port}`, user: 'app', password: 's3cret', timeoutMs: 400 });
    const { error, ms } = await failedPoll(source);
    assert.ok(ms >= 390 && ms < 1400, `rejected after ${ms} ms`);
    assert.equal(error.message, `nats: no server accepted the connection: nats://127.0.0.1:${port}: no answer within 400 ms`);
    await waitUntil('the source to release its socket', 2000, () => sockets.size === 0, 20);
    await source.close();
    await assert.rejects(source.poll(), /nats: poll\(\) called after close\(\)/);
  });
});

describe('NatsSource against a real JetStream cluster', { timeout: 300_000 }, () => {
  let cluster: RunningNatsCluster;
  before(async () => {
    cluster = await startNatsCluster({ portMin: PORT_MIN, portMax: PORT_MAX });
    await cluster.createStream('ORDERS', ['orders.>']);
    await cluster.createStream('OTHER', ['other.>']);
    // Two streams with different leaders, so that stopping one stream's leader leaves the other one readable.
    for (let i = 0; i < 10 && (await cluster.streamLeader('OTHER')) === (await cluster.streamLeader('ORDERS')); i++) {
      await cluster.api('$JS.API.STREAM.LEADER.STEPDOWN.OTHER', undefined, 3000).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 500));
    }
  });
  after(async () => {
    await cluster?.close();
  });

  const others = (leader: NatsServer) => cluster.servers.filter((s) => s !== leader);

  /** Poller every 200 ms into a monitor with a 2 s stall timeout; stopped after the test. */
  function watch(t: { after(fn: () => Promise<void>): void }, options: { streams?: string[]; timeoutMs?: number } = {}) {
    const monitor = new ReplicationLagMonitor({ stallTimeoutSeconds: 2 });
    const replicaErrors: string[] = [];
    const source = new NatsSource({ url: cluster.servers.map((s) => s.url), ...APP, timeoutMs: options.timeoutMs ?? 1000, ...(options.streams ? { streams: options.streams } : {}), onReplicaError: (_r, e) => replicaErrors.push(e.message) });
    const errors: Error[] = [];
    const poller = startPoller({ source, monitor, intervalMs: 200, onError: (e) => errors.push(e) });
    t.after(async () => {
      await poller.stop();
      await source.close();
    });
    return { monitor, source, errors, replicaErrors };
  }

  test('from one URL: every replica of every stream (the stream leader\'s view) and every durable consumer', async (t) => {
    const acker = await cluster.startAckingConsumer('ORDERS', 'acker');
    t.after(() => acker.stopAcking());
    await cluster.publish('orders.new', 100);
    await cluster.publish('other.new', 10);
    const ordersLeader = await cluster.streamLeader('ORDERS');
    const otherLeader = await cluster.streamLeader('OTHER');
    const seed = others(ordersLeader)[0]!;
    const source = new NatsSource({ url: seed.url, ...APP });
    t.after(() => source.close());
    let replicas = await source.poll();
    await waitUntil('every replica and the consumer caught up', 5000, async () => {
      replicas = await source.poll();
      return replicas.length === 5 && replicas.every((r) => r.followerSeq === r.leaderSeq);
    }, 100);
    assert.deepEqual(replicas.map((r) => r.nodeId), [
      'ORDERS/consumer/acker',
      ...others(ordersLeader).map((s) => `ORDERS/${s.name}`),
      ...others(otherLeader).map((s) => `OTHER/${s.name}`),
    ].sort());
    // The leader's own /jsz: its last_seq is the leader position; each replica's lag there is 0 now.
    const jsz = await cluster.jsz(ordersLeader);
    const detail = ((jsz.account_details as { stream_detail: { name: string; state: { last_seq: number }; cluster: { leader: string } }[] }[])
      .flatMap((a) => a.stream_detail)).find((d) => d.name === 'ORDERS')!;
    assert.equal(detail.cluster.leader, ordersLeader.name);
    const orders = replicas.filter((r) => r.nodeId.startsWith('ORDERS/'));
    for (const r of orders) assert.equal(r.leaderSeq, BigInt(detail.state.last_seq));
    assert.ok(detail.state.last_seq >= 100);
    assert.deepEqual(replicas.find((r) => r.nodeId === `ORDERS/${seed.name}`)!.attributes, { 'replication.system': 'nats', 'nats.stream': 'ORDERS', 'nats.server.name': seed.name, 'nats.cluster': 'rc' });
    assert.deepEqual(replicas.find((r) => r.nodeId === 'ORDERS/consumer/acker')!.attributes, { 'replication.system': 'nats', 'nats.stream': 'ORDERS', 'nats.consumer': 'acker', 'nats.cluster': 'rc' });

    // streams: only those; a missing one fails alone, saying so; consumers: false leaves the consumers out.
    const errors: string[] = [];
    const some = new NatsSource({ url: seed.url, ...APP, streams: ['ORDERS', 'MISSING'], consumers: false, onReplicaError: (replica, e) => errors.push(`${replica}: ${e.message}`) });
    t.after(() => some.close());
    assert.deepEqual((await some.poll()).map((r) => r.nodeId), others(ordersLeader).map((s) => `ORDERS/${s.name}`).sort());
    assert.deepEqual(errors, ['MISSING: nats: stream MISSING not found (stream not found (JetStream API error 404/10059)); its replicas and consumers are kept at their last known positions']);

    // Credentials: wrong ones are refused without showing the password.
    const wrong = new NatsSource({ url: seed.url, user: 'app', password: 's3cret' });
    const refused = await failedPoll(wrong);
    assert.equal(refused.error.message, `nats: no server accepted the connection: ${seed.url}: authorization violation: the server refused user "app" and its password`);
    await wrong.close();
  });

  test('healthy replicas and an acknowledging consumer are normal through startPoller and a monitor', async (t) => {
    const acker = await cluster.startAckingConsumer('ORDERS', 'healthy');
    t.after(() => acker.stopAcking());
    const { monitor, errors, replicaErrors } = watch(t, { streams: ['ORDERS'] });
    const leader = await cluster.streamLeader('ORDERS');
    await cluster.publish('orders.new', 50);
    const ids = [...others(leader).map((s) => `ORDERS/${s.name}`), 'ORDERS/consumer/healthy'];
    await waitUntil('every follower caught up', 10_000, () => ids.every((id) => monitor.getStatus(id)?.lagEntries === 0), 50);
    for (const id of ids) assert.equal(monitor.getStatus(id)!.severity, 'normal', id);
    assert.equal(monitor.getStatus(`ORDERS/${leader.name}`), undefined, 'the stream leader is not a follower');
    assert.deepEqual(errors, []);
    assert.deepEqual(replicaErrors, []);
  });

  test('a consumer that stops acknowledging while messages arrive stalls; the stream\'s replicas stay normal', async (t) => {
    const acker = await cluster.startAckingConsumer('ORDERS', 'steady');
    const quitter = await cluster.startAckingConsumer('ORDERS', 'quitter');
    t.after(() => {
      acker.stopAcking();
      quitter.stopAcking();
    });
    const { monitor } = watch(t, { streams: ['ORDERS'] });
    const publisher = cluster.startPublisher('orders.new', 20);
    t.after(async () => void (await publisher.stop()));
    await waitUntil('both consumers acknowledging', 10_000, () => ['steady', 'quitter'].every((c) => (monitor.getStatus(`ORDERS/consumer/${c}`)?.followerSeq ?? 0n) > 0n) && quitter.acked() > 0, 50);
    quitter.stopAcking();
    const stoppedAt = performance.now();
    await waitUntil('the quitter stalled', 2000 + 2 * 200 + 1000 + 1000, () => monitor.getStatus('ORDERS/consumer/quitter')!.severity === 'stalled', 20);
    console.log(`nats: consumer stalled ${Math.round(performance.now() - stoppedAt)} ms after it stopped acknowledging (stallTimeoutSeconds 2, interval 200 ms)`);
    const leader = await cluster.streamLeader('ORDERS');
    for (const s of others(leader)) assert.equal(monitor.getStatus(`ORDERS/${s.name}`)!.severity, 'normal', s.name);
    assert.equal(monitor.getStatus('ORDERS/consumer/steady')!.severity, 'normal');
    assert.ok(monitor.getStatus('ORDERS/consumer/quitter')!.lagEntries > 0);
  });

  test('a SIGSTOPped replica under a publish loop: stalled within the stall timeout plus two intervals; SIGCONT: normal again', async (t) => {
    const leader = await cluster.streamLeader('ORDERS');
    const meta = await cluster.metaLeader();
    const victim = others(leader).find((s) => s.name !== meta) ?? others(leader)[0]!;
    // timeout 600 ms: the poll that first finds the stopped server's consumers hung waits 450 ms (3/4) for them.
    const { monitor, replicaErrors } = watch(t, { streams: ['ORDERS'], timeoutMs: 600 });
    const id = `ORDERS/${victim.name}`;
    await waitUntil('first poll', 5000, () => monitor.getStatus(id) !== undefined, 20);
    const publisher = cluster.startPublisher('orders.new', 20, leader);
    t.after(async () => void (await publisher.stop()));
    const base = BigInt(monitor.getStatus(id)!.leaderSeq);
    await waitUntil('the publish loop going, the victim keeping up', 10_000, () => {
      const st = monitor.getStatus(id)!;
      return BigInt(st.followerSeq) >= base + 5n && st.lagEntries === 0;
    }, 20);

    cluster.pause(victim);
    t.after(() => cluster.resume(victim));
    const stoppedAt = performance.now();
    const trace: string[] = []; // the victim's status every 100 ms, shown if the wait fails
    const tracer = setInterval(() => {
      const st = monitor.getStatus(id)!;
      trace.push(`${Math.round(performance.now() - stoppedAt)}ms ${st.followerSeq}/${st.leaderSeq} ${st.severity}`);
    }, 100);
    t.after(() => clearInterval(tracer));
    await waitUntil(`${id} stalled`, 2000 + 2 * 200 + 1000, () => monitor.getStatus(id)!.severity === 'stalled', 20)
      .catch((error: Error) => {
        throw new Error(`${error.message}\n${trace.join('\n')}`);
      });
    clearInterval(tracer);
    console.log(`nats: replica stalled ${Math.round(performance.now() - stoppedAt)} ms after SIGSTOP (stallTimeoutSeconds 2, interval 200 ms)`);
    assert.ok(monitor.getStatus(id)!.lagEntries > 0);
    for (const s of others(leader).filter((x) => x !== victim)) assert.equal(monitor.getStatus(`ORDERS/${s.name}`)!.severity, 'normal');

    cluster.resume(victim);
    const resumedAt = performance.now();
    // The resumed replica may call an election (its timers fire at once): the stream can be leaderless for seconds.
    await waitUntil(`${id} normal again`, 30_000, () => {
      const st = monitor.getStatus(id);
      return st !== undefined ? st.severity === 'normal' : (monitor.getStatus(`ORDERS/${leader.name}`)?.severity === 'normal');
    }, 50);
    console.log(`nats: normal ${Math.round(performance.now() - resumedAt)} ms after SIGCONT; stream or consumer errors meanwhile: ${replicaErrors.length}`);
    // A durable consumer led by the stopped server cannot be read either: kept at its last known position, said so.
    for (const m of replicaErrors) assert.match(m, /^nats: (stream ORDERS has no leader|consumer ORDERS\/\w+: no answer within (450|200) ms; kept at its last known position$)/);
  });

  test('the poll deadline holds against a stopped server; a stream whose leader is stopped fails alone, its followers kept', async (t) => {
    const leader = await cluster.streamLeader('ORDERS');
    const otherLeader = await cluster.streamLeader('OTHER');
    assert.notEqual(otherLeader, leader, 'the streams have different leaders');
    const errors: string[] = [];
    const source = new NatsSource({ url: cluster.servers.map((s) => s.url), ...APP, streams: ['ORDERS', 'OTHER'], consumers: false, timeoutMs: 1000, onReplicaError: (r, e) => errors.push(`${r}: ${e.message}`) });
    t.after(() => source.close());
    const before = await source.poll();
    assert.deepEqual(errors, []);

    cluster.pause(leader);
    t.after(() => cluster.resume(leader));
    const alone = new NatsSource({ url: leader.url, ...APP, timeoutMs: 500 });
    const { error, ms } = await failedPoll(alone);
    assert.ok(ms >= 490 && ms < 1500, `rejected after ${ms} ms`);
    assert.equal(error.message, `nats: no server accepted the connection: ${leader.url}: no answer within 500 ms`);
    await alone.close();

    const start = performance.now();
    const during = await source.poll();
    const took = performance.now() - start;
    assert.ok(took < 2000, `the poll took ${took} ms`);
    assert.deepEqual(errors, [`ORDERS: nats: stream ORDERS has no leader (an election is under way) or its leader does not answer: no answer to $JS.API.STREAM.INFO.ORDERS within 750 ms; its replicas and consumers are kept at their last known positions`]);
    const kept = during.filter((r) => r.nodeId.startsWith('ORDERS/'));
    assert.deepEqual(kept, before.filter((r) => r.nodeId.startsWith('ORDERS/')), 'ORDERS replicas at their last known positions');
    assert.equal(source.replicaReadability().get(kept[0]!.nodeId), false);
    const other = during.filter((r) => r.nodeId.startsWith('OTHER/'));
    assert.deepEqual(other.map((r) => r.nodeId), others(otherLeader).map((s) => `OTHER/${s.name}`).sort(), 'OTHER is read from its own leader');
    assert.equal(source.replicaReadability().get(other[0]!.nodeId), true);
    cluster.resume(leader);
    await cluster.streamLeader('ORDERS');
  });
});
