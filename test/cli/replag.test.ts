/** `replag` as a subprocess, exporting to a real OTLP/HTTP receiver on 127.0.0.1. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startOtlpReceiver, type OtlpReceiver } from '../harness/otlp-receiver.ts';
import { runNode } from '../helpers/run-node.ts';

const CLI = 'src/cli/replag.ts';
const SECRET = 'Bearer sk-live-do-not-print-4711';

describe('replag command', () => {
  let receiver: OtlpReceiver;
  before(async () => {
    receiver = await startOtlpReceiver();
  });
  after(async () => {
    await receiver.close();
  });

  it('runs the simulated cluster, exports lag and alert events over OTLP, prints alerts, exits 0', async () => {
    const start = receiver.requests.length;
    // Thresholds of 1 s / 2 s: the "lagging" follower crosses both within the first seconds.
    const result = await runNode([CLI, '--duration', '4', '--interval', '200', '--warning', '1', '--critical', '2', '--export-interval', '500', '--output', 'plain'], {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_HEADERS: `authorization=${SECRET}` },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`exporting OTLP \\(http/protobuf\\) metrics to ${receiver.url}/v1/metrics`));
    assert.match(result.stdout, /^ALERT WARNING .*lagging-1/m);
    assert.match(result.stdout, /^ALERT CRITICAL .*lagging-1/m);
    assert.match(result.stdout, /nodes=4 /);
    assert.doesNotMatch(result.stdout + result.stderr, /sk-live/);

    const requests = receiver.requests.slice(start);
    assert.ok(requests.length > 0);
    for (const r of requests) {
      assert.equal(r.encoding, 'protobuf');
      assert.equal(r.headers.authorization, SECRET, 'the configured header must reach the collector');
    }
    const points = receiver.points().filter((p) => p.request >= start);
    assert.equal(points[0]?.resource['service.name'], 'replag');
    for (const name of ['replication.lag', 'replication.delay', 'replication.delay.predicted', 'replication.apply.rate', 'replication.severity', 'replication.alerts']) {
      assert.ok(points.some((p) => p.metric === name), `${name} not exported`);
    }
    const up = points.filter((p) => p.metric === 'replication.source.up');
    assert.ok(up.length > 0, 'replication.source.up not exported');
    // Flags mode is a fleet of one source, named after its type.
    assert.ok(up.every((p) => p.value === 1 && p.attributes['replication.source'] === 'demo'), JSON.stringify(up[0]));
    const nodes = new Set(points.filter((p) => p.metric === 'replication.lag').map((p) => p.attributes['replication.node.id']));
    assert.deepEqual([...nodes].sort(), ['frozen-1', 'healthy-1', 'lagging-1', 'slow-1']);
    const lagging = points.find((p) => p.metric === 'replication.lag' && p.attributes['replication.node.id'] === 'lagging-1');
    assert.equal(lagging?.attributes['replication.system'], 'raft');
    assert.ok((lagging?.value ?? 0) > 0);

    const events = receiver.logRecords().filter((r) => r.request >= start);
    const lagged = events.filter((e) => e.attributes['replication.node.id'] === 'lagging-1');
    assert.deepEqual(
      lagged.slice(0, 2).map((e) => [e.eventName, e.attributes['replication.severity'], e.severityText]),
      [
        ['replication.alert', 'warning', 'WARN'],
        ['replication.alert', 'critical', 'ERROR'],
      ],
    );
    assert.equal(events[0]?.resource['service.name'], 'replag');
  });

  it('speaks http/json when asked on the command line', async () => {
    const start = receiver.requests.length;
    const result = await runNode([CLI, '--duration', '1', '--interval', '200', '--otlp-endpoint', receiver.url, '--otlp-protocol', 'http/json', '--service-name', 'json-sidecar', '--output', 'quiet']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '', 'quiet prints nothing on stdout');
    const points = receiver.points('replication.lag').filter((p) => p.request >= start);
    assert.ok(points.length >= 4);
    assert.ok(points.every((p) => p.encoding === 'json' && p.resource['service.name'] === 'json-sidecar'));
  });

  it('on SIGTERM it stops cleanly and flushes what it has not exported yet', async () => {
    const start = receiver.requests.length;
    let sent = false;
    const result = await runNode([CLI, '--interval', '200', '--export-interval', '600000', '--output', 'plain'], {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
      onSpawn: (child) => {
        // Signal once it has polled a few times.
        child.stdout?.on('data', (d: Buffer | string) => {
          if (!sent && String(d).includes('nodes=4')) {
            sent = true;
            setTimeout(() => child.kill('SIGTERM'), 600);
          }
        });
      },
      timeoutMs: 30_000,
    });
    assert.ok(sent, 'never saw a poll line');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /replag: stopped; nodes=4/);
    assert.ok(
      receiver.points('replication.lag').some((p) => p.request >= start),
      'the final export on shutdown did not arrive (a 10-minute interval means nothing was sent before)',
    );
  });

  it('without an endpoint it says so and runs locally', async () => {
    const result = await runNode([CLI, '--duration', '1', '--interval', '200', '--output', 'plain']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /no OTLP endpoint configured .* running locally without export/);
    assert.match(result.stdout, /nodes=4 normal=\d/);
  });

  it('watches a simulated cluster larger than the default maxNodes (every follower, no error)', async () => {
    const result = await runNode([CLI, 'demo', '--nodes', '3000', '--duration', '1.5', '--interval', '500', '--output', 'plain']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /nodes=3000 /);
    assert.doesNotMatch(result.stderr, /maxNodes/);
  });

  it('exits 2 naming a bad flag or value, and prints the usage', async () => {
    const start = receiver.requests.length;
    const unknown = await runNode([CLI, '--nodez', '3'], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--nodez/);
    assert.match(unknown.stderr, /Usage: replag/);
    const badValue = await runNode([CLI, '--interval', 'fast']);
    assert.equal(badValue.code, 2);
    assert.match(badValue.stderr, /--interval/);
    const badProtocol = await runNode([CLI, '--duration', '1'], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' } });
    assert.equal(badProtocol.code, 2);
    assert.match(badProtocol.stderr, /^replag: OTEL_EXPORTER_OTLP_PROTOCOL: expected http\/protobuf, http\/json or grpc, got "thrift"$/m);
    assert.equal(receiver.requests.length, start, 'a refused start must export nothing');
  });

  it('reports an unreachable collector on stderr without the credentials, and keeps running', async () => {
    const dead = await startOtlpReceiver();
    await dead.close();
    const endpoint = dead.url.replace('http://', 'http://admin:pw-9f8e7d@');
    const result = await runNode([CLI, '--duration', '2', '--interval', '200', '--export-interval', '300', '--otlp-endpoint', endpoint, '--output', 'plain'], {
      env: { OTEL_EXPORTER_OTLP_HEADERS: `x-api-key=${SECRET}`, OTEL_EXPORTER_OTLP_TIMEOUT: '1000' },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /export (timed out|failed)/i, 'export failures must be visible');
    assert.ok(result.stdout.split('\n').filter((l) => l.includes('nodes=4')).length >= 5, 'polling stopped');
    assert.doesNotMatch(result.stdout + result.stderr, /pw-9f8e7d|sk-live/);
  });
});
