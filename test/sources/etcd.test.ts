/**
 * EtcdSource against a real three-member etcd cluster (Debian etcd-server, run as the `etcd` user on 127.0.0.1):
 * positions cross-checked with the members' own status and the leader's /debug/vars, caught-up followers,
 * a SIGSTOPped follower going stalled and recovering, a SIGSTOPped leader, /debug/vars not served, a member
 * killed then removed, auth enabled. Offline: option validation, no I/O before the first poll, timeouts, close().
 * Over TLS (https-only client URLs, test certificates): a second three-member cluster, and a two-member one with
 * --client-cert-auth, for the CA, public roots, rejectUnauthorized, servername, client certificates and the
 * errors of a plaintext client on a TLS port and of a TLS client on a plaintext one.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ReplicationLagMonitor, startPoller, type Poller } from '../../src/index.ts';
import { EtcdSource, parseEtcdDebugVars } from '../../src/sources/etcd.ts';
import type { ReplicaPosition } from '../../src/sources/source.ts';
import { findFreePort, makeEtcdServerCertificate, startEtcdCluster, waitUntil, type EtcdMember, type RunningEtcdCluster } from '../harness/etcd.ts';
import { ensureServiceUser } from '../harness/service-user.ts';
import { makeTestCertificates, type TestCertificates } from '../harness/tls.ts';
import { listenOnFreePort } from '../harness/wait.ts';
import { failedPoll } from '../helpers/failed-poll.ts';
import { assertOptionErrors, type OptionErrorCase } from '../helpers/option-errors.ts';

const PORT_MIN = 23_000;
const PORT_MAX = 24_000;

/** Listens on a free port in our range; resolves to the port. */
const listen = (server: Server): Promise<number> => listenOnFreePort(server, PORT_MIN, PORT_MAX);

const close = (server: Server | ReturnType<typeof createHttpServer> | ReturnType<typeof createHttpsServer>) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('EtcdSource without a cluster', () => {
  test('bad options throw a TypeError or RangeError naming the option, never echoing a password', () => {
    const cases: OptionErrorCase[] = [
      [undefined, TypeError, /^EtcdSourceOptions must be an object/],
      [{}, TypeError, /^EtcdSourceOptions\.endpoints must be an array/],
      [{ endpoints: 'http://127.0.0.1:2379' }, TypeError, /^EtcdSourceOptions\.endpoints must be an array/],
      [{ endpoints: [] }, RangeError, /^EtcdSourceOptions\.endpoints must list at least one/],
      [{ endpoints: [2379] }, TypeError, /^EtcdSourceOptions\.endpoints\[0\] must be a string, got 2379/],
      [{ endpoints: ['http://127.0.0.1:2379', 'localhost:2379'] }, RangeError, /^EtcdSourceOptions\.endpoints\[1\] must be an http:\/\/ or https:\/\/ URL, got "localhost:2379"/],
      [{ endpoints: ['127.0.0.1:2379'] }, RangeError, /^EtcdSourceOptions\.endpoints\[0\] must be an http:\/\/ or https:\/\/ URL/],
      [{ endpoints: ['ftp://127.0.0.1:2379'] }, RangeError, /^EtcdSourceOptions\.endpoints\[0\] must be an http:\/\/ or https:\/\/ URL/],
      [{ endpoints: ['http://root:s3cret@127.0.0.1:2379'] }, RangeError, /^EtcdSourceOptions\.endpoints\[0\] must not contain credentials \(http:\/\/127\.0\.0\.1:2379\)/],
      [{ endpoints: ['https://root:s3cret@127.0.0.1:2379'] }, RangeError, /^EtcdSourceOptions\.endpoints\[0\] must not contain credentials \(https:\/\/127\.0\.0\.1:2379\)/],
      [{ endpoints: ['http://root:s3cret@bad host:2379'] }, RangeError, /^EtcdSourceOptions\.endpoints\[0\] must be an http:\/\/ or https:\/\/ URL, got "http:\/\/bad host:2379"/],
      [{ endpoints: ['http://127.0.0.1:2379/v3?token=s3cret'] }, RangeError, /^EtcdSourceOptions\.endpoints\[0\] must be a client URL without path, query or fragment .*got "http:\/\/127\.0\.0\.1:2379\/v3"/],
      [{ endpoints: ['http://127.0.0.1:2379'], timeoutMs: '5000' }, TypeError, /^EtcdSourceOptions\.timeoutMs must be a number, got "5000"/],
    ];
    for (const timeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
      cases.push([{ endpoints: ['http://127.0.0.1:2379'], timeoutMs }, RangeError, /^EtcdSourceOptions\.timeoutMs must be > 0 and <= 2147483647 ms, got /]);
    }
    assertOptionErrors((options) => new EtcdSource(options), cases);
    assert.equal(new EtcdSource({ endpoints: ['http://127.0.0.1:2379/'] }).name, 'etcd');
  });

  test('no I/O before the first poll; an HTTP server that is not etcd gives an actionable error', async () => {
    let requests = 0;
    const server = createHttpServer((_req, res) => {
      requests++;
      res.writeHead(404).end('404 page not found\n');
    });
    const port = await listen(server);
    try {
      const source = new EtcdSource({ endpoints: [`http://127.0.0.1:${port}`] });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(requests, 0, 'the constructor and the time after it made no request');
      const { error } = await failedPoll(source);
      assert.equal(requests, 1);
      assert.equal(
        error.message,
        `etcd: no endpoint answered: POST http://127.0.0.1:${port}/v3/maintenance/status returned HTTP 404: the v3 JSON gateway is not served on this URL (not an etcd ≥ 3.4 client URL, or the gateway is disabled)`,
      );
      await source.close();
    } finally {
      await close(server);
    }
  });

  test('unreachable endpoints: the poll rejects at once, naming every endpoint', async () => {
    const [a, b] = [await findFreePort(PORT_MIN, PORT_MAX), await findFreePort(PORT_MIN, PORT_MAX)];
    const source = new EtcdSource({ endpoints: [`http://127.0.0.1:${a}`, `http://127.0.0.1:${b}`], timeoutMs: 3000 });
    const { error, ms } = await failedPoll(source);
    assert.ok(ms < 1000, `took ${ms} ms`);
    assert.match(error.message, /^etcd: no endpoint answered: /);
    for (const port of [a, b]) assert.ok(error.message.includes(`POST http://127.0.0.1:${port}/v3/maintenance/status: connection refused`), error.message);
    await source.close();
  });

  test('a server that never answers: the poll rejects after timeoutMs; close() aborts a poll in flight, frees its socket, is idempotent', async () => {
    const sockets = new Set<Socket>();
    const blackhole = createTcpServer((socket) => {
      sockets.add(socket);
      socket.resume(); // reads (and drops) the request, so that it sees the client's FIN
      socket.on('close', () => sockets.delete(socket));
    });
    const port = await listen(blackhole);
    try {
      const source = new EtcdSource({ endpoints: [`http://127.0.0.1:${port}`], timeoutMs: 300 });
      const { error, ms } = await failedPoll(source);
      assert.ok(ms >= 290 && ms < 1300, `rejected after ${ms} ms`);
      assert.equal(error.message, `etcd: no endpoint answered: POST http://127.0.0.1:${port}/v3/maintenance/status: no answer within 300 ms`);

      const slow = new EtcdSource({ endpoints: [`http://127.0.0.1:${port}`], timeoutMs: 10_000 });
      const start = performance.now();
      const inFlight = failedPoll(slow);
      await waitUntil('the poll to connect', 2000, () => sockets.size > 0, 10);
      await slow.close();
      const aborted = await inFlight;
      assert.ok(performance.now() - start < 2000, 'close() ended the poll long before its timeout');
      assert.match(aborted.error.message, /the source was closed/);
      await slow.close();
      await assert.rejects(slow.poll(), /^Error: etcd: poll\(\) called after close\(\)$/);
      await waitUntil('the source to release its sockets', 2000, () => sockets.size === 0, 20);
      await source.close();
    } finally {
      for (const s of sockets) s.destroy();
      await close(blackhole);
    }
  });

  test('parseEtcdDebugVars reads raft.status exactly, uint64 indexes beyond 2^53 included', () => {
    const body = `{"cmdline": ["etcd"], "raft.status": {"id":"8e9e05c52164694d","term":18446744073709551615,"vote":"0","commit":9007199254740993,
      "lead":"8e9e05c52164694d","raftState":"StateLeader","applied":5,"progress":{"8e9e05c52164694d":{"match":18446744073709551615,"next":1,"state":"StateReplicate"},
      "ABC":{"match":0,"next":1,"state":"StateProbe"}},"leadtransferee":"0"}}`;
    const raft = parseEtcdDebugVars(body);
    assert.equal(raft.id, '8e9e05c52164694d');
    assert.equal(raft.lead, '8e9e05c52164694d');
    assert.equal(raft.raftState, 'StateLeader');
    assert.equal(raft.commit, 9_007_199_254_740_993n);
    assert.deepEqual([...raft.progress], [['8e9e05c52164694d', 18_446_744_073_709_551_615n], ['abc', 0n]]);
    assert.throws(() => parseEtcdDebugVars('{"cmdline": []}'), /no "raft.status"/);
    assert.throws(() => parseEtcdDebugVars('<html>'), /not JSON/);
    assert.throws(() => parseEtcdDebugVars('{"raft.status": {"id":"1","lead":"1","commit":-1,"raftState":"StateLeader"}}'), /commit is not an exact non-negative integer/);
  });
});

describe('EtcdSource against a three-member cluster', () => {
  let cluster: RunningEtcdCluster;
  before(async () => {
    cluster = await startEtcdCluster({ portMin: PORT_MIN, portMax: PORT_MAX });
  });
  after(async () => {
    await cluster?.close();
  });

  const followersOf = (leader: EtcdMember) => cluster.members.filter((m) => m !== leader);
  const positions = (replicas: readonly ReplicaPosition[]) => Object.fromEntries(replicas.map((r) => [r.nodeId, [r.leaderSeq, r.followerSeq]]));

  /** A monitor with a 2 s stall timeout fed every 100 ms; stopped (poller, source) after the test. */
  function watch(t: { after(fn: () => Promise<void>): void }, endpoints = cluster.endpoints) {
    const monitor = new ReplicationLagMonitor({ stallTimeoutSeconds: 2 });
    const source = new EtcdSource({ endpoints, timeoutMs: 1500 });
    const errors: Error[] = [];
    const poller: Poller = startPoller({ source, monitor, intervalMs: 100, onError: (e) => errors.push(e) });
    t.after(async () => {
      await poller.stop();
      await source.close();
    });
    return { monitor, source, errors, poller };
  }

  test('reports each follower (not the leader) with the positions the leader and the members themselves report', async () => {
    for (let i = 0; i < 20; i++) await cluster.put(`cross/${i}`, String(i));
    const leader = await cluster.leader();
    const followers = followersOf(leader);
    await waitUntil('every member to have applied every entry', 5000, async () => {
      const s = await Promise.all(cluster.members.map((m) => cluster.status(m)));
      return s.every((x) => x.raftIndex === s[0]!.raftIndex && x.raftAppliedIndex === x.raftIndex);
    }, 50);
    const source = new EtcdSource({ endpoints: cluster.endpoints });
    const viaOneFollower = new EtcdSource({ endpoints: [followers[1]!.clientUrl] });
    try {
      const replicas = await source.poll();
      const vars = await cluster.raftStatus(leader);
      assert.equal(vars.raftState, 'StateLeader');
      assert.deepEqual(replicas.map((r) => r.nodeId), followers.map((f) => f.name).sort());
      const leaderIndex = (await cluster.status(leader)).raftIndex;
      assert.ok(leaderIndex >= 20n);
      for (const f of followers) {
        const r = replicas.find((x) => x.nodeId === f.name)!;
        assert.equal(typeof r.leaderSeq, 'bigint');
        assert.equal(r.leaderSeq, BigInt(vars.progress[leader.hexId]!.match), 'leaderSeq is the leader’s own match (its last index)');
        assert.equal(r.leaderSeq, leaderIndex, 'and what the leader’s own status says');
        assert.equal(r.followerSeq, BigInt(vars.progress[f.hexId]!.match), `${f.name}: followerSeq is its match index in the leader’s progress`);
        assert.equal(r.followerSeq, (await cluster.status(f)).raftIndex, `${f.name}: and what the follower’s own status says`);
        assert.deepEqual(r.attributes, { 'replication.system': 'etcd', 'etcd.member.id': f.hexId, 'server.address': '127.0.0.1', 'server.port': f.clientPort });
      }
      // Given only one follower's URL, the source finds the leader through the member list: same answer.
      assert.deepEqual(await viaOneFollower.poll(), replicas);
    } finally {
      await source.close();
      await viaOneFollower.close();
    }
  });

  test('after writes, both followers caught up: lagEntries 0 and normal through startPoller and a monitor', async (t) => {
    const { monitor, errors } = watch(t);
    const leader = await cluster.leader();
    for (let i = 0; i < 50; i++) await cluster.put(`caught-up/${i}`, String(i));
    const written = (await cluster.status(leader)).raftIndex;
    await waitUntil('both followers caught up with the writes', 5000, () =>
      followersOf(leader).every((f) => {
        const s = monitor.getStatus(f.name);
        return s !== undefined && BigInt(s.leaderSeq) >= written && s.lagEntries === 0;
      }), 50);
    for (const f of followersOf(leader)) assert.equal(monitor.getStatus(f.name)!.severity, 'normal');
    assert.equal(monitor.getStatus(leader.name), undefined, 'the leader is not a follower');
    assert.deepEqual(errors, []);
  });

  test('a SIGSTOPped follower: match index frozen while the leader advances → stalled; SIGCONT → caught up, normal', async (t) => {
    const leader = await cluster.leader();
    const [victim, healthy] = followersOf(leader) as [EtcdMember, EtcdMember];
    const { monitor } = watch(t);
    await waitUntil('first poll', 3000, () => monitor.getStatus(victim.name) !== undefined, 20);

    cluster.pause(victim);
    t.after(() => cluster.resume(victim));
    const writer = cluster.startWriter(20);
    t.after(async () => void (await writer.stop()));
    await waitUntil(`${victim.name} stalled`, 10_000, () => monitor.getStatus(victim.name)!.severity === 'stalled', 50);
    const frozen = monitor.getStatus(victim.name)!;
    assert.ok(frozen.lagEntries > 0);
    await waitUntil('the leader to advance further', 3000, () => monitor.getStatus(victim.name)!.leaderSeq > frozen.leaderSeq, 20);
    assert.equal(monitor.getStatus(victim.name)!.followerSeq, frozen.followerSeq, 'the stopped follower’s match index does not move');
    assert.equal(monitor.getStatus(healthy.name)!.severity, 'normal', 'the other follower keeps up');

    // Its own endpoint cannot answer: polling the stopped member alone times out, naming it.
    const direct = new EtcdSource({ endpoints: [victim.clientUrl], timeoutMs: 400 });
    const { error, ms } = await failedPoll(direct);
    assert.ok(ms >= 390 && ms < 1400, `rejected after ${ms} ms`);
    assert.equal(error.message, `etcd: no endpoint answered: POST ${victim.clientUrl}/v3/maintenance/status: no answer within 400 ms`);
    await direct.close();

    cluster.resume(victim);
    await waitUntil(`${victim.name} normal again`, 10_000, () => {
      const s = monitor.getStatus(victim.name)!;
      return s.severity === 'normal' && s.followerSeq > frozen.followerSeq;
    }, 50);
    const puts = await writer.stop();
    assert.ok(puts > 20, `${puts} puts`);
    const last = (await cluster.status(leader)).raftIndex;
    await waitUntil('both followers at the last write', 5000, () =>
      [victim, healthy].every((f) => monitor.getStatus(f.name)!.lagEntries === 0 && BigInt(monitor.getStatus(f.name)!.leaderSeq) >= last), 50);
  });

  test('the leader SIGSTOPped: polls reject within timeoutMs naming it, then the new leader reports it (match 0) until it is back', async (t) => {
    const old = await cluster.leader();
    const source = new EtcdSource({ endpoints: cluster.endpoints, timeoutMs: 1000 });
    t.after(() => source.close());
    cluster.pause(old);
    t.after(() => cluster.resume(old));

    // The followers still name it (election timeout 1 s): its /debug/vars cannot answer.
    const { error, ms } = await failedPoll(source);
    assert.ok(ms >= 990 && ms < 2000, `rejected after ${ms} ms`);
    assert.equal(error.message, `etcd: GET ${old.clientUrl}/debug/vars (the leader ${old.name}): no answer within 1000 ms`);

    // After the election: the new leader reports the old one as a follower it has no acknowledgement from.
    let replicas: readonly ReplicaPosition[] = [];
    const failures: string[] = [];
    await waitUntil('a new leader', 15_000, async () => {
      try {
        replicas = await source.poll();
        return true;
      } catch (e) {
        failures.push((e as Error).message);
        return false;
      }
    }, 100);
    for (const f of failures) assert.match(f, /^etcd: (GET .*\/debug\/vars \(the leader m\d\): no answer within 1000 ms|no leader .*reports no leader|.*leadership changed)/);
    const newLeader = cluster.members.find((m) => m !== old && !replicas.some((r) => r.nodeId === m.name))!;
    assert.deepEqual(replicas.map((r) => r.nodeId).sort(), cluster.members.filter((m) => m !== newLeader).map((m) => m.name).sort());
    const stopped = replicas.find((r) => r.nodeId === old.name)!;
    assert.equal(stopped.followerSeq, 0n, 'a new leader knows nothing of a member that does not answer: match 0');
    assert.ok(BigInt(stopped.leaderSeq) > 0n);

    // Resumed, it hears of the new term, steps down and catches up (the new leader's own first entry suffices).
    cluster.resume(old);
    await waitUntil(`${old.name} back and caught up`, 10_000, async () => {
      const r = (await source.poll()).find((x) => x.nodeId === old.name);
      return r !== undefined && r.followerSeq === r.leaderSeq;
    }, 100);
    await cluster.leader();
  });

  test('https:// to a plaintext client URL: the error says the server does not do TLS, use http://', async () => {
    const leader = await cluster.leader();
    const source = new EtcdSource({ endpoints: [leader.clientUrl.replace('http:', 'https:')], timeoutMs: 2000 });
    const { error, ms } = await failedPoll(source);
    assert.ok(ms < 1000, `took ${ms} ms`);
    assert.equal(
      error.message,
      `etcd: no endpoint answered: POST https://127.0.0.1:${leader.clientPort}/v3/maintenance/status: the server closed the connection during the TLS handshake (a plaintext etcd client URL? then use http://)`,
    );
    await source.close();
  });

  test('/debug/vars not served on the endpoint (a proxy forwarding only /v3/): the error says so', async (t) => {
    const leader = await cluster.leader();
    const proxy = createHttpServer((req, res) => {
      if (!req.url?.startsWith('/v3/')) return void res.writeHead(404).end('404 page not found\n');
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        fetch(leader.clientUrl + req.url, { method: req.method, body: Buffer.concat(chunks), headers: { connection: 'close' }, signal: AbortSignal.timeout(2000) })
          .then(async (r) => res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text()))
          .catch(() => res.writeHead(502).end());
      });
    });
    const port = await listen(proxy);
    t.after(() => close(proxy));
    const source = new EtcdSource({ endpoints: [`http://127.0.0.1:${port}`] });
    const { error } = await failedPoll(source);
    assert.equal(
      error.message,
      `etcd: GET http://127.0.0.1:${port}/debug/vars (the leader ${leader.name}) returned HTTP 404: this member does not serve /debug/vars on its client URL (disabled, or moved to another listener); the etcd source needs it to read follower progress`,
    );
    await source.close();
  });

  test('a member killed stays reported (frozen, then stalled); once removed from the cluster it is no longer reported', async (t) => {
    const leader = await cluster.leader();
    const victim = followersOf(leader)[0]!;
    const { monitor, source } = watch(t);
    await waitUntil('first poll', 3000, () => monitor.getStatus(victim.name) !== undefined, 20);
    await cluster.kill(victim);
    const writer = cluster.startWriter(20);
    t.after(async () => void (await writer.stop()));
    await waitUntil(`${victim.name} stalled`, 10_000, () => monitor.getStatus(victim.name)!.severity === 'stalled', 50);
    assert.ok(monitor.getStatus(victim.name)!.lagEntries > 0);

    await cluster.gateway('/v3/cluster/member/remove', { ID: victim.id });
    await waitUntil(`${victim.name} unregistered by the poller`, 5000, () => monitor.getStatus(victim.name) === undefined, 50);
    await writer.stop();
    const replicas = await source.poll();
    assert.deepEqual(replicas.map((r) => r.nodeId), followersOf(leader).filter((m) => m !== victim).map((m) => m.name));
  });

  test('with etcd auth enabled (3.4), the source needs no credentials: status, member list and /debug/vars stay open', async () => {
    const leader = await cluster.leader();
    await cluster.gateway('/v3/auth/user/add', { name: 'root', password: 'not-for-the-source' });
    await cluster.gateway('/v3/auth/user/grant', { user: 'root', role: 'root' });
    await cluster.gateway('/v3/auth/enable', {});
    await assert.rejects(cluster.put('no-token', 'x'), /user name is empty/, 'auth is really enabled');
    const { token } = await cluster.gateway('/v3/auth/authenticate', { name: 'root', password: 'not-for-the-source' });
    await cluster.put('with-token', 'x', token as string);

    const source = new EtcdSource({ endpoints: cluster.endpoints });
    try {
      const replicas = await source.poll();
      assert.equal(replicas.length, 1);
      assert.equal(replicas[0]!.leaderSeq, (await cluster.status(leader)).raftIndex);
      assert.deepEqual(positions(replicas), positions(await source.poll()));
    } finally {
      await source.close();
    }
  });
});

describe('EtcdSource over TLS (client URLs served over https:// only)', () => {
  const TIMEOUT_MS = 2000;
  let certs: TestCertificates;
  /** Three members, server certificate from the test CA, no client certificates required. */
  let cluster: RunningEtcdCluster;
  /** Two members with --client-cert-auth. */
  let mtls: RunningEtcdCluster;
  before(async () => {
    const owner = process.getuid?.() === 0 ? ensureServiceUser('etcd') : undefined;
    certs = makeTestCertificates({ owner });
    const mtlsServer = makeEtcdServerCertificate(certs, owner);
    const ca = certs.ca.certFile;
    // Disjoint port ranges: the two clusters pick their ports at the same time.
    const started = await Promise.allSettled([
      startEtcdCluster({ portMin: PORT_MIN, portMax: 23_500, tls: { certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: ca } }),
      startEtcdCluster({
        size: 2, portMin: 23_500, portMax: PORT_MAX,
        tls: { certFile: mtlsServer.certFile, keyFile: mtlsServer.keyFile, caFile: ca, clientCertAuth: true, clientCertFile: certs.client.certFile, clientKeyFile: certs.client.keyFile },
      }),
    ]);
    // Both or neither: one that started is kept for after() to close.
    [cluster, mtls] = started.map((s) => (s.status === 'fulfilled' ? s.value : undefined!)) as [RunningEtcdCluster, RunningEtcdCluster];
    for (const s of started) if (s.status === 'rejected') throw s.reason;
  });
  after(async () => {
    await Promise.all([cluster?.close(), mtls?.close()]);
    certs?.dispose();
  });

  /** Polls once with `options`; closes the source. */
  async function pollOnce(options: ConstructorParameters<typeof EtcdSource>[0]): Promise<readonly ReplicaPosition[]> {
    const source = new EtcdSource(options);
    try {
      return await source.poll();
    } finally {
      await source.close();
    }
  }

  /** Rejects with the poll's error, and checks it came within the timeout. */
  async function pollError(options: ConstructorParameters<typeof EtcdSource>[0]): Promise<string> {
    const source = new EtcdSource({ timeoutMs: TIMEOUT_MS, ...options });
    const { error, ms } = await failedPoll(source);
    await source.close();
    assert.ok(ms < TIMEOUT_MS, `rejected after ${ms} ms: ${error.message}`);
    return error.message;
  }

  /** The positions every member reports, once all have applied every entry. */
  async function settled(c: RunningEtcdCluster): Promise<EtcdMember> {
    const leader = await c.leader();
    await waitUntil('every member to have applied every entry', 5000, async () => {
      const s = await Promise.all(c.members.map((m) => c.status(m)));
      return s.every((x) => x.raftIndex === s[0]!.raftIndex && x.raftAppliedIndex === x.raftIndex);
    }, 50);
    return leader;
  }

  /** The source's answer matches the leader's /debug/vars and every member's own status. */
  async function assertRealPositions(c: RunningEtcdCluster, leader: EtcdMember, replicas: readonly ReplicaPosition[]): Promise<void> {
    const followers = c.members.filter((m) => m !== leader);
    const vars = await c.raftStatus(leader);
    assert.equal(vars.raftState, 'StateLeader');
    assert.deepEqual(replicas.map((r) => r.nodeId), followers.map((f) => f.name).sort());
    const leaderIndex = (await c.status(leader)).raftIndex;
    for (const f of followers) {
      const r = replicas.find((x) => x.nodeId === f.name)!;
      assert.equal(r.leaderSeq, BigInt(vars.progress[leader.hexId]!.match));
      assert.equal(r.leaderSeq, leaderIndex);
      assert.equal(r.followerSeq, BigInt(vars.progress[f.hexId]!.match), `${f.name}: its match index in the leader’s progress`);
      assert.equal(r.followerSeq, (await c.status(f)).raftIndex, `${f.name}: what it reports itself`);
      assert.deepEqual(r.attributes, { 'replication.system': 'etcd', 'etcd.member.id': f.hexId, 'server.address': '127.0.0.1', 'server.port': f.clientPort });
    }
  }

  test('bad tls options, tls with http://, mixed schemes: TypeError/RangeError naming the option before any I/O, no key echoed', () => {
    const https = ['https://127.0.0.1:2379'];
    const cases: [unknown, typeof TypeError | typeof RangeError, RegExp][] = [
      [{ endpoints: https, tls: 'yes' }, TypeError, /^EtcdSourceOptions\.tls must be an object/],
      [{ endpoints: https, tls: { ca: '/etc/etcd/ca.pem' } }, RangeError, /^EtcdSourceOptions\.tls\.ca is not PEM text/],
      [{ endpoints: https, tls: { key: certs.client.key } }, RangeError, /^EtcdSourceOptions\.tls: cert and key go together/],
      [{ endpoints: https, tls: { rejectUnauthorized: 'no' } }, TypeError, /^EtcdSourceOptions\.tls\.rejectUnauthorized must be a boolean/],
      [{ endpoints: https, tls: { verify: false } }, RangeError, /^EtcdSourceOptions\.tls\.verify is not a TLS option/],
      [{ endpoints: ['http://127.0.0.1:2379'], tls: { ca: certs.ca.cert } }, RangeError, /^EtcdSourceOptions\.tls is set but the endpoints are http:\/\/ \(http:\/\/127\.0\.0\.1:2379\): TLS options apply to https:\/\/ endpoints only/],
      [{ endpoints: ['https://127.0.0.1:2379', 'http://127.0.0.1:2381'] }, RangeError, /^EtcdSourceOptions\.endpoints mixes http:\/\/ \(http:\/\/127\.0\.0\.1:2381\) and https:\/\/ \(https:\/\/127\.0\.0\.1:2379\) URLs/],
    ];
    for (const [options, type, message] of cases) {
      assert.throws(() => new EtcdSource(options as never), (error: Error) => {
        assert.ok(error instanceof type, `${error.name} ${error.message}`);
        assert.match(error.message, message);
        assert.ok(!error.message.includes('PRIVATE KEY') && !error.message.includes(certs.client.key.split('\n')[1]!));
        return true;
      });
    }
  });

  test('tls: { ca }: polls succeed and report the real positions; given one follower, the leader’s advertised https:// URL gets the same TLS options', async () => {
    for (let i = 0; i < 10; i++) await cluster.put(`tls/${i}`, String(i));
    const leader = await settled(cluster);
    const follower = cluster.members.find((m) => m !== leader)!;
    assert.match(leader.clientUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
    const replicas = await pollOnce({ endpoints: cluster.endpoints, tls: { ca: certs.ca.cert } });
    await assertRealPositions(cluster, leader, replicas);
    assert.deepEqual(await pollOnce({ endpoints: [follower.clientUrl], tls: { ca: certs.ca.cert } }), replicas);
    // The name in the certificate, checked instead of the address connected to.
    assert.deepEqual(await pollOnce({ endpoints: cluster.endpoints, tls: { ca: certs.ca.cert, servername: 'localhost' } }), replicas);
  });

  test('plaintext http:// to the https-only port: a clear error within timeoutMs that suggests https:// and the CA', async () => {
    const m = cluster.members[0]!;
    const message = await pollError({ endpoints: [`http://127.0.0.1:${m.clientPort}`] });
    assert.equal(
      message,
      `etcd: no endpoint answered: POST http://127.0.0.1:${m.clientPort}/v3/maintenance/status: the server closed the connection without an answer (an https-only etcd client URL? then use https://, with its CA: tls.ca)`,
    );
  });

  test('no tls, tls: {} (Node’s public roots) or another CA: refused, the error says to pass the CA; a wrong servername says so', async () => {
    const m = cluster.members[0]!;
    for (const tls of [undefined, {}, { ca: certs.otherCa.cert }]) {
      const message = await pollError({ endpoints: [m.clientUrl], ...(tls === undefined ? {} : { tls }) });
      assert.match(message, /^etcd: no endpoint answered: POST https:\/\/127\.0\.0\.1:\d+\/v3\/maintenance\/status: the server's TLS certificate is not signed by a trusted CA \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): pass the CA that signed it \(tls\.ca\)$/, JSON.stringify(tls));
    }
    const message = await pollError({ endpoints: [m.clientUrl], tls: { ca: certs.ca.cert, servername: 'etcd.example' } });
    assert.match(message, /: the server's TLS certificate is not valid for this host name \(ERR_TLS_CERT_ALTNAME_INVALID\)/);
  });

  test('rejectUnauthorized: false: encrypted without verifying, polls succeed', async () => {
    const leader = await settled(cluster);
    const replicas = await pollOnce({ endpoints: cluster.endpoints, tls: { rejectUnauthorized: false } });
    await assertRealPositions(cluster, leader, replicas);
  });

  test('a TLS endpoint that never answers: rejects after timeoutMs; close() aborts the handshake in flight and frees the socket', async () => {
    const sockets = new Set<Socket>();
    const blackhole = createTcpServer((socket) => {
      sockets.add(socket);
      socket.resume();
      socket.on('close', () => sockets.delete(socket));
    });
    const port = await listen(blackhole);
    try {
      const source = new EtcdSource({ endpoints: [`https://127.0.0.1:${port}`], tls: { ca: certs.ca.cert }, timeoutMs: 300 });
      const { error, ms } = await failedPoll(source);
      assert.ok(ms >= 290 && ms < 1300, `rejected after ${ms} ms`);
      assert.equal(error.message, `etcd: no endpoint answered: POST https://127.0.0.1:${port}/v3/maintenance/status: no answer within 300 ms`);
      const slow = new EtcdSource({ endpoints: [`https://127.0.0.1:${port}`], tls: { ca: certs.ca.cert }, timeoutMs: 10_000 });
      const inFlight = failedPoll(slow);
      await waitUntil('the poll to connect', 2000, () => sockets.size > 0, 10);
      await slow.close();
      assert.match((await inFlight).error.message, /the source was closed/);
      await waitUntil('the source to release its sockets', 2000, () => sockets.size === 0, 20);
      await source.close();
    } finally {
      for (const s of sockets) s.destroy();
      await close(blackhole);
    }
  });

  test('--client-cert-auth: with cert and key polls succeed; without, the error says to pass them; a refused certificate says so', async () => {
    await mtls.put('mtls', 'x');
    const leader = await settled(mtls);
    const replicas = await pollOnce({ endpoints: mtls.endpoints, tls: { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key } });
    assert.equal(replicas.length, 1);
    await assertRealPositions(mtls, leader, replicas);

    const without = await pollError({ endpoints: [leader.clientUrl], tls: { ca: certs.ca.cert } });
    assert.match(without, /^etcd: no endpoint answered: POST https:\/\/127\.0\.0\.1:\d+\/v3\/maintenance\/status: etcd requires a client certificate \(--client-cert-auth\) \(ERR_SSL_[A-Z0-9_/]+\): pass one and its key \(tls\.cert and tls\.key\)$/);
    // A certificate etcd does not accept for clients (the test server certificate: serverAuth only).
    const refused = await pollError({ endpoints: [leader.clientUrl], tls: { ca: certs.ca.cert, cert: certs.server.cert, key: certs.server.key } });
    assert.match(refused, /: etcd refused the client certificate \(ERR_SSL_[A-Z0-9_/]+\): pass one signed by a CA in etcd's --trusted-ca-file$/);
    assert.ok(!refused.includes('PRIVATE KEY'));

    // etcd 3.4 requires the certificate on the whole port: /debug/vars is refused at the handshake too.
    const vars = await new Promise<string>((resolve) => {
      const req = httpsRequest(`${leader.clientUrl}/debug/vars`, { ca: certs.ca.cert, agent: false, headers: { connection: 'close' } }, (res) => {
        res.resume();
        resolve(`HTTP ${res.statusCode}`);
      });
      req.on('error', (e: Error & { code?: string }) => resolve(e.code ?? e.message));
      req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error('timeout')));
      req.end();
    });
    assert.match(vars, /^ERR_SSL_.*(BAD_CERTIFICATE|CERTIFICATE_REQUIRED)$/);
  });

  test('the v3 gateway failing behind TLS with "connection closed" (etcd 3.4, --client-cert-auth, serverAuth-only certificate): the error explains', async (t) => {
    const server = createHttpsServer({ cert: certs.server.cert, key: certs.server.key }, (_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"connection closed","message":"connection closed","code":14}');
    });
    const port = await listen(server);
    t.after(() => close(server));
    const message = await pollError({ endpoints: [`https://127.0.0.1:${port}`], tls: { ca: certs.ca.cert } });
    assert.equal(
      message,
      `etcd: no endpoint answered: POST https://127.0.0.1:${port}/v3/maintenance/status returned HTTP 503: connection closed (etcd's v3 gateway could not reach its own gRPC server; with --client-cert-auth, etcd 3.4 presents its --cert-file as the gateway's client certificate, so that certificate needs extendedKeyUsage clientAuth as well as serverAuth)`,
    );
  });
});
