/**
 * ZooKeeperSource over TLS against a real ensemble serving a secureClientPort (Netty, PEM key store, test
 * certificates): every member read on its secure address, matched to `conf`'s members by server id; a member whose
 * secure address is not listed is not mistaken for another; an unknown CA is refused saying what to pass.
 * Ports 20000–20499 only.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, chmodSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { splitZxid, ZooKeeperSource } from '../../../src/sources/zookeeper.ts';
import { ensureServiceUser } from '../../harness/service-user.ts';
import { makeTestCertificates, type TestCertificates } from '../../harness/tls.ts';
import { startZooKeeperEnsemble, waitUntil, type RunningZooKeeperEnsemble } from '../../harness/zookeeper.ts';

describe('ZooKeeperSource over TLS', { timeout: 180_000 }, () => {
  let certs: TestCertificates;
  let ensemble: RunningZooKeeperEnsemble;
  before(async () => {
    const owner = process.getuid?.() === 0 ? ensureServiceUser('zookeeper') : undefined;
    certs = makeTestCertificates(owner === undefined ? {} : { owner });
    const pemFile = join(certs.dir, 'zookeeper-server.pem');
    writeFileSync(pemFile, readFileSync(certs.server.certFile, 'utf8') + readFileSync(certs.server.keyFile, 'utf8'));
    chmodSync(pemFile, 0o600);
    if (owner !== undefined) chownSync(pemFile, owner.uid, owner.gid);
    ensemble = await startZooKeeperEnsemble({ size: 3, portMin: 20_000, portMax: 20_500, tls: { pemFile, caFile: certs.ca.certFile } });
  });
  after(async () => {
    await ensemble?.close();
    certs?.dispose();
  });

  test('every secure address listed: the followers are read over TLS, node ids are their client addresses', async () => {
    await ensemble.write(30);
    const leader = await ensemble.leader();
    const source = new ZooKeeperSource({ servers: ensemble.servers.map((s) => s.secureAddress!), tls: { ca: certs.ca.cert } });
    try {
      let replicas: Awaited<ReturnType<ZooKeeperSource['poll']>> = [];
      // The servers' first TLS handshakes are slow (JVM start-up of its TLS stack): the first polls may time out.
      await waitUntil('the followers at the leader\'s zxid', 20_000, async () => {
        replicas = await source.poll();
        return replicas.length === 2 && replicas.every((r) => r.followerSeq === r.leaderSeq);
      }, 100);
      assert.deepEqual(replicas.map((r) => r.nodeId), ensemble.servers.filter((s) => s !== leader).map((s) => s.address).sort());
      assert.equal(replicas[0]!.leaderSeq, splitZxid((await ensemble.srvr(leader)).zxid).counter);
    } finally {
      await source.close();
    }
  });

  test('one secure address only (all on one host, so the others\' secure ports cannot be guessed): not mistaken for the seed, said so', async () => {
    const leader = await ensemble.leader();
    const seed = leader;
    const errors: string[] = [];
    const source = new ZooKeeperSource({ servers: [seed.secureAddress!], tls: { ca: certs.ca.cert }, onReplicaError: (_r, e) => errors.push(e.message) });
    try {
      assert.deepEqual(await source.poll(), [], 'the followers are not read on the leader\'s port as if they were it');
      const followers = ensemble.servers.filter((s) => s !== leader);
      assert.deepEqual(errors.sort(), followers.map((f) =>
        `zookeeper: server ${f.address}: its address ${seed.secureAddress} answers as server ${seed.sid}, not server.${f.sid}: list its own secureClientPort address in servers; not reported until it is read`).sort());
      assert.equal(source.replicaReadability().size, 0);
    } finally {
      await source.close();
    }
  });

  test('an unknown CA is refused with what to pass', async () => {
    const source = new ZooKeeperSource({ servers: [ensemble.servers[0]!.secureAddress!], tls: { ca: certs.otherCa.cert }, timeoutMs: 2000 });
    await assert.rejects(source.poll(), (error: Error) => {
      assert.match(error.message, /^zookeeper: no server answered conf: 127\.0\.0\.1:\d+: the server's TLS certificate is not signed by a trusted CA \(\w+\): pass the CA that signed it \(tls\.ca\)$/);
      return true;
    });
    await source.close();
  });
});
