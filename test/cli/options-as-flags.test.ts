// Flags mode says the flags where a source's message names a nested option: the library names its options
// (`tls.ca`), the CLI maps them through the registry (`--tls-ca`).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { optionsAsFlags } from '../../src/cli/option-specs.ts';
import { findSource } from '../../src/sources/registry.ts';

describe('optionsAsFlags', () => {
  const postgres = optionsAsFlags(findSource('postgres')!);

  it('names the flag of each nested option a message names', () => {
    assert.equal(postgres('not signed by a trusted CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE): pass the CA that signed it (tls.ca)'), 'not signed by a trusted CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE): pass the CA that signed it (--tls-ca)');
    assert.equal(postgres('it requires a client certificate: pass tls.cert and tls.key'), 'it requires a client certificate: pass --tls-cert and --tls-key');
    assert.equal(postgres('cannot create heartbeat.table: permission denied'), 'cannot create --heartbeat-table: permission denied');
  });

  it('leaves top-level keys, longer names and other text alone', () => {
    for (const text of ['the url has no host', 'mytls.ca is not an option', 'tls.castle', 'pass the CA that signed it']) assert.equal(postgres(text), text);
  });

  it('maps the flag the registry gives a nested option, for every system that has one', () => {
    assert.equal(optionsAsFlags(findSource('redis')!)('a private CA (tls.ca); tls.servername'), 'a private CA (--tls-ca); --tls-server-name');
    assert.equal(optionsAsFlags(findSource('demo')!)('tls.ca'), 'tls.ca', 'demo has no nested option');
  });
});
