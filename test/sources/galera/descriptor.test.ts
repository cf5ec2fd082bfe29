/** The `galera` descriptor: its options schema, the source it creates (no I/O), a description without secrets. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { descriptor, galeraOptions } from '../../../src/sources/galera/descriptor.ts';
import { GaleraSource } from '../../../src/sources/galera.ts';

const SECRET = 'Gd-51c0-DescriptorSecret';
const context = { sourceName: 'galera', timeoutMs: 1500, onReplicaError: () => {}, env: {} };

test('type galera, password from MYSQL_PWD, options nodes / password / tls / heartbeat', () => {
  assert.equal(descriptor.type, 'galera');
  assert.deepEqual(descriptor.secretEnv, { password: 'MYSQL_PWD' });
  assert.deepEqual(Object.keys(galeraOptions.shape).sort(), ['heartbeat', 'nodes', 'password', 'tls']);
});

test('the schema takes mysql:// node URLs and refuses an empty list, another scheme and unknown keys', () => {
  assert.ok(galeraOptions.safeParse({ nodes: ['mysql://monitor@db1:3306'] }).success);
  assert.ok(galeraOptions.safeParse({ nodes: ['mysql://monitor@db1:3306', 'mariadb://monitor@db2:3306'], password: SECRET }).success);
  for (const bad of [{ nodes: [] }, { nodes: ['http://db1:3306'] }, {}, { nodes: ['mysql://m@db1'], primary: 'mysql://m@db1' }]) {
    assert.equal(galeraOptions.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

test('create builds a GaleraSource without I/O (a bad URL throws naming the option); describe shows no secret', async () => {
  const options = galeraOptions.parse({ nodes: [`mysql://monitor:${SECRET}@127.0.0.1:21001`], password: SECRET });
  const source = await descriptor.create(options, context);
  assert.ok(source instanceof GaleraSource);
  assert.equal(source.name, 'galera');
  await source.close?.();
  const line = descriptor.describe(options);
  assert.equal(line, 'Galera cluster from mysql://127.0.0.1:21001');
  assert.ok(!line.includes(SECRET));
  await assert.rejects(descriptor.create(galeraOptions.parse({ nodes: ['mysql://127.0.0.1:21001'] }), context), /GaleraSourceOptions\.nodes\[0\] must name the monitoring user/);
});
