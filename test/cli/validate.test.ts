/**
 * `replag validate` as a subprocess: checks what replag checks before starting (schema, `${env:}` variables, TLS
 * files, the OTLP endpoint), prints `FILE: valid (N sources)` and exits 0, or the problems and exits 2; it opens no
 * connection (a listening socket standing for the database and the collector sees none).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findFreePort } from '../harness/wait.ts';
import { runNode } from '../helpers/run-node.ts';

const CLI = 'src/cli/replag.ts';
const dir = mkdtempSync(join(tmpdir(), 'replag-validate-'));
let n = 0;
function file(text: string): string {
  const path = join(dir, `v${n++}.yaml`);
  writeFileSync(path, text);
  return path;
}

describe('replag validate', () => {
  let server: Server;
  let port: number;
  let connections = 0;
  before(async () => {
    port = await findFreePort();
    server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a good file: "FILE: valid (N sources)", exit 0, no connection to the database or the collector', async () => {
    const path = file(
      [
        `export: { otlp: { endpoint: "http://127.0.0.1:${port}" }, prometheus: { port: ${port} } }`,
        'sources:',
        `  - { name: pg, type: postgres, url: "postgres://monitor@127.0.0.1:${port}/postgres", password: "\${env:PW}", tls: { ca: ca.pem } }`,
        `  - { name: cache, type: redis, url: "redis://127.0.0.1:${port}" }`,
        '  - { name: sim, type: demo }',
      ].join('\n'),
    );
    const result = await runNode([CLI, 'validate', '--config', path], { env: { PW: 'x' } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${path}: valid (3 sources)\n`);
    assert.equal(result.stderr, '');
    assert.equal(connections, 0, 'validate connected to something');
  });

  it('REPLAG_CONFIG names the file too', async () => {
    const path = file('sources:\n  - { name: sim, type: demo }\n');
    const result = await runNode([CLI, 'validate'], { env: { REPLAG_CONFIG: path } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${path}: valid (1 source)\n`);
  });

  it('a bad file: every problem, one line each with its position, exit 2, nothing on stdout', async () => {
    const path = file(
      [
        'sources:',
        '  - name: pg',
        '    type: postgres',
        '    url: "postgres://h/db"',
        '    password: "${env:PW_UNSET}"',
        '    tls: { ca: missing.pem }',
        '  - { name: sim, type: demo, intervl: 1s }',
      ].join('\n'),
    );
    const result = await runNode([CLI, 'validate', '--config', path]);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, '');
    assert.equal(
      result.stderr,
      [
        `${path}:5:15: sources[0](pg).password: environment variable PW_UNSET is not set (referenced as \${env:PW_UNSET})`,
        `${path}:6:16: sources[0](pg).tls.ca: cannot read missing.pem: no such file`,
        `${path}:7:30: sources[1](sim).intervl: unknown key "intervl" for type demo; did you mean "interval"?`,
        `replag: ${path} is not a valid configuration (3 problems); nothing started`,
        '',
      ].join('\n'),
    );
  });

  it('the OTLP endpoint of the environment is checked with the file (exit 2 naming the variable)', async () => {
    const path = file('sources:\n  - { name: sim, type: demo }\n');
    const result = await runNode([CLI, 'validate', '--config', path], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' } });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /^OTEL_EXPORTER_OTLP_ENDPOINT: expected an http:\/\/ or https:\/\/ URL .* for http\/protobuf \(host:port without a scheme works only with grpc\), got "collector:4318"$/m);
  });

  it('flags: "replag <type>: valid (1 source)", or the flag problems, exit 2', async () => {
    const good = await runNode([CLI, 'validate', 'postgres', '--url', `postgres://monitor@127.0.0.1:${port}/postgres`, '--subscriber', `postgres://127.0.0.1:${port}/x`, '--interval', '2s']);
    assert.equal(good.code, 0, good.stderr);
    assert.equal(good.stdout, 'replag postgres: valid (1 source)\n');
    const bad = await runNode([CLI, 'validate', 'postgres', '--url', 'localhost:5432', '--intervl', '2s']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /^replag: --intervl: unknown flag; did you mean --interval\?/m);
    const badValue = await runNode([CLI, 'validate', 'postgres', '--url', 'localhost:5432']);
    assert.equal(badValue.code, 2);
    assert.match(badValue.stderr, /^replag: --url: expected a postgres:\/\/ URL such as postgres:\/\/monitor@db:5432\/postgres, got "localhost:5432"$/m);
    const demo = await runNode([CLI, 'validate']);
    assert.equal(demo.code, 0, demo.stderr);
    assert.equal(demo.stdout, 'replag demo: valid (1 source)\n');
    assert.equal(connections, 0, 'validate connected to something');
  });
});
