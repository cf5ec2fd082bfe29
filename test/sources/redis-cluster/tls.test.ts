/**
 * RedisClusterSource over TLS against a real TLS-only Redis Cluster (test/harness/redis-cluster.ts with `tls`: every
 * node on `tls-port` only, cluster bus and replication over TLS; ports 21601-21616): rediss:// seeds and the tls
 * option read every shard; a plaintext source, an unknown CA and a wrong host name fail with messages that say what
 * to do, without the password.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RedisClusterSource, type RedisClusterSourceOptions } from '../../../src/sources/redis-cluster.ts';
import { startRedisClusterOf6, type RealRedisCluster } from '../../harness/redis-cluster.ts';
import { ensureServiceUser } from '../../harness/service-user.ts';
import { makeTestCertificates, type TestCertificates } from '../../harness/tls.ts';

/** Inside the Redis Cluster suite's range 21500-21999 (redis-cluster.test.ts uses 21501-21516). */
const BASE_PORT = 21600;
const PASSWORD = 'Rt-93d1-TlsClusterSecret';

let cluster: RealRedisCluster;
let certs: TestCertificates;
const sources: RedisClusterSource[] = [];

function source(options: Partial<RedisClusterSourceOptions>): RedisClusterSource {
  const s = new RedisClusterSource({ nodes: [`rediss://127.0.0.1:${BASE_PORT + 1}`], password: PASSWORD, timeoutMs: 2000, ...options });
  sources.push(s);
  return s;
}

async function rejection(s: RedisClusterSource): Promise<Error> {
  const error = await s.poll().then(() => assert.fail('expected a rejection'), (e: Error) => e);
  assert.ok(!error.message.includes(PASSWORD), error.message);
  return error;
}

before(async () => {
  certs = makeTestCertificates(process.getuid?.() === 0 ? { owner: ensureServiceUser('redis') } : {});
  cluster = await startRedisClusterOf6({
    basePort: BASE_PORT,
    password: PASSWORD,
    tls: { certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.ca.certFile, clientCertFile: certs.client.certFile, clientKeyFile: certs.client.keyFile },
  });
});

after(async () => {
  for (const s of sources) await s.close();
  await cluster?.close();
  certs?.dispose();
});

test('rediss:// seeds with tls.ca, or a redis:// seed with the tls option: every replica of every shard, over TLS', async () => {
  const pairs = await cluster.pairs();
  for (const s of [source({ tls: { ca: certs.ca.cert } }), source({ nodes: [`redis://127.0.0.1:${BASE_PORT + 4}`], tls: { ca: certs.ca.cert } })]) {
    const positions = await s.poll();
    assert.deepEqual(positions.map((p) => p.nodeId), pairs.map(([, r]) => `127.0.0.1:${r}`).sort());
    for (const p of positions) assert.equal(typeof p.leaderSeq, 'bigint');
  }
});

test('plaintext to a TLS-only cluster, an unknown CA, a name the certificate does not list: clear errors', async () => {
  assert.match((await rejection(source({ nodes: [`redis://127.0.0.1:${BASE_PORT + 1}`] }))).message,
    /Redis Cluster node redis:\/\/127\.0\.0\.1:21601: cannot connect \(.*\): if the server accepts only TLS, use a rediss:\/\/ URL/);
  assert.match((await rejection(source({ tls: { ca: certs.otherCa.cert } }))).message,
    /Redis Cluster node rediss:\/\/127\.0\.0\.1:21601: cannot connect \(TLS handshake failed\): the server's TLS certificate is not signed by a trusted CA/);
  assert.match((await rejection(source({ tls: { ca: certs.ca.cert, servername: 'db.example' } }))).message,
    /cannot connect \(TLS handshake failed\): the server's TLS certificate is not valid for this host name/);
});
