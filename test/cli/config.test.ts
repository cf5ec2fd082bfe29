/**
 * `replag --config FILE`: validation (a table of bad files, each with the exact lines it prints,
 * `FILE:LINE:COL: PATH: message`; every problem of a file in one run, exit status 2, nothing started),
 * `${env:NAME}` substitution, and secrets that never reach any output.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { ConfigError, parseFleetConfig } from '../../src/cli/config.ts';
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
  const code = await main(['--config', path, '--output', 'plain', '--duration', '0.2'], { stdout, stderr }, env);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const DEMO = 'sources:\n  - { name: sim, type: demo }\n';

/** [what, file text, the lines it is refused with (as file c.yaml)]. */
const BAD_FILES: [string, string, string[]][] = [
  ['unknown top-level key', `sourcse: []\n`, ['c.yaml:1:1: sources: required: a list of sources', 'c.yaml:1:1: sourcse: unknown key "sourcse"; did you mean "sources"?']],
  ['unknown source key', `sources:\n  - { name: a, type: postgres, url: postgres://h/db, urll: x }\n`, ['c.yaml:2:54: sources[0](a).urll: unknown key "urll" for type postgres; did you mean "url"?']],
  ['misspelt key', `sources:\n  - name: orders-pg\n    type: postgres\n    url: postgres://h/db\n    intervl: 2s\n`, ['c.yaml:5:5: sources[0](orders-pg).intervl: unknown key "intervl" for type postgres; did you mean "interval"?']],
  ['option of another type', `sources:\n  - { name: a, type: demo, url: postgres://h/db }\n`, ['c.yaml:2:28: sources[0](a).url: unknown key "url" for type demo; expected one of nodes, leaderRate, name, type, interval, timeout, thresholds, attributes']],
  ['wrong type', `sources:\n  - { name: a, type: demo, nodes: three }\n`, ['c.yaml:2:35: sources[0](a).nodes: expected an integer from 1 to 10000, got "three"']],
  ['list expected', `sources:\n  - { name: a, type: etcd, endpoints: http://h:2379 }\n`, ['c.yaml:2:39: sources[0](a).endpoints: expected a list, got "http://h:2379"']],
  ['sources not a list', `sources: { name: a }\n`, ['c.yaml:1:10: sources: expected a list of sources, got a mapping']],
  ['duplicate names', `sources:\n  - { name: a, type: demo }\n  - { name: a, type: demo }\n`, ['c.yaml:3:13: sources[1](a).name: duplicate name: sources[0] has the same name (names must be unique)']],
  ['duration without unit', `${DEMO}  - { name: b, type: demo, interval: 10 }\n`, ['c.yaml:3:38: sources[1](b).interval: expected a duration > 0 such as 500ms, 1s or 2m (a unit is required), got 10']],
  ['bad duration', `defaults: { timeout: 5 seconds, thresholds: { stall: 0s } }\n${DEMO}`, ['c.yaml:1:22: defaults.timeout: expected a duration > 0 such as 500ms, 1s or 2m, got "5 seconds"', 'c.yaml:1:54: defaults.thresholds.stall: expected a duration > 0 such as 500ms, 1s or 2m, at most 24 hours, got "0s"']],
  ['unknown type', `sources:\n  - { name: a, type: postgresql, url: postgres://h/db }\n`, ['c.yaml:2:22: sources[0](a).type: expected one of demo, postgres, redis, etcd, mysql, zookeeper, nats, galera, redis-cluster, got "postgresql"; did you mean "postgres"?']],
  ['missing name and type', `sources:\n  - { nodes: 2 }\n`, ['c.yaml:2:5: sources[0].name: required: a name', 'c.yaml:2:5: sources[0].type: required: one of demo, postgres, redis, etcd, mysql, zookeeper, nats, galera, redis-cluster']],
  ['bad name', `sources:\n  - { name: "two words", type: demo }\n`, ['c.yaml:2:13: sources[0](two words).name: expected a name of letters, digits, ".", "_", "-", ":" or "/" (at most 128, starting with a letter or digit), got "two words"']],
  ['missing environment variable', `sources:\n  - { name: a, type: postgres, url: postgres://h/db, password: "\${env:REPLAG_TEST_MISSING}" }\n`, ['c.yaml:2:64: sources[0](a).password: environment variable REPLAG_TEST_MISSING is not set (referenced as ${env:REPLAG_TEST_MISSING})']],
  ['redis url and sentinels', `sources:\n  - { name: a, type: redis, url: redis://h, sentinels: [redis://s], masterName: m }\n`, ['c.yaml:2:34: sources[0](a).url: expected either url or sentinels with masterName, not both']],
  ['redis sentinels without masterName', `sources:\n  - { name: a, type: redis, sentinels: [redis://s] }\n`, ['c.yaml:2:5: sources[0](a).masterName: required with sentinels: the name the Sentinels monitor the master under']],
  ['mysql without replicas', `sources:\n  - { name: a, type: mysql, primary: mysql://h }\n`, ['c.yaml:2:5: sources[0](a).replicas: required: a list']],
  ['bad port', `export: { prometheus: { port: 70000 } }\n${DEMO}`, ['c.yaml:1:31: export.prometheus.port: expected an integer from 1 to 65535, got 70000']],
  ['bad protocol', `export: { otlp: { protocol: grpc-web } }\n${DEMO}`, ['c.yaml:1:29: export.otlp.protocol: expected one of http/protobuf, http/json, grpc, got "grpc-web"']],
  ['scheme-less OTLP endpoint over HTTP', `export: { otlp: { endpoint: "collector:4318" } }\n${DEMO}`, ['c.yaml:1:29: export.otlp.endpoint: expected an http:// or https:// URL such as http://collector:4318 for http/protobuf (host:port without a scheme works only with grpc), got "collector:4318"']],
  ['mysql replicaTimeout without unit', `sources:\n  - { name: a, type: mysql, primary: mysql://p, replicas: [mysql://r], replicaTimeout: 250 }\n`, ['c.yaml:2:88: sources[0](a).replicaTimeout: expected a duration > 0 such as 500ms, 1s or 2m (a unit is required), got 250']],
  ['subscribers not a list', `sources:\n  - { name: a, type: postgres, url: postgres://h/db, subscribers: postgres://s/db }\n`, ['c.yaml:2:67: sources[0](a).subscribers: expected a list, got "postgres://s/db"']],
  ['a subscriber of another scheme', `sources:\n  - { name: a, type: postgres, url: postgres://h/db, subscribers: ["postgres://s/db", "mysql://t/db"] }\n`, ['c.yaml:2:87: sources[0](a).subscribers[1]: expected a postgres:// URL such as postgres://monitor@db:5432/postgres, got "mysql://t/db"']],
  ['logicalSlots not a boolean', `sources:\n  - { name: a, type: postgres, url: postgres://h/db, logicalSlots: "no" }\n`, ['c.yaml:2:68: sources[0](a).logicalSlots: expected true or false, got "no"']],
  ['reserved attribute', `sources:\n  - { name: a, type: demo, attributes: { replication.source: x, ok: [1] } }\n`, ["c.yaml:2:62: sources[0](a).attributes.replication.source: reserved: replag sets this attribute itself (replication.source is the source's name)", 'c.yaml:2:69: sources[0](a).attributes.ok: expected a string, number or boolean, got a list']],
  ['warning above critical', `defaults: { thresholds: { critical: 10s } }\nsources:\n  - { name: a, type: demo, thresholds: { warning: 20s } }\n`, ['c.yaml:3:40: sources[0](a).thresholds: expected warning not above critical (after defaults.thresholds), got warning 20s and critical 10s']],
  ['tls cert without key', `sources:\n  - { name: a, type: postgres, url: postgres://h/db, tls: { cert: c.pem, insecure: yes } }\n`, ['c.yaml:2:59: sources[0](a).tls.key: expected cert and key together (a client certificate needs its private key)', 'c.yaml:2:67: sources[0](a).tls.cert: cannot read c.pem: no such file', 'c.yaml:2:84: sources[0](a).tls.insecure: expected true or false, got "yes"']],
  ['tls on demo', `sources:\n  - { name: a, type: demo, tls: { insecure: true } }\n`, ['c.yaml:2:28: sources[0](a).tls: unknown key "tls" for type demo; expected one of nodes, leaderRate, name, type, interval, timeout, thresholds, attributes']],
  ['an unreadable TLS file, named by its file key', `sources:\n  - name: pg\n    type: postgres\n    url: "postgres://h/db"\n    tls: { ca: ca.pem }\n`, ['c.yaml:5:16: sources[0](pg).tls.ca: cannot read ca.pem: no such file']],
  ['YAML syntax', `sources:\n  - name: a\n   type: demo\n`, ['c.yaml:3:1: YAML: Sequence item without - indicator']],
  ['duplicate YAML key', `sources:\n  - { name: a, name: b, type: demo }\n`, ['c.yaml:2:16: YAML: Map keys must be unique']],
  ['empty file', ``, ['c.yaml:1:1: sources: required: a list of sources']],
  ['a password is never quoted', `sources:\n  - { name: a, type: postgres, url: "postgres://monitor:pw@h/db", password: 17 }\n`, ['c.yaml:2:77: sources[0](a).password: expected a string']],
  ['a URL with credentials is never quoted', `sources:\n  - { name: a, type: postgres, url: "mysql://monitor:pw@h/db" }\n`, ['c.yaml:2:37: sources[0](a).url: expected a postgres:// URL such as postgres://monitor@db:5432/postgres']],
  ['a value from ${env:…} is never quoted', `sources:\n  - { name: a, type: demo, interval: "\${env:IVL}" }\n`, ['c.yaml:2:38: sources[0](a).interval: expected a duration > 0 such as 500ms, 1s or 2m']],
];

/** The lines `text` is refused with, as file `c.yaml` (TLS files looked up in an empty folder). */
function refused(text: string, env: Record<string, string> = {}): string[] {
  try {
    parseFleetConfig(text, { env, file: 'c.yaml', baseDir: dir });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.lines();
  }
  assert.fail('accepted');
}

after(() => rmSync(dir, { recursive: true, force: true }));

describe('replag --config validation', () => {
  for (const [what, text, expected] of BAD_FILES) {
    it(`${what}: exactly these lines`, () => {
      assert.deepEqual(refused(text, { IVL: 'sometime' }), expected);
    });
  }

  it('reports every problem of a file in one run, one line each, exit status 2, nothing started', async () => {
    const path = file(
      [
        'export:',
        '  otlp: { endpoint: "collector:4318" }', // an endpoint that can never work over OTLP/HTTP
        'defaults:',
        '  intervl: 2s', // an unknown key
        'sources:',
        '  - name: pg',
        '    type: postgres',
        '    url: localhost:5432', // a bad value
        '    password: "${env:REPLAG_TEST_UNSET}"', // a missing variable
        '    tls: { ca: ca.pem }', // an unreadable file
        '  - name: orders-pg',
        '    type: postgresql', // an unknown type
        '    interval: soon',
        '  - name: sim',
        '    type: demo',
        '    nodes: 0',
        '    tls: { insecure: true }', // an option of another type
      ].join('\n'),
    );
    const result = await run(path);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(
      result.stderr,
      [
        `${path}:2:21: export.otlp.endpoint: expected an http:// or https:// URL such as http://collector:4318 for http/protobuf (host:port without a scheme works only with grpc), got "collector:4318"`,
        `${path}:4:3: defaults.intervl: unknown key "intervl"; did you mean "interval"?`,
        `${path}:8:10: sources[0](pg).url: expected a postgres:// URL such as postgres://monitor@db:5432/postgres, got "localhost:5432"`,
        `${path}:9:15: sources[0](pg).password: environment variable REPLAG_TEST_UNSET is not set (referenced as \${env:REPLAG_TEST_UNSET})`,
        `${path}:10:16: sources[0](pg).tls.ca: cannot read ca.pem: no such file`,
        `${path}:12:11: sources[1](orders-pg).type: expected one of demo, postgres, redis, etcd, mysql, zookeeper, nats, galera, redis-cluster, got "postgresql"; did you mean "postgres"?`,
        `${path}:13:15: sources[1](orders-pg).interval: expected a duration > 0 such as 500ms, 1s or 2m, got "soon"`,
        `${path}:16:12: sources[2](sim).nodes: expected an integer from 1 to 10000, got 0`,
        `${path}:17:5: sources[2](sim).tls: unknown key "tls" for type demo; expected one of nodes, leaderRate, name, type, interval, timeout, thresholds, attributes`,
        `replag: ${path} is not a valid configuration (9 problems); nothing started`,
        '',
      ].join('\n'),
    );
    assert.equal(result.stdout, '');
  });

  it('a missing file: exit status 2 naming it', async () => {
    const result = await run(join(dir, 'nope.yaml'));
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^replag: cannot read .*nope\.yaml: no such file$/m);
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
    assert.match(stderr.text, /^replag: --url: not with --config: with a config file the sources and exports are set in the file$/m);
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
    const running = main(['--config', file(DEMO), '--output', 'quiet', '--duration', '0.5'], { stdout, stderr }, {});
    process.emit('SIGHUP', 'SIGHUP');
    assert.equal(await running, 0, stderr.text);
    assert.match(stderr.text, /\[sim\] watching[^]*reloaded .*: no source changed/);
    assert.equal(process.listenerCount('SIGHUP'), 0, 'no SIGHUP listener left behind');
  });

  it('as a subprocess, a bad file exits with status 2', async () => {
    const result = await runNode(['src/cli/replag.ts', '--config', file(`sources:\n  - { name: a, type: demo, interval: 1 }\n`)]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /:2:38: sources\[0\]\(a\)\.interval: expected a duration/);
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
    assert.equal(s.type, 'postgres');
    assert.deepEqual(s.options, { url: 'postgres://monitor@db1:5432/postgres', password: 'pw-${env:SVC}', subscribers: ['postgres://monitor:pw-${env:SVC}@db1-sub/postgres'] });
    assert.equal(s.intervalMs, 250);
    assert.deepEqual(s.attributes, { 'replication.cluster': 'orders' });
  });

  it('names that are equal after substitution are duplicates', () => {
    assert.throws(
      () => parseFleetConfig('sources:\n  - { name: "${env:N}", type: demo }\n  - { name: eu, type: demo }\n', { env: { N: 'eu' } }),
      (e: unknown) => e instanceof ConfigError && /^sources\[1\]\(eu\)\.name: duplicate name: sources\[0\]/.test(e.lines()[0]!),
    );
  });

  it('names every missing variable, with its path', () => {
    assert.throws(
      () => parseFleetConfig('sources:\n  - { name: a, type: redis, url: "redis://${env:A_HOST}", password: "${env:A_PASS}" }\n', { env: {} }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.problems.length === 2 &&
        /^sources\[0\]\(a\)\.url: environment variable A_HOST is not set/.test(e.lines()[0]!) &&
        /^sources\[0\]\(a\)\.password: environment variable A_PASS is not set/.test(e.lines()[1]!),
    );
  });

  it('defaults apply to each source; a source overrides them; the options keep the sources\' names; TLS files are read relative to the file', () => {
    const pem = (label: string) => `-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`;
    writeFileSync(join(dir, 'ca.pem'), pem('CERTIFICATE'));
    writeFileSync(join(dir, 'k.pem'), pem('PRIVATE KEY'));
    writeFileSync(join(dir, 'abs-c.pem'), pem('CERTIFICATE'));
    const config = parseFleetConfig(
      [
        'defaults: { interval: 2s, timeout: 1500ms, thresholds: { warning: 5s, critical: 1m } }',
        'sources:',
        '  - { name: a, type: demo }',
        '  - { name: b, type: redis, sentinels: [redis://s1:26379], masterName: cache, sentinelPassword: sp, username: u, interval: 500ms, thresholds: { critical: 40s } }',
        `  - { name: c, type: etcd, endpoints: [http://e1:2379, http://e2:2379], tls: { ca: ca.pem, cert: ${join(dir, 'abs-c.pem')}, key: k.pem, servername: etcd, insecure: false } }`,
      ].join('\n'),
      { env: {}, baseDir: dir },
    );
    const [a, b, c] = config.sources;
    assert.deepEqual([a!.intervalMs, a!.timeoutMs, a!.thresholds], [2000, 1500, { warningSeconds: 5, criticalSeconds: 60 }]);
    assert.deepEqual(a!.options, { nodes: 4 });
    assert.deepEqual([b!.intervalMs, b!.thresholds], [500, { warningSeconds: 5, criticalSeconds: 40 }]);
    assert.deepEqual(b!.options, { sentinels: ['redis://s1:26379'], masterName: 'cache', sentinelPassword: 'sp', username: 'u' });
    assert.deepEqual(c!.options.tls, { ca: pem('CERTIFICATE'), cert: pem('CERTIFICATE'), key: pem('PRIVATE KEY'), servername: 'etcd', insecure: false });
    assert.notEqual(a!.fingerprint, b!.fingerprint);
  });
});

describe('secrets', () => {
  const SECRET = 'planted-s3cret-4711';

  it('never appear in validation errors: wrong types, unknown keys, syntax errors, substitutions', async () => {
    const text = [
      'export: { otlp: { endpoint: 17 } }',
      'sources:',
      // A wrong value is quoted back (`got "soon"`) unless it is a secret: a password, a URL with credentials, a ${env:…}.
      `  - { name: a, type: postgres, url: "postgres://monitor:${SECRET}@h/db", password: ${SECRET}, interval: "\${env:PLANTED}" }`,
      `  - { name: b, type: redis, url: redis://h, passwrod: ${SECRET}, password: [${SECRET}] }`,
      '  - { name: c, type: mysql, primary: "mysql://m:${env:PLANTED}@h", replicas: 3, password: "${env:PLANTED}", timeout: "${env:PLANTED}" }',
      `  - { name: d, type: demo, nodes: "\${env:PLANTED}", attributes: { k: { v: ${SECRET} } } }`,
      `  - { name: e, type: postgres, url: "mysql://monitor:${SECRET}@h/db" }`,
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
    assert.deepEqual(config.sources.map((s) => [s.name, s.type]), [['raft-eu', 'demo'], ['raft-us', 'demo'], ['raft-fast', 'demo']]);
    assert.equal(config.prometheus?.port, 9464);
    const port = await findFreePort(27000, 28999);
    const result = await run(file(text.replace('port: 9464', `port: ${port}`)));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`serving Prometheus metrics at http://127.0.0.1:${port}/metrics`));
    for (const name of ['raft-eu', 'raft-us', 'raft-fast']) assert.match(result.stdout, new RegExp(`\\[${name}\\] demo up nodes=`));
  });
});
