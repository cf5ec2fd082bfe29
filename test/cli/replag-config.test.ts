/**
 * `replag --config` as a subprocess watching a real PostgreSQL primary with a standby, a real Redis master with a
 * replica and three simulated clusters at once, exporting to a Prometheus endpoint and a real OTLP/HTTP receiver.
 * Redis is then hung (SIGSTOP): the others keep their interval and its `replication.source.up` goes to 0. Then the
 * file is reloaded with SIGHUP: a source added, one removed, one changed; an invalid file keeps the running set.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startOtlpReceiver, type OtlpReceiver } from '../harness/otlp-receiver.ts';
import { findFreePort, startPostgresCluster, waitUntil, type PostgresCluster } from '../harness/postgresql.ts';
import { startRedisCluster, type RedisCluster } from '../harness/redis.ts';
import { runNode, type RunResult } from '../helpers/run-node.ts';

const PG_PASSWORD = 'Pg-fleet-S3cret-8812';
const REDIS_PASSWORD = 'Redis-fleet-S3cret-5531';
const INTERVAL_MS = 200;
/** The hung Redis source's deadline: a poll of another source delayed behind it would wait at least this long. */
const REDIS_TIMEOUT_MS = 3000;

let pg: PostgresCluster;
let redis: RedisCluster;
let receiver: OtlpReceiver;
let dir: string;
let configFile: string;
let promUrl: string;

/** `sources:` entries (YAML), and the rest of the file around them. */
function writeConfig(promPort: number, sources: string[]): void {
  writeFileSync(
    configFile,
    [
      'service: { name: replag-fleet-test }',
      `export: { prometheus: { port: ${promPort}, host: 127.0.0.1 }, interval: 300ms }`,
      `defaults: { interval: ${INTERVAL_MS}ms, timeout: 1s }`,
      'sources:',
      ...sources.map((s) => `  - ${s}`),
      '',
    ].join('\n'),
  );
}

const PG_SOURCE = () => `{ name: orders-pg, type: postgres, url: "${pg.url('replag')}", password: "\${env:ORDERS_PGPASSWORD}", attributes: { replication.cluster: orders } }`;
const REDIS_SOURCE = () => `{ name: cache, type: redis, url: "redis://127.0.0.1:${redis.master.port}", password: "\${env:CACHE_PASSWORD}", timeout: ${REDIS_TIMEOUT_MS}ms }`;

/** Prometheus samples as `name{labels} value` lines, comments dropped. */
async function scrape(): Promise<string[]> {
  const response = await fetch(promUrl);
  assert.equal(response.status, 200);
  return (await response.text()).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

/** `replication_source` label values of the samples of `metric`. */
function sourcesOf(lines: string[], metric: string): string[] {
  return [...new Set(lines.filter((l) => l.startsWith(`${metric}{`)).map((l) => /replication_source="([^"]*)"/.exec(l)?.[1] ?? '(none)'))].sort();
}

describe('replag --config (subprocess, real PostgreSQL and Redis)', () => {
  let child: ChildProcess;
  let run: Promise<RunResult>;
  let stdout = '';
  let stderr = '';
  let promPort: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'replag-fleet-'));
    configFile = join(dir, 'replag.yaml');
    receiver = await startOtlpReceiver();
    [pg, redis] = await Promise.all([
      startPostgresCluster({ standbys: [{ name: 'replica-1' }], portRange: [27000, 27500] }),
      (async () => startRedisCluster({ masterPort: await findFreePort(27500, 27999), replicaPort: await findFreePort(28000, 28499), password: REDIS_PASSWORD }))(),
    ]);
    await pg.createRole('replag', PG_PASSWORD);
    await pg.primary.query('GRANT pg_monitor TO replag');
    await pg.waitStreaming(1);
    promPort = await findFreePort(28500, 28999);
    promUrl = `http://127.0.0.1:${promPort}/metrics`;
    writeConfig(promPort, [
      PG_SOURCE(),
      REDIS_SOURCE(),
      '{ name: sim-a, type: demo, nodes: 2 }',
      '{ name: sim-b, type: demo, nodes: 2, attributes: { replication.cluster: b } }',
      '{ name: sim-c, type: demo, nodes: 1, interval: 100ms }',
    ]);
    run = runNode(['src/cli/replag.ts', '--config', configFile, '--output', 'plain'], {
      env: { ORDERS_PGPASSWORD: PG_PASSWORD, CACHE_PASSWORD: REDIS_PASSWORD, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
      timeoutMs: 55_000,
      onSpawn: (c) => {
        child = c;
        c.stdout!.on('data', (d: string) => (stdout += d));
        c.stderr!.on('data', (d: string) => (stderr += d));
      },
    });
    run.catch(() => undefined);
    await waitUntil('every source polled', 20_000, () => ['orders-pg', 'cache', 'sim-a', 'sim-b', 'sim-c'].every((n) => new RegExp(`\\[${n}\\] \\S+ up nodes=[1-9]`).test(stdout)));
  });

  after(async () => {
    redis?.master.resume();
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
    await Promise.allSettled([run]);
    await Promise.allSettled([pg?.close(), redis?.close(), receiver?.close()]);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('exports every source\'s nodes with replication.source, equal node ids apart, to Prometheus and OTLP', async () => {
    await waitUntil('the Prometheus endpoint shows every source', 10_000, async () => sourcesOf(await scrape(), 'replication_lag').length === 5);
    const lines = await scrape();
    assert.deepEqual(sourcesOf(lines, 'replication_lag'), ['cache', 'orders-pg', 'sim-a', 'sim-b', 'sim-c']);
    assert.deepEqual(sourcesOf(lines, 'replication_source_up'), ['cache', 'orders-pg', 'sim-a', 'sim-b', 'sim-c']);
    for (const l of lines.filter((l) => l.startsWith('replication_source_up{'))) assert.match(l, / 1$/, l);
    // healthy-1 is in sim-a and in sim-b: two series, told apart by replication_source.
    const healthy = lines.filter((l) => l.startsWith('replication_lag{') && l.includes('replication_node_id="healthy-1"'));
    assert.deepEqual(healthy.map((l) => /replication_source="([^"]*)"/.exec(l)![1]).sort(), ['sim-a', 'sim-b', 'sim-c']);
    assert.ok(lines.some((l) => l.startsWith('replication_lag{') && l.includes('replication_source="orders-pg"') && l.includes('replication_node_id="replica-1"') && l.includes('replication_cluster="orders"')));
    assert.ok(lines.some((l) => l.startsWith('replication_lag{') && l.includes('replication_source="sim-b"') && l.includes('replication_cluster="b"')));

    await receiver.waitFor('OTLP points of every source', () => new Set(receiver.points('replication.lag').map((p) => p.attributes['replication.source'])).size === 5, 10_000);
    const points = receiver.points('replication.lag');
    assert.ok(points.every((p) => typeof p.attributes['replication.source'] === 'string'), 'every point names its source');
    assert.equal(points[0]!.resource['service.name'], 'replag-fleet-test');
    const redisPoint = points.find((p) => p.attributes['replication.source'] === 'cache');
    assert.equal(redisPoint?.attributes['replication.system'], 'redis');
    assert.ok(!(stdout + stderr).includes(PG_PASSWORD) && !(stdout + stderr).includes(REDIS_PASSWORD));
  });

  it('a hung source (Redis under SIGSTOP) delays no other; its replication.source.up is 0', async () => {
    const hungAt = Date.now();
    const from = stdout.length;
    const otlpFrom = receiver.requests.length;
    redis.master.pause();
    try {
      await waitUntil('cache reported down on the Prometheus endpoint', 15_000, async () => (await scrape()).some((l) => l.startsWith('replication_source_up{') && l.includes('replication_source="cache"') && l.endsWith(' 0')));
      await receiver.waitFor('cache down over OTLP', () => receiver.points('replication.source.up').some((p) => p.request >= otlpFrom && p.attributes['replication.source'] === 'cache' && p.value === 0), 10_000);
      // Let at least one more timed-out poll of the hung source pass.
      await waitUntil('two deadlines of the hung source', 15_000, () => Date.now() - hungAt >= 2 * REDIS_TIMEOUT_MS + 500);
      const lines = await scrape();
      for (const name of ['orders-pg', 'sim-a', 'sim-b', 'sim-c']) {
        assert.ok(lines.some((l) => l.startsWith('replication_source_up{') && l.includes(`replication_source="${name}"`) && l.endsWith(' 1')), `${name} still up`);
      }
    } finally {
      redis.master.resume();
    }
    const window = stdout.slice(from).split('\n');
    for (const name of ['orders-pg', 'sim-a']) {
      const times = window.filter((l) => l.includes(` [${name}] `)).map((l) => Date.parse(l.slice(0, 24)));
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      // Polled on its own schedule throughout: never held for the hung source's deadline.
      assert.ok(times.length >= 10, `${name} polled ${times.length} times in ${Date.now() - hungAt} ms`);
      assert.ok(Math.max(...gaps) < REDIS_TIMEOUT_MS - 1000, `${name}: longest gap between polls ${Math.max(...gaps)} ms`);
    }
    assert.match(stdout.slice(from), /\[cache\] redis DOWN/);
    assert.match(stderr, /\[cache\] poll failed: .*timed? ?out/i);
    await waitUntil('cache up again after SIGCONT', 15_000, async () => (await scrape()).some((l) => l.startsWith('replication_source_up{') && l.includes('replication_source="cache"') && l.endsWith(' 1')));
  });

  it('SIGHUP reloads: added sources start, removed ones stop and their series disappear, changed ones restart', async () => {
    const from = stderr.length;
    writeConfig(promPort, [PG_SOURCE(), REDIS_SOURCE(), '{ name: sim-a, type: demo, nodes: 3 }', '{ name: sim-c, type: demo, nodes: 1, interval: 100ms }', '{ name: sim-d, type: demo, nodes: 1 }']);
    child.kill('SIGHUP');
    await waitUntil('the reload', 10_000, () => /reloaded/.test(stderr.slice(from)));
    assert.match(stderr.slice(from), /replag: reloaded .*replag\.yaml: started sim-d, stopped sim-b, restarted sim-a\n/);
    await waitUntil('the new set on the Prometheus endpoint', 10_000, async () => sourcesOf(await scrape(), 'replication_lag').join() === 'cache,orders-pg,sim-a,sim-c,sim-d');
    const lines = await scrape();
    assert.deepEqual(sourcesOf(lines, 'replication_source_up'), ['cache', 'orders-pg', 'sim-a', 'sim-c', 'sim-d']);
    assert.ok(!lines.some((l) => l.includes('replication_source="sim-b"') && !l.startsWith('replication_alerts')), 'no gauge series of the removed source');
    assert.equal(lines.filter((l) => l.startsWith('replication_lag{') && l.includes('replication_source="sim-a"')).length, 3, 'sim-a restarted with 3 nodes');
  });

  it('an invalid file on SIGHUP is reported, with its paths, and the running configuration kept', async () => {
    const from = stderr.length;
    writeConfig(promPort, ['{ name: sim-a, type: demo, interval: 5 }', '{ name: sim-a, type: demo }']);
    child.kill('SIGHUP');
    await waitUntil('the failed reload', 10_000, () => /reload of .* failed/.test(stderr.slice(from)));
    assert.match(stderr.slice(from), /replag\.yaml:5:\d+: sources\[0\]\(sim-a\)\.interval: expected a duration.*\n.*replag\.yaml:6:\d+: sources\[1\]\(sim-a\)\.name: duplicate name.*\nreplag: reload of .*replag\.yaml failed \(2 problems\); keeping the running configuration/);
    const polled = stdout.length;
    await waitUntil('polling goes on', 10_000, () => ['orders-pg', 'cache', 'sim-a', 'sim-c', 'sim-d'].every((n) => stdout.slice(polled).includes(`[${n}] `)));
    assert.deepEqual(sourcesOf(await scrape(), 'replication_lag'), ['cache', 'orders-pg', 'sim-a', 'sim-c', 'sim-d']);

    child.kill('SIGTERM');
    const result = await run;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /stopped; \[sim-d\] demo/);
    assert.ok(!(result.stdout + result.stderr).includes(PG_PASSWORD) && !(result.stdout + result.stderr).includes(REDIS_PASSWORD));
  });
});
