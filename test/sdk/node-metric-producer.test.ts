/**
 * Golden comparison: startTelemetry's MetricProducer path (the default) exports exactly the points the
 * instrument path (the drop-in instrumentation recording into SDK instruments) exports for the same monitor
 * state — names, units, attributes, values, temporality — over OTLP to a real receiver and over the real
 * Prometheus endpoint, on a table of states. Also: no `replication.delay` point while a follower's delay is unknown.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTelemetry, type Telemetry, type TelemetryOptions } from '../../src/sdk/index.ts';
import { ReplicationLagMonitor } from '../../src/monitor.ts';
import { NodePoints } from '../../src/sdk/node-metric-producer.ts';
import { AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { startOtlpReceiver, type OtlpReceiver } from '../harness/otlp-receiver.ts';
import { findFreePort } from '../harness/wait.ts';

type Clock = { t: number };
type Path = 'producer' | 'instruments';

interface State {
  name: string;
  options?: Partial<TelemetryOptions>;
  maxNodes?: number;
  script: (m: ReplicationLagMonitor, clock: Clock) => void;
}

const STATES: State[] = [
  { name: 'no node', script: () => {} },
  {
    name: 'caught up, behind with a given delay, critical, with registered attributes',
    script: (m) => {
      m.registerNode('a', { 'server.address': 'db-a', 'replication.system': 'postgresql' });
      m.updateLag('a', 100, 100, 0);
      m.updateLag('b', 100, 50, 7);
      m.updateLag('c', 1000, 10, 45);
    },
  },
  {
    name: 'a provisional follower (no estimate, no reported figure) and one with a reported figure',
    script: (m) => {
      m.updateLag('provisional', 5000, 1000);
      m.updateLag('reported', 5000, 1000, { reportedDelaySeconds: 12.5 });
    },
  },
  {
    name: 'a follower with a heartbeat delay (replication.heartbeat.delay, and the delay known from it)',
    script: (m) => {
      m.updateLag('heartbeat', 5000, 1000, { heartbeatDelaySeconds: 21.5 });
      m.updateLag('caught-up-heartbeat', 5000, 5000, { heartbeatDelaySeconds: 0 });
    },
  },
  {
    name: 'forecasts, catch-up and critical times after several updates; bigint positions',
    script: (m, clock) => {
      for (let i = 0; i < 8; i++) {
        clock.t += 1000;
        m.updateLag('gaining', 1000 + i * 100, 500 + i * 150);
        m.updateLag('losing', 1000 + i * 300, 900 + i * 50);
        m.updateLag('big', 2n ** 60n + BigInt(i * 1000), 2n ** 60n + BigInt(i * 900));
      }
    },
  },
  {
    name: 'alerts, an unregistered node and a node that came back',
    script: (m, clock) => {
      m.updateLag('flaps', 100, 50, 45);
      clock.t += 1000;
      m.updateLag('flaps', 200, 200, 0);
      clock.t += 1000;
      m.updateLag('flaps', 300, 100, 45);
      m.updateLag('gone', 100, 50, 45);
      m.unregisterNode('gone');
      m.updateLag('back', 100, 50, 45);
      m.unregisterNode('back');
      m.updateLag('back', 100, 50, 7);
    },
  },
  {
    name: 'PostgreSQL slots (limited, unlimited, lost) and a subscription: slot gauges, state sets, tables and the errors counter',
    script: (m, clock) => {
      for (let i = 0; i < 4; i++) {
        clock.t += 1000;
        m.updateLag('cdc', 1_000_000 + i * 1000, 1_000_000, { retention: { retained: i * 1000, safeSize: 64_000 - i * 1000, state: 'reserved' } });
        m.updateLag('unlimited', 1_000_000 + i * 1000, 1_000_000, { retention: { retained: i * 1000, state: 'extended' } });
        m.updateLag('sub', 500 + i, 400, { apply: { errors: { apply: 3 + i, sync: 0 }, tables: { init: 0, copy: 1, finished: 0, synced: 0, ready: 2 } } });
      }
      m.updateLag('gone', 2_000_000, 1_000_000, { retention: { retained: 0, state: 'lost' } });
    },
  },
  {
    name: 'past the cardinality limit: overflow series',
    options: { cardinalityLimit: 9 },
    script: (m) => {
      for (const id of ['x', 'y', 'z']) m.updateLag(id, 100, 50, 45);
    },
  },
];

async function start(path: Path, state: State, clock: Clock, extra: Partial<TelemetryOptions>): Promise<Telemetry> {
  return startTelemetry({
    metricExportIntervalMillis: 600_000,
    instrumentation: { now: () => clock.t, ...(state.maxNodes !== undefined ? { maxNodes: state.maxNodes } : {}) },
    ...state.options,
    ...extra,
    nodePoints: path,
  });
}

/** The package's points of one OTLP export, normalised and sorted. */
function otlpPoints(receiver: OtlpReceiver, from: number): string[] {
  return receiver
    .points()
    .filter((p) => p.request >= from && p.metric.startsWith('replication.') && p.metric !== 'replication.source.up')
    .map((p) =>
      JSON.stringify([p.metric, p.unit, p.description, p.kind, p.temporality, p.monotonic, p.value, Object.entries(p.attributes).sort(([a], [b]) => a.localeCompare(b)), p.scope]),
    )
    .sort();
}

/** The package's lines of a scrape (HELP, TYPE and samples), sorted. */
function scrapeLines(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => /^(# (HELP|TYPE) )?replication_/.test(l))
    .map((l) => {
      // Labels in a stable order.
      const m = /^([^{ ]+)\{(.*)\} (.*)$/.exec(l);
      if (m === null) return l;
      const labels = m[2]!.match(/[a-z_0-9]+="(?:[^"\\]|\\.)*"/g) ?? [];
      return `${m[1]}{${labels.sort().join(',')}} ${m[3]}`;
    })
    .sort();
}

async function withPrometheus(path: Path, state: State, clock: Clock): Promise<Telemetry> {
  for (let attempt = 0; ; attempt++) {
    const port = await findFreePort(21_500, 22_000);
    try {
      return await start(path, state, clock, { otlp: false, prometheus: { port, host: '127.0.0.1' } });
    } catch (error) {
      if (attempt >= 5 || !/EADDRINUSE/.test(String(error))) throw error;
    }
  }
}

describe('startTelemetry: the MetricProducer path exports what the instrument path exports (golden comparison)', () => {
  let receiver: OtlpReceiver;
  before(async () => {
    receiver = await startOtlpReceiver();
  });
  after(async () => {
    await receiver.close();
  });

  for (const state of STATES) {
    it(`OTLP: ${state.name}`, async () => {
      const exported: Record<Path, string[]> = { producer: [], instruments: [] };
      for (const path of ['instruments', 'producer'] as const) {
        const clock = { t: 1_000_000 };
        const t = await start(path, state, clock, { otlp: { endpoint: receiver.url } });
        try {
          state.script(t.monitor, clock);
          const from = receiver.requests.length;
          await t.forceFlush();
          await receiver.waitFor('a metric export', () => receiver.requests.some((r, i) => i >= from && r.signal === 'metrics'));
          exported[path] = otlpPoints(receiver, from);
        } finally {
          await t.shutdown();
        }
      }
      assert.deepEqual(exported.producer, exported.instruments);
      if (state.name !== 'no node') assert.ok(exported.producer.length > 0, 'points were compared');
    });

    it(`Prometheus: ${state.name}`, async () => {
      const scraped: Record<Path, string[]> = { producer: [], instruments: [] };
      for (const path of ['instruments', 'producer'] as const) {
        const clock = { t: 1_000_000 };
        const t = await withPrometheus(path, state, clock);
        try {
          state.script(t.monitor, clock);
          // Two scrapes: the second shows what stays (cumulative counters, delta gauges re-recorded).
          await (await fetch(t.prometheusUrl!)).text();
          scraped[path] = scrapeLines(await (await fetch(t.prometheusUrl!)).text());
        } finally {
          await t.shutdown();
        }
      }
      assert.deepEqual(scraped.producer, scraped.instruments);
      if (state.name !== 'no node') assert.ok(scraped.producer.some((l) => !l.startsWith('#')), 'samples were compared');
    });
  }
});

describe('startTelemetry: a provisional follower', () => {
  it('has no replication.delay point (not 0) until its delay is known, on both paths', async () => {
    for (const path of ['producer', 'instruments'] as const) {
      const clock = { t: 1_000_000 };
      const t = await withPrometheus(path, { name: 'provisional', script: () => {} }, clock);
      try {
        t.monitor.updateLag('new', 5000, 1000);
        const first = await (await fetch(t.prometheusUrl!)).text();
        assert.match(first, /replication_lag\{[^}]*replication_node_id="new"[^}]*\} 4000/, `${path}: its lag is exported`);
        assert.doesNotMatch(first, /replication_delay_seconds\{[^}]*replication_node_id="new"/, `${path}: no delay point`);
        clock.t += 1000;
        t.monitor.updateLag('new', 6000, 5000);
        const later = await (await fetch(t.prometheusUrl!)).text();
        assert.match(later, /replication_delay_seconds\{[^}]*replication_node_id="new"[^}]*\} \d/, `${path}: a delay point once estimated`);
      } finally {
        await t.shutdown();
      }
    }
  });
});

describe('NodePoints: alert counts follow the live nodes', () => {
  it('without any collection (an endpoint nobody scrapes), 20,000 churned ids leave a bounded map', () => {
    const monitor = new ReplicationLagMonitor({ alertCooldownSeconds: 0 });
    const points = new NodePoints(monitor);
    for (let i = 0; i < 10; i++) monitor.updateLag(`live-${i}`, 100, 50, 45);
    for (let c = 0; c < 20_000; c++) {
      monitor.updateLag(`churn-${c}`, 100, 50, 45);
      monitor.unregisterNode(`churn-${c}`);
    }
    assert.ok(points.alertSeries <= 2048, `${points.alertSeries} alert series held`);
    const scope = points.producer({ temporality: () => AggregationTemporality.CUMULATIVE, cardinalityLimit: 100 }).collectScope();
    const alerts = scope.metrics.find((m) => m.descriptor.name === 'replication.alerts')!;
    assert.equal(alerts.dataPoints.length, 10);
    assert.equal(points.alertSeries, 10);
    points.close();
  });
});
