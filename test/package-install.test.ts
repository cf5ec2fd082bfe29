/**
 * The package as a user gets it: `npm pack`, installed into an empty project outside the repository, then used
 * from there — both entry points, the shipped alerting files (rules pass their promtool tests where they were
 * installed), and `replag --config` on a demo source.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureDebianPackages } from './harness/debian-packages.ts';
import { REPO_ROOT } from './helpers/run-node.ts';

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const SHIPPED = [
  'alerting/prometheus/replication-lag.rules.yml',
  'alerting/prometheus/replication-lag.rules.test.yml',
  'alerting/grafana/replication-lag.dashboard.json',
  'docs/alerting.md',
  'examples/replag.yaml',
  'deploy/systemd/replag.service',
  'deploy/kubernetes/deployment.yaml',
  'README.md',
  'dist/esm/index.js',
  'dist/cjs/index.js',
];

describe('the packed package, installed into an empty project', { timeout: 240_000 }, () => {
  let dir: string;
  let project: string;
  let installed: string;
  let packed: string[];

  /** Node (this test run's, ≥ 22.15) in the consumer project. */
  const node = (args: string[]) => execFileSync(process.execPath, args, { cwd: project, encoding: 'utf8', timeout: 60_000 });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'replag-pack-'));
    // The tarball from what is built (npm ci builds dist/): --ignore-scripts skips a second build.
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
    const [info] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
    packed = info!.files.map((f) => f.path);
    project = join(dir, 'consumer');
    execFileSync('mkdir', ['-p', project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    // The sidecar's optional peer dependencies (replag --config needs them), at the versions the tests pin.
    const devDependencies = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies;
    const sidecar = ['pg', 'mysql2', 'yaml', 'zod'].map((name) => `${name}@${devDependencies[name]}`);
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', join(dir, info!.filename), ...sidecar], {
      cwd: project,
      encoding: 'utf8',
      timeout: 180_000,
      // npm under this run's Node (≥ 22.15), as `npm run` would have it.
      env: { ...process.env, PATH: `${join(process.execPath, '..')}:${process.env.PATH ?? ''}` },
    });
    installed = join(project, 'node_modules', pkg.name);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('contains the alerting files, docs and service manifests, and no sources or tests', () => {
    for (const file of SHIPPED) assert.ok(packed.includes(file), `${file} is in the tarball`);
    assert.deepEqual(packed.filter((f) => /^(src|test|bench|scripts)\//.test(f)), [], 'no sources, tests or benchmarks');
  });

  it('loads its ESM and CJS entry points from the consumer project', () => {
    const esm = node(['--input-type=module', '-e', "const m = await import('otel-replication-lag'); const s = await import('otel-replication-lag/sdk'); console.log(typeof m.ReplicationLagMonitor, typeof s.startTelemetry, new m.ReplicationLagMonitor().updateLag('a', 10n, 4n).lagEntries)"]);
    assert.equal(esm.trim(), 'function function 6');
    const cjs = node(['-e', "const m = require('otel-replication-lag'); const s = require('otel-replication-lag/sdk'); console.log(typeof m.ReplicationLagInstrumentation, typeof s.startTelemetry)"]);
    assert.equal(cjs.trim(), 'function function');
  });

  it('resolves the rule file and dashboard by package path, and the rules pass their promtool tests there', () => {
    const resolved = node(['--input-type=module', '-e', [
      "import { fileURLToPath } from 'node:url';",
      "for (const p of ['otel-replication-lag/alerting/prometheus/replication-lag.rules.yml', 'otel-replication-lag/alerting/grafana/replication-lag.dashboard.json'])",
      '  console.log(fileURLToPath(import.meta.resolve(p)));',
    ].join('\n')]).trim().split('\n');
    assert.deepEqual(resolved, [join(installed, 'alerting/prometheus/replication-lag.rules.yml'), join(installed, 'alerting/grafana/replication-lag.dashboard.json')]);
    const dashboard = JSON.parse(readFileSync(resolved[1]!, 'utf8')) as { panels: unknown[] };
    assert.ok(dashboard.panels.length > 0);
    ensureDebianPackages(['prometheus'], ['promtool']);
    const r = spawnSync('promtool', ['test', 'rules', 'replication-lag.rules.test.yml'], { cwd: join(installed, 'alerting/prometheus'), encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /SUCCESS/);
  });

  it('runs replag --config with a demo source from the installed bin', () => {
    const config = join(dir, 'replag.yaml');
    writeFileSync(config, ['sources:', '  - name: sim', '    type: demo', '    nodes: 2', ''].join('\n'));
    const bin = join(project, 'node_modules/.bin/replag');
    assert.ok(existsSync(bin), 'npm linked the replag bin');
    // The bin's shebang is `env node`: put this run's Node first on PATH, as `npm run` would.
    const PATH = `${join(process.execPath, '..')}:${process.env.PATH ?? ''}`;
    const r = spawnSync(bin, ['--config', config, '--duration', '2', '--output', 'plain'], { cwd: project, encoding: 'utf8', timeout: 60_000, env: { ...process.env, PATH } });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /\[sim\] demo up nodes=2 /, 'the demo source polls and reports its two followers under its name');
  });
});
