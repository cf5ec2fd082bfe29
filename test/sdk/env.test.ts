import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metricExportInterval, otlpEndpointConfigured, otlpProtocol, redactUrl, signalUrl } from '../../src/sdk/env.ts';

describe('standard environment variables', () => {
  it('picks the OTLP protocol: option, per-signal variable, general variable, then http/protobuf', () => {
    assert.equal(otlpProtocol({}, 'METRICS'), 'http/protobuf');
    assert.equal(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, 'METRICS'), 'http/json');
    assert.equal(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/protobuf' }, 'LOGS'), 'http/protobuf');
    assert.equal(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, 'METRICS', 'http/protobuf'), 'http/protobuf');
  });

  it('accepts grpc, per signal too, and refuses unknown protocols with the variable named and the choices listed', () => {
    assert.equal(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'METRICS'), 'grpc');
    assert.equal(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json' }, 'LOGS'), 'http/json');
    assert.equal(otlpProtocol({ OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'grpc' }, 'LOGS'), 'grpc');
    assert.equal(otlpProtocol({}, 'METRICS', 'grpc'), 'grpc');
    assert.throws(() => otlpProtocol({ OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'thrift' }, 'METRICS'), /OTEL_EXPORTER_OTLP_METRICS_PROTOCOL must be http\/protobuf, http\/json or grpc, got "thrift"/);
    assert.throws(() => otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'GRPC' }, 'LOGS'), /OTEL_EXPORTER_OTLP_PROTOCOL must be .* got "GRPC"/);
    assert.throws(() => otlpProtocol({}, 'LOGS', 'http'), /otlp\.protocol must be/);
  });

  it('knows whether an endpoint is configured', () => {
    assert.equal(otlpEndpointConfigured({}, 'METRICS'), false);
    assert.equal(otlpEndpointConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: ' ' }, 'METRICS'), false);
    assert.equal(otlpEndpointConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, 'METRICS'), true);
    assert.equal(otlpEndpointConfigured({ OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://c:4318/v1/logs' }, 'METRICS'), false);
    assert.equal(otlpEndpointConfigured({ OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://c:4318/v1/logs' }, 'LOGS'), true);
  });

  it('reads OTEL_METRIC_EXPORT_INTERVAL and rejects nonsense', () => {
    assert.equal(metricExportInterval({}), 60_000);
    assert.equal(metricExportInterval({ OTEL_METRIC_EXPORT_INTERVAL: '5000' }), 5000);
    assert.equal(metricExportInterval({ OTEL_METRIC_EXPORT_INTERVAL: '5000' }, 250), 250);
    assert.throws(() => metricExportInterval({ OTEL_METRIC_EXPORT_INTERVAL: 'soon' }), /OTEL_METRIC_EXPORT_INTERVAL/);
    assert.throws(() => metricExportInterval({}, -1), /metricExportIntervalMillis/);
  });

  it('never prints credentials of a URL', () => {
    const shown = redactUrl('https://user:s3cret@collector.example:4318/v1/metrics?api_key=s3cret#x');
    assert.equal(shown, 'https://collector.example:4318/v1/metrics');
    assert.doesNotMatch(redactUrl('not a url s3cret'), /s3cret/);
    // A password with unencoded '/', '?' or '#' would otherwise be parsed into the host, path or query.
    for (const url of ['mysql://monitor:s3c/ret@db1:3306', 'postgres://u:s3c?ret@db1/app', 'redis://:s3c#ret@cache:6379', 'mysql://u:p@ss/s3cret@db1:3306']) {
      const redacted = redactUrl(url);
      assert.doesNotMatch(redacted, /s3c|ret|ss/, `${url} → ${redacted}`);
      assert.match(redacted, /:\/\/(db1|cache)/, `${url} → ${redacted}`);
    }
  });

  it('shows libpq multi-host URLs as scheme, hosts and path, without credentials or query', () => {
    assert.equal(redactUrl('postgres://monitor:s3cret@db1:5432,db2:5432,[::1]:5433/postgres?target_session_attrs=read-write&sslmode=verify-full'), 'postgres://db1:5432,db2:5432,[::1]:5433/postgres');
    assert.equal(redactUrl('postgres://db1,db2'), 'postgres://db1,db2');
    assert.doesNotMatch(redactUrl('postgres://u:a,b@c:5432,d:5432/x'), /a,b|u:/);
  });

  it('builds signal URLs as the OTLP spec does', () => {
    assert.equal(signalUrl('http://c:4318', 'METRICS'), 'http://c:4318/v1/metrics');
    assert.equal(signalUrl('http://c:4318/otlp/', 'LOGS'), 'http://c:4318/otlp/v1/logs');
    assert.equal(signalUrl('https://c/otlp?tenant=a', 'METRICS'), 'https://c/otlp/v1/metrics?tenant=a');
  });
});
