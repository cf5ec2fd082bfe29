/**
 * One OTLP endpoint check: the same endpoint and protocol get the same verdict as a flag (`--otlp-endpoint`), in the
 * file (`export.otlp.endpoint`), in the environment (OTEL_EXPORTER_OTLP_ENDPOINT) and through the library's
 * startTelemetry; an endpoint that can never work is refused before anything starts, naming where it came from.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCliArgs } from '../../src/cli/args.ts';
import { parseFleetConfig } from '../../src/cli/config.ts';
import { ConfigError } from '../../src/cli/problems.ts';
import { startTelemetry } from '../../src/sdk/index.ts';
import { withOtelEnv } from '../helpers/otel-env.ts';
import { runNode } from '../helpers/run-node.ts';

type Protocol = 'http/protobuf' | 'http/json' | 'grpc';

/** [endpoint, protocol, accepted]. */
const CASES: [string, Protocol, boolean][] = [
  ['http://127.0.0.1:4318', 'http/protobuf', true],
  ['https://collector.example:4318/otlp', 'http/json', true],
  ['http://127.0.0.1:4317', 'grpc', true],
  ['collector.example:4317', 'grpc', true],
  ['[::1]:4317', 'grpc', true],
  ['unix:/run/otel.sock', 'grpc', true],
  ['collector.example:4318', 'http/protobuf', false],
  ['collector.example:4318', 'http/json', false],
  ['unix:/run/otel.sock', 'http/protobuf', false],
  ['ftp://collector.example:4318', 'http/protobuf', false],
  ['ftp://collector.example:4317', 'grpc', false],
  ['http://', 'http/protobuf', false],
  ['not an endpoint', 'grpc', false],
];

/** Whether `run` accepts; the problem line when it refuses. */
function verdict(run: () => unknown): { ok: boolean; line?: string } {
  try {
    run();
    return { ok: true };
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return { ok: false, line: error.lines().join('\n') };
  }
}

describe('the OTLP endpoint check', () => {
  for (const [endpoint, protocol, accepted] of CASES) {
    it(`${endpoint} over ${protocol}: ${accepted ? 'accepted' : 'refused'} alike by flag, file, environment and startTelemetry`, async () => {
      const flag = verdict(() => parseCliArgs(['--otlp-endpoint', endpoint, '--otlp-protocol', protocol]));
      const file = verdict(() => parseFleetConfig(`export: { otlp: { endpoint: ${JSON.stringify(endpoint)}, protocol: ${protocol} } }\nsources: [{ name: a, type: demo }]\n`, { env: {}, file: 'c.yaml' }));
      const env = verdict(() => parseCliArgs([], { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: protocol }));
      let library: boolean;
      try {
        const telemetry = await withOtelEnv({}, () => startTelemetry({ otlp: { endpoint, protocol }, prometheus: false, metricExportIntervalMillis: 3_600_000 }));
        await telemetry.shutdown({ timeoutMillis: 500 });
        library = true;
      } catch (error) {
        assert.ok(error instanceof RangeError, String(error));
        assert.match(error.message, /^otlp\.endpoint: expected /);
        library = false;
      }
      assert.deepEqual([flag.ok, file.ok, env.ok, library], [accepted, accepted, accepted, accepted]);
      if (!accepted) {
        assert.match(flag.line!, /^--otlp-endpoint: expected /);
        assert.match(file.line!, /^c\.yaml:1:\d+: export\.otlp\.endpoint: expected /);
        assert.match(env.line!, /^OTEL_EXPORTER_OTLP_ENDPOINT: expected /);
        const message = (line: string) => line.slice(line.indexOf('expected '));
        assert.equal(message(flag.line!), message(file.line!), 'the same words');
        assert.equal(message(flag.line!), message(env.line!), 'the same words');
      }
    });
  }

  it('a per-signal variable is checked with its signal\'s protocol', () => {
    const env = verdict(() => parseCliArgs([], { OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'collector:4318', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'collector:4317', OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc' }));
    assert.equal(env.ok, false);
    assert.match(env.line!, /^OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: expected .* for http\/protobuf/);
    assert.doesNotMatch(env.line!, /METRICS/);
  });

  it('OTEL_EXPORTER_OTLP_ENDPOINT=collector:4318 replag demo: exit 2 before anything starts, naming the variable', async () => {
    const result = await runNode(['src/cli/replag.ts', 'demo', '--duration', '1', '--output', 'plain'], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' } });
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^replag: OTEL_EXPORTER_OTLP_ENDPOINT: expected an http:\/\/ or https:\/\/ URL such as http:\/\/collector:4318 for http\/protobuf \(host:port without a scheme works only with grpc\), got "collector:4318"$/m);
    assert.doesNotMatch(result.stderr, /watching/);
  });
});
