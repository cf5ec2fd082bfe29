/** Optional peer dependencies: a missing one is named, with the command that installs what the feature needs. */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { importOptional, MissingDependencyError, missingPackageOf, OPTIONAL_PEERS } from '../src/optional-dependency.ts';

/** Specifiers of packages that do not exist (variables: the type checker does not look them up). */
const MISSING = 'otel-replication-lag-no-such-package';
const MISSING_SCOPED = '@no-such-scope/no-such-package';
const MISSING_FILE = './no-such-file.ts';

test('missingPackageOf names the missing package of a real ESM or CommonJS "not found" error, and only of those', async () => {
  const esm = await import(`${MISSING}/sub`).catch((e: unknown) => e);
  assert.equal(missingPackageOf(esm), 'otel-replication-lag-no-such-package');
  const scoped = await import(MISSING_SCOPED).catch((e: unknown) => e);
  assert.equal(missingPackageOf(scoped), '@no-such-scope/no-such-package');
  let cjs: unknown;
  try {
    createRequire(import.meta.url)(MISSING);
  } catch (e) {
    cjs = e;
  }
  assert.equal(missingPackageOf(cjs), 'otel-replication-lag-no-such-package');
  assert.equal(missingPackageOf(await import(MISSING_FILE).catch((e: unknown) => e)), undefined, 'a missing file of the package is not a missing dependency');
  assert.equal(missingPackageOf(new Error("Cannot find package 'pg'")), undefined, 'no code: not a resolution error');
});

test('importOptional turns a missing listed package into a MissingDependencyError naming the whole set', async () => {
  const packages = ['otel-replication-lag-no-such-package', 'another-one'];
  const error = await importOptional(() => import(MISSING), packages, 'the feature').catch((e: unknown) => e);
  assert.ok(error instanceof MissingDependencyError);
  assert.deepEqual(error.packages, packages);
  assert.equal(error.message, 'the feature needs otel-replication-lag-no-such-package, another-one, not installed: they are optional peer dependencies of otel-replication-lag, which npm does not install with it. Install them next to it: npm install otel-replication-lag-no-such-package another-one');
  const other = await importOptional(() => import(MISSING), ['something-else'], 'x').catch((e: unknown) => e);
  assert.ok(!(other instanceof MissingDependencyError), 'a package not in the set is not reported as one');
  assert.equal(typeof (await importOptional(() => import('yaml'), ['yaml'], 'y')).parse, 'function');
});

test('the optional peers listed are the package.json ones', async () => {
  const pkg = createRequire(import.meta.url)('../package.json') as { peerDependenciesMeta: Record<string, { optional: boolean }> };
  assert.deepEqual(Object.keys(OPTIONAL_PEERS).sort(), Object.keys(pkg.peerDependenciesMeta).sort());
});
