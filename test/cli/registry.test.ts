/**
 * Generated from the registry: every option of every system has its file key and its flag (a secret: its
 * environment variable instead), both set the same option to the same value, each `replag <type> --help` lists them,
 * and descriptors load no driver.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseCliArgs } from '../../src/cli/args.ts';
import { parseFleetConfig } from '../../src/cli/config.ts';
import { optionSpecs, kebab, type OptionSpec } from '../../src/cli/option-specs.ts';
import { typeUsage, usage } from '../../src/cli/usage.ts';
import { SOURCE_DESCRIPTORS } from '../../src/sources/registry.ts';
import { REPO_ROOT } from '../helpers/run-node.ts';

const dir = mkdtempSync(join(tmpdir(), 'replag-registry-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const pemFile = join(dir, 'file.pem');
writeFileSync(pemFile, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');

/**
 * A text the option accepts: `value-1`, else the example its message gives (`expected a redis:// URL such as
 * redis://db:6379`), so a new system's options need nothing here.
 */
function acceptedText(spec: OptionSpec, list: boolean): string {
  const wrap = (v: string) => (list ? [v] : v);
  if (spec.schema.safeParse(wrap('value-1')).success) return 'value-1';
  const message = spec.schema.safeParse(wrap('')).error?.issues[0]?.message ?? '';
  const example = / such as (\S+)/.exec(message)?.[1];
  assert.ok(example !== undefined && spec.schema.safeParse(wrap(example)).success, `${spec.keyPath.join('.')}: no value found that it accepts (${message})`);
  return example;
}

/** A valid value of `spec` as typed on the command line and as written in the file, and what both parse to. */
function sample(spec: OptionSpec): { flag: string[]; file: unknown; parsed: unknown } {
  switch (spec.kind) {
    case 'boolean':
      return { flag: [`--no-${spec.flag}`], file: false, parsed: false };
    case 'duration':
      return { flag: [`--${spec.flag}`, '750ms'], file: '750ms', parsed: 750 };
    case 'number':
      return { flag: [`--${spec.flag}`, '7'], file: 7, parsed: 7 };
    case 'list': {
      const one = acceptedText(spec, true);
      const two = one === 'value-1' ? 'value-2' : one.replace('//', '//x');
      return { flag: [`--${spec.flag}`, one, `--${spec.flag}`, two], file: [one, two], parsed: [one, two] };
    }
    default: {
      if (spec.meta.pemFile) return { flag: [`--${spec.flag}`, pemFile], file: pemFile, parsed: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' };
      const text = acceptedText(spec, false);
      return { flag: [`--${spec.flag}`, text], file: text, parsed: text };
    }
  }
}

/** The options of one system with every option given a value (those a rule excludes left out). */
function fullSet(specs: readonly OptionSpec[], type: string): OptionSpec[] {
  // Redis: url or sentinels + masterName; a client certificate needs its key (both present here).
  return specs.filter((s) => !(type === 'redis' && (s.keyPath[0] === 'sentinels' || s.keyPath[0] === 'masterName')));
}

const set = (target: Record<string, unknown>, keyPath: readonly string[], value: unknown) => {
  let node = target;
  for (const k of keyPath.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>;
  node[keyPath.at(-1)!] = value;
};

describe('the source registry', () => {
  it('lists each system once, with a summary, a strict options schema and described options', () => {
    assert.deepEqual(SOURCE_DESCRIPTORS.map((d) => d.type), ['demo', 'postgres', 'redis', 'etcd', 'mysql', 'zookeeper', 'nats', 'galera', 'redis-cluster']);
    for (const d of SOURCE_DESCRIPTORS) {
      assert.ok(d.summary.length > 10, d.type);
      assert.equal(d.options.safeParse({ ['not-an-option']: 1 }).error?.issues.some((i: { code: string }) => i.code === 'unrecognized_keys'), true, `${d.type}: unknown keys refused`);
      assert.ok(optionSpecs(d).length > 0, d.type);
    }
  });

  for (const d of SOURCE_DESCRIPTORS) {
    describe(`${d.type}`, () => {
      const specs = optionSpecs(d);

      it('every option has a file key and a flag (kebab-case unless its meta names one), or, if secret, an environment variable', () => {
        const flags = specs.map((s) => s.flag).filter((f) => f !== undefined);
        assert.equal(new Set(flags).size, flags.length, 'flags are unique');
        for (const spec of specs) {
          const key = spec.keyPath.join('.');
          if (spec.meta.secret) {
            assert.equal(spec.flag, undefined, `${key}: a secret has no flag`);
            assert.ok(d.secretEnv?.[key] !== undefined, `${key}: a secret comes from an environment variable (secretEnv)`);
            continue;
          }
          assert.equal(spec.flag, spec.meta.flag ?? spec.keyPath.map(kebab).join('-'), key);
        }
        for (const key of Object.keys(d.secretEnv ?? {})) assert.ok(specs.some((s) => s.keyPath.join('.') === key && s.meta.secret), `secretEnv ${key} is a secret option`);
      });

      it('each flag and its file key set the same option to the same value', () => {
        const base = fullSet(specs, d.type).filter((s) => s.flag !== undefined);
        const argv = [d.type];
        const entry: Record<string, unknown> = { name: 'x', type: d.type };
        const expected: Record<string, unknown> = {};
        for (const spec of base) {
          const v = sample(spec);
          argv.push(...v.flag);
          set(entry, spec.keyPath, v.file);
          set(expected, spec.keyPath, v.parsed);
        }
        const fromFlags = parseCliArgs(argv);
        assert.ok('mode' in fromFlags && fromFlags.mode === 'flags');
        const fromFile = parseFleetConfig(`sources:\n  - ${JSON.stringify(entry)}\n`, { env: {} });
        for (const spec of base) {
          const pick = (o: Record<string, unknown>) => spec.keyPath.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], o);
          assert.deepEqual(pick(fromFlags.config.sources[0]!.options as Record<string, unknown>), pick(expected), `--${spec.flag}`);
          assert.deepEqual(pick(fromFile.sources[0]!.options as Record<string, unknown>), pick(expected), spec.keyPath.join('.'));
        }
      });

      it('replag ' + d.type + ' --help lists every flag and file key (and each secret\'s variable)', () => {
        const help = typeUsage(d);
        for (const spec of specs) {
          const key = spec.keyPath.join('.');
          assert.ok(help.includes(`file: ${key}`), `${key} in --help`);
          if (spec.flag !== undefined) assert.ok(help.includes(`--${spec.flag}`), `--${spec.flag} in --help`);
          else if (d.secretEnv?.[key] !== undefined) assert.ok(help.includes(`$${d.secretEnv[key]}`), `$${d.secretEnv[key]} in --help`);
        }
        assert.ok(usage().includes(`  ${d.type} `), `${d.type} in replag --help`);
      });
    });
  }

  it('loads no driver or client: each descriptor imports its source only when it creates one', () => {
    const script = [
      "import { registerHooks } from 'node:module';",
      'const seen = [];',
      'registerHooks({ resolve(specifier, context, next) { seen.push(specifier); return next(specifier, context); } });',
      "await import('./src/sources/registry.ts');",
      "await import('./src/cli/args.ts');",
      "console.log(JSON.stringify(seen.filter((s) => /^(pg|mysql2|node:net|node:tls|node:http|node:https)$|\\/index\\.ts$/.test(s))));",
    ].join('\n');
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 30_000 });
    assert.deepEqual(JSON.parse(out.trim()), []);
  });
});
