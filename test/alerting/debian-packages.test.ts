/** test/harness/debian-packages.ts: installs what is missing, and fails loudly, naming what it could not find. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ensureDebianPackages, hasBinary, isDebianPackageInstalled } from '../harness/debian-packages.ts';

test('installs (or finds) prometheus and its binaries', () => {
  ensureDebianPackages(['prometheus'], ['prometheus', 'promtool']);
  assert.equal(isDebianPackageInstalled('prometheus'), true);
  assert.equal(hasBinary('promtool'), true);
});

test('reports unknown packages and binaries as absent', () => {
  assert.equal(isDebianPackageInstalled('otel-replication-lag-no-such-package'), false);
  assert.equal(hasBinary('otel-replication-lag-no-such-binary'), false);
});

test('throws naming a binary that an installed package does not provide', () => {
  assert.throws(
    () => ensureDebianPackages(['prometheus'], ['promtool', 'otel-replication-lag-no-such-binary']),
    /binary otel-replication-lag-no-such-binary not on PATH/,
  );
});
