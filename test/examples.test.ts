/**
 * Each example runs with one command, as the README says, against a real OTLP/HTTP receiver. The examples
 * import the package by name (`otel-replication-lag`), which resolves to the build: `npm run build` first
 * (`npm ci` runs it through `prepare`).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startOtlpReceiver, type OtlpReceiver } from './harness/otlp-receiver.ts';
import { REPO_ROOT, runNode } from './helpers/run-node.ts';

const FIVE_GAUGES = ['replication.lag', 'replication.delay', 'replication.delay.predicted', 'replication.apply.rate', 'replication.severity'];

describe('examples', () => {
  let receiver: OtlpReceiver;
  before(async () => {
    assert.ok(existsSync(join(REPO_ROOT, 'dist/esm/index.js')), 'dist/ is missing: run `npm run build` (npm ci does it) before the tests');
    receiver = await startOtlpReceiver();
  });
  after(async () => {
    await receiver.close();
  });

  it('simulated-cluster prints every follower, an alert as the lagging one falls behind, and the stats', async () => {
    const result = await runNode(['examples/simulated-cluster.ts'], { env: { SIM_SECONDS: '8' }, timeoutMs: 30_000 });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    for (const node of ['healthy-1', 'slow-1', 'lagging-1', 'frozen-1']) assert.match(lines[0] ?? '', new RegExp(`${node} lag=\\d+ delay=[\\d.]+s rate=\\d+/s pred=`));
    assert.match(result.stdout, /^ALERT WARNING .*lagging-1/m);
    // By the 5th poll every node has a forecast.
    assert.doesNotMatch(lines[5] ?? '', /pred=-s/);
    const stats = JSON.parse(lines.at(-1) ?? '') as { totalNodes: number; totalAlerts: number };
    assert.equal(stats.totalNodes, 4);
    assert.ok(stats.totalAlerts >= 1);
  });

  it('nodesdk-drop-in: one instrumentation in an existing NodeSDK exports the five gauges, the counter and alert events', async () => {
    const start = receiver.requests.length;
    const result = await runNode(['examples/nodesdk-drop-in.ts'], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_EXPORTER: 'none' } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /done\s*$/);
    assert.doesNotMatch(result.stderr, /export failed/);
    const points = receiver.points().filter((p) => p.request >= start);
    for (const name of [...FIVE_GAUGES, 'replication.alerts']) {
      const ps = points.filter((p) => p.metric === name);
      assert.ok(ps.length > 0, `${name} not exported by the NodeSDK example`);
      assert.ok(ps.every((p) => p.attributes['replication.node.id'] === 'replica-1' && p.resource['service.name'] === 'raft-node-1'));
    }
    const events = receiver.logRecords().filter((r) => r.request >= start);
    assert.deepEqual(
      events.map((e) => [e.eventName, e.attributes['replication.severity']]),
      [
        ['replication.alert', 'warning'],
        ['replication.alert', 'critical'],
        ['replication.alert', 'normal'],
      ],
    );
  });

  it('standalone-otlp exports the registered attributes and the critical alert', async () => {
    const start = receiver.requests.length;
    const result = await runNode(['examples/standalone-otlp.ts'], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`exporting to ${receiver.url}/v1/metrics`));
    assert.match(result.stdout, /alert: .*replica-2/);
    const delay = receiver.points('replication.delay').filter((p) => p.request >= start && p.attributes['replication.node.id'] === 'replica-2');
    assert.ok(delay.length > 0);
    assert.equal(delay[0]!.value, 12);
    assert.equal(delay[0]!.attributes['server.address'], '10.0.0.12');
    assert.equal(delay[0]!.encoding, 'json');
    const events = receiver.logRecords().filter((r) => r.request >= start);
    assert.deepEqual(
      events.map((e) => [e.attributes['replication.node.id'], e.attributes['replication.severity'], e.severityText]),
      [['replica-2', 'critical', 'ERROR']],
    );
  });

  it('traced-replication: the alert event carries the span it happened in, and is on the span as an event', async () => {
    const start = receiver.requests.length;
    const result = await runNode(['examples/traced-replication.ts'], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_METRICS_EXPORTER: 'none' } });
    assert.equal(result.code, 0, result.stderr);
    const ids = /trace_id=([0-9a-f]{32}) span_id=([0-9a-f]{16})/.exec(result.stdout);
    assert.ok(ids, result.stdout);
    const [, traceId, spanId] = ids;
    const events = receiver.logRecords().filter((r) => r.request >= start);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.eventName, 'replication.alert');
    assert.equal(events[0]!.traceId, traceId);
    assert.equal(events[0]!.spanId, spanId);
    const span = receiver.spans().find((s) => s.request >= start && s.spanId === spanId);
    assert.ok(span, 'the span was not exported');
    assert.equal(span.name, 'raft.append_entries');
    assert.deepEqual(
      span.events.map((e) => [e.name, e.attributes['replication.severity'], e.attributes['replication.node.id']]),
      [['replication.alert', 'critical', 'follower-2']],
    );
  });

  it('the three OTLP examples behave the same without an endpoint: they say so, run locally, and end cleanly', async () => {
    for (const example of ['examples/nodesdk-drop-in.ts', 'examples/standalone-otlp.ts', 'examples/traced-replication.ts']) {
      const result = await runNode([example], { timeoutMs: 60_000 });
      assert.equal(result.code, 0, `${example}: ${result.stderr}`);
      assert.match(result.stdout, /^no OTLP endpoint configured \(set OTEL_EXPORTER_OTLP_ENDPOINT\): running locally without export$/m, example);
      assert.match(result.stdout, /done\s*$/, example);
      assert.equal(result.stderr, '', `${example}: no export attempt, no error`);
    }
  });
});
