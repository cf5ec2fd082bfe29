/** Bad input: a TypeError or RangeError naming the node and the field, and no change to any observable state. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReplicationLagConfig, ReplicationLagMonitor } from '../../src/index.ts';
import { fakeMonitor, observable } from './helpers.ts';

/** A monitor with history, alerts, a bigint node and a registered node that never reported. */
function populated(config: Partial<ReplicationLagConfig> = {}): { monitor: ReplicationLagMonitor; advance: () => void } {
  const { clock, monitor } = fakeMonitor(config);
  monitor.registerNode('pg-standby-1', { 'server.address': 'db-1' });
  monitor.registerNode('silent');
  monitor.registerNode('frozen');
  monitor.registerNode('big');
  for (let s = 0; s < 40; s++) {
    clock.t = s * 1000;
    monitor.updateLag('pg-standby-1', 1000 * s + 50, 1000 * s);
    monitor.updateLag('frozen', 100 * s + 1, 1); // stalls, alerts
    monitor.updateLag('big', 2n ** 63n - 10_000n + BigInt(10 * s), 2n ** 63n - 10_000n);
  }
  assert.ok(monitor.getAlerts().length > 0, 'setup: some alerts');
  return { monitor, advance: () => (clock.t += 1000) };
}

type Call = (m: ReplicationLagMonitor) => unknown;
const bad = (v: unknown) => v as number; // to pass ill-typed values through the typed API

interface Case {
  name: string;
  call: Call;
  error: typeof RangeError | typeof TypeError;
  /** Strings the message must contain. */
  mentions: string[];
}

const NODE = 'pg-standby-1';
const Q = JSON.stringify(NODE);

const positionCases: Case[] = [];
for (const field of ['leaderSeq', 'followerSeq'] as const) {
  const at = (v: unknown): Call => (m) => (field === 'leaderSeq' ? m.updateLag(NODE, bad(v), 10) : m.updateLag(NODE, 2_000_000, bad(v)));
  for (const [label, v] of [['NaN', Number.NaN], ['Infinity', Number.POSITIVE_INFINITY], ['-Infinity', Number.NEGATIVE_INFINITY], ['-1', -1], ['1.5', 1.5], ['2^53', 2 ** 53], ['-1n', -1n], ['2^64', 2n ** 64n], ['2^1024', 2n ** 1024n]] as const) {
    positionCases.push({ name: `${field} ${label}`, call: at(v), error: RangeError, mentions: [Q, field] });
  }
  for (const [label, v] of [["'5'", '5'], ['null', null], ['{}', {}], ['undefined', undefined], ['true', true], ['[1]', [1]]] as const) {
    positionCases.push({ name: `${field} ${label}`, call: at(v), error: TypeError, mentions: [Q, field] });
  }
}

const lagSecondsCases: Case[] = [
  ...([['-1', -1], ['-0.001', -0.001], ['NaN', Number.NaN], ['Infinity', Number.POSITIVE_INFINITY], ['1e308', 1e308], ['1e10 + 1', 1e10 + 1]] as const).map(([label, v]) => ({
    name: `lagSeconds ${label}`,
    call: ((m: ReplicationLagMonitor) => m.updateLag(NODE, 2_000_000, 1_999_000, v)) as Call,
    error: RangeError,
    mentions: [Q, 'lagSeconds'],
  })),
  ...([["'5'", '5'], ['null', null], ['5n', 5n]] as const).map(([label, v]) => ({
    name: `lagSeconds ${label}`,
    call: ((m: ReplicationLagMonitor) => m.updateLag(NODE, 2_000_000, 1_999_000, bad(v))) as Call,
    error: TypeError,
    mentions: [Q, 'lagSeconds'],
  })),
];

const optionsCases: Case[] = [
  ...([['-1', -1], ['NaN', Number.NaN], ['Infinity', Number.POSITIVE_INFINITY], ['1e10 + 1', 1e10 + 1]] as const).flatMap(([label, v]) =>
    (['lagSeconds', 'reportedDelaySeconds'] as const).map((field) => ({
      name: `options.${field} ${label}`,
      call: ((m: ReplicationLagMonitor) => m.updateLag(NODE, 2_000_000, 1_999_000, { [field]: v })) as Call,
      error: RangeError,
      mentions: [Q, field],
    })),
  ),
  ...([["'5'", '5'], ['null', null], ['5n', 5n]] as const).map(([label, v]) => ({
    name: `options.reportedDelaySeconds ${label}`,
    call: ((m: ReplicationLagMonitor) => m.updateLag(NODE, 2_000_000, 1_999_000, { reportedDelaySeconds: bad(v) })) as Call,
    error: TypeError,
    mentions: [Q, 'reportedDelaySeconds'],
  })),
  { name: 'a valid lagSeconds with a bad reportedDelaySeconds', call: (m) => m.updateLag(NODE, 2_000_000, 1_999_000, { lagSeconds: 1, reportedDelaySeconds: -1 }), error: RangeError, mentions: [Q, 'reportedDelaySeconds'] },
  { name: 'options as an array', call: (m) => m.updateLag(NODE, 2_000_000, 1_999_000, bad([1])), error: TypeError, mentions: [Q, 'lagSeconds'] },
  { name: 'options as a string', call: (m) => m.updateLag(NODE, 2_000_000, 1_999_000, bad('{}')), error: TypeError, mentions: [Q, 'lagSeconds'] },
  { name: 'new node with a bad reportedDelaySeconds', call: (m) => m.updateLag('brand-new', 10, 5, { reportedDelaySeconds: -3 }), error: RangeError, mentions: ['"brand-new"', 'reportedDelaySeconds'] },
];

const nodeIdCases: Case[] = [
  { name: "nodeId ''", call: (m) => m.updateLag('', 1, 1), error: RangeError, mentions: ['nodeId'] },
  { name: 'nodeId 5', call: (m) => m.updateLag(bad(5) as unknown as string, 1, 1), error: TypeError, mentions: ['nodeId'] },
  { name: 'nodeId null', call: (m) => m.updateLag(null as unknown as string, 1, 1), error: TypeError, mentions: ['nodeId'] },
  { name: 'nodeId undefined', call: (m) => m.updateLag(undefined as unknown as string, 1, 1), error: TypeError, mentions: ['nodeId'] },
  { name: 'nodeId {}', call: (m) => m.updateLag({} as unknown as string, 1, 1), error: TypeError, mentions: ['nodeId'] },
  { name: 'nodeId of 1025 characters', call: (m) => m.updateLag('x'.repeat(1025), 1, 1), error: RangeError, mentions: ['nodeId', '1024', '1025'] },
  { name: 'registerNode of a 1 MiB id', call: (m) => m.registerNode('y'.repeat(1 << 20)), error: RangeError, mentions: ['nodeId', '1024'] },
  // an invalid position on a node that does not exist yet must not create it
  { name: 'new node with a bad followerSeq', call: (m) => m.updateLag('brand-new', 10, bad(Number.NaN)), error: RangeError, mentions: ['"brand-new"', 'followerSeq'] },
  { name: 'new node with a bad lagSeconds', call: (m) => m.updateLag('brand-new', 10, 5, -3), error: RangeError, mentions: ['"brand-new"', 'lagSeconds'] },
];

const registerCases: Case[] = [
  { name: "registerNode('')", call: (m) => m.registerNode(''), error: RangeError, mentions: ['nodeId'] },
  { name: 'registerNode(42)', call: (m) => m.registerNode(42 as unknown as string), error: TypeError, mentions: ['nodeId'] },
  ...(
    [
      ['null', null, TypeError],
      ['[]', [], TypeError],
      ["'x'", 'x', TypeError],
      ['{a: NaN}', { a: Number.NaN }, TypeError],
      ['{a: Infinity}', { a: Number.POSITIVE_INFINITY }, TypeError],
      ['{a: null}', { a: null }, TypeError],
      ['{a: {}}', { a: {} }, TypeError],
      ['{a: 1n}', { a: 1n }, TypeError],
      ['{a: undefined}', { a: undefined }, TypeError],
      ["{'': 1}", { '': 1 }, RangeError],
      ['{replication.node.id}', { 'replication.node.id': 'x' }, RangeError],
    ] as const
  ).flatMap(([label, attrs, error]) => [
    // on a known node: its attributes must stay; on a new node: it must not be created
    { name: `registerNode(known, ${label})`, call: ((m: ReplicationLagMonitor) => m.registerNode(NODE, attrs as never)) as Call, error, mentions: [Q, 'attribute'] },
    { name: `registerNode(new, ${label})`, call: ((m: ReplicationLagMonitor) => m.registerNode('brand-new', attrs as never)) as Call, error, mentions: ['"brand-new"', 'attribute'] },
  ]),
];

function check(c: Case, config: Partial<ReplicationLagConfig> = {}): void {
  const { monitor, advance } = populated(config);
  advance(); // the clock moves: an update that slipped through would show a new lastUpdate
  const before = observable(monitor);
  assert.throws(
    () => c.call(monitor),
    (e: unknown) => {
      assert.ok(e instanceof c.error, `expected ${c.error.name}, got ${String(e)}`);
      for (const s of c.mentions) assert.ok(e.message.includes(s), `message ${JSON.stringify(e.message)} does not mention ${s}`);
      return true;
    },
  );
  assert.deepStrictEqual(observable(monitor), before);
}

describe('updateLag: bad positions', () => {
  for (const c of positionCases) test(`${c.name} → ${c.error.name}, nothing changes`, () => check(c));
});

describe('updateLag: bad lagSeconds', () => {
  for (const c of lagSecondsCases) test(`${c.name} → ${c.error.name}, nothing changes`, () => check(c));
  for (const c of optionsCases) test(`${c.name} → ${c.error.name}, nothing changes`, () => check(c));
});

describe('updateLag: bad nodeId', () => {
  for (const c of nodeIdCases) test(`${c.name} → ${c.error.name}, nothing changes`, () => check(c));
});

describe('updateLag: unknown node with autoRegister off', () => {
  test('RangeError naming the node, nothing changes', () =>
    check({ name: 'unknown', call: (m) => m.updateLag('stranger', 10, 5), error: RangeError, mentions: ['"stranger"', 'nodeId', 'autoRegister'] }, { autoRegister: false }));
  test('an otherwise bad call on an unknown node still names the bad field', () =>
    check({ name: 'unknown+bad', call: (m) => m.updateLag('stranger', bad('10'), 5), error: TypeError, mentions: ['"stranger"', 'leaderSeq'] }, { autoRegister: false }));
});

describe('maxNodes reached', () => {
  test('updateLag of a new node → RangeError naming it and maxNodes, nothing changes', () =>
    check({ name: 'full', call: (m) => m.updateLag('one-too-many', 10, 5), error: RangeError, mentions: ['"one-too-many"', 'maxNodes'] }, { maxNodes: 4 }));
  test('registerNode of a new node → RangeError, nothing changes', () =>
    check({ name: 'full', call: (m) => m.registerNode('one-too-many', { a: 1 }), error: RangeError, mentions: ['"one-too-many"', 'maxNodes'] }, { maxNodes: 4 }));
});

describe('registerNode: bad arguments', () => {
  for (const c of registerCases) test(`${c.name} → ${c.error.name}, nothing changes`, () => check(c));
});

describe('extreme but valid input', () => {
  test('positions up to 2^64-1, delays up to 1e10 s and 1024-character ids: every figure finite, status serialisable', () => {
    const { clock, monitor } = fakeMonitor({ maxNodes: 10 });
    const top = 2n ** 64n - 1n;
    const longId = 'z'.repeat(1024);
    for (let s = 0; s < 40; s++) {
      clock.t = s * 1000;
      monitor.updateLag('widest', top, 0n);
      monitor.updateLag(longId, top - BigInt(40 - s), 0n, 1e10);
      monitor.updateLag('slowest', 10 + s, 0, 1e10 - s);
    }
    for (const status of monitor.getAllStatuses().values()) {
      for (const key of ['lagEntries', 'lagSeconds', 'replicationRate'] as const) assert.ok(Number.isFinite(status[key]), `${status.nodeId.slice(0, 8)}.${key} = ${status[key]}`);
      if (status.predictedLagSeconds !== undefined) assert.ok(Number.isFinite(status.predictedLagSeconds));
      for (const sample of status.history) assert.ok(Number.isFinite(sample.lagEntries) && Number.isFinite(sample.lagSeconds));
      assert.doesNotThrow(() => JSON.stringify(status));
    }
    assert.equal(monitor.getStatus('widest')!.lagEntries, Number(top));
    const stats = monitor.getStats();
    for (const [key, value] of Object.entries(stats)) assert.ok(Number.isFinite(value), `stats.${key} = ${value}`);
    assert.ok(stats.avgLagSeconds > 6e9 && stats.avgLagSeconds <= 1e10, `avg ${stats.avgLagSeconds}`);
  });

  test('an error about a long node id quotes a short prefix only', () => {
    const { monitor } = fakeMonitor({ maxNodes: 1 });
    monitor.updateLag('only', 1, 1);
    const id = `start-${'w'.repeat(1000)}`;
    for (const call of [() => monitor.updateLag(id, 1, 1), () => monitor.updateLag(id, Number.NaN, 1), () => monitor.updateLag('q'.repeat(1 << 20), 1, 1)]) {
      assert.throws(call, (e: unknown) => {
        assert.ok(e instanceof RangeError);
        assert.ok(e.message.length < 300, `message of ${e.message.length} characters`);
        return true;
      });
    }
    assert.throws(() => monitor.updateLag(id, 1, 1), /"start-w+"… \(1006 characters\)/);
  });
});

describe('after an error the monitor keeps working', () => {
  test('a valid update after a rejected one is recorded as if the rejected one never happened', () => {
    const a = populated();
    const b = populated();
    a.advance();
    b.advance();
    assert.throws(() => a.monitor.updateLag(NODE, bad(Number.NaN), 1));
    assert.throws(() => a.monitor.updateLag(NODE, 40_100, 40_000, -1));
    assert.throws(() => a.monitor.registerNode(NODE, { bad: Number.NaN }));
    a.monitor.updateLag(NODE, 40_100, 40_000);
    b.monitor.updateLag(NODE, 40_100, 40_000);
    assert.deepStrictEqual(observable(a.monitor), observable(b.monitor));
  });
});
