import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCliArgs, type Invocation } from '../../src/cli/args.ts';
import type { FleetConfig, FleetSourceConfig } from '../../src/cli/fleet-config.ts';
import { ConfigError } from '../../src/cli/problems.ts';

/** Flags mode's configuration (a fleet of one) and run settings. */
function flags(argv: string[], env: Record<string, string> = {}): { config: FleetConfig; source: FleetSourceConfig; invocation: Extract<Invocation, { mode: 'flags' }> } {
  const invocation = parseCliArgs(argv, env);
  assert.ok('mode' in invocation && invocation.mode === 'flags', JSON.stringify(invocation));
  return { config: invocation.config, source: invocation.config.sources[0]!, invocation };
}

/** The one line each problem prints as. */
function refused(argv: string[]): string[] {
  try {
    parseCliArgs(argv);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.lines();
  }
  assert.fail(`accepted: ${argv.join(' ')}`);
}

describe('replag arguments', () => {
  it('defaults to the demo on 4 simulated followers, 1 s polls, running until stopped: a fleet of one named after its type', () => {
    const { config, source, invocation } = flags([]);
    assert.equal(invocation.command, 'run');
    assert.deepEqual([source.name, source.type, source.options], ['demo', 'demo', { nodes: 4 }]);
    assert.equal(source.timeoutMs, undefined);
    assert.equal(source.intervalMs, 1000);
    assert.equal(invocation.run.durationSeconds, 0);
    assert.equal(config.prometheus, undefined);
    assert.equal(config.http, undefined);
    assert.equal(invocation.run.output, 'auto');
    assert.equal(config.sources.length, 1);
  });

  it('parses every flag', () => {
    const { config, source, invocation } = flags(['demo', '--nodes', '1000', '--leader-rate', '800', '--interval', '250', '--duration', '3', '--otlp-endpoint', 'http://127.0.0.1:4318', '--otlp-protocol', 'http/json',
      '--export-interval', '500', '--prometheus-port', '29464', '--prometheus-host', '127.0.0.1', '--http-port', '29465', '--service-name', 's', '--warning', '2', '--critical', '9', '--stall', '4', '--output', 'plain']);
    assert.deepEqual(source.options, { nodes: 1000, leaderRate: 800 });
    assert.equal(source.nodeCount, 1000);
    assert.deepEqual([source.intervalMs, source.thresholds], [250, { warningSeconds: 2, criticalSeconds: 9, stallSeconds: 4 }]);
    assert.deepEqual(config.otlp, { endpoint: 'http://127.0.0.1:4318', protocol: 'http/json' });
    assert.deepEqual([config.exportIntervalMs, config.prometheus, config.http, config.serviceName], [500, { port: 29464, host: '127.0.0.1' }, { port: 29465, host: '127.0.0.1' }, 's']);
    assert.deepEqual(invocation.run, { output: 'plain', durationSeconds: 3, shutdownTimeoutMs: 10_000 });
    assert.equal(parseCliArgs(['--help']).command, 'help');
    assert.equal(parseCliArgs(['--version']).command, 'version');
  });

  it('durations take 500ms, 1s, 2m in flags as in the file; a bare number keeps the flag\'s unit', () => {
    assert.equal(flags(['--interval', '1s']).source.intervalMs, 1000);
    assert.equal(flags(['--interval', '250']).source.intervalMs, 250);
    assert.equal(flags(['postgres', '--url', 'postgres://h/db', '--timeout', '2m']).source.timeoutMs, 120_000);
    assert.deepEqual(flags(['--warning', '1500ms', '--critical', '3']).source.thresholds, { warningSeconds: 1.5, criticalSeconds: 3 });
    assert.equal(flags(['--duration', '2m']).invocation.run.durationSeconds, 120);
    const mysql = ['mysql', '--primary', 'mysql://p', '--replica', 'mysql://r'];
    assert.equal(flags([...mysql, '--replica-timeout', '250']).source.options.replicaTimeout, 250);
    assert.equal(flags([...mysql, '--replica-timeout', '1s']).source.options.replicaTimeout, 1000);
  });

  it('options that were only in the file have flags: --logical-slots, --username, --leader-rate', () => {
    assert.equal(flags(['postgres', '--url', 'postgres://h/db', '--no-logical-slots']).source.options.logicalSlots, false);
    assert.equal(flags(['postgres', '--url', 'postgres://h/db', '--logical-slots']).source.options.logicalSlots, true);
    assert.equal(flags(['redis', '--url', 'redis://h', '--username', 'replag'], { REDISCLI_AUTH: 'pw' }).source.options.username, 'replag');
    assert.equal(flags(['demo', '--leader-rate', '50']).source.options.leaderRate, 50);
  });

  it('secrets come from the descriptor\'s environment variables, never from flags', () => {
    assert.equal(flags(['postgres', '--url', 'postgres://h/db'], { PGPASSWORD: 'pw' }).source.options.password, 'pw');
    assert.equal(flags(['postgres', '--url', 'postgres://h/db'], { PGPASSWORD: '' }).source.options.password, undefined, 'empty: unset');
    const redis = flags(['redis', '--sentinel', 'redis://s:26379', '--master-name', 'm'], { REDISCLI_AUTH: 'a', REDIS_SENTINEL_PASSWORD: 'b' }).source.options;
    assert.deepEqual([redis.password, redis.sentinelPassword], ['a', 'b']);
    assert.match(refused(['postgres', '--url', 'postgres://h/db', '--password', 'x'])[0]!, /^--password: unknown flag/);
  });

  it('accepts every OTLP protocol startTelemetry speaks, grpc included', () => {
    for (const protocol of ['http/protobuf', 'http/json', 'grpc'] as const) {
      assert.equal(flags(['demo', '--otlp-endpoint', 'http://collector:4317', '--otlp-protocol', protocol]).config.otlp?.protocol, protocol);
    }
  });

  it('--shutdown-timeout takes 10s, 2500ms or seconds, > 0 and at most an hour, default 10 s', () => {
    assert.equal(flags([]).invocation.run.shutdownTimeoutMs, 10_000);
    assert.equal(flags(['--shutdown-timeout', '25s']).invocation.run.shutdownTimeoutMs, 25_000);
    assert.equal(flags(['--shutdown-timeout', '2500ms']).invocation.run.shutdownTimeoutMs, 2500);
    assert.equal(flags(['--shutdown-timeout', '1.5']).invocation.run.shutdownTimeoutMs, 1500);
    for (const bad of ['0', '0s', '-1s', 'soon', '', '3601s']) {
      assert.deepEqual(refused([`--shutdown-timeout=${bad}`]), [`--shutdown-timeout: expected a duration > 0 and at most 3600s, like 10s, 2500ms or 5 (seconds), got ${JSON.stringify(bad)}`]);
    }
  });

  it('--replica-timeout applies to mysql only', () => {
    const base = ['mysql', '--primary', 'mysql://p', '--replica', 'mysql://r'];
    assert.deepEqual(flags(base).source.options, { primary: 'mysql://p', replicas: ['mysql://r'] });
    assert.deepEqual(refused([...base, '--replica-timeout', '0']), ['--replica-timeout: expected a duration > 0 such as 500ms, 1s or 2m, at most 24 hours, got "0"']);
    assert.deepEqual(refused(['postgres', '--url', 'postgres://h/db', '--replica-timeout', '250']), ['--replica-timeout: applies to mysql, not to postgres']);
  });

  it('--subscriber (repeatable) applies to postgres only', () => {
    const base = ['postgres', '--url', 'postgres://p/db'];
    assert.deepEqual(flags([...base, '--subscriber', 'postgres://s1/db', '--subscriber', ' postgres://s2/db ']).source.options.subscribers, ['postgres://s1/db', 'postgres://s2/db']);
    assert.deepEqual(refused([...base, '--subscriber', 'postgres://s1/db', '--subscriber', ' ']), ['--subscriber: expected a postgres:// URL such as postgres://monitor@db:5432/postgres, got " "']);
    assert.deepEqual(refused(['mysql', '--primary', 'mysql://p', '--replica', 'mysql://r', '--subscriber', 'postgres://s/db']), ['--subscriber: applies to postgres, not to mysql']);
  });

  it('--url is one URL for postgres and redis, one or several for nats (repeated or comma-separated)', () => {
    assert.deepEqual(flags(['nats', '--url', 'nats://n1:4222', '--url', 'nats://n2:4222', '--user', 'app']).source.options, { url: ['nats://n1:4222', 'nats://n2:4222'], user: 'app' });
    assert.deepEqual(flags(['nats', '--url', 'nats://n1:4222,nats://n2:4222', '--stream', 'ORDERS', '--no-consumers']).source.options, { url: ['nats://n1:4222', 'nats://n2:4222'], streams: ['ORDERS'], consumers: false });
    assert.deepEqual(flags(['zookeeper', '--servers', 'zk1:2181,zk2:2181']).source.options, { servers: ['zk1:2181', 'zk2:2181'] });
    assert.deepEqual(flags(['galera', '--node', 'mysql://m@g1:3306']).source.options, { nodes: ['mysql://m@g1:3306'] });
    assert.deepEqual(flags(['redis-cluster', '--node', 'redis://c1:6379', '--username', 'replag']).source.options, { nodes: ['redis://c1:6379'], username: 'replag' });
    assert.deepEqual(flags(['postgres', '--url', 'postgres://a/db']).source.options, { url: 'postgres://a/db' }, 'still one value for postgres');
    assert.deepEqual(refused(['nats', '--url', 'nats://n1:4222', '--url', 'http://n2:4222']), ['--url: expected a nats:// URL such as nats://nats-1:4222 (tls:// for TLS), without credentials (give user and password, or token), got "http://n2:4222"']);
  });

  it('parses each database command with its own flags', () => {
    assert.deepEqual(flags(['postgres', '--url', 'postgres://monitor@db1:5432/postgres']).source.options, { url: 'postgres://monitor@db1:5432/postgres' });
    assert.deepEqual(flags(['redis', '--url', 'redis://db2:6379']).source.options, { url: 'redis://db2:6379' });
    assert.deepEqual(flags(['etcd', '--endpoints', 'http://e1:2379, http://e2:2379']).source.options, { endpoints: ['http://e1:2379', 'http://e2:2379'] });
    assert.deepEqual(flags(['etcd', '--endpoints', 'http://e1:2379', '--endpoints', 'http://e2:2379']).source.options, { endpoints: ['http://e1:2379', 'http://e2:2379'] });
    assert.deepEqual(flags(['mysql', '--primary', 'mysql://m@p:3306', '--replica', 'mysql://m@r1:3306', '--replica', 'mysql://m@r2:3306']).source.options, {
      primary: 'mysql://m@p:3306',
      replicas: ['mysql://m@r1:3306', 'mysql://m@r2:3306'],
    });
    assert.deepEqual(flags(['redis', '--sentinel', 'redis://s1:26379', '--sentinel', 'redis://s2:26379', '--master-name', 'cache']).source.options, {
      sentinels: ['redis://s1:26379', 'redis://s2:26379'],
      masterName: 'cache',
    });
    assert.equal(parseCliArgs(['postgres', '--help']).command, 'help', '--help needs no --url');
    assert.deepEqual(parseCliArgs(['postgres', '--help']), { command: 'help', type: 'postgres', config: false });
  });

  it('names the flag and quotes what was typed, one line per problem', () => {
    const cases: [string[], string[]][] = [
      [['--nodes', '0'], ['--nodes: expected an integer from 1 to 10000, got "0"']],
      [['--nodes', '2.5'], ['--nodes: expected an integer from 1 to 10000, got "2.5"']],
      [['--interval', 'fast'], ['--interval: expected a duration > 0 such as 500ms, 1s or 2m, got "fast"']],
      [['--prometheus-port', '70000'], ['--prometheus-port: expected an integer from 1 to 65535, got "70000"']],
      [['--otlp-protocol', 'grpcs'], ['--otlp-protocol: expected one of http/protobuf, http/json, grpc, got "grpcs"']],
      [['--output', 'fancy'], ['--output: expected one of auto, table, plain, quiet, got "fancy"']],
      [['--bogus'], ['--bogus: unknown flag (replag --help lists them)']],
      [['--nodez', '3'], ['--nodez: unknown flag; did you mean --nodes? (replag --help lists them)']],
      [['demo', '--prometheus', '27464'], ['--prometheus: unknown flag; did you mean --prometheus-port? (replag --help lists them)']],
      [['watch-everything'], ['"watch-everything": unknown command (commands: demo, postgres, redis, etcd, mysql, zookeeper, nats, galera, redis-cluster, validate)']],
      [['postgress', '--url', 'postgres://h/db'], ['"postgress": unknown command; did you mean postgres? (commands: demo, postgres, redis, etcd, mysql, zookeeper, nats, galera, redis-cluster, validate)']],
      [['postgres'], ['--url: required: a postgres:// URL such as postgres://monitor@db:5432/postgres']],
      [['postgres', '--url', 'localhost:5432'], ['--url: expected a postgres:// URL such as postgres://monitor@db:5432/postgres, got "localhost:5432"']],
      [['redis', '--url', '  '], ['--url: expected a redis:// URL such as redis://db:6379, got "  "']],
      [['etcd'], ['--endpoints: required: a list']],
      [['etcd', '--endpoints', 'http://a:2379,,http://b:2379'], ['--endpoints: expected an http:// or https:// URL such as http://etcd1:2379, got ""']],
      [['mysql', '--primary', 'mysql://p:3306'], ['--replica: required: a list']],
      [['mysql', '--replica', 'mysql://r:3306'], ['--primary: required: a mysql:// URL such as mysql://monitor@db:3306']],
      [['demo', '--url', 'postgres://db:5432/x'], ['--url: applies to postgres, redis and nats, not to demo']],
      [['postgres', '--url', 'postgres://db/x', '--nodes', '3'], ['--nodes: applies to demo, not to postgres']],
      [['redis', '--url', 'redis://r:6379', '--replica', 'redis://x:6379'], ['--replica: applies to mysql, not to redis']],
      [['postgres', '--url', 'postgres://db/x', '--timeout', '0'], ['--timeout: expected a duration > 0 such as 500ms, 1s or 2m, at most 24 hours, got "0"']],
      [['demo', 'extra'], ['extra: unexpected argument']],
      [['redis', '--sentinel', 'redis://s:26379'], ['--master-name: required with sentinels: the name the Sentinels monitor the master under']],
      [['redis', '--master-name', 'cache'], ['--sentinel: required with masterName: a list of redis:// Sentinel URLs']],
      [['redis', '--url', 'redis://r', '--sentinel', 'redis://s:26379', '--master-name', 'c'], ['--url: expected either url or sentinels with masterName, not both']],
      [['postgres', '--url', 'postgres://db/x', '--sentinel', 'redis://s:26379'], ['--sentinel: applies to redis, not to postgres']],
      [['demo', '--tls-ca', 'ca.pem'], ['--tls-ca: applies to postgres, redis, etcd, mysql, zookeeper, nats, galera and redis-cluster, not to demo']],
      [['redis', '--url', 'rediss://r', '--tls-cert', 'c.pem'], ['--tls-key: expected cert and key together (a client certificate needs its private key)', '--tls-cert: cannot read c.pem: no such file']],
      [['redis', '--url', 'rediss://r', '--tls-ca', ' '], ['--tls-ca: expected a file name, got " "']],
      [['redis', '--url', 'rediss://r', '--tls-insecure=yes'], ['--tls-insecure: takes no value (true when given; --no-… for false)']],
      [['--critical', '2', '--warning', '5'], ['--warning: expected warning not above critical (after defaults.thresholds), got warning 5s and critical 2s']],
      [['--prometheus-host', '0.0.0.0'], ['--prometheus-port: required: an integer from 1 to 65535']],
      [['--otlp-endpoint', 'collector:4318'], ['--otlp-endpoint: expected an http:// or https:// URL such as http://collector:4318 for http/protobuf (host:port without a scheme works only with grpc), got "collector:4318"']],
    ];
    for (const [argv, lines] of cases) assert.deepEqual(refused(argv), lines, argv.join(' '));
  });

  it('never quotes a URL with credentials', () => {
    const [line] = refused(['postgres', '--url', 'mysql://monitor:s3cret-pw@db/x']);
    assert.equal(line, '--url: expected a postgres:// URL such as postgres://monitor@db:5432/postgres');
  });

  it('--config (or REPLAG_CONFIG without a command) selects the file; other flags are refused next to it', () => {
    assert.deepEqual(parseCliArgs(['--config', 'f.yaml', '--output', 'plain']), { command: 'run', mode: 'file', file: 'f.yaml', run: { output: 'plain', durationSeconds: 0, shutdownTimeoutMs: 10_000 } });
    assert.equal((parseCliArgs(['validate', '--config', 'f.yaml']) as { command: string }).command, 'validate');
    assert.equal((parseCliArgs([], { REPLAG_CONFIG: 'e.yaml' }) as { file: string }).file, 'e.yaml');
    assert.equal((parseCliArgs(['demo'], { REPLAG_CONFIG: 'e.yaml' }) as { mode: string }).mode, 'flags');
    assert.deepEqual(refused(['--config', 'f.yaml', '--url', 'postgres://h/db']), ['--url: not with --config: with a config file the sources and exports are set in the file']);
  });
});
