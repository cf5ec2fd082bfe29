/** `replag` as a subprocess, exporting over OTLP/gRPC to a real `@grpc/grpc-js` receiver on 127.0.0.1. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startOtlpGrpcReceiver, type OtlpGrpcReceiver } from '../harness/otlp-grpc-receiver.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../harness/otlp-receiver.ts';
import { runNode } from '../helpers/run-node.ts';

const CLI = 'src/cli/replag.ts';
const SECRET = 'Bearer sk-live-do-not-print-4711';
const METRICS = ['replication.lag', 'replication.delay', 'replication.delay.predicted', 'replication.apply.rate', 'replication.severity', 'replication.alerts', 'replication.source.up'];

describe('replag over OTLP/gRPC', () => {
  let grpc: OtlpGrpcReceiver;
  let http: OtlpReceiver;
  before(async () => {
    grpc = await startOtlpGrpcReceiver({ ports: [20_000, 20_500] });
    http = await startOtlpReceiver();
  });
  after(async () => {
    await grpc.close();
    await http.close();
  });

  it('OTEL_EXPORTER_OTLP_PROTOCOL=grpc: the demo exports lag and alert events to the gRPC endpoint, says where, exits 0', async () => {
    const start = grpc.requests.length;
    const result = await runNode([CLI, 'demo', '--duration', '3', '--interval', '200', '--warning', '1', '--critical', '2', '--export-interval', '500', '--output', 'plain'], {
      env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: grpc.url, OTEL_EXPORTER_OTLP_HEADERS: `authorization=${SECRET}` },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.stderr.includes(`replag: exporting OTLP (grpc) metrics to ${grpc.url} and alert events to ${grpc.url}\n`), result.stderr);
    assert.doesNotMatch(result.stdout + result.stderr, /sk-live/);
    assert.match(result.stdout, /^ALERT CRITICAL .*lagging-1/m);

    const calls = grpc.requests.slice(start);
    assert.ok(calls.length > 0, 'nothing arrived over gRPC');
    for (const r of calls) assert.equal(r.headers.authorization, SECRET, 'the configured header must reach the collector as metadata');
    const points = grpc.points().filter((p) => p.request >= start);
    for (const name of METRICS) assert.ok(points.some((p) => p.metric === name), `${name} not exported`);
    assert.equal(points[0]?.resource['service.name'], 'replag');
    const nodes = new Set(points.filter((p) => p.metric === 'replication.lag').map((p) => p.attributes['replication.node.id']));
    assert.deepEqual([...nodes].sort(), ['frozen-1', 'healthy-1', 'lagging-1', 'slow-1']);
    const events = grpc.logRecords().filter((r) => r.request >= start && r.attributes['replication.node.id'] === 'lagging-1');
    assert.deepEqual(
      events.slice(0, 2).map((e) => [e.eventName, e.attributes['replication.severity']]),
      [
        ['replication.alert', 'warning'],
        ['replication.alert', 'critical'],
      ],
    );
    assert.deepEqual(grpc.rejected, []);
  });

  it('--otlp-protocol grpc with --otlp-endpoint does the same from the command line', async () => {
    const start = grpc.requests.length;
    const result = await runNode([CLI, '--duration', '1', '--interval', '200', '--otlp-endpoint', grpc.url, '--otlp-protocol', 'grpc', '--service-name', 'grpc-sidecar', '--output', 'quiet']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`exporting OTLP \\(grpc\\) metrics to ${grpc.url} `));
    const points = grpc.points('replication.lag').filter((p) => p.request >= start);
    assert.ok(points.length >= 4, `${points.length} lag points`);
    assert.ok(points.every((p) => p.resource['service.name'] === 'grpc-sidecar'));
  });

  it('per signal: the startup line names each signal\'s protocol and endpoint, and each goes there', async () => {
    const grpcStart = grpc.requests.length;
    const httpStart = http.requests.length;
    const result = await runNode([CLI, '--duration', '2', '--interval', '200', '--warning', '1', '--output', 'quiet'], {
      env: {
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: grpc.url,
        OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${http.url}/v1/logs`,
      },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.stderr.includes(`replag: exporting OTLP metrics (grpc) to ${grpc.url} and alert events (http/protobuf) to ${http.url}/v1/logs\n`), result.stderr);
    assert.ok(grpc.points('replication.lag').some((p) => p.request >= grpcStart), 'metrics did not arrive over gRPC');
    assert.ok(http.logRecords().some((r) => r.request >= httpStart && r.eventName === 'replication.alert'), 'alert events did not arrive over HTTP');
    assert.equal(grpc.logRecords().filter((r) => r.request >= grpcStart).length, 0);
  });

  it('refuses a protocol it does not know, naming the variable (exit 2)', async () => {
    const result = await runNode([CLI, '--duration', '1'], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: grpc.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc/json' } });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /^replag: OTEL_EXPORTER_OTLP_PROTOCOL: expected http\/protobuf, http\/json or grpc, got "grpc\/json"$/m);
  });
});
