import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { context, SeverityNumber } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { ReplicationLagInstrumentation, ReplicationLagMonitor, SEVERITIES, startPoller, type ReplicaPosition, type SourceHealth } from '../src/index.ts';
import { inMemoryPipeline, pointsOf } from './helpers/in-memory-sdk.ts';

function setup(config: ConstructorParameters<typeof ReplicationLagInstrumentation>[0] = {}, pipelineOptions = {}) {
  let now = 1_000_000;
  // As startTelemetry: alerts are cumulative series of the live nodes (see test/instrumentation-churn.test.ts).
  const pipeline = inMemoryPipeline({ isLive: (id) => instrumentation.monitor.getStatus(id) !== undefined, ...pipelineOptions });
  const instrumentation = new ReplicationLagInstrumentation({ now: () => now, ...config, enabled: false });
  instrumentation.setMeterProvider(pipeline.meterProvider);
  instrumentation.setLoggerProvider(pipeline.loggerProvider);
  instrumentation.enable();
  return {
    ...pipeline,
    instrumentation,
    monitor: instrumentation.monitor,
    advance(ms: number) {
      now += ms;
    },
  };
}

describe('ReplicationLagInstrumentation metrics', () => {
  it('exports the five gauges with their names, units, types, descriptions, values and attributes', async () => {
    const t = setup();
    t.monitor.registerNode('pg-1', { 'server.address': 'db1.example', 'replication.system': 'postgresql' });
    t.monitor.updateLag('pg-1', 1000, 400, 12.5);
    t.monitor.updateLag('pg-2', 50n, 50n);
    const metrics = await t.collect();

    const expected = [
      ['replication.lag', '{entry}', 600],
      ['replication.delay', 's', 12.5],
      ['replication.apply.rate', '{entry}/s', 0],
    ] as const;
    for (const [name, unit, value] of expected) {
      const metric = metrics.get(name);
      assert.ok(metric, `${name} exported`);
      assert.equal(metric.unit, unit, `${name} unit`);
      assert.equal(metric.type, DataPointType.GAUGE, `${name} is a gauge`);
      assert.ok(metric.description.length > 10, `${name} has a description`);
      const [point] = pointsOf(metric, 'pg-1');
      assert.deepEqual(point, {
        value,
        attributes: { 'replication.node.id': 'pg-1', 'server.address': 'db1.example', 'replication.system': 'postgresql' },
      });
      assert.deepEqual(pointsOf(metric, 'pg-2')[0]?.attributes, { 'replication.node.id': 'pg-2' });
    }
    assert.equal(pointsOf(metrics.get('replication.lag'), 'pg-2')[0]?.value, 0);
    await t.shutdown();
  });

  it('exports the forecast, catch-up time and time to critical only where they are defined', async () => {
    const t = setup();
    for (let i = 0; i < 2; i++) {
      t.advance(1000);
      t.monitor.updateLag('a', 100 + i, 90, 1 + i); // delay grows 1 s per s, the follower is not gaining
    }
    let metrics = await t.collect();
    assert.equal(pointsOf(metrics.get('replication.delay.predicted'), 'a').length, 0, 'no forecast before the 3rd update');
    assert.equal(pointsOf(metrics.get('replication.catchup.time'), 'a').length, 0, 'not gaining: no catch-up point');
    assert.equal(pointsOf(metrics.get('replication.critical.time'), 'a').length, 0, 'no trend yet: no time to critical');
    for (let i = 2; i < 20; i++) {
      t.advance(1000);
      t.monitor.updateLag('a', 100 + i, 90, 1 + i);
    }
    t.monitor.updateLag('caught-up', 500, 500);
    t.monitor.updateLag('critical', 500, 100, 45);
    metrics = await t.collect();
    for (const name of ['replication.delay.predicted', 'replication.catchup.time', 'replication.critical.time']) {
      const metric = metrics.get(name);
      assert.equal(metric?.unit, 's', `${name} unit`);
      assert.equal(metric?.type, DataPointType.GAUGE, `${name} is a gauge`);
      assert.ok((metric?.description.length ?? 0) > 10, `${name} has a description`);
    }
    const [predicted] = pointsOf(metrics.get('replication.delay.predicted'), 'a');
    assert.ok(predicted !== undefined && Math.abs(predicted.value - (20 + 60)) < 2, `forecast near the 60 s horizon (the smoothed slope converges), got ${predicted?.value}`);
    assert.deepEqual(pointsOf(metrics.get('replication.catchup.time'), 'caught-up'), [{ value: 0, attributes: { 'replication.node.id': 'caught-up' } }]);
    assert.equal(pointsOf(metrics.get('replication.catchup.time'), 'a').length, 0);
    assert.deepEqual(pointsOf(metrics.get('replication.critical.time'), 'critical'), [{ value: 0, attributes: { 'replication.node.id': 'critical' } }]);
    const [toCritical] = pointsOf(metrics.get('replication.critical.time'), 'a');
    assert.ok(toCritical !== undefined && Math.abs(toCritical.value - 10) < 1.5, `a is at 20 s, growing 1 s/s: critical in ~10 s, got ${toCritical?.value}`);
    assert.equal(pointsOf(metrics.get('replication.critical.time'), 'caught-up').length, 0, 'a caught-up replica is not heading to critical');
    await t.shutdown();
  });

  it('exports replication.heartbeat.delay (s) for every follower that has one, and only for those', async () => {
    const t = setup();
    t.monitor.updateLag('hb', 1000, 400, { heartbeatDelaySeconds: 21.5 });
    t.monitor.updateLag('no-hb', 1000, 400, { reportedDelaySeconds: 3 });
    const metrics = await t.collect();
    const metric = metrics.get('replication.heartbeat.delay');
    assert.equal(metric?.unit, 's');
    assert.equal(metric?.type, DataPointType.GAUGE);
    assert.ok((metric?.description.length ?? 0) > 10);
    assert.deepEqual(pointsOf(metric, 'hb'), [{ value: 21.5, attributes: { 'replication.node.id': 'hb' } }]);
    assert.equal(pointsOf(metric, 'no-hb').length, 0);
    assert.deepEqual(pointsOf(metrics.get('replication.delay'), 'hb'), [{ value: 21.5, attributes: { 'replication.node.id': 'hb' } }], 'no estimate of its own: the heartbeat is the delay');
    await t.shutdown();
  });

  it('exports severity as a state set: one point per severity, 1 for the current one', async () => {
    const t = setup();
    t.monitor.updateLag('w', 100, 50, 7); // warning
    t.monitor.updateLag('c', 100, 50, 45); // critical
    t.monitor.updateLag('n', 100, 100); // normal
    const metrics = await t.collect();
    const severity = metrics.get('replication.severity');
    assert.equal(severity?.unit, '1');
    assert.equal(severity?.type, DataPointType.GAUGE);
    for (const [node, current] of [['w', 'warning'], ['c', 'critical'], ['n', 'normal']] as const) {
      const points = pointsOf(severity, node);
      assert.deepEqual(points.map((p) => p.attributes['replication.severity']).sort(), [...SEVERITIES].sort(), `${node}: one point per severity`);
      for (const p of points) assert.equal(p.value, p.attributes['replication.severity'] === current ? 1 : 0, `${node} ${String(p.attributes['replication.severity'])}`);
    }
    await t.shutdown();
  });

  it('counts alerts in replication.alerts by node and severity', async () => {
    const t = setup();
    t.monitor.updateLag('a', 100, 50, 7); // → warning
    t.monitor.updateLag('a', 100, 50, 40); // → critical
    t.monitor.updateLag('a', 100, 100, 0); // → normal (resolve)
    const alerts = (await t.collect()).get('replication.alerts');
    assert.equal(alerts?.type, DataPointType.SUM);
    assert.equal(alerts?.isMonotonic, true);
    assert.equal(alerts?.unit, '{alert}');
    const bySeverity = Object.fromEntries(pointsOf(alerts, 'a').map((p) => [p.attributes['replication.severity'], p.value]));
    assert.deepEqual(bySeverity, { warning: 1, critical: 1, normal: 1 });
    await t.shutdown();
  });

  it('drops an unregistered node from the next export (delta temporality for gauges)', async () => {
    const t = setup();
    t.monitor.updateLag('keep', 10, 5, 1);
    t.monitor.updateLag('gone', 10, 5, 1);
    let metrics = await t.collect();
    assert.equal(pointsOf(metrics.get('replication.lag'), 'gone').length, 1);
    t.monitor.unregisterNode('gone');
    metrics = await t.collect();
    for (const name of ['replication.lag', 'replication.delay', 'replication.apply.rate', 'replication.severity']) {
      assert.equal(pointsOf(metrics.get(name), 'gone').length, 0, `${name} no longer has the unregistered node`);
      assert.ok(pointsOf(metrics.get(name), 'keep').length > 0, `${name} still has the other node`);
    }
    await t.shutdown();
  });

  it('keeps stale series under cumulative temporality (the caveat documented for custom pipelines)', async () => {
    const t = setup({}, { gaugeTemporality: AggregationTemporality.CUMULATIVE });
    t.monitor.updateLag('gone', 10, 5, 1);
    await t.collect();
    t.monitor.unregisterNode('gone');
    const metrics = await t.collect();
    assert.equal(pointsOf(metrics.get('replication.lag'), 'gone').length, 1, 'cumulative keeps the last value: why we pick delta');
    await t.shutdown();
  });

  it('folds nodes beyond the SDK cardinality limit into the overflow series without failing', async () => {
    const t = setup({}, { cardinalityLimit: 10 });
    for (let i = 0; i < 25; i++) t.monitor.updateLag(`n${String(i).padStart(2, '0')}`, 10, 5, 1);
    const metrics = await t.collect();
    const lag = metrics.get('replication.lag');
    assert.equal(lag?.points.length, 10, 'the limit holds');
    const overflow = lag?.points.filter((p) => p.attributes['otel.metric.overflow'] === true) ?? [];
    assert.equal(overflow.length, 1, 'one overflow series');
    await t.shutdown();
  });

  it('uses the package name and version as the instrumentation scope', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
    const t = setup();
    t.monitor.updateLag('a', 1, 1);
    const { resourceMetrics } = await t.reader.collect();
    assert.deepEqual(
      resourceMetrics.scopeMetrics.map((s) => [s.scope.name, s.scope.version]),
      [[pkg.name, pkg.version]],
    );
    assert.equal(t.instrumentation.instrumentationName, pkg.name);
    assert.equal(t.instrumentation.instrumentationVersion, pkg.version);
    await t.shutdown();
  });

  it('never throws from the collection callback, even when the monitor does', async () => {
    const t = setup();
    t.monitor.updateLag('a', 10, 5, 1);
    t.monitor.forEachStatus = () => {
      throw new Error('boom');
    };
    const metrics = await t.collect(); // rejects on SDK-reported callback errors
    assert.equal(metrics.get('replication.lag')?.points.length ?? 0, 0);
    await t.shutdown();
  });
});

describe('ReplicationLagInstrumentation alert events', () => {
  const contextManager = new AsyncLocalStorageContextManager();
  before(() => {
    context.setGlobalContextManager(contextManager.enable());
  });
  after(() => {
    contextManager.disable();
    context.disable();
  });

  it('emits each alert as a replication.alert log event with severity, body and attributes', async () => {
    const t = setup();
    t.monitor.registerNode('r1', { 'server.address': 'db1' });
    t.monitor.updateLag('r1', 100, 50, 6);
    // Delivered synchronously: present as soon as updateLag returns.
    assert.equal(t.logExporter.getFinishedLogRecords().length, 1);
    t.monitor.updateLag('r1', 100, 50, 31);
    t.monitor.updateLag('r1', 100, 100, 0);
    const records = t.logExporter.getFinishedLogRecords();
    assert.deepEqual(
      records.map((r) => [r.eventName, r.severityNumber, r.severityText]),
      [
        ['replication.alert', SeverityNumber.WARN, 'WARN'],
        ['replication.alert', SeverityNumber.ERROR, 'ERROR'],
        ['replication.alert', SeverityNumber.INFO, 'INFO'],
      ],
    );
    const alerts = t.monitor.getAlerts();
    assert.deepEqual(records.map((r) => r.body), alerts.map((a) => a.message));
    assert.deepEqual(records[1]?.attributes, {
      'server.address': 'db1',
      'replication.node.id': 'r1',
      'replication.severity': 'critical',
      'replication.severity.previous': 'warning',
      'replication.lag': 50,
      'replication.delay': 31,
    });
    assert.equal(records[2]?.attributes['replication.severity'], 'normal');
    assert.equal(records[2]?.attributes['replication.severity.previous'], 'critical');
    assert.equal(records[0]?.instrumentationScope.name, 'otel-replication-lag');
    await t.shutdown();
  });

  it('maps stalled to ERROR', async () => {
    const t = setup({ stallTimeoutSeconds: 2 });
    t.monitor.updateLag('s', 100, 50, 0.5);
    t.advance(2000);
    t.monitor.updateLag('s', 100, 50, 0.5);
    const last = t.logExporter.getFinishedLogRecords().at(-1);
    assert.equal(last?.attributes['replication.severity'], 'stalled');
    assert.equal(last?.severityNumber, SeverityNumber.ERROR);
    await t.shutdown();
  });

  it('correlates events with the active span, and adds span events only when spanEvents is on', async () => {
    for (const spanEvents of [false, true]) {
      const spans = new InMemorySpanExporter();
      const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
      const tracer = tracerProvider.getTracer('test');
      const t = setup({ spanEvents });
      let traceId = '';
      let spanId = '';
      tracer.startActiveSpan('replicate', (span) => {
        traceId = span.spanContext().traceId;
        spanId = span.spanContext().spanId;
        t.monitor.updateLag('r', 100, 10, 40);
        span.end();
      });
      const [record] = t.logExporter.getFinishedLogRecords();
      assert.equal(record?.spanContext?.traceId, traceId, 'log event carries the trace id');
      assert.equal(record?.spanContext?.spanId, spanId, 'log event carries the span id');
      const [finished] = spans.getFinishedSpans();
      const events = finished?.events.filter((e) => e.name === 'replication.alert') ?? [];
      if (spanEvents) {
        assert.equal(events.length, 1, 'span event added');
        assert.equal(events[0]?.attributes?.['replication.severity'], 'critical');
        assert.equal(events[0]?.attributes?.['replication.node.id'], 'r');
      } else {
        assert.equal(events.length, 0, 'no span event by default');
      }
      // Outside a span: still a log event, no trace context, no failure.
      t.monitor.updateLag('q', 100, 10, 40);
      assert.equal(t.logExporter.getFinishedLogRecords().at(-1)?.spanContext, undefined);
      await t.shutdown();
      await tracerProvider.shutdown();
    }
  });
});

describe('ReplicationLagInstrumentation lifecycle', () => {
  it('disable() removes the callback and stops events; enable() restores both', async () => {
    const t = setup();
    t.monitor.updateLag('a', 10, 5, 1);
    assert.equal(pointsOf((await t.collect()).get('replication.lag'), 'a').length, 1);
    t.instrumentation.disable();
    t.monitor.updateLag('a', 100, 5, 40); // would alert
    const disabled = await t.collect();
    assert.equal(pointsOf(disabled.get('replication.lag'), 'a').length, 0, 'no gauge points while disabled');
    assert.equal(t.logExporter.getFinishedLogRecords().length, 0, 'no events while disabled');
    t.instrumentation.enable();
    t.instrumentation.enable(); // idempotent: one callback, one listener
    t.monitor.updateLag('a', 100, 5, 10); // de-escalation within cooldown: no alert
    t.monitor.updateLag('a', 100, 100, 0); // resolve: one alert
    assert.equal(t.logExporter.getFinishedLogRecords().length, 1, 'events again, once each');
    const lag = pointsOf((await t.collect()).get('replication.lag'), 'a');
    assert.equal(lag.length, 1, 'one point: one callback');
    assert.equal(lag[0]?.value, 0);
    await t.shutdown();
  });

  it('moves to a new meter provider: the old one stops seeing points, the new one sees them', async () => {
    const t = setup();
    t.monitor.updateLag('a', 10, 5, 1);
    const second = inMemoryPipeline();
    t.instrumentation.setMeterProvider(second.meterProvider);
    t.instrumentation.setLoggerProvider(second.loggerProvider);
    assert.equal(pointsOf((await t.collect()).get('replication.lag'), 'a').length, 0, 'old provider detached');
    assert.equal(pointsOf((await second.collect()).get('replication.lag'), 'a')[0]?.value, 5, 'new provider attached');
    t.monitor.updateLag('a', 100, 5, 40);
    assert.equal(second.logExporter.getFinishedLogRecords().length, 1, 'events go to the new logger provider');
    assert.equal(t.logExporter.getFinishedLogRecords().length, 0);
    await Promise.all([t.shutdown(), second.shutdown()]);
  });

  it('observes an existing monitor when given one, and validates the monitor options otherwise', async () => {
    const monitor = new ReplicationLagMonitor({ warningThresholdSeconds: 1 });
    const pipeline = inMemoryPipeline();
    const instrumentation = new ReplicationLagInstrumentation({ monitor, enabled: false });
    assert.equal(instrumentation.monitor, monitor);
    instrumentation.setMeterProvider(pipeline.meterProvider);
    instrumentation.enable();
    monitor.updateLag('x', 10, 5, 2);
    assert.equal(pointsOf((await pipeline.collect()).get('replication.lag'), 'x')[0]?.value, 5);
    assert.throws(() => new ReplicationLagInstrumentation({ warningThresholdSeconds: 50, criticalThresholdSeconds: 10 }), /warningThresholdSeconds/);
    assert.throws(() => new ReplicationLagInstrumentation({ monitor: {} as ReplicationLagMonitor }), TypeError);
    await pipeline.shutdown();
  });

  it('works through registerInstrumentations with explicit providers', async () => {
    const pipeline = inMemoryPipeline();
    const lag = new ReplicationLagInstrumentation();
    const unregister = registerInstrumentations({
      instrumentations: [lag],
      meterProvider: pipeline.meterProvider,
      loggerProvider: pipeline.loggerProvider,
    });
    lag.monitor.updateLag('r', 100, 60, 31);
    assert.equal(pointsOf((await pipeline.collect()).get('replication.lag'), 'r')[0]?.value, 40);
    assert.equal(pipeline.logExporter.getFinishedLogRecords().length, 1);
    unregister();
    assert.equal(pointsOf((await pipeline.collect()).get('replication.lag'), 'r').length, 0, 'unregistering disables it');
    await pipeline.shutdown();
  });
});

describe('ReplicationLagInstrumentation source health', () => {
  it('exports replication.source.up from a real poller: nothing before its first poll, 1 after a success, 0 after a failure', async () => {
    const t = setup();
    let fail = false;
    let release: (() => void) | undefined;
    let polls = 0;
    const source = {
      name: 'postgresql',
      poll: async (): Promise<readonly ReplicaPosition[]> => {
        if (polls++ === 0) await new Promise<void>((resolve) => (release = resolve));
        if (fail) throw new Error('connection refused');
        return [{ nodeId: 'standby-1', leaderSeq: 100n, followerSeq: 90n }];
      },
    };
    const poller = startPoller({ source, monitor: t.monitor, intervalMs: 3_600_000 });
    const stopObserving = t.instrumentation.observeSource(poller, { 'server.address': 'db1.example' });
    try {
      let metrics = await t.collect();
      assert.deepEqual(metrics.get('replication.source.up')?.points ?? [], [], 'no point before the first poll ends');
      release!();
      await poller.pollOnce();
      metrics = await t.collect();
      const up = metrics.get('replication.source.up');
      assert.equal(up?.type, DataPointType.GAUGE);
      assert.equal(up?.unit, '');
      assert.ok((up?.description.length ?? 0) > 10);
      assert.deepEqual(up?.points, [{ value: 1, attributes: { 'replication.source': 'postgresql', 'server.address': 'db1.example' } }]);
      fail = true;
      await poller.pollOnce();
      metrics = await t.collect();
      assert.deepEqual(metrics.get('replication.source.up')?.points.map((p) => p.value), [0]);
      assert.equal(pointsOf(metrics.get('replication.lag'), 'standby-1')[0]?.value, 10, "the replica's last figures are still exported");
      stopObserving();
      metrics = await t.collect();
      assert.deepEqual(metrics.get('replication.source.up')?.points ?? [], [], 'gone once no longer observed');
    } finally {
      await poller.stop();
      await t.shutdown();
    }
  });

  it('a health() that throws or returns garbage never breaks the collection of the other metrics', async () => {
    const t = setup();
    t.monitor.updateLag('a', 10, 5, 1);
    const broken = { health: (): SourceHealth => { throw new Error('boom'); } };
    const garbage = { health: () => undefined as unknown as SourceHealth };
    const good = { health: (): SourceHealth => ({ source: 'redis', up: false, consecutiveFailures: 3, lastSuccessAt: undefined }) };
    t.instrumentation.observeSource(broken);
    t.instrumentation.observeSource(garbage);
    t.instrumentation.observeSource(good);
    const metrics = await t.collect();
    assert.equal(pointsOf(metrics.get('replication.lag'), 'a')[0]?.value, 5);
    assert.deepEqual(metrics.get('replication.source.up')?.points, [{ value: 0, attributes: { 'replication.source': 'redis' } }]);
    await t.shutdown();
  });

  it('observeSource rejects what is not a poller with a TypeError and observes nothing', async () => {
    const t = setup();
    for (const bad of [undefined, null, {}, { health: 1 }]) {
      assert.throws(() => t.instrumentation.observeSource(bad as never), { name: 'TypeError', message: /observeSource\(poller\): poller must be a Poller/ });
    }
    assert.throws(() => t.instrumentation.observeSource({ health: () => ({ source: 's', up: true, consecutiveFailures: 0, lastSuccessAt: 1 }) }, 'x' as never), TypeError);
    const metrics = await t.collect();
    assert.deepEqual(metrics.get('replication.source.up')?.points ?? [], []);
    await t.shutdown();
  });
});
