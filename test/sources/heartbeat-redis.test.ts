/**
 * The Redis heartbeat (`RedisSourceOptions.heartbeat`) against a real Redis master and replica
 * (test/harness/redis.ts): unset, nothing is written; a user without HSET gets the ACL to grant; healthy, and
 * with the replica's processing of the replication stream paused (`CLIENT PAUSE … WRITE` on the replica, which
 * still answers reads), the heartbeat delay is within one interval + 0.5 s of the truth.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisSource } from '../../src/sources/redis.ts';
import { findFreePort, startRedisCluster, waitUntil, type RedisCluster } from '../harness/redis.ts';

const PASSWORD = 'Pw-hb-Redis-4kd9';
const ACL_PASSWORD = 'Acl-hb-Redis-8x2m';
const INTERVAL_MS = 1000;
const PAUSE_MS = 6000;

let cluster: RedisCluster;
const sources: RedisSource[] = [];

function url(user = '', password = PASSWORD): string {
  return `redis://${user}:${encodeURIComponent(password)}@127.0.0.1:${cluster.master.port}`;
}

before(async () => {
  const masterPort = await findFreePort(18600, 18700);
  const replicaPort = await findFreePort(18700, 18850);
  cluster = await startRedisCluster({ masterPort, replicaPort, password: PASSWORD });
  await cluster.write(10);
});

after(async () => {
  for (const s of sources) await s.close();
  await cluster?.close();
});

test('heartbeat unset: polls write nothing (no key, the key count stays)', async () => {
  const keys = await cluster.master.cli('DBSIZE');
  const s = new RedisSource({ url: url() });
  sources.push(s);
  await waitUntil('the replica listed', 10_000, async () => (await s.poll()).length === 1, 100);
  for (let i = 0; i < 3; i++) assert.equal((await s.poll())[0]!.heartbeatDelaySeconds, undefined);
  await sleep(1500);
  assert.equal(await cluster.master.cli('EXISTS', 'replag:heartbeat'), '0');
  assert.equal(await cluster.master.cli('DBSIZE'), keys);
  await s.close();
});

test('a user that may only run INFO: the poll fails naming the ACL to grant, without the password', async () => {
  await cluster.master.cli('ACL', 'SETUSER', 'hbwatcher', 'on', `>${ACL_PASSWORD}`, '-@all', '+info');
  const s = new RedisSource({ url: url('hbwatcher', ACL_PASSWORD), heartbeat: {} });
  sources.push(s);
  const error = await s.poll().then(() => undefined, (e: Error) => e);
  assert.ok(error instanceof Error, 'the poll rejects');
  assert.match(error.message, /ACL SETUSER hbwatcher \+hset \+hget ~replag:heartbeat/);
  assert.ok(!error.message.includes(ACL_PASSWORD));
  await s.close();
});

test('bad heartbeat options: errors naming the field, before any I/O', () => {
  assert.throws(() => new RedisSource({ url: url(), heartbeat: { key: 'a b' } }), /RedisSourceOptions\.heartbeat\.key/);
  assert.throws(() => new RedisSource({ url: url(), heartbeat: { table: 'x' } as never }), /RedisSourceOptions\.heartbeat has unknown field\(s\) table/);
});

test('healthy, then the replica paused (CLIENT PAUSE WRITE): its heartbeat delay is within one interval + 0.5 s of the truth', async () => {
  const s = new RedisSource({ url: url(), heartbeat: { intervalMs: INTERVAL_MS } });
  sources.push(s);
  await waitUntil('a heartbeat on the replica', 10_000, async () => (await s.poll())[0]?.heartbeatDelaySeconds !== undefined, 100);
  assert.match(await cluster.master.cli('HGET', 'replag:heartbeat', 'redis'), /^\d{13}$/, 'field "redis" of the hash: a Date.now()');
  let healthyMax = 0;
  for (let i = 0; i < 6; i++) {
    const [p] = await s.poll();
    assert.ok(p!.heartbeatDelaySeconds !== undefined && p!.heartbeatDelaySeconds <= INTERVAL_MS / 1000 + 0.5, `healthy: ${p!.heartbeatDelaySeconds} s`);
    healthyMax = Math.max(healthyMax, p!.heartbeatDelaySeconds);
    await sleep(400);
  }
  await cluster.replica.cli('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE');
  const pausedAt = performance.now();
  const figures: string[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      await sleep(700);
      const [p] = await s.poll();
      const truth = (performance.now() - pausedAt) / 1000;
      if (truth > PAUSE_MS / 1000 - 0.3) break;
      figures.push(`${truth.toFixed(2)}→${p!.heartbeatDelaySeconds}`);
      assert.ok(p!.heartbeatDelaySeconds !== undefined && Math.abs(p!.heartbeatDelaySeconds - truth) <= INTERVAL_MS / 1000 + 0.5, `paused ${truth.toFixed(2)} s: heartbeat ${p!.heartbeatDelaySeconds} s`);
    }
  } finally {
    await cluster.replica.cli('CLIENT', 'UNPAUSE');
  }
  console.log(`# healthy max ${healthyMax} s; paused (truth→heartbeat): ${figures.join(' ')}`);
  assert.ok(figures.length >= 4, 'several polls during the pause');
  await waitUntil('caught up again', 10_000, async () => ((await s.poll())[0]?.heartbeatDelaySeconds ?? 99) <= INTERVAL_MS / 1000 + 0.5, 200);
  await s.close();
});
