/**
 * startTelemetry over OTLP/gRPC: the OpenTelemetry gRPC exporters send to a real `@grpc/grpc-js` server on
 * 127.0.0.1 that decodes the OTLP protobuf requests. Nothing in the export path is mocked. Also: the gRPC
 * exporters are loaded only when gRPC is chosen (checked in child processes, source and built ESM/CJS entries).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { grpcDisplayUrl, grpcEndpoint, grpcTransport } from '../../src/sdk/grpc.ts';
import { startTelemetry, type Telemetry } from '../../src/sdk/index.ts';
import { startOtlpGrpcReceiver, type OtlpGrpcReceiver } from '../harness/otlp-grpc-receiver.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedLogRecord, type ReceivedPoint } from '../harness/otlp-receiver.ts';
import { makeTestCertificates, type TestCertificates } from '../harness/tls.ts';
import { REPO_ROOT, runNode } from '../helpers/run-node.ts';
import { withOtelEnv } from '../helpers/otel-env.ts';

const PORTS = [20_000, 20_500] as const;
const GAUGES = ['replication.lag', 'replication.delay', 'replication.delay.predicted', 'replication.apply.rate', 'replication.severity'];

/** Two nodes, one of them past the warning threshold (an alert event), then a flush. */
async function feed(t: Telemetry, prefix: string): Promise<void> {
  t.monitor.registerNode(`${prefix}-a`, { region: 'eu-west-1' });
  t.monitor.updateLag(`${prefix}-a`, 1000, 990, 1);
  t.monitor.updateLag(`${prefix}-b`, 500, 400, 6); // 6 s > the 5 s warning threshold: an alert
  await t.forceFlush();
}

function assertGauges(points: readonly ReceivedPoint[], prefix: string): void {
  for (const name of GAUGES.filter((n) => n !== 'replication.delay.predicted')) {
    const nodes = new Set(points.filter((p) => p.metric === name).map((p) => p.attributes['replication.node.id']));
    assert.ok(nodes.has(`${prefix}-a`) && nodes.has(`${prefix}-b`), `${name}: expected both nodes, got ${JSON.stringify([...nodes])}`);
  }
  const lag = points.find((p) => p.metric === 'replication.lag' && p.attributes['replication.node.id'] === `${prefix}-a`);
  assert.equal(lag?.value, 10);
  assert.equal(lag?.attributes.region, 'eu-west-1');
  assert.equal(lag?.kind, 'gauge');
  assert.ok(points.some((p) => p.metric === 'replication.alerts' && p.value === 1), 'replication.alerts not exported');
}

function assertAlert(records: readonly ReceivedLogRecord[], prefix: string): void {
  const alert = records.find((r) => r.attributes['replication.node.id'] === `${prefix}-b`);
  assert.ok(alert, `no alert event for ${prefix}-b among ${records.length} record(s)`);
  assert.equal(alert.eventName, 'replication.alert');
  assert.equal(alert.severityText, 'WARN');
  assert.equal(alert.attributes['replication.severity'], 'warning');
  assert.equal(alert.attributes['replication.lag'], 100);
  assert.match(String(alert.body), new RegExp(`${prefix}-b`));
}

describe('gRPC endpoint rules (OTLP exporter spec)', () => {
  it('picks the explicit endpoint, the per-signal variable, the general one, then http://localhost:4317, appending nothing', () => {
    assert.equal(grpcEndpoint({}, 'METRICS'), 'http://localhost:4317');
    assert.equal(grpcEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317' }, 'LOGS'), 'http://c:4317');
    assert.equal(grpcEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: ' https://l:443 ' }, 'LOGS'), 'https://l:443');
    assert.equal(grpcEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317' }, 'METRICS', 'http://x:1'), 'http://x:1');
    assert.equal(grpcEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317' }, 'METRICS'), 'collector:4317');
    assert.throws(() => grpcEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'tcp://c:4317' }, 'METRICS'), /OTEL_EXPORTER_OTLP_ENDPOINT must be .* got a tcp:\/\/ URL/);
  });

  it('http:// is plaintext, https:// TLS; without a scheme the INSECURE variables decide, per signal first', () => {
    assert.equal(grpcTransport({ OTEL_EXPORTER_OTLP_INSECURE: 'false' }, 'METRICS', 'http://c:4317'), 'plaintext');
    assert.equal(grpcTransport({ OTEL_EXPORTER_OTLP_INSECURE: 'true' }, 'METRICS', 'https://c:4317'), 'tls');
    assert.equal(grpcTransport({}, 'METRICS', 'c:4317'), 'tls');
    assert.equal(grpcTransport({ OTEL_EXPORTER_OTLP_INSECURE: ' True ' }, 'LOGS', 'c:4317'), 'plaintext');
    assert.equal(grpcTransport({ OTEL_EXPORTER_OTLP_INSECURE: 'true', OTEL_EXPORTER_OTLP_LOGS_INSECURE: 'false' }, 'LOGS', 'c:4317'), 'tls');
    assert.equal(grpcTransport({ OTEL_EXPORTER_OTLP_INSECURE: '1' }, 'LOGS', 'c:4317'), 'tls', 'only "true" counts, as in the exporter');
  });

  it('shows scheme (the transport), host and port only', () => {
    assert.equal(grpcDisplayUrl({}, 'METRICS', 'https://user:p@ss/w?rd@collector.example:4317/x?api_key=k#f'), 'https://collector.example:4317');
    assert.equal(grpcDisplayUrl({ OTEL_EXPORTER_OTLP_INSECURE: 'true' }, 'METRICS', 'collector:4317'), 'http://collector:4317');
    assert.equal(grpcDisplayUrl({}, 'METRICS', 'collector:4317'), 'https://collector:4317');
    assert.equal(grpcDisplayUrl({}, 'LOGS', 'http://[::1]:4317'), 'http://[::1]:4317');
    assert.equal(grpcDisplayUrl({}, 'LOGS', 'unix:///run/otel.sock'), 'unix:///run/otel.sock');
  });
});

describe('startTelemetry over OTLP/gRPC', () => {
  let grpc: OtlpGrpcReceiver;
  let http: OtlpReceiver;
  let telemetry: Telemetry | undefined;
  before(async () => {
    grpc = await startOtlpGrpcReceiver({ ports: PORTS });
    http = await startOtlpReceiver();
  });
  afterEach(async () => {
    await telemetry?.shutdown();
    telemetry = undefined;
  });
  after(async () => {
    await grpc.close();
    await http.close();
  });

  it('OTEL_EXPORTER_OTLP_PROTOCOL=grpc: gauges with node ids and the alert event arrive decoded, headers as metadata, nothing appended to the endpoint', async () => {
    const start = grpc.requests.length;
    await withOtelEnv(
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: grpc.url, OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=s3cr3t-token', OTEL_SERVICE_NAME: 'grpc-env' },
      async () => {
        telemetry = await startTelemetry({ metricExportIntervalMillis: 60_000 });
      },
    );
    assert.deepEqual(telemetry!.otlp, { metricsProtocol: 'grpc', metricsUrl: grpc.url, logsProtocol: 'grpc', logsUrl: grpc.url });
    await feed(telemetry!, 'env');
    const points = grpc.points().filter((p) => p.request >= start);
    assertGauges(points, 'env');
    assert.equal(points[0]?.resource['service.name'], 'grpc-env');
    assertAlert(grpc.logRecords().filter((r) => r.request >= start), 'env');
    const calls = grpc.requests.slice(start);
    assert.deepEqual(new Set(calls.map((r) => r.signal)), new Set(['metrics', 'logs']));
    for (const r of calls) assert.equal(r.headers['x-api-key'], 's3cr3t-token', `${r.signal} call lacks the metadata`);
    assert.deepEqual(grpc.rejected, []);
    assert.equal(http.requests.length, 0, 'nothing may go over OTLP/HTTP');
  });

  it("startTelemetry({ otlp: { protocol: 'grpc' } }): the same, with headers and timeout from the option", async () => {
    const start = grpc.requests.length;
    await withOtelEnv({}, async () => {
      telemetry = await startTelemetry({
        serviceName: 'grpc-option',
        otlp: { endpoint: grpc.url, protocol: 'grpc', headers: { authorization: 'Bearer tok-4711' }, timeoutMillis: 1500 },
        metricExportIntervalMillis: 60_000,
      });
    });
    assert.deepEqual(telemetry!.otlp, { metricsProtocol: 'grpc', metricsUrl: grpc.url, logsProtocol: 'grpc', logsUrl: grpc.url });
    await feed(telemetry!, 'opt');
    assertGauges(grpc.points().filter((p) => p.request >= start), 'opt');
    assertAlert(grpc.logRecords().filter((r) => r.request >= start), 'opt');
    for (const r of grpc.requests.slice(start)) {
      assert.equal(r.headers.authorization, 'Bearer tok-4711');
      // The export timeout is the gRPC deadline: at most 1500 ms ahead of the call.
      const ahead = r.deadline - r.receivedAt;
      assert.ok(ahead > 0 && ahead <= 1500, `${r.signal}: deadline ${ahead} ms ahead, expected (0, 1500]`);
    }
  });

  it('honours OTEL_EXPORTER_OTLP_TIMEOUT as the deadline, and defaults to 10 s', async () => {
    for (const [env, low, high] of [
      [{ OTEL_EXPORTER_OTLP_TIMEOUT: '2500' }, 0, 2500],
      [{}, 5000, 10_000],
    ] as const) {
      const start = grpc.requests.length;
      await withOtelEnv({ ...env, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: grpc.url }, async () => {
        telemetry = await startTelemetry({ metricExportIntervalMillis: 60_000 });
      });
      await feed(telemetry!, 'deadline');
      await telemetry!.shutdown();
      telemetry = undefined;
      const calls = grpc.requests.slice(start);
      assert.ok(calls.length >= 2);
      for (const r of calls) {
        const ahead = r.deadline - r.receivedAt;
        assert.ok(ahead > low && ahead <= high, `${JSON.stringify(env)} ${r.signal}: deadline ${ahead} ms ahead, expected (${low}, ${high}]`);
      }
    }
  });

  it('per signal: gRPC metrics and OTLP/HTTP logs, each to its own endpoint, and Telemetry.otlp says so', async () => {
    const grpcStart = grpc.requests.length;
    const httpStart = http.requests.length;
    await withOtelEnv(
      {
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: grpc.url,
        OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${http.url}/v1/logs`,
      },
      async () => {
        telemetry = await startTelemetry({ metricExportIntervalMillis: 60_000 });
      },
    );
    assert.deepEqual(telemetry!.otlp, { metricsProtocol: 'grpc', metricsUrl: grpc.url, logsProtocol: 'http/protobuf', logsUrl: `${http.url}/v1/logs` });
    await feed(telemetry!, 'mix');
    assertGauges(grpc.points().filter((p) => p.request >= grpcStart), 'mix');
    assert.equal(grpc.logRecords().filter((r) => r.request >= grpcStart).length, 0, 'logs must not go over gRPC');
    assertAlert(http.logRecords().filter((r) => r.request >= httpStart), 'mix');
    assert.equal(http.points().filter((p) => p.request >= httpStart).length, 0, 'metrics must not go over HTTP');

    // And the other way round: the general variable says grpc, the logs' own variable http/json.
    const grpcStart2 = grpc.requests.length;
    const httpStart2 = http.requests.length;
    await telemetry!.shutdown();
    await withOtelEnv(
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: grpc.url, OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${http.url}/v1/logs` },
      async () => {
        telemetry = await startTelemetry({ metricExportIntervalMillis: 60_000 });
      },
    );
    assert.deepEqual(telemetry!.otlp, { metricsProtocol: 'grpc', metricsUrl: grpc.url, logsProtocol: 'http/json', logsUrl: `${http.url}/v1/logs` });
    await feed(telemetry!, 'mix2');
    assertGauges(grpc.points().filter((p) => p.request >= grpcStart2), 'mix2');
    const records = http.logRecords().filter((r) => r.request >= httpStart2);
    assertAlert(records, 'mix2');
    assert.ok(records.every((r) => r.encoding === 'json'));
  });

  it('a per-signal gRPC endpoint is used as-is; the shown URL drops credentials and the path gRPC ignores', async () => {
    const start = grpc.requests.length;
    const withCredentials = grpc.url.replace('://', '://user:pa55word@');
    await withOtelEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${withCredentials}/ignored?api_key=k`, OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: grpc.url }, async () => {
      telemetry = await startTelemetry({ metricExportIntervalMillis: 60_000 });
    });
    assert.deepEqual(telemetry!.otlp, { metricsProtocol: 'grpc', metricsUrl: grpc.url, logsProtocol: 'grpc', logsUrl: grpc.url });
    assert.doesNotMatch(JSON.stringify(telemetry!.otlp), /pa55word|api_key/);
    await feed(telemetry!, 'asis');
    assertGauges(grpc.points().filter((p) => p.request >= start), 'asis');
  });

  for (const [what, insecure] of [
    ['OTEL_EXPORTER_OTLP_INSECURE=true', { OTEL_EXPORTER_OTLP_INSECURE: 'true' }],
    ['the per-signal variables over the general one', { OTEL_EXPORTER_OTLP_INSECURE: 'false', OTEL_EXPORTER_OTLP_METRICS_INSECURE: 'true', OTEL_EXPORTER_OTLP_LOGS_INSECURE: 'TRUE' }],
  ] as const) {
    it(`without a scheme, ${what} means plaintext`, async () => {
      const start = grpc.requests.length;
      // The exporter reads the transport settings at its first export: the variables stay set until then.
      await withOtelEnv({ ...insecure, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: `127.0.0.1:${grpc.port}` }, async () => {
        telemetry = await startTelemetry({ metricExportIntervalMillis: 60_000 });
        await feed(telemetry, 'insecure');
      });
      assert.deepEqual(telemetry!.otlp, { metricsProtocol: 'grpc', metricsUrl: grpc.url, logsProtocol: 'grpc', logsUrl: grpc.url });
      assertGauges(grpc.points().filter((p) => p.request >= start), 'insecure');
      assertAlert(grpc.logRecords().filter((r) => r.request >= start), 'insecure');
    });
  }

  it('the default endpoint is http://localhost:4317, nothing appended', async () => {
    // Only the logs endpoint is set: metrics fall back to the spec's default (nothing listens there; never exported).
    await withOtelEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: grpc.url }, async () => {
      telemetry = await startTelemetry({ metricExportIntervalMillis: 600_000 });
    });
    assert.deepEqual(telemetry!.otlp, { metricsProtocol: 'grpc', metricsUrl: 'http://localhost:4317', logsProtocol: 'grpc', logsUrl: grpc.url });
  });

  it('refuses a bad protocol or metadata key with a clear error, naming the setting, echoing no secret', async () => {
    await withOtelEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: grpc.url, OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'grcp' }, async () => {
      await assert.rejects(startTelemetry(), (e: Error) => e instanceof RangeError && /OTEL_EXPORTER_OTLP_LOGS_PROTOCOL must be http\/protobuf, http\/json or grpc, got "grcp"/.test(e.message));
    });
    await assert.rejects(
      startTelemetry({ otlp: { endpoint: grpc.url, protocol: 'gRPC' as 'grpc' } }),
      (e: Error) => e instanceof RangeError && /otlp\.protocol must be http\/protobuf, http\/json or grpc, got "gRPC"/.test(e.message),
    );
    await assert.rejects(startTelemetry({ otlp: { endpoint: 'grpc://collector:4317', protocol: 'grpc' } }), /otlp\.endpoint: expected an http:\/\/ or https:\/\/ URL/);
    await withOtelEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'grpc://admin:hunter2@collector:4317' }, async () => {
      await assert.rejects(startTelemetry(), (e: Error) => {
        assert.ok(e instanceof RangeError);
        assert.match(e.message, /OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: expected an http:\/\/ or https:\/\/ URL, host:port \(TLS\) or a unix: socket for grpc/);
        assert.doesNotMatch(e.message, /hunter2/);
        return true;
      });
    });
    await assert.rejects(startTelemetry({ otlp: { endpoint: grpc.url, protocol: 'grpc', headers: { 'bad key': 'hunter2' } } }), (e: Error) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /otlp\.headers: "bad key" cannot be sent as gRPC metadata/);
      assert.doesNotMatch(e.message, /hunter2/);
      return true;
    });
  });
});

describe('startTelemetry over OTLP/gRPC with TLS', () => {
  let certs: TestCertificates;
  let grpc: OtlpGrpcReceiver;
  let telemetry: Telemetry | undefined;
  before(async () => {
    certs = makeTestCertificates();
    grpc = await startOtlpGrpcReceiver({ tls: { cert: certs.server.cert, key: certs.server.key }, ports: PORTS });
  });
  afterEach(async () => {
    await telemetry?.shutdown();
    telemetry = undefined;
  });
  after(async () => {
    await grpc.close();
    certs.dispose();
  });

  // The receiver speaks TLS only: an export that arrives went over TLS, verified against the CA.
  for (const [what, endpoint] of [
    ['https://', () => grpc.url],
    ['no scheme, OTEL_EXPORTER_OTLP_INSECURE unset', () => `127.0.0.1:${grpc.port}`],
  ] as const) {
    it(`${what}: TLS, verified with OTEL_EXPORTER_OTLP_CERTIFICATE`, async () => {
      const start = grpc.requests.length;
      // The exporter reads the certificate at its first export: the variables stay set until then.
      await withOtelEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint(), OTEL_EXPORTER_OTLP_CERTIFICATE: certs.ca.certFile }, async () => {
        telemetry = await startTelemetry({ metricExportIntervalMillis: 60_000 });
        await feed(telemetry, 'tls');
      });
      assert.deepEqual(telemetry!.otlp, { metricsProtocol: 'grpc', metricsUrl: grpc.url, logsProtocol: 'grpc', logsUrl: grpc.url });
      assertGauges(grpc.points().filter((p) => p.request >= start), 'tls');
      assertAlert(grpc.logRecords().filter((r) => r.request >= start), 'tls');
    });
  }
});

describe('the gRPC exporters are loaded only when gRPC is chosen', () => {
  let grpc: OtlpGrpcReceiver;
  let http: OtlpReceiver;
  before(async () => {
    grpc = await startOtlpGrpcReceiver({ ports: PORTS });
    http = await startOtlpReceiver();
  });
  after(async () => {
    await grpc.close();
    await http.close();
  });

  // A resolve hook (module.registerHooks: both import and require) records every gRPC package the child loads.
  const hook = [
    "const seen = new Set();",
    "require('node:module').registerHooks({ resolve(specifier, context, next) {",
    "  const r = next(specifier, context);",
    "  const m = /node_modules\\/(@grpc\\/grpc-js|@opentelemetry\\/[a-z-]*grpc[a-z-]*)\\//.exec(r.url);",
    "  if (m) seen.add(m[1]);",
    "  return r; } });",
  ].join('\n');
  const body = (load: string) =>
    [
      hook,
      '(async () => {',
      `  const { startTelemetry } = await ${load};`,
      "  const t = await startTelemetry({ otlp: { endpoint: process.env.ENDPOINT, protocol: process.env.PROTOCOL }, metricExportIntervalMillis: 600000 });",
      "  t.monitor.updateLag('lazy-' + process.env.PROTOCOL, 10, 0, 40);",
      '  await t.shutdown();',
      '  console.log(JSON.stringify([...seen].sort()));',
      '})();',
    ].join('\n');
  const entries = [
    // The source, as ESM (require is made available for the hook).
    ['src (ESM)', ['--input-type=module', '-e', `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);\n${body("import('./src/sdk/index.ts')")}`]],
    ['dist/esm (import)', ['--input-type=module', '-e', `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);\n${body("import('otel-replication-lag/sdk')")}`]],
    ['dist/cjs (require)', ['-e', body("Promise.resolve(require('otel-replication-lag/sdk'))")]],
  ] as const;
  const GRPC_PACKAGES = ['@grpc/grpc-js', '@opentelemetry/exporter-logs-otlp-grpc', '@opentelemetry/exporter-metrics-otlp-grpc', '@opentelemetry/otlp-grpc-exporter-base'];

  it('the built entries exist (npm run build)', () => {
    for (const file of ['dist/esm/sdk/grpc.js', 'dist/cjs/sdk/grpc.js']) assert.ok(existsSync(join(REPO_ROOT, file)), `${file} missing: run npm run build`);
  });

  for (const [name, args] of entries) {
    it(`${name}: http/protobuf loads none of them; grpc loads them and exports`, async () => {
      const viaHttp = await runNode(args, { env: { ENDPOINT: http.url, PROTOCOL: 'http/protobuf' }, timeoutMs: 30_000 });
      assert.equal(viaHttp.code, 0, viaHttp.stderr);
      assert.deepEqual(JSON.parse(viaHttp.stdout), [], 'http/protobuf must not load any gRPC module');
      assert.ok(http.points('replication.lag').some((p) => p.attributes['replication.node.id'] === 'lazy-http/protobuf'), 'the http child did not export');

      const start = grpc.requests.length;
      const viaGrpc = await runNode(args, { env: { ENDPOINT: grpc.url, PROTOCOL: 'grpc' }, timeoutMs: 30_000 });
      assert.equal(viaGrpc.code, 0, viaGrpc.stderr);
      assert.deepEqual(JSON.parse(viaGrpc.stdout), GRPC_PACKAGES, 'the hook must see the gRPC modules when grpc is chosen');
      assert.ok(grpc.points('replication.lag').some((p) => p.request >= start && p.attributes['replication.node.id'] === 'lazy-grpc'), 'metrics did not arrive over gRPC');
      assert.ok(grpc.logRecords().some((r) => r.request >= start && r.attributes['replication.node.id'] === 'lazy-grpc'), 'the alert event did not arrive over gRPC');
    });
  }
});
