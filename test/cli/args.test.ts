import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCliArgs } from '../../src/cli/args.ts';

describe('replag arguments', () => {
  it('defaults to the demo on 4 simulated followers, 1 s polls, running until stopped', () => {
    const o = parseCliArgs([]);
    assert.equal(o.command, 'demo');
    assert.equal(o.nodes, 4);
    assert.equal(o.intervalMs, 1000);
    assert.equal(o.durationSeconds, 0);
    assert.equal(o.prometheusPort, undefined);
    assert.equal(o.output, 'auto');
  });

  it('parses every flag', () => {
    const o = parseCliArgs(['demo', '--nodes', '1000', '--interval', '250', '--duration', '3', '--otlp-endpoint', 'http://127.0.0.1:4318', '--otlp-protocol', 'http/json',
      '--export-interval', '500', '--prometheus-port', '29464', '--prometheus-host', '127.0.0.1', '--service-name', 's', '--warning', '2', '--critical', '9', '--stall', '4', '--output', 'plain']);
    assert.deepEqual(o, {
      command: 'demo', nodes: 1000, intervalMs: 250, durationSeconds: 3, otlpEndpoint: 'http://127.0.0.1:4318', otlpProtocol: 'http/json', prometheusPort: 29464,
      prometheusHost: '127.0.0.1', serviceName: 's', warningSeconds: 2, criticalSeconds: 9, stallSeconds: 4, exportIntervalMs: 500, output: 'plain',
    });
    assert.equal(parseCliArgs(['--help']).command, 'help');
    assert.equal(parseCliArgs(['--version']).command, 'version');
  });

  it('names the bad flag', () => {
    const cases: [string[], RegExp][] = [
      [['--nodes', '0'], /--nodes must be a positive integer, got "0"/],
      [['--nodes', '2.5'], /--nodes/],
      [['--interval', 'fast'], /--interval/],
      [['--prometheus-port', '70000'], /--prometheus-port/],
      [['--otlp-protocol', 'grpc'], /--otlp-protocol must be http\/protobuf or http\/json/],
      [['--output', 'fancy'], /--output/],
      [['--bogus'], /bogus/],
      [['watch-everything'], /unknown command "watch-everything"/],
      [['demo', 'extra'], /unexpected argument "extra"/],
    ];
    for (const [argv, message] of cases) assert.throws(() => parseCliArgs(argv), message, argv.join(' '));
  });
});
