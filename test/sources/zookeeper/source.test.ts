/**
 * ZooKeeperSource against a real ensemble (Debian zookeeper 3.8: three participants and one observer, run as the
 * `zookeeper` user on 127.0.0.1, tickTime 500 ms, syncLimit 5): discovery from one address, positions checked
 * against each server's own `srvr`, healthy followers normal, a SIGSTOPped follower stalled and back to normal,
 * the poll deadline against a stopped server, a leader restart (new epoch) without a lag spike. Offline: option
 * validation, the whitelist refusal, a server that never answers. Ports 20000–20499 only.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ReplicationLagMonitor } from '../../../src/monitor.ts';
import { startPoller } from '../../../src/sources/poller.ts';
import type { ReplicaPosition } from '../../../src/sources/source.ts';
import { splitZxid, ZooKeeperSource } from '../../../src/sources/zookeeper.ts';
import { descriptor as zookeeperDescriptor } from '../../../src/sources/zookeeper/descriptor.ts';
import { startZooKeeperEnsemble, waitUntil, type RunningZooKeeperEnsemble, type ZooKeeperServer } from '../../harness/zookeeper.ts';
import { listenOnFreePort } from '../../harness/wait.ts';
import { failedPoll } from '../../helpers/failed-poll.ts';
import { assertOptionErrors, type OptionErrorCase } from '../../helpers/option-errors.ts';

const PORT_MIN = 20_000;
const PORT_MAX = 20_500;

const listen = (server: Server): Promise<number> => listenOnFreePort(server, PORT_MIN, PORT_MAX);

describe('ZooKeeperSource without an ensemble', () => {
  test('bad options throw a TypeError or RangeError naming the option', () => {
    const cases: OptionErrorCase[] = [
      [undefined, TypeError, /^ZooKeeperSourceOptions must be an object/],
      [{}, TypeError, /^ZooKeeperSourceOptions\.servers must be an array/],
      [{ servers: [] }, RangeError, /^ZooKeeperSourceOptions\.servers must list at least one/],
      [{ servers: [2181] }, TypeError, /^ZooKeeperSourceOptions\.servers\[0\] must be a "host:port" string, got 2181/],
      [{ servers: ['127.0.0.1'] }, RangeError, /^ZooKeeperSourceOptions\.servers\[0\] must be a client address "host:port"/],
      [{ servers: ['zk://127.0.0.1:2181'] }, RangeError, /^ZooKeeperSourceOptions\.servers\[0\] must be a client address/],
      [{ servers: ['u:s3cret@127.0.0.1:2181'] }, RangeError, /^ZooKeeperSourceOptions\.servers\[0\] must be a client address "host:port" \(e\.g\. 127\.0\.0\.1:2181\), got "\*\*\*"$/],
      [{ servers: ['127.0.0.1:70000'] }, RangeError, /servers\[0\] must be a client address/],
      [{ servers: ['127.0.0.1:2181'], timeoutMs: 0 }, RangeError, /^ZooKeeperSourceOptions\.timeoutMs must be > 0/],
      [{ servers: ['127.0.0.1:2181'], timeoutMs: '5' }, TypeError, /^ZooKeeperSourceOptions\.timeoutMs must be a number/],
      [{ servers: ['127.0.0.1:2181'], tls: { ca: '/etc/ca.pem' } }, RangeError, /^ZooKeeperSourceOptions\.tls\.ca is not PEM text/],
      [{ servers: ['127.0.0.1:2181'], onReplicaError: 1 }, TypeError, /^ZooKeeperSourceOptions\.onReplicaError must be a function/],
    ];
    assertOptionErrors((options) => new ZooKeeperSource(options), cases);
    assert.equal(new ZooKeeperSource({ servers: ['[::1]:2181', 'zk-1.example:2181'] }).name, 'zookeeper');
  });

  test('the descriptor: type zookeeper, servers required, secret-free description, creates the source lazily', async () => {
    assert.equal(zookeeperDescriptor.type, 'zookeeper');
    assert.equal(zookeeperDescriptor.options.safeParse({}).success, false);
    assert.equal(zookeeperDescriptor.options.safeParse({ servers: ['127.0.0.1'] }).success, false);
    assert.equal(zookeeperDescriptor.options.safeParse({ servers: ['127.0.0.1:2181'], extra: 1 }).success, false);
    const options = zookeeperDescriptor.options.parse({ servers: ['127.0.0.1:2181', '127.0.0.1:2182'] });
    assert.equal(zookeeperDescriptor.describe(options), 'ZooKeeper ensemble 127.0.0.1:2181, 127.0.0.1:2182');
    const source = await zookeeperDescriptor.create(options, { sourceName: 'zk', timeoutMs: 700, onReplicaError: () => {}, env: {} });
    assert.ok(source instanceof ZooKeeperSource);
    await source.close?.();
  });

  test('a server that refuses conf (not whitelisted) and one that never answers: clear errors, the deadline holds', async (t) => {
    const sockets = new Set<Socket>();
    const refusing = createServer((s) => {
      s.once('data', (word) => s.end(`${String(word)} is not executed because it is not in the whitelist.\n`));
    });
    const blackhole = createServer((s) => {
      sockets.add(s);
      s.resume();
      s.on('close', () => sockets.delete(s));
    });
    const [refusingPort, blackholePort] = [await listen(refusing), await listen(blackhole)];
    t.after(() => {
      for (const s of sockets) s.destroy();
      refusing.close();
      blackhole.close();
    });
    const source = new ZooKeeperSource({ servers: [`127.0.0.1:${refusingPort}`], timeoutMs: 2000 });
    const refused = await failedPoll(source);
    assert.equal(refused.error.message, `zookeeper: no server answered conf: 127.0.0.1:${refusingPort}: conf is not in the server's 4lw.commands.whitelist: add it (4lw.commands.whitelist=srvr,conf in zoo.cfg)`);
    assert.ok(refused.ms < 1000);

    const hung = new ZooKeeperSource({ servers: [`127.0.0.1:${blackholePort}`], timeoutMs: 400 });
    const { error, ms } = await failedPoll(hung);
    assert.ok(ms >= 390 && ms < 1400, `rejected after ${ms} ms`);
    assert.equal(error.message, `zookeeper: no server answered conf: 127.0.0.1:${blackholePort}: no answer within the poll deadline`);
    await waitUntil('the source to release its socket', 2000, () => sockets.size === 0, 20);
    await hung.close();
    await assert.rejects(hung.poll(), /zookeeper: poll\(\) called after close\(\)/);
  });
});

describe('ZooKeeperSource against a real ensemble', { timeout: 240_000 }, () => {
  let ensemble: RunningZooKeeperEnsemble;
  before(async () => {
    ensemble = await startZooKeeperEnsemble({ size: 3, observers: 1, portMin: PORT_MIN, portMax: PORT_MAX });
  });
  after(async () => {
    await ensemble?.close();
  });

  const followersOf = (leader: ZooKeeperServer) => ensemble.servers.filter((s) => s !== leader);
  /** Poller every 200 ms into a monitor with a 2 s stall timeout; stopped after the test. */
  function watch(t: { after(fn: () => Promise<void>): void }, timeoutMs = 1000) {
    const monitor = new ReplicationLagMonitor({ stallTimeoutSeconds: 2 });
    const replicaErrors: string[] = [];
    const source = new ZooKeeperSource({ servers: ensemble.servers.map((s) => s.address), timeoutMs, onReplicaError: (_r, e) => replicaErrors.push(e.message) });
    const errors: Error[] = [];
    const poller = startPoller({ source, monitor, intervalMs: 200, onError: (e) => errors.push(e) });
    t.after(async () => {
      await poller.stop();
      await source.close();
    });
    return { monitor, source, errors, replicaErrors };
  }

  test('discovery from one address finds every member; positions are the servers\' own zxids; the leader is not a follower', async () => {
    await ensemble.write(50);
    const leader = await ensemble.leader();
    const seed = followersOf(leader).find((s) => s.role === 'participant')!;
    const source = new ZooKeeperSource({ servers: [seed.address] });
    try {
      let replicas: readonly ReplicaPosition[] = [];
      await waitUntil('every follower at the leader\'s zxid', 5000, async () => {
        replicas = await source.poll();
        return replicas.length === 3 && replicas.every((r) => r.followerSeq === r.leaderSeq);
      }, 100);
      assert.deepEqual(replicas.map((r) => r.nodeId), followersOf(leader).map((s) => s.address).sort());
      const leaderZxid = splitZxid((await ensemble.srvr(leader)).zxid);
      for (const s of followersOf(leader)) {
        const r = replicas.find((x) => x.nodeId === s.address)!;
        assert.deepEqual(r.attributes, {
          'replication.system': 'zookeeper', 'server.address': '127.0.0.1', 'server.port': s.clientPort,
          'zookeeper.server.id': s.sid, 'zookeeper.role': s.role === 'observer' ? 'observer' : 'follower',
        });
        const own = splitZxid((await ensemble.srvr(s)).zxid);
        assert.equal(own.epoch, leaderZxid.epoch);
        assert.equal(r.followerSeq, own.counter, `${s.address}: its own counter in the (only) epoch`);
        assert.equal(r.leaderSeq, leaderZxid.counter);
        assert.ok(leaderZxid.counter >= 50n);
      }
      assert.equal(source.replicaReadability().size, 3);
      assert.ok([...source.replicaReadability().values()].every(Boolean));
    } finally {
      await source.close();
    }
  });

  test('healthy followers and the observer are normal through startPoller and a monitor', async (t) => {
    const { monitor, errors } = watch(t);
    const leader = await ensemble.leader();
    await ensemble.write(100);
    const written = splitZxid((await ensemble.srvr(leader)).zxid).counter;
    await waitUntil('every follower caught up', 5000, () =>
      followersOf(leader).every((s) => {
        const st = monitor.getStatus(s.address);
        return st !== undefined && BigInt(st.leaderSeq) >= written && st.lagEntries === 0;
      }), 50);
    for (const s of followersOf(leader)) assert.equal(monitor.getStatus(s.address)!.severity, 'normal');
    assert.equal(monitor.getStatus(leader.address), undefined);
    assert.deepEqual(errors, []);
  });

  test('a SIGSTOPped follower under a write loop: stalled within the stall timeout plus two intervals; SIGCONT: normal again', async (t) => {
    const leader = await ensemble.leader();
    const victim = followersOf(leader).find((s) => s.role === 'participant')!;
    const { monitor, source, replicaErrors } = watch(t);
    await waitUntil('first poll', 5000, () => monitor.getStatus(victim.address) !== undefined, 20);
    const writer = ensemble.startWriter(20);
    t.after(async () => void (await writer.stop()));
    const base = BigInt(monitor.getStatus(victim.address)!.leaderSeq);
    await waitUntil('the write loop going, the victim keeping up', 10_000, () => {
      const st = monitor.getStatus(victim.address)!;
      return BigInt(st.followerSeq) >= base + 5n && st.lagEntries === 0;
    }, 20);

    ensemble.pause(victim);
    t.after(() => ensemble.resume(victim));
    const stoppedAt = performance.now();
    const trace: string[] = []; // the victim's status every 100 ms, shown if the wait fails
    const tracer = setInterval(() => {
      const st = monitor.getStatus(victim.address)!;
      trace.push(`${Math.round(performance.now() - stoppedAt)}ms ${st.followerSeq}/${st.leaderSeq} ${st.severity}`);
    }, 100);
    t.after(() => clearInterval(tracer));
    // The bound: stallTimeoutSeconds (2 s) + two intervals (0.4 s), + 1 s for a loaded machine. (The poll that finds
    // the server hung asks the leader again after waiting, so the wait does not count as the follower's progress.)
    await waitUntil(`${victim.address} stalled`, 3400, () => monitor.getStatus(victim.address)!.severity === 'stalled', 20)
      .catch((error: Error) => {
        throw new Error(`${error.message}\n${trace.join('\n')}`);
      });
    clearInterval(tracer);
    const stalledAfterMs = performance.now() - stoppedAt;
    console.log(`zookeeper: stalled ${Math.round(stalledAfterMs)} ms after SIGSTOP (stallTimeoutSeconds 2, interval 200 ms)`);
    const frozen = monitor.getStatus(victim.address)!;
    assert.ok(frozen.lagEntries > 0);
    assert.equal(source.replicaReadability().get(victim.address), false);
    assert.ok(replicaErrors.some((m) => m.startsWith(`zookeeper: server ${victim.address}: `) && m.endsWith('reported at its last known position')), replicaErrors.join('\n'));
    for (const s of followersOf(leader).filter((x) => x !== victim)) assert.equal(monitor.getStatus(s.address)!.severity, 'normal');
    // Past syncLimit the leader dropped it; it stays reported at its last zxid.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(monitor.getStatus(victim.address)!.followerSeq, frozen.followerSeq);
    assert.equal(monitor.getStatus(victim.address)!.severity, 'stalled');

    ensemble.resume(victim);
    const resumedAt = performance.now();
    await waitUntil(`${victim.address} normal again`, 15_000, () => monitor.getStatus(victim.address)!.severity === 'normal', 20);
    console.log(`zookeeper: normal ${Math.round(performance.now() - resumedAt)} ms after SIGCONT`);
    assert.equal(source.replicaReadability().get(victim.address), true);
  });

  test('the poll deadline holds against a stopped server: alone it fails in timeoutMs; a stopped leader fails the poll saying no leader answers', async (t) => {
    const leader = await ensemble.leader();
    const follower = followersOf(leader).find((s) => s.role === 'participant')!;
    ensemble.pause(follower);
    t.after(() => ensemble.resume(follower));
    const alone = new ZooKeeperSource({ servers: [follower.address], timeoutMs: 500 });
    const { error, ms } = await failedPoll(alone);
    assert.ok(ms >= 490 && ms < 1500, `rejected after ${ms} ms`);
    assert.equal(error.message, `zookeeper: no server answered conf: ${follower.address}: no answer within the poll deadline`);
    await alone.close();

    // With the other addresses, a stopped follower costs the poll that finds it, not the later ones.
    const all = new ZooKeeperSource({ servers: ensemble.servers.map((s) => s.address), timeoutMs: 500 });
    const first = performance.now();
    await all.poll();
    const firstMs = performance.now() - first;
    const second = performance.now();
    const replicas = await all.poll();
    const secondMs = performance.now() - second;
    assert.ok(firstMs < 1500 && secondMs < 400, `first ${firstMs} ms, second ${secondMs} ms`);
    assert.equal(replicas.length, 2, 'a follower never read has no position to report');
    assert.ok(!replicas.some((r) => r.nodeId === follower.address));
    ensemble.resume(follower);

    ensemble.pause(leader);
    t.after(() => ensemble.resume(leader));
    const failed = await failedPoll(all);
    assert.ok(failed.ms < 1500, `rejected after ${failed.ms} ms`);
    assert.match(failed.error.message, new RegExp(`^zookeeper: no member answers as leader \\(an election is under way, or the leader cannot be read\\): .*${leader.address.replace(/\./g, '\\.')}: `));
    ensemble.resume(leader);
    await all.close();
    await ensemble.leader();
  });

  test('a leader restart (new epoch): the new leader is followed and the lag never spikes (no raw zxid subtraction across epochs)', async (t) => {
    const { monitor, source, errors } = watch(t);
    const oldLeader = await ensemble.leader();
    const epochBefore = splitZxid((await ensemble.srvr(oldLeader)).zxid).epoch;
    const writer = ensemble.startWriter(20);
    t.after(async () => void (await writer.stop()));
    await waitUntil('first polls', 5000, () => followersOf(oldLeader).every((s) => monitor.getStatus(s.address) !== undefined), 20);
    let maxLag = 0;
    const followerSeqs = new Map<string, bigint>();
    let regressions = 0;
    const sampler = setInterval(() => {
      for (const s of ensemble.servers) {
        const st = monitor.getStatus(s.address);
        if (st === undefined) continue;
        maxLag = Math.max(maxLag, st.lagEntries);
        const before = followerSeqs.get(s.address);
        if (before !== undefined && BigInt(st.followerSeq) < before) regressions++;
        followerSeqs.set(s.address, BigInt(st.followerSeq));
      }
    }, 20);
    t.after(() => clearInterval(sampler));

    await ensemble.restart(oldLeader);
    const newLeader = await ensemble.leader();
    assert.notEqual(newLeader, oldLeader);
    const epochAfter = splitZxid((await ensemble.srvr(newLeader)).zxid).epoch;
    assert.ok(epochAfter > epochBefore, `epoch ${epochBefore} → ${epochAfter}`);
    await waitUntil('the old leader reported as a follower, every follower caught up', 15_000, () =>
      monitor.getStatus(oldLeader.address) !== undefined && monitor.getStatus(newLeader.address) === undefined &&
      followersOf(newLeader).every((s) => monitor.getStatus(s.address)?.severity === 'normal'), 50);
    const writes = await writer.stop();
    clearInterval(sampler);
    console.log(`zookeeper: epoch ${epochBefore} → ${epochAfter}, ${writes} writes, max lag seen ${maxLag} entries`);
    assert.ok(maxLag < 2000, `max lag ${maxLag}: no spike of ~2^32 per epoch`);
    assert.equal(regressions, 0, 'no follower position went backwards');
    assert.ok(errors.every((e) => /no member answers as leader|no server answered conf|both answer as leader/.test(e.message)), errors.map((e) => e.message).join('\n'));
    assert.ok(source.replicaReadability().get(oldLeader.address));
  });
});
