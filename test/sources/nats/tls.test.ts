/**
 * NatsSource over TLS against a real three-server cluster whose client port offers TLS (nats-server `tls {}` with
 * `allow_non_tls`, so the harness's own plaintext client can set up streams): the CA verifies the server, a source
 * without it is refused with a sentence saying what to pass, a wrong name is refused. Ports 20500–20999 only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NatsSource } from '../../../src/sources/nats.ts';
import { ensureServiceUser } from '../../harness/service-user.ts';
import { startNatsCluster, type RunningNatsCluster } from '../../harness/nats.ts';
import { makeTestCertificates, type TestCertificates } from '../../harness/tls.ts';

describe('NatsSource over TLS', { timeout: 120_000 }, () => {
  let certs: TestCertificates;
  let cluster: RunningNatsCluster;
  before(async () => {
    certs = makeTestCertificates(process.getuid?.() === 0 ? { owner: ensureServiceUser('nats') } : {});
    cluster = await startNatsCluster({
      portMin: 20_500,
      portMax: 21_000,
      extraConfig: `tls { cert_file: "${certs.server.certFile}", key_file: "${certs.server.keyFile}" }\nallow_non_tls: true\n`,
    });
    await cluster.createStream('SECURE', ['secure.>']);
    await cluster.publish('secure.new', 20);
  });
  after(async () => {
    await cluster?.close();
    certs?.dispose();
  });

  test('tls:// with the CA: the replicas are read over TLS', async () => {
    const leader = await cluster.streamLeader('SECURE');
    const url = cluster.servers.map((s) => s.url.replace('nats://', 'tls://'));
    const source = new NatsSource({ url, user: 'app', password: 'apppw', tls: { ca: certs.ca.cert } });
    try {
      let replicas = await source.poll();
      for (let i = 0; i < 50 && !replicas.every((r) => r.followerSeq === 20n); i++) replicas = await source.poll();
      assert.deepEqual(replicas.map((r) => r.nodeId), cluster.servers.filter((s) => s !== leader).map((s) => `SECURE/${s.name}`).sort());
      assert.ok(replicas.every((r) => r.leaderSeq === 20n && r.followerSeq === 20n));
    } finally {
      await source.close();
    }
  });

  test('without the CA, or for another name: refused, saying what to pass; no password in the message', async () => {
    const url = cluster.servers[0]!.url.replace('nats://', 'tls://');
    const unknownCa = new NatsSource({ url, user: 'app', password: 's3cret' });
    await assert.rejects(unknownCa.poll(), (error: Error) => {
      assert.equal(error.message, `nats: no server accepted the connection: ${url}: the server's TLS certificate is not signed by a trusted CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE): pass the CA that signed it (tls.ca)`);
      return true;
    });
    const wrongName = new NatsSource({ url, user: 'app', password: 's3cret', tls: { ca: certs.ca.cert, servername: 'nats.example' } });
    await assert.rejects(wrongName.poll(), /the server's TLS certificate is not valid for this host name \(ERR_TLS_CERT_ALTNAME_INVALID\)/);
    await unknownCa.close();
    await wrongName.close();
  });
});
