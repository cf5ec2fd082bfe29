/**
 * startTelemetry over the wire: the real OTLP/HTTP exporters (json and protobuf) send to a real HTTP server on
 * 127.0.0.1, which decodes protobuf with the OTLP schema. Nothing in the export path is mocked.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { context, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { startTelemetry, type Telemetry } from '../../src/sdk/index.ts';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../../src/version.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedPoint } from '../harness/otlp-receiver.ts';
import { withOtelEnv } from '../helpers/otel-env.ts';

const GAUGES = [
  ['replication.lag', '{entry}'],
  ['replication.delay', 's'],
  ['replication.delay.predicted', 's'],
  ['replication.apply.rate', '{entry}/s'],
  ['replication.severity', '1'],
] as const;

/** A clock the test moves, so prediction and stall behaviour do not depend on wall time. */
function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('startTelemetry over OTLP/HTTP', () => {
  let receiver: OtlpReceiver;
  let telemetry: Telemetry | undefined;
  before(async () => {
    receiver = await startOtlpReceiver();
  });
  afterEach(async () => {
    await telemetry?.shutdown();
    telemetry = undefined;
  });
  after(async () => {
    await receiver.close();
  });

  for (const protocol of ['http/protobuf', 'http/json'] as const) {
    const encoding = protocol === 'http/json' ? 'json' : 'protobuf';

    it(`${protocol}: exports the five gauges and the alert counter with units, attributes, scope and resource`, async () => {
      const start = receiver.requests.length;
      const clock = fakeClock();
      await withOtelEnv({ OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=staging,team=storage' }, async () => {
        telemetry = await startTelemetry({
          serviceName: `lag-${encoding}`,
          otlp: { endpoint: receiver.url, protocol },
          metricExportIntervalMillis: 60_000,
          instrumentation: { now: clock.now },
        });
      });
      const t = telemetry!;
      t.monitor.registerNode('replica-1', { region: 'eu-west-1', shard: 7, voter: true });
      // Six updates a second apart: the follower applies 80 entries/s while the leader writes 100/s.
      for (let i = 0; i < 6; i++) {
        t.monitor.updateLag('replica-1', 1000 + 100 * i, 900 + 80 * i, 10 + 2 * i);
        clock.advance(1000);
      }
      const status = t.monitor.getStatus('replica-1')!;
      assert.equal(status.severity, 'warning');
      assert.ok(status.predictedLagSeconds !== undefined && status.replicationRate > 0);
      await t.forceFlush();

      // The SDK's own metrics (otel.sdk.*, see alert-accounting.test.ts) come under the SDK's scopes.
      const points = receiver.points().filter((p) => p.request >= start && !p.metric.startsWith('otel.sdk.'));
      assert.ok(points.length > 0, 'no metrics arrived');
      for (const p of points) {
        assert.equal(p.encoding, encoding);
        assert.deepEqual(p.scope, { name: PACKAGE_NAME, version: PACKAGE_VERSION });
        assert.equal(p.resource['service.name'], `lag-${encoding}`);
        assert.equal(p.resource['telemetry.sdk.language'], 'nodejs');
        assert.equal(p.resource['telemetry.sdk.name'], 'opentelemetry');
        assert.equal(typeof p.resource['telemetry.sdk.version'], 'string');
        assert.equal(p.resource['deployment.environment.name'], 'staging');
        assert.equal(p.resource.team, 'storage');
        assert.equal(p.resource['process.pid'], process.pid);
        assert.equal(p.resource['process.command_line'], undefined, 'the command line may hold credentials');
        assert.equal(p.resource['process.command_args'], undefined);
      }
      const byMetric = (name: string) => points.filter((p) => p.metric === name);
      const nodeAttrs = { 'replication.node.id': 'replica-1', region: 'eu-west-1', shard: 7, voter: true };
      for (const [name, unit] of GAUGES) {
        const ps = byMetric(name);
        assert.ok(ps.length > 0, `${name} missing`);
        for (const p of ps) {
          assert.equal(p.kind, 'gauge', name);
          assert.equal(p.unit, unit, name);
          assert.ok(Number.isFinite(p.value), `${name} not finite`);
        }
      }
      const one = (name: string) => {
        const ps = byMetric(name);
        assert.equal(ps.length, 1, name);
        assert.deepEqual(ps[0]!.attributes, nodeAttrs, name);
        return ps[0]!.value;
      };
      assert.equal(one('replication.lag'), status.lagEntries);
      assert.equal(one('replication.delay'), status.lagSeconds);
      assert.equal(one('replication.delay.predicted'), status.predictedLagSeconds);
      assert.equal(one('replication.apply.rate'), status.replicationRate);

      const states = byMetric('replication.severity');
      assert.deepEqual(
        states.map((p) => [p.attributes['replication.severity'], p.value]).sort(),
        [['critical', 0], ['normal', 0], ['stalled', 0], ['warning', 1]],
      );
      for (const p of states) assert.deepEqual({ ...p.attributes, 'replication.severity': undefined }, { ...nodeAttrs, 'replication.severity': undefined });

      const alerts = byMetric('replication.alerts');
      assert.equal(alerts.length, 1);
      assert.equal(alerts[0]!.kind, 'sum');
      assert.equal(alerts[0]!.monotonic, true);
      assert.equal(alerts[0]!.unit, '{alert}');
      assert.equal(alerts[0]!.value, 1);
      assert.deepEqual(alerts[0]!.attributes, { 'replication.node.id': 'replica-1', 'replication.severity': 'warning' });
    });

    it(`${protocol}: alert events arrive as log records with event name, severity, body, attributes and trace context`, async () => {
      const start = receiver.requests.length;
      const clock = fakeClock();
      const contextManager = new AsyncLocalStorageContextManager().enable();
      context.setGlobalContextManager(contextManager);
      try {
        telemetry = await startTelemetry({
          serviceName: 'events',
          otlp: { endpoint: receiver.url, protocol },
          metricExportIntervalMillis: 60_000,
          instrumentation: { now: clock.now, alertCooldownSeconds: 0 },
        });
        const t = telemetry;
        const spanContext = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED };
        context.with(trace.setSpanContext(context.active(), spanContext), () => {
          t.monitor.updateLag('db-2', 500, 400, 6); // warning
          t.monitor.updateLag('db-2', 500, 400, 45); // critical
        });
        t.monitor.updateLag('db-2', 500, 500, 0); // resolved, outside any span
      } finally {
        context.disable();
      }
      await telemetry.forceFlush();

      const records = receiver.logRecords().filter((r) => r.request >= start);
      assert.deepEqual(
        records.map((r) => [r.eventName, r.severityNumber, r.severityText, r.attributes['replication.severity'], r.attributes['replication.severity.previous']]),
        [
          ['replication.alert', 13, 'WARN', 'warning', 'normal'],
          ['replication.alert', 17, 'ERROR', 'critical', 'warning'],
          ['replication.alert', 9, 'INFO', 'normal', 'critical'],
        ],
      );
      const [warning, critical, resolved] = records;
      assert.equal(critical!.body, telemetry.monitor.getAlerts()[1]!.message);
      assert.match(String(critical!.body), /db-2/);
      assert.deepEqual(critical!.attributes, {
        'replication.node.id': 'db-2',
        'replication.severity': 'critical',
        'replication.severity.previous': 'warning',
        'replication.lag': 100,
        'replication.delay': 45,
      });
      assert.equal(warning!.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
      assert.equal(warning!.spanId, '00f067aa0ba902b7');
      assert.equal(critical!.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
      assert.equal(resolved!.traceId, '', 'an alert outside a span carries no trace id');
      assert.equal(warning!.resource['service.name'], 'events');
      assert.deepEqual(warning!.scope, { name: PACKAGE_NAME, version: PACKAGE_VERSION });
      assert.ok(/^\d+$/.test(warning!.timeUnixNano) && warning!.timeUnixNano !== '0');
    });

    it(`${protocol}: shutdown flushes the last metrics and pending alert events`, async () => {
      const start = receiver.requests.length;
      const t = await startTelemetry({ otlp: { endpoint: receiver.url, protocol }, metricExportIntervalMillis: 600_000 });
      t.monitor.updateLag('flush-me', 10, 0, 40);
      assert.equal(receiver.requests.length, start, 'nothing should be sent before shutdown with a 10-minute interval');
      await t.shutdown();
      await t.shutdown(); // idempotent
      const after = receiver.requests.slice(start);
      assert.ok(after.some((r) => r.signal === 'metrics'), 'metrics not flushed on shutdown');
      assert.ok(after.some((r) => r.signal === 'logs'), 'alert events not flushed on shutdown');
      assert.equal(receiver.points('replication.lag').filter((p) => p.request >= start && p.attributes['replication.node.id'] === 'flush-me')[0]?.value, 10);
      assert.equal(receiver.logRecords().filter((r) => r.request >= start)[0]?.attributes['replication.severity'], 'critical');
    });

    it(`${protocol}: an unregistered node is gone from the next export of every gauge`, async () => {
      const start = receiver.requests.length;
      telemetry = await startTelemetry({ otlp: { endpoint: receiver.url, protocol }, metricExportIntervalMillis: 100 });
      const t = telemetry;
      const clock = { n: 0 };
      const feed = () => {
        clock.n++;
        t.monitor.updateLag('stays', 100 * clock.n, 100 * clock.n - 5);
        if (t.monitor.getStatus('leaves') !== undefined || clock.n < 3) t.monitor.updateLag('leaves', 100 * clock.n, 100 * clock.n - 9);
      };
      for (let i = 0; i < 6; i++) feed();
      const hasNode = (ps: ReceivedPoint[], node: string) => ps.some((p) => p.attributes['replication.node.id'] === node);
      await receiver.waitFor('an export with both nodes', () => {
        const ps = receiver.points('replication.lag').filter((p) => p.request >= start);
        return hasNode(ps, 'leaves') && hasNode(ps, 'stays');
      });
      assert.equal(t.monitor.unregisterNode('leaves'), true);
      const cut = receiver.requests.length;
      feed();
      await receiver.waitFor('two exports after unregistering', () => receiver.requests.filter((r, i) => i >= cut && r.signal === 'metrics').length >= 2);
      const later = receiver.points().filter((p) => p.request >= cut + 1);
      for (const [name] of GAUGES.filter(([n]) => n !== 'replication.delay.predicted')) {
        const ps = later.filter((p) => p.metric === name);
        assert.ok(hasNode(ps, 'stays'), `${name}: the remaining node must still be exported`);
        assert.ok(!hasNode(ps, 'leaves'), `${name}: the unregistered node must be gone`);
      }
    });
  }

  it('reads endpoint, protocol, headers, service name, resource attributes and interval from the standard environment', async () => {
    const start = receiver.requests.length;
    await withOtelEnv(
      {
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${receiver.url}/v1/metrics`,
        OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${receiver.url}/v1/logs`,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=s3cr3t-token,x-tenant=ops',
        OTEL_SERVICE_NAME: 'from-env',
        OTEL_RESOURCE_ATTRIBUTES: 'k8s.namespace.name=db',
        OTEL_METRIC_EXPORT_INTERVAL: '100',
      },
      async () => {
        telemetry = await startTelemetry();
      },
    );
    const t = telemetry!;
    assert.deepEqual(t.otlp, { metricsProtocol: 'http/json', metricsUrl: `${receiver.url}/v1/metrics`, logsProtocol: 'http/json', logsUrl: `${receiver.url}/v1/logs` });
    t.monitor.updateLag('env-node', 50, 10, 31);
    // The 100 ms interval comes from OTEL_METRIC_EXPORT_INTERVAL: metrics arrive without any flush.
    const point = await receiver.waitFor('a metric export driven by OTEL_METRIC_EXPORT_INTERVAL', () =>
      receiver.points('replication.lag').find((p) => p.request >= start && p.attributes['replication.node.id'] === 'env-node'),
    );
    assert.equal(point.encoding, 'json');
    assert.equal(point.resource['service.name'], 'from-env');
    assert.equal(point.resource['k8s.namespace.name'], 'db');
    await receiver.waitFor('the alert event', () => receiver.logRecords().some((r) => r.request >= start));
    for (const r of receiver.requests.slice(start)) {
      assert.equal(r.headers['x-api-key'], 's3cr3t-token', `${r.signal} request lacks the configured header`);
      assert.equal(r.headers['x-tenant'], 'ops');
    }
  });

  it('explicit options win over the environment', async () => {
    const start = receiver.requests.length;
    await withOtelEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'env-name' }, async () => {
      telemetry = await startTelemetry({ serviceName: 'explicit', otlp: { endpoint: receiver.url, protocol: 'http/protobuf' }, metricExportIntervalMillis: 60_000 });
    });
    telemetry!.monitor.updateLag('x', 2, 1);
    await telemetry!.forceFlush();
    const p = receiver.points('replication.lag').find((q) => q.request >= start);
    assert.equal(p?.encoding, 'protobuf');
    assert.equal(p?.resource['service.name'], 'explicit');
  });

  it('without any endpoint it runs locally: no OTLP, the monitor still works', async () => {
    const start = receiver.requests.length;
    await withOtelEnv({}, async () => {
      telemetry = await startTelemetry({ metricExportIntervalMillis: 50 });
    });
    assert.equal(telemetry!.otlp, undefined);
    assert.equal(telemetry!.monitor.updateLag('solo', 10, 5, 1).lagEntries, 5);
    await new Promise((r) => setTimeout(r, 200));
    await telemetry!.forceFlush();
    assert.equal(receiver.requests.length, start);
  });

  it('an unreachable collector never breaks the host: updates go on and shutdown resolves', async () => {
    const dead = await startOtlpReceiver();
    const url = dead.url;
    await dead.close();
    const t = await startTelemetry({ otlp: { endpoint: url, timeoutMillis: 2000 }, metricExportIntervalMillis: 50 });
    for (let i = 1; i <= 20; i++) assert.equal(t.monitor.updateLag('n', i * 10, i * 10 - 3, i).lagEntries, 3);
    await new Promise((r) => setTimeout(r, 200));
    await t.shutdown();
  });

  it('refuses what it cannot do, naming the setting, and never echoes credentials', async () => {
    await withOtelEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' }, async () => {
      await assert.rejects(startTelemetry(), (e: Error) => e instanceof RangeError && /OTEL_EXPORTER_OTLP_PROTOCOL must be/.test(e.message));
    });
    await withOtelEnv({ OTEL_METRIC_EXPORT_INTERVAL: 'soon' }, async () => {
      await assert.rejects(startTelemetry(), (e: Error) => e instanceof RangeError && /OTEL_METRIC_EXPORT_INTERVAL/.test(e.message));
    });
    await assert.rejects(startTelemetry({ otlp: { endpoint: 'ftp://admin:hunter2@collector:21/x?token=abc' } }), (e: Error) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /otlp\.endpoint/);
      assert.doesNotMatch(e.message, /hunter2|token=abc/);
      return true;
    });
    await assert.rejects(startTelemetry({ metricExportIntervalMillis: -5 }), /metricExportIntervalMillis/);
    await assert.rejects(startTelemetry({ cardinalityLimit: 0 }), /cardinalityLimit/);
  });

  it('reports where OTLP goes without the credentials embedded in the URL', async () => {
    telemetry = await startTelemetry({ otlp: { endpoint: 'http://user:pa55word@127.0.0.1:4999/base?api_key=k' }, metricExportIntervalMillis: 60_000 });
    assert.equal(telemetry.otlp?.metricsUrl, 'http://127.0.0.1:4999/base/v1/metrics');
    assert.doesNotMatch(JSON.stringify(telemetry.otlp), /pa55word|api_key/);
  });
});

describe('startTelemetry Prometheus endpoint', () => {
  it('is off by default and serves the lag with standard Prometheus names when enabled', async () => {
    const off = await withOtelEnv({}, () => startTelemetry());
    assert.equal(off.prometheusUrl, undefined);
    await off.shutdown();

    let t: Telemetry | undefined;
    for (let attempt = 0; attempt < 20 && t === undefined; attempt++) {
      const port = 30_700 + Math.floor(Math.random() * 2_000);
      try {
        t = await withOtelEnv({}, () => startTelemetry({ prometheus: { port, host: '127.0.0.1' } }));
      } catch (error) {
        if (!/EADDRINUSE/.test(String(error))) throw error;
      }
    }
    assert.ok(t, 'no free port for the Prometheus endpoint');
    try {
      t.monitor.registerNode('pg-replica', { cluster: 'main' });
      t.monitor.updateLag('pg-replica', 120, 100, 3);
      assert.match(t.prometheusUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const text = await (await fetch(t.prometheusUrl!)).text();
      assert.match(text, /^replication_lag\{[^}]*replication_node_id="pg-replica"[^}]*\} 20\b/m);
      assert.match(text, /^replication_delay_seconds\{[^}]*cluster="main"[^}]*\} 3\b/m);
      assert.match(text, /^replication_severity_ratio\{[^}]*replication_severity="normal"[^}]*\} 1\b/m);
      assert.match(text, /# TYPE replication_delay_seconds gauge/);
    } finally {
      await t.shutdown();
    }
  });
});
