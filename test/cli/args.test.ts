import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCliArgs } from '../../src/cli/args.ts';

describe('replag arguments', () => {
  it('defaults to the demo on 4 simulated followers, 1 s polls, running until stopped', () => {
    const o = parseCliArgs([]);
    assert.equal(o.command, 'run');
    assert.deepEqual(o.source, { kind: 'demo', nodes: 4 });
    assert.equal(o.timeoutMs, undefined);
    assert.equal(o.intervalMs, 1000);
    assert.equal(o.durationSeconds, 0);
    assert.equal(o.prometheusPort, undefined);
    assert.equal(o.output, 'auto');
    assert.equal(o.tls, undefined, 'no TLS flags: the URL decides');
  });

  it('collects the --tls-* flags for database commands', () => {
    assert.deepEqual(parseCliArgs(['postgres', '--url', 'postgres://db/x', '--tls-ca', '/etc/ca.pem']).tls, { caFile: '/etc/ca.pem', insecure: false });
    assert.deepEqual(
      parseCliArgs(['mysql', '--primary', 'mysql://m@p', '--replica', 'mysql://m@r', '--tls-ca', 'ca.pem', '--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--tls-server-name', 'db.internal']).tls,
      { caFile: 'ca.pem', certFile: 'c.pem', keyFile: 'k.pem', serverName: 'db.internal', insecure: false },
    );
    assert.deepEqual(parseCliArgs(['redis', '--url', 'rediss://r:6380', '--tls-insecure']).tls, { insecure: true });
  });

  it('parses every flag', () => {
    const o = parseCliArgs(['demo', '--nodes', '1000', '--interval', '250', '--duration', '3', '--otlp-endpoint', 'http://127.0.0.1:4318', '--otlp-protocol', 'http/json',
      '--export-interval', '500', '--prometheus-port', '29464', '--prometheus-host', '127.0.0.1', '--http-port', '29465', '--http-host', '0.0.0.0', '--service-name', 's', '--warning', '2', '--critical', '9', '--stall', '4', '--output', 'plain']);
    assert.deepEqual(o, {
      command: 'run', source: { kind: 'demo', nodes: 1000 }, tls: undefined, intervalMs: 250, timeoutMs: undefined, durationSeconds: 3, otlpEndpoint: 'http://127.0.0.1:4318', otlpProtocol: 'http/json', prometheusPort: 29464,
      prometheusHost: '127.0.0.1', http: { port: 29465, host: '0.0.0.0' }, serviceName: 's', warningSeconds: 2, criticalSeconds: 9, stallSeconds: 4, exportIntervalMs: 500, output: 'plain',
      shutdownTimeoutMs: 10_000,
    });
    assert.equal(parseCliArgs(['--help']).command, 'help');
    assert.equal(parseCliArgs(['--version']).command, 'version');
    // The status endpoints' own port: host 127.0.0.1 by default; a host alone is refused.
    assert.deepEqual(parseCliArgs(['--http-port', '9465']).http, { port: 9465, host: '127.0.0.1' });
    assert.equal(parseCliArgs([]).http, undefined);
    assert.throws(() => parseCliArgs(['--http-host', '0.0.0.0']), /--http-host needs --http-port/);
    assert.throws(() => parseCliArgs(['--http-port', '70000']), /--http-port/);
  });

  it('accepts every OTLP protocol startTelemetry speaks, grpc included', () => {
    for (const protocol of ['http/protobuf', 'http/json', 'grpc'] as const) {
      assert.equal(parseCliArgs(['demo', '--otlp-endpoint', 'http://collector:4317', '--otlp-protocol', protocol]).otlpProtocol, protocol);
    }
  });

  it('--shutdown-timeout takes 10s, 2500ms or seconds, > 0 and at most an hour, default 10 s', () => {
    assert.equal(parseCliArgs([]).shutdownTimeoutMs, 10_000);
    assert.equal(parseCliArgs(['--shutdown-timeout', '25s']).shutdownTimeoutMs, 25_000);
    assert.equal(parseCliArgs(['--shutdown-timeout', '2500ms']).shutdownTimeoutMs, 2500);
    assert.equal(parseCliArgs(['--shutdown-timeout', '1.5']).shutdownTimeoutMs, 1500);
    for (const bad of ['0', '0s', '-1s', 'soon', '10m', '', '3601s']) {
      assert.throws(() => parseCliArgs([`--shutdown-timeout=${bad}`]), (e: Error) => e instanceof RangeError && e.message.startsWith('--shutdown-timeout must be') && e.message.includes(JSON.stringify(bad)));
    }
  });

  it('--replica-timeout applies to mysql only, in milliseconds > 0', () => {
    const base = ['mysql', '--primary', 'mysql://p', '--replica', 'mysql://r'];
    assert.deepEqual(parseCliArgs([...base, '--replica-timeout', '250']).source, { kind: 'mysql', primary: 'mysql://p', replicas: ['mysql://r'], replicaTimeoutMs: 250 });
    assert.deepEqual(parseCliArgs(base).source, { kind: 'mysql', primary: 'mysql://p', replicas: ['mysql://r'] });
    assert.throws(() => parseCliArgs([...base, '--replica-timeout', '0']), /--replica-timeout/);
    assert.throws(() => parseCliArgs(['postgres', '--url', 'postgres://h/db', '--replica-timeout', '250']), /--replica-timeout applies to mysql, not to postgres/);
  });

  it('--subscriber (repeatable) applies to postgres only', () => {
    const base = ['postgres', '--url', 'postgres://p/db'];
    assert.deepEqual(parseCliArgs([...base, '--subscriber', 'postgres://s1/db', '--subscriber', ' postgres://s2/db ']).source, {
      kind: 'postgres',
      url: 'postgres://p/db',
      subscribers: ['postgres://s1/db', 'postgres://s2/db'],
    });
    assert.throws(() => parseCliArgs([...base, '--subscriber', ' ']), /--subscriber needs a postgres:\/\/ URL/);
    assert.throws(() => parseCliArgs(['mysql', '--primary', 'mysql://p', '--replica', 'mysql://r', '--subscriber', 'postgres://s/db']), /--subscriber applies to postgres, not to mysql/);
  });

  it('parses each database command with its own flags', () => {
    assert.deepEqual(parseCliArgs(['postgres', '--url', 'postgres://monitor@db1:5432/postgres', '--timeout', '2500']).source, { kind: 'postgres', url: 'postgres://monitor@db1:5432/postgres' });
    assert.equal(parseCliArgs(['postgres', '--url', 'postgres://db1/x', '--timeout', '2500']).timeoutMs, 2500);
    assert.deepEqual(parseCliArgs(['redis', '--url', 'redis://db2:6379']).source, { kind: 'redis', url: 'redis://db2:6379' });
    assert.deepEqual(parseCliArgs(['etcd', '--endpoints', 'http://e1:2379, http://e2:2379']).source, { kind: 'etcd', endpoints: ['http://e1:2379', 'http://e2:2379'] });
    assert.deepEqual(parseCliArgs(['mysql', '--primary', 'mysql://m@p:3306', '--replica', 'mysql://m@r1:3306', '--replica', 'mysql://m@r2:3306']).source, {
      kind: 'mysql',
      primary: 'mysql://m@p:3306',
      replicas: ['mysql://m@r1:3306', 'mysql://m@r2:3306'],
    });
    assert.deepEqual(parseCliArgs(['redis', '--sentinel', 'redis://s1:26379', '--sentinel', 'redis://s2:26379', '--master-name', 'cache']).source, {
      kind: 'redis',
      sentinels: ['redis://s1:26379', 'redis://s2:26379'],
      masterName: 'cache',
    });
    assert.equal(parseCliArgs(['postgres', '--help']).command, 'help', '--help needs no --url');
  });

  it('names the bad flag', () => {
    const cases: [string[], RegExp][] = [
      [['--nodes', '0'], /--nodes must be a positive integer, got "0"/],
      [['--nodes', '2.5'], /--nodes/],
      [['--interval', 'fast'], /--interval/],
      [['--prometheus-port', '70000'], /--prometheus-port/],
      [['--otlp-protocol', 'grpcs'], /--otlp-protocol must be http\/protobuf, http\/json or grpc, got "grpcs"/],
      [['--output', 'fancy'], /--output/],
      [['--bogus'], /bogus/],
      [['watch-everything'], /unknown command "watch-everything" \(commands: demo, postgres, redis, etcd, mysql\)/],
      [['postgres'], /postgres needs --url/],
      [['redis', '--url', '  '], /redis needs --url/],
      [['etcd'], /etcd needs --endpoints/],
      [['etcd', '--endpoints', 'http://a:2379,,http://b:2379'], /--endpoints must be a comma-separated list/],
      [['mysql', '--primary', 'mysql://p:3306'], /mysql needs at least one --replica/],
      [['mysql', '--replica', 'mysql://r:3306'], /mysql needs --primary/],
      [['demo', '--url', 'postgres://db:5432/x'], /--url applies to postgres and redis, not to demo/],
      [['postgres', '--url', 'postgres://db/x', '--nodes', '3'], /--nodes applies to demo, not to postgres/],
      [['redis', '--url', 'redis://r:6379', '--replica', 'redis://x:6379'], /--replica applies to mysql, not to redis/],
      [['postgres', '--url', 'postgres://db/x', '--timeout', '0'], /--timeout must be a number of milliseconds > 0/],
      [['demo', 'extra'], /unexpected argument "extra"/],
      [['redis', '--sentinel', 'redis://s:26379'], /redis --sentinel needs --master-name/],
      [['redis', '--master-name', 'cache'], /redis --master-name needs at least one --sentinel URL/],
      [['redis', '--url', 'redis://r', '--sentinel', 'redis://s:26379', '--master-name', 'c'], /either --url or --sentinel with --master-name, not both/],
      [['postgres', '--url', 'postgres://db/x', '--sentinel', 'redis://s:26379'], /--sentinel applies to redis, not to postgres/],
      [['demo', '--tls-ca', 'ca.pem'], /--tls-ca applies to postgres, redis, etcd and mysql, not to demo/],
      [['redis', '--url', 'rediss://r', '--tls-cert', 'c.pem'], /--tls-cert and --tls-key go together/],
      [['redis', '--url', 'rediss://r', '--tls-key', 'k.pem'], /--tls-cert and --tls-key go together/],
      [['redis', '--url', 'rediss://r', '--tls-ca', ' '], /--tls-ca needs a value/],
      [['redis', '--url', 'rediss://r', '--tls-insecure=yes'], /tls-insecure/],
    ];
    for (const [argv, message] of cases) assert.throws(() => parseCliArgs(argv), message, argv.join(' '));
  });
});
