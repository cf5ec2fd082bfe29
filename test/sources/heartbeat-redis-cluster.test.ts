/**
 * The Redis Cluster heartbeat (`RedisClusterSourceOptions.heartbeat`): the key slot arithmetic (CRC16/XMODEM, hash
 * tags) against Redis's own `CLUSTER KEYSLOT`, and a real cluster of 3 masters + 3 replicas
 * (test/harness/redis-cluster.ts): unset, nothing is written; set, one hash per shard on its master, and every
 * replica has a heartbeat delay; one replica paused (`CLIENT PAUSE … WRITE`, still readable) has a delay within one
 * interval + 0.5 s of the time since, the others stay near 0.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisClusterSource } from '../../src/sources/redis-cluster.ts';
import { crc16, tagFor, tagSlot } from '../../src/sources/redis-cluster/heartbeat.ts';
import { startRedisClusterOf6, type RealRedisCluster } from '../harness/redis-cluster.ts';
import { waitUntil } from '../harness/wait.ts';

const BASE_PORT = 18850; // the cluster uses 18851 … 18866
const PASSWORD = 'Pw-hb-Cluster-3n8q';
const INTERVAL_MS = 1000;
const PAUSE_MS = 6000;

let cluster: RealRedisCluster;
const sources: RedisClusterSource[] = [];

before(async () => {
  cluster = await startRedisClusterOf6({ basePort: BASE_PORT, password: PASSWORD });
});

after(async () => {
  for (const s of sources) await s.close();
  await cluster?.close();
});

test('key slots: CRC16/XMODEM as CLUSTER KEYSLOT computes it; a tag for every shard\'s slots', async () => {
  assert.equal(crc16('123456789'), 0x31c3, 'the CRC16/XMODEM check value');
  const master = (await cluster.pairs())[0]![0];
  for (const tag of ['0', '1', '17', 'foo', 'replag']) {
    assert.equal(String(tagSlot(tag)), await cluster.server(master).cli('CLUSTER', 'KEYSLOT', `replag:heartbeat{${tag}}`), tag);
  }
  for (const slots of [['0-5460'], ['5461-10922'], ['10923-16383'], ['42'], ['0-1', '16383']]) {
    const tag = tagFor(slots)!;
    const slot = tagSlot(tag);
    assert.ok(slots.some((s) => { const [a, b = a] = s.split('-').map(Number); return slot >= a! && slot <= b!; }), `${tag} → ${slot} in ${slots}`);
  }
  assert.equal(tagFor([]), undefined);
});

test('heartbeat unset: nothing is written (no key on any master)', async () => {
  const s = new RedisClusterSource({ nodes: [`redis://127.0.0.1:${BASE_PORT + 1}`], password: PASSWORD });
  sources.push(s);
  for (let i = 0; i < 3; i++) for (const p of await s.poll()) assert.equal(p.heartbeatDelaySeconds, undefined);
  await sleep(1500);
  for (const [m] of await cluster.pairs()) assert.equal(await cluster.server(m).cli('DBSIZE'), '0', `master ${m}`);
  await s.close();
});

test('one hash per shard; healthy replicas near 0, a paused one within one interval + 0.5 s of the truth', async () => {
  const s = new RedisClusterSource({ nodes: [`redis://127.0.0.1:${BASE_PORT + 1}`], password: PASSWORD, heartbeat: { intervalMs: INTERVAL_MS } });
  sources.push(s);
  await waitUntil('a heartbeat on every replica', 15_000, async () => (await s.poll()).filter((p) => p.heartbeatDelaySeconds !== undefined).length === 3, 200);
  const pairs = await cluster.pairs();
  for (const [m] of pairs) assert.equal(await cluster.server(m).cli('DBSIZE'), '1', `one heartbeat hash on master ${m}`);
  for (let i = 0; i < 4; i++) {
    for (const p of await s.poll()) assert.ok(p.heartbeatDelaySeconds! <= INTERVAL_MS / 1000 + 0.5, `${p.nodeId} healthy: ${p.heartbeatDelaySeconds} s`);
    await sleep(400);
  }
  const paused = pairs[0]![1];
  const pausedId = `127.0.0.1:${paused}`;
  await cluster.server(paused).cli('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE');
  const pausedAt = performance.now();
  const figures: string[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      await sleep(700);
      const positions = await s.poll();
      const truth = (performance.now() - pausedAt) / 1000;
      if (truth > PAUSE_MS / 1000 - 0.3) break;
      const p = positions.find((x) => x.nodeId === pausedId)!;
      figures.push(`${truth.toFixed(2)}→${p.heartbeatDelaySeconds}`);
      assert.ok(p.heartbeatDelaySeconds !== undefined && Math.abs(p.heartbeatDelaySeconds - truth) <= INTERVAL_MS / 1000 + 0.5, `paused ${truth.toFixed(2)} s: ${p.heartbeatDelaySeconds} s`);
      for (const other of positions.filter((x) => x.nodeId !== pausedId)) {
        assert.ok(other.heartbeatDelaySeconds !== undefined && other.heartbeatDelaySeconds <= INTERVAL_MS / 1000 + 0.5, `${other.nodeId}: ${other.heartbeatDelaySeconds} s`);
      }
    }
  } finally {
    await cluster.server(paused).cli('CLIENT', 'UNPAUSE');
  }
  console.log(`# replica ${pausedId} paused (truth→heartbeat): ${figures.join(' ')}`);
  assert.ok(figures.length >= 4);
  await s.close();
});
