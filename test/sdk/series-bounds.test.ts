/**
 * startTelemetry keeps series bounded by the live nodes over the wire: `replication.alerts` stays a cumulative
 * counter but holds series only for nodes the monitor still has (OTLP to a real receiver, and the real
 * Prometheus endpoint scraped over HTTP), and the cardinality limit follows maxNodes.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { startTelemetry, type Telemetry } from '../../src/sdk/index.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../harness/otlp-receiver.ts';
import { findFreePort } from '../harness/wait.ts';

const PORTS = [20_500, 21_000] as const;

/** The value of the sample of `metric` whose labels include every `labels` pair, or undefined. */
function sample(text: string, metric: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

async function withPrometheus(options: Parameters<typeof startTelemetry>[0] = {}): Promise<Telemetry> {
  for (let attempt = 0; ; attempt++) {
    const port = await findFreePort(...PORTS);
    try {
      return await startTelemetry({ otlp: false, ...options, prometheus: { port, host: '127.0.0.1' } });
    } catch (error) {
      if (attempt >= 5 || !/EADDRINUSE/.test(String(error))) throw error;
    }
  }
}

describe('startTelemetry: replication.alerts bounded by live nodes', () => {
  let receiver: OtlpReceiver;
  let telemetry: Telemetry | undefined;
  before(async () => {
    receiver = await startOtlpReceiver();
  });
  afterEach(async () => {
    await telemetry?.shutdown();
    telemetry = undefined;
  });
  after(async () => {
    await receiver.close();
  });

  it('Prometheus: a live node keeps its cumulative count between scrapes; an unregistered node has no series; a returning node restarts from 0', async () => {
    telemetry = await withPrometheus();
    const t = telemetry;
    const scrape = async () => (await fetch(t.prometheusUrl!)).text();
    t.monitor.updateLag('a', 100, 50, 45); // critical
    t.monitor.updateLag('b', 100, 50, 45); // critical
    let text = await scrape();
    assert.equal(sample(text, 'replication_alerts_total', { replication_node_id: 'a', replication_severity: 'critical' }), 1);
    assert.match(text, /# TYPE replication_alerts_total counter/);
    text = await scrape();
    assert.equal(sample(text, 'replication_alerts_total', { replication_node_id: 'a', replication_severity: 'critical' }), 1, 'cumulative: still there with no new alert');
    t.monitor.updateLag('a', 100, 100, 0); // resolved → normal
    text = await scrape();
    assert.equal(sample(text, 'replication_alerts_total', { replication_node_id: 'a', replication_severity: 'critical' }), 1);
    assert.equal(sample(text, 'replication_alerts_total', { replication_node_id: 'a', replication_severity: 'normal' }), 1);

    t.monitor.unregisterNode('a');
    text = await scrape();
    assert.doesNotMatch(text, /replication_node_id="a"/, 'no series of the unregistered node, counter included');
    assert.equal(sample(text, 'replication_alerts_total', { replication_node_id: 'b' }), 1, 'the other node keeps its count');
    assert.equal(sample(text, 'replication_lag', { replication_node_id: 'b' }), 50);

    t.monitor.updateLag('a', 100, 50, 45);
    text = await scrape();
    assert.equal(sample(text, 'replication_alerts_total', { replication_node_id: 'a', replication_severity: 'critical' }), 1, 'a returning node starts again (a counter reset)');
    assert.equal(sample(text, 'replication_alerts_total', { replication_node_id: 'a', replication_severity: 'normal' }), undefined);
  });

  it('OTLP: replication.alerts is exported cumulative, for live nodes only', async () => {
    const start = receiver.requests.length;
    telemetry = await startTelemetry({ otlp: { endpoint: receiver.url }, metricExportIntervalMillis: 100 });
    const t = telemetry;
    t.monitor.updateLag('stays', 100, 50, 45);
    t.monitor.updateLag('leaves', 100, 50, 45);
    const alerts = (from: number) => receiver.points('replication.alerts').filter((p) => p.request >= from);
    await receiver.waitFor('an export of both alert series', () => new Set(alerts(start).map((p) => p.attributes['replication.node.id'])).size === 2);
    assert.ok(alerts(start).every((p) => p.temporality === 'cumulative' && p.monotonic === true), 'a cumulative monotonic sum');
    t.monitor.unregisterNode('leaves');
    const cut = receiver.requests.length;
    // The first export after the cut may have been collected before it: look at the third.
    const third = await receiver.waitFor('three metric exports after unregistering', () => {
      const indexes = receiver.requests.flatMap((r, i) => (i >= cut && r.signal === 'metrics' ? [i] : []));
      return indexes.length >= 3 ? indexes[2] : undefined;
    });
    const later = alerts(third!);
    assert.ok(later.length > 0 && later.every((p) => p.attributes['replication.node.id'] === 'stays'), `only the live node: ${JSON.stringify(later.map((p) => p.attributes))}`);
    assert.ok(later.every((p) => p.value === 1 && p.temporality === 'cumulative'), 'its count, cumulative, with no new alert');
  });
});

describe('startTelemetry: the cardinality limit follows maxNodes', () => {
  afterEach(() => diag.disable());

  it('by default every node the monitor accepts is exported under its own id, without a warning', async () => {
    const warnings: string[] = [];
    diag.setLogger({ error: () => {}, warn: (m) => warnings.push(m), info: () => {}, debug: () => {}, verbose: () => {} }, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
    const t = await withPrometheus({ instrumentation: { maxNodes: 3 } });
    try {
      for (const id of ['x', 'y', 'z']) t.monitor.updateLag(id, 100, 50, 7);
      assert.throws(() => t.monitor.updateLag('w', 100, 50, 7), RangeError, 'maxNodes holds');
      const text = await (await fetch(t.prometheusUrl!)).text();
      for (const id of ['x', 'y', 'z']) assert.equal(sample(text, 'replication_severity_ratio', { replication_node_id: id, replication_severity: 'warning' }), 1, id);
      assert.doesNotMatch(text, /otel_metric_overflow/);
      assert.deepEqual(warnings.filter((w) => /cardinality/.test(w)), []);
    } finally {
      await t.shutdown();
    }
  });

  it('an explicit lower limit: nodes past it are folded, said once through diag.warn', async () => {
    const warnings: string[] = [];
    diag.setLogger({ error: () => {}, warn: (m) => warnings.push(m), info: () => {}, debug: () => {}, verbose: () => {} }, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
    const t = await withPrometheus({ instrumentation: { maxNodes: 3 }, cardinalityLimit: 9 });
    try {
      for (const id of ['x', 'y', 'z']) t.monitor.updateLag(id, 100, 50, 7);
      for (let i = 0; i < 3; i++) await (await fetch(t.prometheusUrl!)).text();
      const text = await (await fetch(t.prometheusUrl!)).text();
      assert.match(text, /otel_metric_overflow="true"/);
      assert.equal(sample(text, 'replication_severity_ratio', { replication_node_id: 'x', replication_severity: 'warning' }), 1);
      assert.equal(warnings.filter((w) => /cardinality limit \(9\)/.test(w)).length, 1, JSON.stringify(warnings));
    } finally {
      await t.shutdown();
    }
  });

  it('rejects a cardinalityLimit below 2 and a monitor that is not one, naming them', async () => {
    await assert.rejects(startTelemetry({ otlp: false, cardinalityLimit: 1 }), /cardinalityLimit/);
    await assert.rejects(startTelemetry({ otlp: false, instrumentation: { monitor: {} as never } }), /monitor must be a ReplicationLagMonitor/);
  });
});

describe('startTelemetry: churn never leaves an overflow series', () => {
  it('20,000 register/alert/unregister cycles (10 live nodes), then 2,490 new ids: no otel.metric.overflow in the scrape or the OTLP exports', { timeout: 120_000 }, async () => {
    const receiver = await startOtlpReceiver();
    const port = await findFreePort(...PORTS);
    const t = await startTelemetry({
      otlp: { endpoint: receiver.url },
      prometheus: { port, host: '127.0.0.1' },
      metricExportIntervalMillis: 1000,
      instrumentation: { maxNodes: 2500, alertCooldownSeconds: 0 },
    });
    try {
      for (let i = 0; i < 10; i++) t.monitor.updateLag(`live-${i}`, 100, 50, 45);
      for (let c = 0; c < 20_000; c++) {
        const id = `churn-${c}`;
        t.monitor.updateLag(id, 100, 50, 45); // an alert (critical) per cycle
        t.monitor.unregisterNode(id);
        if (c % 2000 === 0) await new Promise((r) => setImmediate(r));
      }
      await (await fetch(t.prometheusUrl!)).text();
      for (let i = 0; i < 2490; i++) t.monitor.updateLag(`new-${i}`, 100, 50, 45);
      const from = receiver.requests.length;
      await t.forceFlush();
      await receiver.waitFor('a metric export', () => receiver.requests.some((r, i) => i >= from && r.signal === 'metrics'));
      const scrape = await (await fetch(t.prometheusUrl!)).text();
      assert.doesNotMatch(scrape, /otel_metric_overflow/);
      assert.equal(sample(scrape, 'replication_alerts_total', { replication_node_id: 'new-2489', replication_severity: 'critical' }), 1);
      assert.equal(sample(scrape, 'replication_severity_ratio', { replication_node_id: 'live-9', replication_severity: 'critical' }), 1);
      const overflowing = receiver.points().filter((p) => 'otel.metric.overflow' in p.attributes);
      assert.deepEqual(overflowing.map((p) => p.metric), []);
      let last = -1;
      receiver.requests.forEach((r, i) => {
        if (r.signal === 'metrics') last = i;
      });
      const alerts = receiver.points('replication.alerts').filter((p) => p.request === last);
      assert.equal(alerts.length, 2500, 'one series per live node');
    } finally {
      await t.shutdown();
      await receiver.close();
    }
  });
});
