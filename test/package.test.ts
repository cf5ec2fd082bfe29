// The published shape: dual ESM + CJS entry points, the bin, the peer dependency, one copy of the SDK.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function run(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 30_000 });
}

describe('package', () => {
  it('has been built (npm ci runs the build; otherwise run npm run build)', () => {
    for (const file of ['dist/esm/index.js', 'dist/cjs/index.js', 'dist/esm/sdk/index.js', 'dist/cjs/sdk/index.js', 'dist/esm/index.d.ts', 'dist/cjs/package.json']) {
      assert.ok(existsSync(join(root, file)), `${file} missing: run npm run build`);
    }
  });

  it('loads through require and import, for the library and the sdk entry', () => {
    const cjs = run(['-e', "const m = require('otel-replication-lag'); const s = require('otel-replication-lag/sdk'); console.log(typeof m.ReplicationLagMonitor, typeof m.ReplicationLagInstrumentation, typeof s.startTelemetry)"]);
    assert.equal(cjs.trim(), 'function function function');
    const esm = run(['--input-type=module', '-e', "const m = await import('otel-replication-lag'); const s = await import('otel-replication-lag/sdk'); console.log(typeof m.ReplicationLagMonitor, typeof s.startTelemetry, new m.ReplicationLagMonitor().updateLag('a', 10n, 4n).lagEntries)"]);
    assert.equal(esm.trim(), 'function function 6');
  });

  it('does not load SDK packages from the library entry', () => {
    const loaded = run(['-e', "require('otel-replication-lag'); console.log(Object.keys(require.cache).filter(k => /@opentelemetry\\/(sdk-|exporter-|resources)/.test(k)).length)"]);
    assert.equal(loaded.trim(), '0');
  });

  it('ships each database source as its own entry, loading only its own driver', () => {
    const esm = run(['--input-type=module', '-e', [
      "const names = [];",
      "for (const [file, cls] of [['postgresql', 'PostgresSource'], ['redis', 'RedisSource'], ['etcd', 'EtcdSource'], ['mysql', 'MySqlSource']]) {",
      "  const m = await import('otel-replication-lag/sources/' + file); names.push(typeof m[cls]); }",
      "console.log(names.join(' '))",
    ].join('\n')]);
    assert.equal(esm.trim(), 'function function function function');
    const drivers = (entry: string) => run(['-e', `require('${entry}'); console.log(Object.keys(require.cache).filter(k => /node_modules\\/(pg|mysql2)\\//.test(k)).map(k => k.match(/node_modules\\/(pg|mysql2)\\//)[1]).filter((v, i, a) => a.indexOf(v) === i).join(',') || 'none')`]).trim();
    assert.equal(drivers('otel-replication-lag'), 'none', 'the library entry loads no database driver');
    assert.equal(drivers('otel-replication-lag/sources/redis'), 'none', 'redis needs no driver');
    assert.equal(drivers('otel-replication-lag/sources/postgresql'), 'pg');
    assert.equal(drivers('otel-replication-lag/sources/mysql'), 'mysql2');
  });

  it('ships the replag bin with a shebang', () => {
    const bin = join(root, pkg.bin.replag);
    assert.ok(existsSync(bin), `${pkg.bin.replag} missing`);
    assert.match(readFileSync(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/);
    assert.ok((statSync(bin).mode & 0o111) !== 0, 'bin is executable');
    assert.equal(run([bin, '--version']).trim(), pkg.version);
  });

  it('declares @opentelemetry/api as a peer dependency only, and targets Node >= 22', () => {
    assert.ok(pkg.peerDependencies['@opentelemetry/api'], 'peer dependency');
    assert.equal(pkg.dependencies['@opentelemetry/api'], undefined, 'never a regular dependency');
    assert.match(pkg.engines.node, />=\s*22/);
  });

  it('installs exactly one copy of each OpenTelemetry SDK package', () => {
    const copies = new Map<string, number>();
    const walk = (dir: string, depth: number) => {
      if (depth > 8 || !existsSync(dir)) return;
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (name === '@opentelemetry') {
          for (const p of readdirSync(path)) copies.set(p, (copies.get(p) ?? 0) + 1);
          for (const p of readdirSync(path)) walk(join(path, p, 'node_modules'), depth + 1);
        } else if (name.startsWith('@')) {
          for (const p of readdirSync(path)) walk(join(path, p, 'node_modules'), depth + 1);
        } else if (!name.startsWith('.')) {
          walk(join(path, 'node_modules'), depth + 1);
        }
      }
    };
    walk(join(root, 'node_modules'), 0);
    for (const name of ['api', 'sdk-metrics', 'sdk-logs', 'resources', 'core']) {
      assert.equal(copies.get(name), 1, `@opentelemetry/${name} installed ${copies.get(name)} times`);
    }
  });
});
