/**
 * `replag --config FILE`: validation (a table of bad files, each exit status 2 with one message per problem naming
 * its path), `${env:NAME}` substitution, and secrets that never reach any output.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { ConfigError, parseFleetConfig } from '../../src/cli/config.ts';
import { runFleet } from '../../src/cli/fleet.ts';
import { main } from '../../src/cli/main.ts';
import { findFreePort } from '../harness/wait.ts';
import { REPO_ROOT, runNode } from '../helpers/run-node.ts';

const dir = mkdtempSync(join(tmpdir(), 'replag-config-'));
let files = 0;
function file(text: string): string {
  const path = join(dir, `c${files++}.yaml`);
  writeFileSync(path, text);
  return path;
}

function sink(): Writable & { text: string } {
  const out = new Writable({
    write(chunk, _encoding, done) {
      out.text += String(chunk);
      done();
    },
  }) as Writable & { text: string };
  out.text = '';
  return out;
}

/** Runs `replag --config` in-process; resolves with the exit code and what it wrote. */
async function run(path: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = sink();
  const stderr = sink();
  const code = await runFleet(['--config', path, '--output', 'plain', '--duration', '0.2'], { stdout, stderr }, env);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const DEMO = 'sources:\n  - { name: sim, type: demo }\n';

/** [what, file text, messages expected on stderr (each a path and what is expected)]. */
const BAD_FILES: [string, string, RegExp[]][] = [
  ['unknown top-level key', `sourcse: []\n`, [/^ {2}sourcse: unknown key; expected one of service, export, defaults, sources$/m, /^ {2}sources: required/m]],
  ['unknown source key', `sources:\n  - { name: a, type: postgres, url: postgres://h/db, urll: x }\n`, [/^ {2}sources\[0\]\.urll: unknown key for type postgres; expected one of name, type, .*url, password, tls, logicalSlots, subscribers$/m]],
  ['option of another type', `sources:\n  - { name: a, type: demo, url: postgres://h/db }\n`, [/sources\[0\]\.url: unknown key for type demo/]],
  ['wrong type', `sources:\n  - { name: a, type: demo, nodes: three }\n`, [/sources\[0\]\.nodes: expected an integer from 1 to 10000/]],
  ['list expected', `sources:\n  - { name: a, type: etcd, endpoints: http://h:2379 }\n`, [/sources\[0\]\.endpoints: expected a non-empty list of strings, got a string/]],
  ['sources not a list', `sources: { name: a }\n`, [/^ {2}sources: expected a list of sources, got a mapping$/m]],
  ['duplicate names', `sources:\n  - { name: a, type: demo }\n  - { name: a, type: demo }\n`, [/sources\[1\]\.name: duplicate name: sources\[0\] has the same name/]],
  ['duration without unit', `${DEMO}  - { name: b, type: demo, interval: 10 }\n`, [/sources\[1\]\.interval: expected a duration > 0 such as 500ms, 1s or 2m \(a unit is required\)/]],
  ['bad duration', `defaults: { timeout: 5 seconds, thresholds: { stall: 0s } }\n${DEMO}`, [/defaults\.timeout: expected a duration/, /defaults\.thresholds\.stall: expected a duration > 0/]],
  ['unknown type', `sources:\n  - { name: a, type: cassandra }\n`, [/sources\[0\]\.type: expected one of postgres, redis, etcd, mysql, demo$/m]],
  ['missing name and type', `sources:\n  - { nodes: 2 }\n`, [/sources\[0\]\.type: required/, /sources\[0\]\.name: required/]],
  ['bad name', `sources:\n  - { name: "two words", type: demo }\n`, [/sources\[0\]\.name: expected a name of letters, digits/]],
  ['missing environment variable', `sources:\n  - { name: a, type: postgres, url: postgres://h/db, password: "\${env:REPLAG_TEST_MISSING}" }\n`, [/sources\[0\]\.password: environment variable REPLAG_TEST_MISSING is not set/]],
  ['redis url and sentinels', `sources:\n  - { name: a, type: redis, url: redis://h, sentinels: [redis://s], masterName: m }\n`, [/sources\[0\]: expected either url or sentinels with masterName, not both/]],
  ['redis sentinels without masterName', `sources:\n  - { name: a, type: redis, sentinels: [redis://s] }\n`, [/sources\[0\]\.masterName: required with sentinels/]],
  ['mysql without replicas', `sources:\n  - { name: a, type: mysql, primary: mysql://h }\n`, [/sources\[0\]\.replicas: required/]],
  ['bad port', `export: { prometheus: { port: 70000 } }\n${DEMO}`, [/export\.prometheus\.port: expected an integer from 1 to 65535/]],
  ['http without port', `export: { http: { host: 0.0.0.0 } }\n${DEMO}`, [/export\.http\.port: required/]],
  ['http unknown key', `export: { http: { port: 9465, path: /x } }\n${DEMO}`, [/export\.http\.path: unknown key; expected one of port, host/]],
  ['bad protocol', `export: { otlp: { protocol: grpc-web } }\n${DEMO}`, [/export\.otlp\.protocol: expected one of http\/protobuf, http\/json, grpc$/m]],
  ['mysql replicaTimeout without unit', `sources:\n  - { name: a, type: mysql, primary: mysql://p, replicas: [mysql://r], replicaTimeout: 250 }\n`, [/sources\[0\]\.replicaTimeout: expected a duration > 0 such as 500ms, 1s or 2m \(a unit is required\)/]],
  ['subscribers not a list', `sources:\n  - { name: a, type: postgres, url: postgres://h/db, subscribers: postgres://s/db }\n`, [/sources\[0\]\.subscribers: expected a non-empty list of strings, got a string/]],
  ['a subscriber the source refuses', `sources:\n  - { name: a, type: postgres, url: postgres://h/db, subscribers: ["postgres://s/db", "mysql://t/db"] }\n`, [/sources\[0\] \(a\): .*PostgresSourceOptions\.subscribers\[1\] must be a postgres:\/\/ or postgresql:\/\/ URL/]],
  ['logicalSlots not a boolean', `sources:\n  - { name: a, type: postgres, url: postgres://h/db, logicalSlots: "no" }\n`, [/sources\[0\]\.logicalSlots: expected true or false, got a string/]],
  ['reserved attribute', `sources:\n  - { name: a, type: demo, attributes: { replication.source: x, ok: [1] } }\n`, [/sources\[0\]\.attributes\.replication\.source: reserved/, /sources\[0\]\.attributes\.ok: expected a string, number or boolean, got a list/]],
  ['warning above critical', `defaults: { thresholds: { critical: 10s } }\nsources:\n  - { name: a, type: demo, thresholds: { warning: 20s } }\n`, [/sources\[0\]\.thresholds: expected warning not above critical/]],
  ['tls cert without key', `sources:\n  - { name: a, type: postgres, url: postgres://h/db, tls: { cert: c.pem, insecure: yes } }\n`, [/sources\[0\]\.tls: expected cert and key together/, /sources\[0\]\.tls\.insecure: expected true or false, got a string/]],
  ['tls on demo', `sources:\n  - { name: a, type: demo, tls: { insecure: true } }\n`, [/sources\[0\]\.tls: unknown key for type demo/]],
  ['YAML syntax', `sources:\n  - name: a\n   type: demo\n`, [/^ {2}YAML: .*line 3/m]],
  ['duplicate YAML key', `sources:\n  - { name: a, name: b, type: demo }\n`, [/YAML: Map keys must be unique/]],
  ['empty file', ``, [/^ {2}sources: required/m]],
  ['a source the source itself refuses', `sources:\n  - { name: a, type: postgres, url: "http://h/db" }\n`, [/sources\[0\] \(a\): .*postgres/]],
  ['an unreadable TLS file', `sources:\n  - { name: a, type: postgres, url: "postgres://h/db", tls: { ca: missing-ca.pem } }\n`, [/sources\[0\] \(a\): .*cannot read .*missing-ca\.pem \(ENOENT\)/]],
];

after(() => rmSync(dir, { recursive: true, force: true }));

describe('replag --config validation', () => {
  for (const [what, text, expected] of BAD_FILES) {
    it(`${what}: exit status 2, the path and what is expected`, async () => {
      const result = await run(file(text));
      assert.equal(result.code, 2, result.stderr);
      for (const re of expected) assert.match(result.stderr, re);
      assert.equal(result.stdout, '');
      assert.doesNotMatch(result.stderr, /watching|polling/, 'nothing started');
    });
  }

  it('reports every problem of a file, one line each', async () => {
    const result = await run(file(`sources:\n  - { name: a, type: demo, interval: 1 }\n  - { name: a, type: nope, timeout: x }\n  - { name: c, type: demo, bogus: 1 }\n`));
    assert.equal(result.code, 2);
    const lines = result.stderr.split('\n').filter((l) => l.startsWith('  '));
    assert.deepEqual(
      lines.map((l) => l.trim().split(':')[0]),
      ['sources[0].interval', 'sources[1].type', 'sources[1].timeout', 'sources[1].name', 'sources[2].bogus'],
    );
    assert.match(result.stderr, /is not a valid configuration \(5 problems\)/);
  });

  it('a missing file: exit status 2 naming it', async () => {
    const result = await run(join(dir, 'nope.yaml'));
    assert.equal(result.code, 2);
    assert.match(result.stderr, /cannot read .*nope\.yaml \(ENOENT\)/);
  });

  it('--config FILE --help prints the config usage and exits 0', async () => {
    const stdout = sink();
    assert.equal(await main(['--config', 'x.yaml', '--help'], { stdout, stderr: sink() }), 0);
    assert.match(stdout.text, /^Usage: replag --config FILE/);
  });

  it('flags that belong in the file are refused next to --config (exit status 2)', async () => {
    const stderr = sink();
    const code = await main(['--config', file(DEMO), '--url', 'postgres://h/db'], { stdout: sink(), stderr });
    assert.equal(code, 2);
    assert.match(stderr.text, /--url.*with a config file the sources and exports are set in the file/);
  });

  it('REPLAG_CONFIG names the file when no command is given; a command on the line means flags', async () => {
    const path = file('sources:\n  - { name: from-env, type: demo, nodes: 1, interval: 100ms }\n');
    const viaEnv = await runNode(['src/cli/replag.ts', '--duration', '0.5', '--output', 'plain'], { env: { REPLAG_CONFIG: path } });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.match(viaEnv.stdout, /\[from-env\] demo up nodes=1 /);
    const flags = await runNode(['src/cli/replag.ts', 'demo', '--nodes', '2', '--duration', '0.5', '--output', 'plain'], { env: { REPLAG_CONFIG: path } });
    assert.equal(flags.code, 0, flags.stderr);
    assert.match(flags.stdout, /^\S+ nodes=2 /m);
    assert.doesNotMatch(flags.stdout, /from-env/);
  });

  it('a SIGHUP while it starts is held and applied once the sources run (instead of ending the process)', async () => {
    const stdout = sink();
    const stderr = sink();
    const running = runFleet(['--config', file(DEMO), '--output', 'quiet', '--duration', '0.5'], { stdout, stderr }, {});
    process.emit('SIGHUP', 'SIGHUP');
    assert.equal(await running, 0, stderr.text);
    assert.match(stderr.text, /\[sim\] watching[^]*reloaded .*: no source changed/);
    assert.equal(process.listenerCount('SIGHUP'), 0, 'no SIGHUP listener left behind');
  });

  it('as a subprocess, a bad file exits with status 2', async () => {
    const result = await runNode(['src/cli/replag.ts', '--config', file(`sources:\n  - { name: a, type: demo, interval: 1 }\n`)]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /sources\[0\]\.interval: expected a duration/);
  });
});

describe('${env:NAME} substitution', () => {
  it('replaces references anywhere in a string, with the variable, not recursively', () => {
    const config = parseFleetConfig(
      [
        'service: { name: "${env:SVC}-eu" }',
        'sources:',
        '  - name: ${env:SRC_NAME}',
        '    type: postgres',
        '    url: postgres://monitor@${env:DB_HOST}:5432/postgres',
        '    password: ${env:PGPW}',
        '    subscribers: ["postgres://monitor:${env:PGPW}@${env:DB_HOST}-sub/postgres"]',
        '    interval: ${env:IVL}',
        '    attributes: { replication.cluster: "${env:CLUSTER}" }',
      ].join('\n'),
      { env: { SVC: 'replag', SRC_NAME: 'orders', DB_HOST: 'db1', PGPW: 'pw-${env:SVC}', IVL: '250ms', CLUSTER: 'orders' } },
    );
    assert.equal(config.serviceName, 'replag-eu');
    const s = config.sources[0]!;
    assert.equal(s.name, 'orders');
    assert.deepEqual(s.options, { type: 'postgres', url: 'postgres://monitor@db1:5432/postgres', password: 'pw-${env:SVC}', subscribers: ['postgres://monitor:pw-${env:SVC}@db1-sub/postgres'] });
    assert.equal(s.intervalMs, 250);
    assert.deepEqual(s.attributes, { 'replication.cluster': 'orders' });
  });

  it('names that are equal after substitution are duplicates', () => {
    assert.throws(
      () => parseFleetConfig('sources:\n  - { name: "${env:N}", type: demo }\n  - { name: eu, type: demo }\n', { env: { N: 'eu' } }),
      (e: unknown) => e instanceof ConfigError && /^sources\[1\]\.name: duplicate name: sources\[0\]/.test(e.problems[0]!),
    );
  });

  it('names every missing variable, with its path', () => {
    assert.throws(
      () => parseFleetConfig('sources:\n  - { name: a, type: redis, url: "redis://${env:A_HOST}", password: "${env:A_PASS}" }\n', { env: {} }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.problems.length === 2 &&
        /^sources\[0\]\.url: environment variable A_HOST is not set/.test(e.problems[0]!) &&
        /^sources\[0\]\.password: environment variable A_PASS is not set/.test(e.problems[1]!),
    );
  });

  it('defaults apply to each source; a source overrides them; the options keep the sources\' names', () => {
    const config = parseFleetConfig(
      [
        'defaults: { interval: 2s, timeout: 1500ms, thresholds: { warning: 5s, critical: 1m } }',
        'sources:',
        '  - { name: a, type: demo }',
        '  - { name: b, type: redis, sentinels: [redis://s1:26379], masterName: cache, sentinelPassword: sp, username: u, interval: 500ms, thresholds: { critical: 40s } }',
        '  - { name: c, type: etcd, endpoints: [http://e1:2379, http://e2:2379], tls: { ca: ca.pem, cert: /abs/c.pem, key: k.pem, servername: etcd, insecure: false } }',
      ].join('\n'),
      { env: {}, baseDir: '/etc/replag' },
    );
    const [a, b, c] = config.sources;
    assert.deepEqual([a!.intervalMs, a!.timeoutMs, a!.thresholds], [2000, 1500, { warningSeconds: 5, criticalSeconds: 60 }]);
    assert.deepEqual(a!.options, { type: 'demo', nodes: 4 });
    assert.deepEqual([b!.intervalMs, b!.thresholds], [500, { warningSeconds: 5, criticalSeconds: 40 }]);
    assert.deepEqual(b!.options, { type: 'redis', sentinels: ['redis://s1:26379'], masterName: 'cache', sentinelPassword: 'sp', username: 'u' });
    assert.deepEqual(c!.tls, { caFile: '/etc/replag/ca.pem', certFile: '/abs/c.pem', keyFile: '/etc/replag/k.pem', serverName: 'etcd', insecure: false });
    assert.notEqual(a!.fingerprint, b!.fingerprint);
  });
});

describe('secrets', () => {
  const SECRET = 'planted-s3cret-4711';

  it('never appear in validation errors: wrong types, unknown keys, syntax errors, substitutions', async () => {
    const text = [
      'export: { otlp: { endpoint: 17 } }',
      'sources:',
      `  - { name: a, type: postgres, url: "postgres://monitor:${SECRET}@h/db", password: ${SECRET}, interval: ${SECRET} }`,
      `  - { name: b, type: redis, url: redis://h, passwrod: ${SECRET}, password: [${SECRET}] }`,
      '  - { name: c, type: mysql, primary: "mysql://m:${env:PLANTED}@h", replicas: 3, password: "${env:PLANTED}", timeout: "${env:PLANTED}" }',
      `  - { name: d, type: demo, nodes: "${SECRET}", attributes: { k: { v: ${SECRET} } } }`,
    ].join('\n');
    for (const body of [text, `${text}\n  - name: e\n   password: ${SECRET}\n`, `sources: [ { name: a, password: ${SECRET} ]\n`]) {
      const result = await run(file(body), { PLANTED: SECRET });
      assert.equal(result.code, 2, result.stderr);
      assert.ok(result.stderr.split('\n').length > 2, result.stderr);
      assert.ok(!(result.stdout + result.stderr).includes(SECRET), result.stderr);
      assert.ok(!(result.stdout + result.stderr).includes('s3cret'), result.stderr);
    }
  });

  it('never appear in the output of a running replag whose sources fail (subprocess)', async () => {
    const closed = await findFreePort(27000, 27999);
    const closed2 = await findFreePort(28000, 28999);
    const path = file(
      [
        'export: { interval: 200ms }',
        'defaults: { interval: 100ms, timeout: 300ms }',
        'sources:',
        `  - { name: pg, type: postgres, url: "postgres://monitor:${SECRET}@127.0.0.1:${closed}/postgres", password: "\${env:PLANTED}", subscribers: ["postgres://monitor:\${env:PLANTED}@127.0.0.1:${closed2}/postgres"] }`,
        `  - { name: cache, type: redis, url: "redis://:${SECRET}@127.0.0.1:${closed}" }`,
        `  - { name: sentinel, type: redis, sentinels: ["redis://:${SECRET}@127.0.0.1:${closed}"], masterName: m, password: "\${env:PLANTED}", sentinelPassword: "\${env:PLANTED}" }`,
        `  - { name: my, type: mysql, primary: "mysql://m:${SECRET}@127.0.0.1:${closed}", replicas: ["mysql://m@127.0.0.1:${closed2}"], password: "\${env:PLANTED}" }`,
        '  - { name: sim, type: demo }',
      ].join('\n'),
    );
    const result = await runNode(['src/cli/replag.ts', '--config', path, '--output', 'plain', '--duration', '1.5'], {
      env: { PLANTED: SECRET },
      timeoutMs: 30_000,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /\[pg\] poll failed/);
    assert.match(result.stderr, /\[cache\] poll failed/);
    assert.match(result.stdout, /\[sim\] demo up nodes=4/);
    assert.match(result.stdout, /\[pg\] postgres DOWN nodes=0/);
    assert.ok(!(result.stdout + result.stderr).includes(SECRET), result.stderr);
  });
});

describe('examples/replag.yaml', () => {
  it('is valid, and runs its demo sources (on a free Prometheus port), each line naming its source', async () => {
    const text = readFileSync(join(REPO_ROOT, 'examples/replag.yaml'), 'utf8');
    const config = parseFleetConfig(text, { env: {} });
    assert.deepEqual(config.sources.map((s) => [s.name, s.options.type]), [['raft-eu', 'demo'], ['raft-us', 'demo'], ['raft-fast', 'demo']]);
    assert.equal(config.prometheus?.port, 9464);
    assert.equal(config.http, undefined);
    assert.deepEqual(parseFleetConfig(`export: { http: { port: 9465 } }\n${DEMO}`, { env: {} }).http, { port: 9465, host: '127.0.0.1' });
    const port = await findFreePort(27000, 28999);
    const result = await run(file(text.replace('port: 9464', `port: ${port}`)));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`serving Prometheus metrics at http://127.0.0.1:${port}/metrics`));
    for (const name of ['raft-eu', 'raft-us', 'raft-fast']) assert.match(result.stdout, new RegExp(`\\[${name}\\] demo up nodes=`));
  });
});
