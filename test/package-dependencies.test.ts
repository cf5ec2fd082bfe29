/**
 * The dependencies fit an OpenTelemetry app: the packed package installed next to `@opentelemetry/sdk-node`
 * 0.301.x shares one copy of every OpenTelemetry package with it; the drop-in path installs no database driver,
 * gRPC, protobufjs, YAML parser or zod (optional peer dependencies), and says which package to install when a
 * feature needs one; no source maps; installing on a Node older than `engines` says so.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { REPO_ROOT } from './helpers/run-node.ts';

interface PackageJson {
  name: string;
  version: string;
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  scripts: Record<string, string>;
}

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as PackageJson;

/** What the drop-in instrumentation must not make an app install. */
const HEAVY = ['pg', 'mysql2', '@grpc/grpc-js', 'protobufjs', 'yaml', 'zod', 'yargs'];
/** The optional peer dependencies `replag` loads at start. */
const SIDECAR = ['pg', 'mysql2', 'yaml', 'zod'];
/** Debian's Node (older than `engines`), for the install that must refuse. */
const DEBIAN_NODE = '/usr/bin/node';

/** This run's Node (≥ 22.15) first on PATH, so npm resolves and runs scripts as it would under it. */
const PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;

function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv = { ...process.env, PATH }): SpawnSyncReturns<string> {
  return spawnSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, env, encoding: 'utf8', timeout: 240_000 });
}

function emptyProject(parent: string, name: string): string {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
  return dir;
}

function install(project: string, specs: string[]): void {
  const r = npm(['install', '--prefer-offline', ...specs], project);
  assert.equal(r.status, 0, `npm install ${specs.join(' ')}:\n${r.stdout}${r.stderr}`);
}

/** Every installed copy of each package, by name: the distinct paths `npm ls --all --parseable` prints. */
function copies(project: string): Map<string, string[]> {
  const r = npm(['ls', '--all', '--parseable'], project);
  assert.equal(r.status, 0, `npm ls --all:\n${r.stdout}${r.stderr}`);
  const byName = new Map<string, string[]>();
  for (const path of new Set(r.stdout.split('\n').filter((l) => l.includes('/node_modules/')))) {
    const name = path.slice(path.lastIndexOf('/node_modules/') + '/node_modules/'.length);
    byName.set(name, [...(byName.get(name) ?? []), path]);
  }
  return byName;
}

/** Bytes under `dir` (files' sizes). */
function sizeOf(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += sizeOf(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

function nodeIn(project: string, args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, args, { cwd: project, encoding: 'utf8', timeout: 60_000 });
}

describe('package.json dependency fields', () => {
  it('peer @opentelemetry/api ^1.10.0, every OpenTelemetry dependency a range of its current line', () => {
    assert.equal(pkg.peerDependencies['@opentelemetry/api'], '^1.10.0');
    assert.equal(pkg.peerDependenciesMeta?.['@opentelemetry/api'], undefined, 'the API is a required peer');
    for (const [name, range] of Object.entries({ ...pkg.dependencies, ...pkg.peerDependencies })) {
      if (!name.startsWith('@opentelemetry/')) continue;
      assert.match(range, /^\^\d+\.\d+\.\d+$/, `${name} ${range}`);
      // The range's line is the one the tests run with (pinned exactly in devDependencies or the lock file).
      const tested = pkg.devDependencies[name] ?? (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
      assert.equal(range, `^${tested}`, `${name}: ${range} vs tested ${tested}`);
    }
  });

  it('database drivers, gRPC, the YAML parser and zod are optional peer dependencies, pinned for the tests', () => {
    for (const name of ['pg', 'mysql2', 'yaml', 'zod', '@opentelemetry/exporter-metrics-otlp-grpc', '@opentelemetry/exporter-logs-otlp-grpc', '@opentelemetry/otlp-grpc-exporter-base']) {
      assert.equal(pkg.dependencies[name], undefined, `${name} is not a dependency`);
      assert.ok(pkg.peerDependencies[name], `${name} is a peer dependency`);
      assert.equal(pkg.peerDependenciesMeta?.[name]?.optional, true, `${name} is optional`);
      assert.match(pkg.devDependencies[name] ?? '', /^\d+\.\d+\.\d+$/, `${name} pinned exactly in devDependencies`);
    }
    for (const name of HEAVY) assert.equal(pkg.dependencies[name], undefined, `${name} is not a dependency`);
  });
});

describe('the packed package in an app', { timeout: 600_000 }, () => {
  let dir: string;
  let tarball: string;
  let packed: string[];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'replag-deps-'));
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
    const [info] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
    tarball = join(dir, info!.filename);
    packed = info!.files.map((f) => f.path);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ships no source maps and no reference to one', () => {
    assert.deepEqual(packed.filter((f) => f.endsWith('.map')), []);
    const withMapUrl = packed.filter((f) => /\.(c|m)?js$/.test(f) && readFileSync(join(REPO_ROOT, f), 'utf8').includes('sourceMappingURL'));
    assert.deepEqual(withMapUrl, []);
  });

  for (const sdkNode of ['0.301.0', '~0.301.0']) {
    it(`next to @opentelemetry/sdk-node@${sdkNode}: one copy of each OpenTelemetry package`, (t: TestContext) => {
      const project = emptyProject(dir, `with-sdk-node-${sdkNode.replace(/\W/g, '')}`);
      install(project, [tarball, `@opentelemetry/sdk-node@${sdkNode}`, '@opentelemetry/api@^1.10.0']);
      const otel = [...copies(project)].filter(([name]) => name.startsWith('@opentelemetry/'));
      assert.ok(otel.length >= 15, `only ${otel.length} OpenTelemetry packages`);
      const doubled = otel.filter(([, paths]) => paths.length > 1).map(([name, paths]) => `${name}: ${paths.join(', ')}`);
      assert.deepEqual(doubled, [], 'a second copy of an OpenTelemetry package');
      t.diagnostic(`${otel.length} OpenTelemetry packages, one copy each`);
      // ... and nothing but the package itself next to what sdk-node installs anyway.
      const alone = emptyProject(dir, `sdk-node-alone-${sdkNode.replace(/\W/g, '')}`);
      install(alone, [`@opentelemetry/sdk-node@${sdkNode}`, '@opentelemetry/api@^1.10.0']);
      const before = new Set(copies(alone).keys());
      assert.deepEqual([...copies(project).keys()].filter((name) => !before.has(name)), [pkg.name]);
    });
  }

  describe('the drop-in path (the package and @opentelemetry/api only)', () => {
    let project: string;
    before(() => {
      project = emptyProject(dir, 'drop-in');
      install(project, [tarball, '@opentelemetry/api@^1.10.0']);
    });

    it('installs no database driver, gRPC, protobufjs, YAML parser or zod; its footprint is measured', (t: TestContext) => {
      const installed = copies(project);
      assert.deepEqual(HEAVY.filter((name) => installed.has(name)), []);
      const own = sizeOf(join(project, 'node_modules', pkg.name));
      const total = sizeOf(join(project, 'node_modules'));
      t.diagnostic(`drop-in footprint: ${installed.size} packages, ${(total / 1e6).toFixed(1)} MB in node_modules (${(own / 1e6).toFixed(1)} MB of it the package itself)`);
      assert.ok(installed.size > 10, 'the OpenTelemetry dependencies are there');
    });

    it('the instrumentation and the standalone SDK entry work', () => {
      const r = nodeIn(project, ['--input-type=module', '-e', [
        "const { ReplicationLagInstrumentation } = await import('otel-replication-lag');",
        "const { startTelemetry } = await import('otel-replication-lag/sdk');",
        'const lag = new ReplicationLagInstrumentation();',
        
        "const t = await startTelemetry({ serviceName: 'dropin', otlp: false });",
        "console.log(lag.monitor.updateLag('r1', 10n, 4n).lagEntries, typeof t.monitor.updateLag);",
        'await t.shutdown();',
      ].join('\n')]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout.trim(), /^6 function$/);
    });

    it('OTLP over gRPC names the packages to install', () => {
      const r = nodeIn(project, ['--input-type=module', '-e', [
        "const { startTelemetry } = await import('otel-replication-lag/sdk');",
        "try { await startTelemetry({ serviceName: 'dropin', otlp: { protocol: 'grpc', endpoint: 'http://127.0.0.1:4317' } }); console.log('started'); }",
        'catch (e) { console.log(e.name + ": " + e.message); }',
      ].join('\n')]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^MissingDependencyError: OTLP over gRPC \(protocol grpc\) needs @opentelemetry\/exporter-metrics-otlp-grpc, @opentelemetry\/exporter-logs-otlp-grpc, @opentelemetry\/otlp-grpc-exporter-base, not installed/);
      assert.match(r.stdout, /npm install @opentelemetry\/exporter-metrics-otlp-grpc @opentelemetry\/exporter-logs-otlp-grpc @opentelemetry\/otlp-grpc-exporter-base\n/);
    });

    it('a source entry without its driver names the driver', () => {
      const r = nodeIn(project, ['--input-type=module', '-e', "await import('otel-replication-lag/sources/postgresql')"]);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /Cannot find package 'pg'/);
    });

    it('replag without its packages exits 2 with the command that installs them', () => {
      const bin = join(project, 'node_modules/.bin/replag');
      const r = spawnSync(bin, ['--version'], { cwd: project, encoding: 'utf8', timeout: 60_000, env: { ...process.env, PATH } });
      assert.equal(r.status, 2, `${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, new RegExp(`^replag: replag needs ${SIDECAR.join(', ')}, not installed: they are optional peer dependencies of otel-replication-lag, which npm does not install with it\\. Install them next to it: npm install ${SIDECAR.join(' ')}\\n$`));
    });

    it('with them installed, replag runs', () => {
      install(project, SIDECAR.map((name) => `${name}@${pkg.devDependencies[name]}`));
      const r = spawnSync(join(project, 'node_modules/.bin/replag'), ['--version'], { cwd: project, encoding: 'utf8', timeout: 60_000, env: { ...process.env, PATH } });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
      assert.equal(r.stdout.trim(), pkg.version);
    });
  });

  it('installing on a Node older than engines stops with a message naming the Node version', () => {
    const version = execFileSync(DEBIAN_NODE, ['--version'], { encoding: 'utf8' }).trim();
    const [major = 0, minor = 0] = version.slice(1).split('.').map(Number);
    assert.ok(major < 22 || (major === 22 && minor < 15), `${DEBIAN_NODE} is ${version}: this test needs a Node older than ${pkg.engines.node}`);
    const project = emptyProject(dir, 'old-node');
    // npm itself under Debian's Node: its own `node` first on PATH.
    const r = npm(['install', '--prefer-offline', tarball, '@opentelemetry/api@^1.10.0'], project, { ...process.env, PATH: `${dirname(DEBIAN_NODE)}:${process.env.PATH ?? ''}` });
    assert.notEqual(r.status, 0, 'the install fails');
    assert.match(r.stderr, new RegExp(`otel-replication-lag needs Node\\.js >= 22\\.15 \\(package\\.json engines\\); this is Node ${version.replaceAll('.', '\\.')}\\. Upgrade Node and install again\\.`));
    assert.equal(existsSync(join(project, 'node_modules', pkg.name, 'dist')), false, 'nothing usable left behind');
  });
});
