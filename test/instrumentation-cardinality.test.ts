/**
 * Scale edges said out loud: when live nodes need more series than the pipeline's cardinality limit, the SDK
 * folds the extra ones into its overflow series; the instrumentation then warns once per episode through diag,
 * and every node within the limit is still exported under its own id.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { cardinalityLimitFor, nodesWithinCardinalityLimit, ReplicationLagInstrumentation, SERIES_PER_NODE } from '../src/instrumentation.ts';
import { inMemoryPipeline, pointsOf, type CollectedMetric } from './helpers/in-memory-sdk.ts';

const NODES_WITHIN = 10;
const LIMIT = cardinalityLimitFor(NODES_WITHIN); // 41 series: 40 for ten nodes' state sets, one for the overflow series

/** Captures diag output at INFO and above. */
function captureDiag(): { warnings: string[]; infos: string[] } {
  const out = { warnings: [] as string[], infos: [] as string[] };
  const logger: DiagLogger = {
    error: () => {},
    warn: (message) => out.warnings.push(message),
    info: (message) => out.infos.push(message),
    debug: () => {},
    verbose: () => {},
  };
  diag.setLogger(logger, { logLevel: DiagLogLevel.INFO, suppressOverrideMessage: true });
  return out;
}

function setup(cardinalityLimit: number | undefined) {
  const pipeline = inMemoryPipeline({ cardinalityLimit: LIMIT });
  const instrumentation = new ReplicationLagInstrumentation({ now: () => 1_000_000, enabled: false, ...(cardinalityLimit === undefined ? {} : { cardinalityLimit }) });
  instrumentation.setMeterProvider(pipeline.meterProvider);
  instrumentation.setLoggerProvider(pipeline.loggerProvider);
  instrumentation.enable();
  return { ...pipeline, monitor: instrumentation.monitor };
}

const ownIds = (metric: CollectedMetric | undefined) => new Set((metric?.points ?? []).map((p) => p.attributes['replication.node.id']).filter((id) => id !== undefined));
const overflow = (metric: CollectedMetric | undefined) => (metric?.points ?? []).filter((p) => p.attributes['otel.metric.overflow'] === true);

describe('instrumentation cardinality limit', () => {
  let log: ReturnType<typeof captureDiag>;
  beforeEach(() => {
    log = captureDiag();
  });
  afterEach(() => {
    diag.disable();
  });

  it('the limit that fits n nodes, and the nodes a limit fits, agree', () => {
    assert.equal(SERIES_PER_NODE, 4);
    for (const n of [1, 10, 5000]) assert.equal(nodesWithinCardinalityLimit(cardinalityLimitFor(n)), n);
    assert.equal(nodesWithinCardinalityLimit(cardinalityLimitFor(10) - 1), 9);
  });

  it('rejects a cardinalityLimit that is not an integer >= 2, naming it', () => {
    for (const bad of [0, 1, 2.5, Number.NaN, '100' as unknown as number]) {
      assert.throws(() => new ReplicationLagInstrumentation({ cardinalityLimit: bad, enabled: false }), /cardinalityLimit/);
    }
  });

  it('exactly at the limit: every node under its own id, no overflow, no warning', async () => {
    const t = setup(LIMIT);
    for (let i = 0; i < NODES_WITHIN; i++) t.monitor.updateLag(`n${i}`, 100, 50, 7);
    const metrics = await t.collect();
    assert.equal(ownIds(metrics.get('replication.severity')).size, NODES_WITHIN);
    assert.equal(overflow(metrics.get('replication.severity')).length, 0);
    assert.deepEqual(log.warnings, []);
    await t.shutdown();
  });

  it('past the limit: one warning per episode, nodes within the limit under their own id, one note on recovery', async () => {
    const t = setup(LIMIT);
    for (let i = 0; i < NODES_WITHIN + 5; i++) t.monitor.updateLag(`n${String(i).padStart(2, '0')}`, 100, 50, 7);
    for (let c = 0; c < 3; c++) {
      const metrics = await t.collect();
      const severity = metrics.get('replication.severity');
      // The SDK keeps the first series recorded; the callback records nodes in registration order.
      for (let i = 0; i < NODES_WITHIN; i++) assert.equal(pointsOf(severity, `n${String(i).padStart(2, '0')}`).length, 4, `n${i} under its own id`);
      assert.equal(overflow(severity).length, 1, 'the others in one overflow series');
    }
    assert.equal(log.warnings.length, 1, `one warning for the episode, got ${JSON.stringify(log.warnings)}`);
    assert.match(log.warnings[0]!, /15 live nodes/);
    assert.match(log.warnings[0]!, /cardinality limit \(41\)/);
    assert.match(log.warnings[0]!, /shard the monitor across processes/);

    for (let i = NODES_WITHIN; i < NODES_WITHIN + 5; i++) t.monitor.unregisterNode(`n${i}`);
    let metrics = await t.collect();
    assert.equal(overflow(metrics.get('replication.severity')).length, 0, 'back within the limit: no overflow');
    assert.equal(ownIds(metrics.get('replication.severity')).size, NODES_WITHIN);
    await t.collect();
    assert.equal(log.infos.filter((m) => /fit in the cardinality limit/.test(m)).length, 1, 'one note on recovery');
    assert.equal(log.warnings.length, 1, 'no warning while within the limit');

    t.monitor.updateLag('again', 100, 50, 7);
    await t.collect();
    metrics = await t.collect();
    assert.equal(log.warnings.length, 2, 'a second episode: a second warning');
    assert.match(log.warnings[1]!, /11 live nodes/);
    assert.equal(ownIds(metrics.get('replication.severity')).size, NODES_WITHIN);
    await t.shutdown();
  });

  it('defaults to the SDK default limit (2000): warns past 499 nodes', async () => {
    const t = setup(undefined);
    for (let i = 0; i < 499; i++) t.monitor.updateLag(`n${i}`, 100, 50, 7);
    await t.collect();
    assert.deepEqual(log.warnings, []);
    t.monitor.updateLag('n499', 100, 50, 7);
    await t.collect();
    assert.equal(log.warnings.length, 1);
    assert.match(log.warnings[0]!, /cardinality limit \(2000\)/);
    await t.shutdown();
  });
});
