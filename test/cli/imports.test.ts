/**
 * The CLI's shape: no import cycles among src/cli files (main.ts and fleet.ts used to import each other), and no
 * file of src/cli spells out a system: no `case 'postgres'` (or any other type) switch, no option of one system.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { SOURCE_DESCRIPTORS } from '../../src/sources/registry.ts';

const cli = new URL('../../src/cli/', import.meta.url).pathname;
const files = readdirSync(cli).filter((f) => f.endsWith('.ts')).map((f) => join(cli, f));

/** Relative imports of `path` (static, dynamic and type-only), resolved. */
function imports(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import\()\s*['"](\.[^'"]+)['"]/g)].map((m) => m[1]!);
  return specifiers.map((s) => resolve(dirname(path), s));
}

describe('src/cli', () => {
  it('has no import cycle', () => {
    const graph = new Map(files.map((f) => [f, imports(f).filter((i) => i.startsWith(cli))]));
    const state = new Map<string, 'open' | 'done'>();
    const visit = (f: string, trail: string[]) => {
      if (state.get(f) === 'done') return;
      assert.notEqual(state.get(f), 'open', `import cycle: ${[...trail, f].map((p) => p.slice(cli.length)).join(' -> ')}`);
      state.set(f, 'open');
      for (const next of graph.get(f) ?? []) visit(next, [...trail, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
  });

  it('never spells out a system: no switch on a type, no option key of one system', () => {
    const types = SOURCE_DESCRIPTORS.map((d) => d.type);
    const ownKeys = SOURCE_DESCRIPTORS.flatMap((d) => Object.keys(d.options.shape)).filter((k) => !['tls', 'url', 'password'].includes(k));
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      for (const type of types) assert.doesNotMatch(text, new RegExp(`case\\s+['"]${type}['"]`), `${f}: case '${type}'`);
      for (const key of ownKeys) assert.doesNotMatch(text, new RegExp(`\\.${key}\\b|['"]${key}['"]`), `${f} names the option ${key}`);
    }
  });
});
