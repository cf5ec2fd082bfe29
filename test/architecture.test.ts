// The one-way data flow, checked on the sources: core has no OpenTelemetry import, the instrumentation only
// the API and the instrumentation base, SDK packages only in src/sdk and src/cli.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';

const root = new URL('../src/', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

function imports(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm), ...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
}

describe('architecture', () => {
  const all = files(root).map((path) => ({ file: relative(root, path), imports: imports(path) }));

  it('finds the sources it checks', () => {
    assert.ok(all.some((f) => f.file === 'monitor.ts'));
    assert.ok(all.some((f) => f.file === 'instrumentation.ts' && f.imports.includes('@opentelemetry/api')));
  });

  it('keeps the monitor core and sources free of OpenTelemetry', () => {
    for (const f of all.filter((f) => !f.file.startsWith('sdk/') && !f.file.startsWith('cli/') && f.file !== 'instrumentation.ts' && f.file !== 'index.ts')) {
      assert.deepEqual(f.imports.filter((i) => i.startsWith('@opentelemetry/')), [], `${f.file} imports OpenTelemetry`);
    }
  });

  it('lets library code import only @opentelemetry/api and @opentelemetry/instrumentation', () => {
    for (const f of all.filter((f) => !f.file.startsWith('sdk/') && !f.file.startsWith('cli/'))) {
      const bad = f.imports.filter((i) => i.startsWith('@opentelemetry/') && i !== '@opentelemetry/api' && i !== '@opentelemetry/instrumentation');
      assert.deepEqual(bad, [], `${f.file} imports an SDK package`);
      assert.ok(!f.imports.some((i) => i.startsWith('./sdk/') || i.startsWith('./cli/')), `${f.file} reaches into sdk/ or cli/`);
    }
  });
});
