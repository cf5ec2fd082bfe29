/**
 * What is generated from the registry stays in step with it: replag.schema.json (shipped, importable as
 * `otel-replication-lag/replag.schema.json`), which a real JSON Schema validator (ajv) applies to the example and the
 * deploy ConfigMap's file and which rejects a bad file; and each system's options table in docs/sources/<type>.md.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { docPageOf } from '../../src/cli/doc-pages.ts';
import { configJsonSchemaText } from '../../src/cli/fleet-schema.ts';
import { withOptionsTable } from '../../src/cli/usage.ts';
import { SOURCE_DESCRIPTORS } from '../../src/sources/registry.ts';
import { REPO_ROOT } from '../helpers/run-node.ts';

const require = createRequire(import.meta.url);
const Ajv = require('ajv') as typeof import('ajv').default;
const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const schema = JSON.parse(read('replag.schema.json')) as Record<string, unknown>;

function validator() {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  return ajv.compile(schema);
}

/** The ConfigMap's configuration file. */
function configMapFile(): string {
  const configMap = parseAllDocuments(read('deploy/kubernetes/configmap.yaml')).map((d) => d.toJS()).find((d) => d?.kind === 'ConfigMap');
  return configMap.data['replag.yaml'] as string;
}

describe('replag.schema.json', () => {
  it('is what the registry generates (npm run generate writes it)', () => {
    assert.equal(read('replag.schema.json'), configJsonSchemaText(), 'replag.schema.json is stale: run npm run generate');
  });

  it('is shipped and importable as otel-replication-lag/replag.schema.json', () => {
    const pkg = JSON.parse(read('package.json'));
    assert.equal(pkg.exports['./replag.schema.json'], './replag.schema.json');
    assert.ok(pkg.files.includes('replag.schema.json'));
    assert.deepEqual(require('otel-replication-lag/replag.schema.json'), schema);
  });

  it('validates examples/replag.yaml and the ConfigMap\'s file (with ajv, strict), each naming it in its first line', () => {
    const validate = validator();
    for (const [name, text, ref] of [
      ['examples/replag.yaml', read('examples/replag.yaml'), '../replag.schema.json'],
      ['the ConfigMap\'s replag.yaml', configMapFile(), 'https://unpkg.com/otel-replication-lag/replag.schema.json'],
    ] as const) {
      assert.equal(text.split('\n')[0], `# yaml-language-server: $schema=${ref}`, name);
      assert.ok(validate(parse(text)), `${name}: ${JSON.stringify(validate.errors)}`);
    }
    assert.equal(schema.$id, 'https://unpkg.com/otel-replication-lag/replag.schema.json');
  });

  it('accepts every system\'s options and ${env:…} for numbers and durations', () => {
    const validate = validator();
    const file = {
      export: { prometheus: { port: '${env:PROM_PORT}' }, otlp: { endpoint: 'http://c:4318', protocol: 'grpc' }, http: { port: 8080 }, interval: '10s' },
      defaults: { interval: '${env:IVL}', thresholds: { warning: '5s' } },
      sources: [
        { name: 'pg', type: 'postgres', url: 'postgres://m@h/db', password: '${env:PW}', logicalSlots: false, subscribers: ['postgres://s/db'], tls: { ca: 'ca.pem', insecure: false } },
        { name: 'r', type: 'redis', sentinels: ['redis://s:26379'], masterName: 'm', username: 'u', sentinelPassword: 'x' },
        { name: 'e', type: 'etcd', endpoints: ['https://e:2379'], tls: { cert: 'c.pem', key: 'k.pem', servername: 'etcd' } },
        { name: 'my', type: 'mysql', primary: 'mysql://m@p', replicas: ['mysql://m@r'], replicaTimeout: '500ms', timeout: '2s' },
        { name: 'd', type: 'demo', nodes: 3, leaderRate: 10.5, attributes: { 'replication.cluster': 'eu', n: 1, b: true } },
      ],
    };
    assert.ok(validate(file), JSON.stringify(validate.errors));
  });

  it('rejects a bad file: an unknown key, an option of another type, a duration without unit, a missing url', () => {
    const validate = validator();
    const bad = [
      { sources: [{ name: 'a', type: 'demo', intervl: '1s' }] },
      { sources: [{ name: 'a', type: 'demo', url: 'postgres://h/db' }] },
      { sources: [{ name: 'a', type: 'demo', interval: 10 }] },
      { sources: [{ name: 'a', type: 'postgres' }] },
      { sources: [{ name: 'a', type: 'cassandra' }] },
      { sourcse: [] },
      { export: { prometheus: { port: 70000 } }, sources: [{ name: 'a', type: 'demo' }] },
    ];
    for (const file of bad) assert.equal(validate(file), false, JSON.stringify(file));
  });
});

describe('docs/sources/<type>.md', () => {
  for (const d of SOURCE_DESCRIPTORS) {
    it(`${docPageOf(d.type)} holds the registry's options table of ${d.type} (npm run generate writes it)`, () => {
      const page = read(docPageOf(d.type));
      assert.equal(page, withOptionsTable(page, d), `${docPageOf(d.type)} is stale: run npm run generate`);
    });
  }

  it('the README links every system\'s page', () => {
    const readme = read('README.md');
    for (const d of SOURCE_DESCRIPTORS) assert.ok(readme.includes(`](${docPageOf(d.type)})`), docPageOf(d.type));
  });
});
