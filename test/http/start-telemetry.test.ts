/**
 * The status endpoints for library users: `startTelemetry({ http })` serves them for its monitor, on a port of their
 * own or on the Prometheus endpoint's server; `/healthz` turns 503 when a poll loop is wedged (a source whose poll
 * never settles: it waits for a TCP server on 127.0.0.1 that accepts and never answers, with no deadline of its own).
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTelemetry, type Telemetry } from '../../src/sdk/index.ts';
import { startPoller, type Poller } from '../../src/sources/poller.ts';
import type { ReplicaPosition, ReplicationSource } from '../../src/sources/source.ts';
import { findFreePort, waitUntil } from '../harness/wait.ts';

/** A source that reads one line from `port` per poll, with no deadline: a silent server hangs its poll. */
function lineSource(port: number): ReplicationSource {
  let polls = 0;
  return {
    name: 'line-reader',
    poll: () =>
      new Promise<ReplicaPosition[]>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        socket.setEncoding('utf8');
        socket.once('data', () => {
          socket.destroy();
          polls++;
          resolve([{ nodeId: 'follower-1', leaderSeq: 100 * polls, followerSeq: 100 * polls - 5 }]);
        });
        socket.once('error', reject);
        socket.once('close', () => reject(new Error('closed without an answer')));
      }),
  };
}

describe('startTelemetry({ http }): the status endpoints for a library monitor', () => {
  let server: Server;
  let answering = true;
  const sockets = new Set<Socket>();
  let telemetry: Telemetry;
  let poller: Poller;

  before(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      if (answering) socket.end('position\n');
    });
    const port = await findFreePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    telemetry = await startTelemetry({ otlp: false, http: { port: 0 } });
    poller = startPoller({ source: lineSource(port), monitor: telemetry.monitor, intervalMs: 200 });
    telemetry.instrumentation.observeSource(poller);
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await poller?.stop();
    await telemetry?.shutdown();
    server?.close();
  });

  it('serves /status and /readyz for its monitor, on 127.0.0.1 by default', async () => {
    assert.match(telemetry.httpUrl!, /^http:\/\/127\.0\.0\.1:\d+$/);
    await waitUntil('ready', 10_000, async () => (await fetch(`${telemetry.httpUrl}/readyz`)).status === 200);
    const body = (await (await fetch(`${telemetry.httpUrl}/status`)).json()) as any;
    assert.equal(body.sources.length, 1);
    assert.equal(body.sources[0].name, 'line-reader');
    assert.equal(body.sources[0].up, true);
    assert.deepEqual(body.sources[0].nodes.map((n: any) => [n.id, n.lag]), [['follower-1', 5]]);
    // 429 while the delay is only a bound (a first sample behind), 200 once measured.
    await waitUntil('check 200', 10_000, async () => (await fetch(`${telemetry.httpUrl}/check?maxDelay=1h`)).status === 200);
  });

  it('/healthz: 200 while polls come back, 503 once one runs past its deadline plus an interval, 200 when it ends', async () => {
    assert.equal((await fetch(`${telemetry.httpUrl}/healthz`)).status, 200);
    answering = false; // the next poll waits forever
    const silentFrom = Date.now();
    await waitUntil('a poll in flight', 5000, () => poller.health().pollingSince !== undefined && poller.health().pollingSince! >= silentFrom);
    // Within the deadline (5 s, the sources' default) it is not wedged yet.
    const early = await fetch(`${telemetry.httpUrl}/healthz`);
    assert.equal(early.status, 200);
    await waitUntil('healthz 503', 15_000, async () => (await fetch(`${telemetry.httpUrl}/healthz`)).status === 503, 250);
    assert.ok(Date.now() - poller.health().pollingSince! >= 5000 + 200);
    const wedged = (await (await fetch(`${telemetry.httpUrl}/healthz`)).json()) as any;
    assert.equal(wedged.status, 'wedged');
    assert.deepEqual(wedged.sources.map((s: any) => s.name), ['line-reader']);
    // Liveness only: the source still counts as read (its last poll succeeded) and /status still answers.
    assert.equal((await fetch(`${telemetry.httpUrl}/readyz`)).status, 200);
    answering = true;
    for (const s of sockets) s.destroy(); // the hung poll fails now
    await waitUntil('healthz 200 again', 10_000, async () => (await fetch(`${telemetry.httpUrl}/healthz`)).status === 200);
  });

  it('shares the Prometheus endpoint\'s server when http has no port; needs one without Prometheus', async () => {
    const port = await findFreePort();
    const shared = await startTelemetry({ otlp: false, prometheus: { port, host: '127.0.0.1' }, http: {} });
    try {
      assert.equal(shared.httpUrl, `http://127.0.0.1:${port}`);
      assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
      const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as any;
      assert.deepEqual(status.sources.map((s: any) => [s.name, s.up, s.nodes.length]), [['monitor', true, 0]]);
    } finally {
      await shared.shutdown();
    }
    await assert.rejects(startTelemetry({ otlp: false, http: {} }), /http\.port is required without a Prometheus endpoint/);
    await assert.rejects(startTelemetry({ otlp: false, http: { port: 70000 } }), /http\.port must be an integer/);
  });
});
