/**
 * replag's status endpoints, as a subprocess `replag --config` on the Prometheus port: demo sources, a real
 * PostgreSQL primary with a standby (stopped and restarted), and a PostgreSQL source pointed at a TCP server that
 * accepts and never answers (its first poll ends only at its deadline). /status agrees with the Prometheus scrape,
 * /check answers 200 / 429 / 503 for a source, a node and everything, /readyz is 503 before the first poll and after
 * SIGTERM, and no answer holds the passwords planted in the file.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findFreePort, startPostgresCluster, waitUntil, type PostgresCluster } from '../harness/postgresql.ts';
import { runNode, type RunResult } from '../helpers/run-node.ts';

const PG_PASSWORD = 'Pg-http-S3cret-4471';
const HOLE_PASSWORD = 'Hole-http-S3cret-9930';
const HOLE_TIMEOUT_MS = 2500;
const HOLE_INTERVAL_MS = 1000;

let pg: PostgresCluster;
let hole: Server;
const holeSockets = new Set<Socket>();
let dir: string;
let base: string;
/** Every answer body and header block read in this file: none may hold a password. */
const answers: string[] = [];

async function get(path: string, method = 'GET'): Promise<{ status: number; headers: Headers; text: string; body: any }> {
  const response = await fetch(`${base}${path}`, { method });
  const text = await response.text();
  answers.push(text, JSON.stringify([...response.headers]));
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body };
}

/** Prometheus samples: `name{labels} value` lines. */
async function scrape(): Promise<string[]> {
  const r = await get('/metrics');
  assert.equal(r.status, 200);
  return r.text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

/** The value of the sample of `metric` for `source` and `node` (and `extra` label text), or undefined. */
function sample(lines: string[], metric: string, source: string, node: string | undefined, extra = ''): number | undefined {
  const line = lines.find(
    (l) => l.startsWith(`${metric}{`) && l.includes(`replication_source="${source}"`) && (node === undefined || l.includes(`replication_node_id="${node}"`)) && l.includes(extra),
  );
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('replag --config: /status, /check, /healthz, /readyz (subprocess, real PostgreSQL)', () => {
  let child: ChildProcess;
  let run: Promise<RunResult>;
  let firstReady: { status: number; body: any } | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'replag-http-'));
    pg = await startPostgresCluster({ standbys: [{ name: 'replica-1' }], portRange: [27000, 27500] });
    await pg.createRole('replag', PG_PASSWORD);
    await pg.primary.query('GRANT pg_monitor TO replag');
    await pg.waitStreaming(1);
    hole = createServer((socket) => {
      holeSockets.add(socket);
      socket.on('close', () => holeSockets.delete(socket));
      socket.on('error', () => undefined);
    });
    const holePort = await findFreePort(28500, 28999);
    await new Promise<void>((resolve) => hole.listen(holePort, '127.0.0.1', resolve));
    const port = await findFreePort(29000, 29499);
    base = `http://127.0.0.1:${port}`;
    const file = join(dir, 'replag.yaml');
    const pgUrl = pg.url('replag');
    writeFileSync(
      file,
      [
        `export: { prometheus: { port: ${port}, host: 127.0.0.1 } }`,
        'defaults: { interval: 200ms, timeout: 1s }',
        'sources:',
        `  - { name: orders-pg, type: postgres, url: "${pgUrl}", password: "${PG_PASSWORD}" }`,
        `  - { name: hole, type: postgres, url: "postgres://replag:${HOLE_PASSWORD}@127.0.0.1:${holePort}/postgres", interval: ${HOLE_INTERVAL_MS}ms, timeout: ${HOLE_TIMEOUT_MS}ms }`,
        // Polled once (60 min interval): its figures stay those of that poll, for the Prometheus comparison.
        '  - { name: still, type: demo, nodes: 4, interval: 60m }',
        '  - { name: live, type: demo, nodes: 4, thresholds: { stall: 2s } }',
        '',
      ].join('\n'),
    );
    run = runNode(['src/cli/replag.ts', '--config', file, '--output', 'quiet'], {
      timeoutMs: 120_000,
      onSpawn: (c) => (child = c),
    });
    run.catch(() => undefined);
    // The first answer of /readyz: the hole source's first poll cannot have ended yet (it ends at its deadline).
    await waitUntil('the endpoints answer', 20_000, async () => {
      try {
        firstReady = await get('/readyz');
        return true;
      } catch {
        return false;
      }
    }, 50);
  });

  after(async () => {
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
    await Promise.allSettled([run]);
    for (const s of holeSockets) s.destroy();
    hole?.close();
    await pg?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('/readyz is 503 until every source has ended its first poll, then 200', async () => {
    assert.equal(firstReady?.status, 503);
    assert.equal(firstReady?.body.status, 'starting');
    await waitUntil('ready', 15_000, async () => (await get('/readyz')).status === 200);
    const { body } = await get('/readyz');
    assert.deepEqual(body, { status: 'ready' });
  });

  it('/status has the pinned shape, and its figures are those of the Prometheus scrape', async () => {
    await waitUntil('orders-pg and still have nodes', 15_000, async () => {
      const { body } = await get('/status');
      return body.sources.find((s: any) => s.name === 'orders-pg')?.nodes.length === 1 && body.sources.find((s: any) => s.name === 'still')?.nodes.length === 4;
    });
    const [{ body, status, headers }, lines] = await Promise.all([get('/status'), scrape()]);
    assert.equal(status, 200);
    assert.match(headers.get('content-type')!, /^application\/json/);
    assert.deepEqual(body.sources.map((s: any) => [s.name, s.type]), [['orders-pg', 'postgres'], ['hole', 'postgres'], ['still', 'demo'], ['live', 'demo']]);
    for (const s of body.sources) {
      assert.deepEqual(Object.keys(s).filter((k) => !['lastError', 'lastPoll'].includes(k)), ['name', 'type', 'up', 'nodes']);
      assert.ok(!Number.isNaN(Date.parse(s.lastPoll)), `${s.name}: lastPoll is ISO 8601`);
      assert.equal(new Date(s.lastPoll).toISOString(), s.lastPoll);
      assert.equal(sample(lines, 'replication_source_up', s.name, undefined), s.up ? 1 : 0, `${s.name} up`);
    }
    const holeSource = body.sources[1];
    assert.equal(holeSource.up, false);
    assert.match(holeSource.lastError, /2500 ms|timeout|time/i);
    // `still` polled once: its figures at the scrape are those /status read.
    const still = body.sources[2];
    assert.deepEqual(still.nodes.map((n: any) => n.id), ['frozen-1', 'healthy-1', 'lagging-1', 'slow-1']);
    for (const n of still.nodes) {
      for (const [key, value] of Object.entries(n)) assert.notEqual(value, null, `${n.id}.${key} is not null`);
      assert.equal(typeof n.provisional, 'boolean');
      assert.equal(n.attributes['replication.source'], 'still');
      assert.equal(sample(lines, 'replication_lag', 'still', n.id), n.lag, `${n.id} lag`);
      assert.equal(sample(lines, 'replication_delay_seconds', 'still', n.id), n.delaySeconds, `${n.id} delay`);
      assert.equal(sample(lines, 'replication_apply_rate_per_second', 'still', n.id), n.applyRate, `${n.id} apply rate`);
      assert.equal(sample(lines, 'replication_delay_predicted_seconds', 'still', n.id), n.predictedDelaySeconds, `${n.id} forecast`);
      assert.equal(sample(lines, 'replication_catchup_time_seconds', 'still', n.id), n.catchUpSeconds, `${n.id} catch-up`);
      assert.equal(sample(lines, 'replication_critical_time_seconds', 'still', n.id), n.secondsToCritical, `${n.id} to critical`);
      assert.equal(sample(lines, 'replication_severity_ratio', 'still', n.id, `replication_severity="${n.severity}"`), 1, `${n.id} severity`);
    }
    const one = await get('/status?source=still');
    assert.deepEqual(one.body.sources.map((s: any) => s.name), ['still']);
    const unknown = await get('/status?source=nope');
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error, /"nope"/);
  });

  it('/check: 200, 429 with Retry-After, 503, for a source, a node and everything; HEAD alike', async () => {
    const ok = await get('/check?source=still&maxDelay=1h');
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.nodes, 4);
    // lagging-1 of `live` passes the 5 s warning threshold (the default limit) 7 s into the simulation.
    await waitUntil('live over its warning threshold', 30_000, async () => (await get('/check?source=live')).status === 429);
    const behind = await get('/check?source=live');
    assert.ok(Number(behind.headers.get('retry-after')) >= 1, `Retry-After ${behind.headers.get('retry-after')}`);
    assert.equal(behind.body.retryAfterSeconds, Number(behind.headers.get('retry-after')));
    assert.ok(behind.body.nodes.some((n: any) => n.id === 'lagging-1' && n.source === 'live' && n.delaySeconds > 5 && n.maxDelaySeconds === 5));
    assert.ok(!behind.body.nodes.some((n: any) => n.id === 'healthy-1'));
    const head = await get('/check?source=live', 'HEAD');
    assert.equal(head.status, 429);
    assert.equal(head.text, '');
    assert.ok(Number(head.headers.get('retry-after')) >= 1);
    // A node: the healthy one passes, the lagging one does not; an unknown one is a 404.
    assert.equal((await get('/check?source=live&node=healthy-1')).status, 200);
    assert.equal((await get('/check?source=live&node=lagging-1')).status, 429);
    assert.equal((await get('/check?source=live&node=nobody')).status, 404);
    assert.equal((await get('/check?source=live&maxDelay=1h&node=lagging-1')).status, 200);
    assert.equal((await get('/check?maxDelay=soon')).status, 400);
    // Everything: the hole source is down.
    const all = await get('/check?maxDelay=1h');
    assert.equal(all.status, 503);
    assert.deepEqual(all.body.sources.map((s: any) => s.name), ['hole']);
    assert.equal((await get('/check?maxDelay=1h', 'HEAD')).status, 503);
    assert.equal((await get('/check?source=hole')).status, 503);
    assert.equal((await get('/check?source=nope')).status, 404);
  });

  it('a real PostgreSQL stopped: /status down with its error, /check 503; restarted: up and 200 again', async () => {
    assert.equal((await get('/check?source=orders-pg&maxDelay=1h')).status, 200);
    assert.equal((await get('/check?source=orders-pg&node=replica-1&maxDelay=1h')).status, 200);
    await pg.primary.stop();
    try {
      await waitUntil('orders-pg down', 15_000, async () => (await get('/status?source=orders-pg')).body.sources[0].up === false);
      const [{ body }, lines] = await Promise.all([get('/status?source=orders-pg'), scrape()]);
      const s = body.sources[0];
      assert.equal(typeof s.lastError, 'string');
      assert.equal(sample(lines, 'replication_source_up', 'orders-pg', undefined), 0);
      // The last figures read stay, as in the scrape.
      assert.equal(s.nodes.length, 1);
      assert.equal(sample(lines, 'replication_lag', 'orders-pg', 'replica-1'), s.nodes[0].lag);
      assert.equal(sample(lines, 'replication_delay_seconds', 'orders-pg', 'replica-1'), s.nodes[0].delaySeconds);
      const down = await get('/check?source=orders-pg&maxDelay=1h');
      assert.equal(down.status, 503);
      assert.equal(down.body.sources[0].name, 'orders-pg');
      assert.equal((await get('/check?node=replica-1&maxDelay=1h')).status, 503);
    } finally {
      await pg.primary.start();
    }
    await waitUntil('orders-pg up again', 20_000, async () => (await get('/status?source=orders-pg')).body.sources[0].up === true);
    assert.equal((await get('/status?source=orders-pg')).body.sources[0].lastError, undefined);
    await waitUntil('orders-pg passes /check again', 15_000, async () => (await get('/check?source=orders-pg&maxDelay=1h')).status === 200);
  });

  it('/healthz is 200 while every poll loop comes back within its deadline (the hole source fails in time)', async () => {
    const { status, body } = await get('/healthz');
    assert.equal(status, 200);
    assert.deepEqual(body, { status: 'ok' });
    assert.equal((await get('/healthz', 'POST')).status, 405);
  });

  it('the page, /history: served; no answer holds a planted password', async () => {
    const page = await get('/');
    assert.equal(page.status, 200);
    assert.match(page.text, /<!doctype html>/);
    const history = await get('/history?source=live');
    assert.equal(history.status, 200);
    assert.ok(history.body.nodes['healthy-1'].length > 1);
    const joined = answers.join('\n');
    assert.ok(answers.length > 40);
    assert.ok(!joined.includes(PG_PASSWORD), 'the PostgreSQL password is in an answer');
    assert.ok(!joined.includes(HOLE_PASSWORD), 'the password of a source URL is in an answer');
  });

  it('/readyz is 503 from SIGTERM until exit', async () => {
    // SIGTERM while the hole source's poll is in flight: stopping waits for it (up to its deadline).
    await waitUntil('a hole poll in flight', 10_000, async () => {
      const s = (await get('/status?source=hole')).body.sources[0];
      const since = Date.now() - Date.parse(s.lastPoll);
      return since > HOLE_INTERVAL_MS + 200 && since < HOLE_INTERVAL_MS + 800;
    }, 50);
    child.kill('SIGTERM');
    const killedAt = Date.now();
    const seen: number[] = [];
    for (let i = 0; i < 100; i++) {
      const sentAt = Date.now();
      try {
        const { status } = await get('/readyz');
        // A request sent before the signal reached the process (delivery takes a loop turn) may still be ready.
        if (!(status === 200 && seen.length === 0 && sentAt - killedAt < 100)) seen.push(status);
      } catch {
        break; // closed: the process is exiting
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(seen.length > 0, 'no answer after SIGTERM');
    assert.deepEqual([...new Set(seen)], [503]);
    const result = await run;
    assert.equal(result.code, 0, result.stderr);
    assert.ok(!(result.stdout + result.stderr).includes(PG_PASSWORD));
    assert.ok(!(result.stdout + result.stderr).includes(HOLE_PASSWORD));
  });
});
