/** The `redis-cluster` descriptor: its options schema, the source it creates (no I/O), a description without secrets. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { descriptor, redisClusterOptions } from '../../../src/sources/redis-cluster/descriptor.ts';
import { RedisClusterSource } from '../../../src/sources/redis-cluster.ts';

const SECRET = 'Rd-8b2f-DescriptorSecret';
const context = { sourceName: 'redis-cluster', timeoutMs: 1500, onReplicaError: () => {}, env: {} };

test('type redis-cluster, password from REDISCLI_AUTH, options nodes / username / password / tls / heartbeat', () => {
  assert.equal(descriptor.type, 'redis-cluster');
  assert.deepEqual(descriptor.secretEnv, { password: 'REDISCLI_AUTH' });
  assert.deepEqual(Object.keys(redisClusterOptions.shape).sort(), ['heartbeat', 'nodes', 'password', 'tls', 'username']);
});

test('the schema takes redis:// and rediss:// seeds and refuses an empty list, another scheme and unknown keys', () => {
  assert.ok(redisClusterOptions.safeParse({ nodes: ['redis://127.0.0.1:7001'] }).success);
  assert.ok(redisClusterOptions.safeParse({ nodes: ['rediss://n1:7001', 'rediss://n2:7001'], username: 'replag', password: SECRET }).success);
  for (const bad of [{ nodes: [] }, { nodes: ['http://n1:7001'] }, {}, { nodes: ['redis://n1'], url: 'redis://n1' }]) {
    assert.equal(redisClusterOptions.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

test('create builds a RedisClusterSource without I/O (a mixed-scheme list throws); describe shows no secret', async () => {
  const options = redisClusterOptions.parse({ nodes: [`redis://:${SECRET}@127.0.0.1:21501`], password: SECRET });
  const source = await descriptor.create(options, context);
  assert.ok(source instanceof RedisClusterSource);
  assert.equal(source.name, 'redis-cluster');
  await source.close?.();
  const line = descriptor.describe(options);
  assert.equal(line, 'Redis Cluster from redis://127.0.0.1:21501');
  assert.ok(!line.includes(SECRET));
  await assert.rejects(descriptor.create(redisClusterOptions.parse({ nodes: ['redis://a:1', 'rediss://b:1'] }), context), /mixes redis:\/\/ and rediss:\/\//);
});
