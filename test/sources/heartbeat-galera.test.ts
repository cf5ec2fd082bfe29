/**
 * The heartbeat of the Galera source (the MySQL source's table and statements, `mysql/heartbeat.ts`) against a real
 * two-node MariaDB Galera cluster with garbd (test/harness/galera.ts): unset, nothing is created or written (no
 * node's `wsrep_last_committed` moves); set, it is written on node 1 and read on both; healthy, both delays are within
 * one interval + 0.5 s of 0; node 2's applier blocked (desynced, so flow control does not pause the cluster; a table
 * lock holds its applier) under load, its heartbeat delay is within one interval + 0.5 s of the time since.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GaleraSource, type GaleraSourceOptions } from '../../src/sources/galera.ts';
import { MONITOR_PASSWORD, startGaleraCluster, type GaleraCluster } from '../harness/galera.ts';
import { waitUntil } from '../harness/wait.ts';

const BASE_PORT = 18900; // the cluster uses 18901 … 18932
const INTERVAL_MS = 1000;
const id = (node: 1 | 2) => `127.0.0.1:${BASE_PORT + node}`;

let cluster: GaleraCluster;
const sources: GaleraSource[] = [];

function source(options: Partial<GaleraSourceOptions> = {}): GaleraSource {
  const s = new GaleraSource({ nodes: [`${cluster.url(1)}/d`], password: MONITOR_PASSWORD, onReplicaError: () => {}, ...options });
  sources.push(s);
  return s;
}

const committed = async () => [await cluster.status(1, 'wsrep_last_committed'), await cluster.status(2, 'wsrep_last_committed')];
const tableExists = async () => (await cluster.sql(1, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'd' AND TABLE_NAME = 'replag_heartbeat'")) === '1';

before(async () => {
  cluster = await startGaleraCluster({ basePort: BASE_PORT });
  await cluster.sql(1, "GRANT CREATE, SELECT, INSERT, UPDATE ON d.* TO monitor@'127.0.0.1'");
});

after(async () => {
  for (const s of sources) await s.close();
  await cluster?.close();
});

test('heartbeat unset: polls create nothing and write nothing (no node commits)', async () => {
  const s = source();
  await s.poll();
  const before = await committed();
  for (let i = 0; i < 3; i++) for (const p of await s.poll()) assert.equal(p.heartbeatDelaySeconds, undefined);
  await sleep(1500);
  assert.deepEqual(await committed(), before);
  assert.equal(await tableExists(), false);
  await s.close();
});

test('healthy, then node 2\'s applier blocked: its heartbeat delay is within one interval + 0.5 s of the truth, node 1\'s stays near 0', async () => {
  const s = source({ heartbeat: { intervalMs: INTERVAL_MS } });
  await waitUntil('a heartbeat on both nodes', 20_000, async () => (await s.poll()).filter((p) => p.heartbeatDelaySeconds !== undefined).length === 2, 200);
  assert.equal(await tableExists(), true, 'created by the first poll');
  for (let i = 0; i < 4; i++) {
    for (const p of await s.poll()) assert.ok(p.heartbeatDelaySeconds! <= INTERVAL_MS / 1000 + 0.5, `${p.nodeId} healthy: ${p.heartbeatDelaySeconds} s`);
    await sleep(500);
  }
  const load = await cluster.startLoad(50);
  await cluster.sql(2, 'SET GLOBAL wsrep_desync = ON');
  const lock = await cluster.lockTables(2);
  const lockedAt = performance.now();
  const figures: string[] = [];
  try {
    for (let i = 0; i < 7; i++) {
      await sleep(700);
      const positions = await s.poll();
      const truth = (performance.now() - lockedAt) / 1000;
      const n2 = positions.find((p) => p.nodeId === id(2))!;
      const n1 = positions.find((p) => p.nodeId === id(1))!;
      figures.push(`${truth.toFixed(2)}→${n2.heartbeatDelaySeconds}`);
      assert.ok(n2.heartbeatDelaySeconds !== undefined && Math.abs(n2.heartbeatDelaySeconds - truth) <= INTERVAL_MS / 1000 + 0.5, `blocked ${truth.toFixed(2)} s: node 2 heartbeat ${n2.heartbeatDelaySeconds} s`);
      assert.ok(n1.heartbeatDelaySeconds !== undefined && n1.heartbeatDelaySeconds <= INTERVAL_MS / 1000 + 0.5, `node 1: ${n1.heartbeatDelaySeconds} s`);
    }
  } finally {
    await lock.release();
    await cluster.sql(2, 'SET GLOBAL wsrep_desync = OFF');
    await load.stop();
  }
  console.log(`# node 2 blocked (truth→heartbeat): ${figures.join(' ')}`);
  await cluster.waitSynced();
  await s.close();
});
