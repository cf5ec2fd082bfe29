/**
 * SourceSupervisor: many sources on one real SDK pipeline (kept in memory). Node ids that two sources share do not
 * collide, `replication.source.up` has one series per source name, a hung source delays no other, and `apply`
 * starts, stops and restarts sources, changing nothing when a new source cannot be built.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseFleetConfig, type FleetSourceConfig } from '../../src/cli/config.ts';
import { createConfiguredSource } from '../../src/cli/config-sources.ts';
import { SourceSetupError, SourceSupervisor } from '../../src/cli/supervisor.ts';
import type { ReplicaPosition, ReplicationSource } from '../../src/sources/source.ts';
import { startTelemetry } from '../../src/sdk/index.ts';
import { findFreePort } from '../harness/wait.ts';
import { inMemoryPipeline } from '../helpers/in-memory-sdk.ts';

/** Parses `sources:` entries (YAML flow mappings) into configurations. */
function configs(...entries: string[]): FleetSourceConfig[] {
  return [...parseFleetConfig(`sources:\n${entries.map((e) => `  - ${e}`).join('\n')}\n`, { env: {} }).sources];
}

/** A source that reports fixed replicas, or hangs while `hung` is set; counts polls and closes. */
class ScriptedSource implements ReplicationSource {
  readonly name = 'scripted';
  polls = 0;
  closed = 0;
  hung = false;
  private release: (() => void) | undefined;
  private readonly replicas: ReplicaPosition[];
  constructor(replicas: ReplicaPosition[]) {
    this.replicas = replicas;
  }
  async poll(): Promise<readonly ReplicaPosition[]> {
    this.polls++;
    if (this.hung) await new Promise<void>((resolve) => (this.release = resolve));
    return this.replicas;
  }
  unblock(): void {
    this.hung = false;
    this.release?.();
  }
  async close(): Promise<void> {
    this.closed++;
  }
}

describe('SourceSupervisor', () => {
  let pipeline: ReturnType<typeof inMemoryPipeline>;
  let scripted: Map<string, ScriptedSource>;
  let supervisor: SourceSupervisor;
  let errors: string[];

  beforeEach(() => {
    pipeline = inMemoryPipeline();
    scripted = new Map();
    errors = [];
    supervisor = new SourceSupervisor({
      meterProvider: pipeline.meterProvider,
      loggerProvider: pipeline.loggerProvider,
      createSource: async (c) => {
        if (c.type !== 'postgres') return createConfiguredSource(c);
        // postgres entries stand for a scripted source, so a test can hang or fail it at will.
        if (String(c.options.url).includes('refuse')) throw new RangeError('refused by the source');
        const source = new ScriptedSource([{ nodeId: 'replica-1', leaderSeq: 100, followerSeq: 40, lagSeconds: 100, attributes: { 'replication.system': 'postgresql' } }]);
        scripted.set(c.name, source);
        return source;
      },
      onPollError: (name, error) => errors.push(`${name}: ${error.message}`),
    });
  });
  afterEach(async () => {
    for (const s of scripted.values()) s.unblock();
    await supervisor.stop();
    await pipeline.shutdown();
  });

  it('keeps equal node ids of two sources apart: every point carries replication.source and the attributes', async () => {
    await supervisor.apply(configs('{ name: eu, type: demo, nodes: 2, attributes: { replication.cluster: eu } }', '{ name: us, type: demo, nodes: 2 }'));
    await Promise.all(supervisor.sources().map((s) => s.poller.pollOnce()));
    const metrics = await pipeline.collect();
    const lag = metrics.get('replication.lag')!.points;
    const keys = lag.map((p) => `${p.attributes['replication.source']}/${p.attributes['replication.node.id']}`).sort();
    assert.deepEqual(keys, ['eu/healthy-1', 'eu/slow-1', 'us/healthy-1', 'us/slow-1']);
    for (const p of lag) assert.equal(p.attributes['replication.system'], 'raft', 'the source\'s own attributes stay');
    assert.ok(lag.filter((p) => p.attributes['replication.source'] === 'eu').every((p) => p.attributes['replication.cluster'] === 'eu'));
    assert.ok(lag.filter((p) => p.attributes['replication.source'] === 'us').every((p) => p.attributes['replication.cluster'] === undefined));
    for (const name of ['replication.delay', 'replication.apply.rate', 'replication.severity']) {
      assert.ok(metrics.get(name)!.points.every((p) => p.attributes['replication.source'] === 'eu' || p.attributes['replication.source'] === 'us'), name);
    }
    const up = metrics.get('replication.source.up')!.points;
    assert.deepEqual(up.map((p) => [p.attributes['replication.source'], p.value]).sort(), [['eu', 1], ['us', 1]]);
    assert.equal(up.find((p) => p.attributes['replication.source'] === 'eu')!.attributes['replication.cluster'], 'eu');
  });

  it('alerts of equal node ids in two sources: counted and logged per source', async () => {
    await supervisor.apply(configs('{ name: a, type: postgres, url: "postgres://h/a" }', '{ name: b, type: postgres, url: "postgres://h/b" }'));
    await Promise.all(supervisor.sources().map((s) => s.poller.pollOnce()));
    const alerts = (await pipeline.collect()).get('replication.alerts')!.points;
    assert.deepEqual(alerts.map((p) => `${p.attributes['replication.source']}/${p.attributes['replication.node.id']}=${p.value}`).sort(), ['a/replica-1=1', 'b/replica-1=1']);
    const events = pipeline.logExporter.getFinishedLogRecords();
    assert.deepEqual(events.map((e) => e.attributes['replication.source']).sort(), ['a', 'b']);
  });

  it('a hung source delays no other; replication.source.up has one series per source name', async () => {
    await supervisor.apply(configs('{ name: hung, type: postgres, url: "postgres://h/x", interval: 50ms }', '{ name: fast, type: postgres, url: "postgres://h/y", interval: 50ms }'));
    await sleep(100);
    scripted.get('hung')!.hung = true;
    const before = scripted.get('fast')!.polls;
    const hungPolls = scripted.get('hung')!.polls;
    await sleep(600);
    assert.ok(scripted.get('fast')!.polls >= before + 4, `fast polled ${scripted.get('fast')!.polls - before} times while the other hung`);
    assert.ok(scripted.get('hung')!.polls <= hungPolls + 1, 'the hung source has one poll in flight');
    const up = (await pipeline.collect()).get('replication.source.up')!.points;
    assert.deepEqual(up.map((p) => p.attributes['replication.source']).sort(), ['fast', 'hung'], 'one series per source name');
  });

  it('a failing source reports up 0 while the others stay 1', async () => {
    await supervisor.apply(configs('{ name: bad, type: redis, url: "redis://127.0.0.1:1", timeout: 200ms }', '{ name: sim, type: demo }'));
    await Promise.all(supervisor.sources().map((s) => s.poller.pollOnce()));
    const up = (await pipeline.collect()).get('replication.source.up')!.points;
    assert.deepEqual(up.map((p) => [p.attributes['replication.source'], p.value]).sort(), [['bad', 0], ['sim', 1]]);
    assert.ok(errors.some((e) => e.startsWith('bad: ')));
  });

  it('apply: added sources start, removed ones stop (their series disappear), changed ones restart, unchanged ones keep running', async () => {
    await supervisor.apply(configs('{ name: keep, type: demo, nodes: 1 }', '{ name: gone, type: postgres, url: "postgres://h/g" }', '{ name: change, type: demo, nodes: 1 }'));
    await Promise.all(supervisor.sources().map((s) => s.poller.pollOnce()));
    const kept = supervisor.sources().find((s) => s.config.name === 'keep')!;
    const gone = scripted.get('gone')!;
    assert.deepEqual(new Set((await pipeline.collect()).get('replication.lag')!.points.map((p) => p.attributes['replication.source'])), new Set(['keep', 'gone', 'change']));

    const summary = await supervisor.apply(configs('{ name: keep, type: demo, nodes: 1 }', '{ name: change, type: demo, nodes: 3 }', '{ name: new, type: demo, nodes: 1 }'));
    assert.deepEqual(summary, { started: ['new'], stopped: ['gone'], restarted: ['change'] });
    assert.equal(gone.closed, 1, 'the removed source was closed');
    const pollsAfterStop = gone.polls;
    assert.equal(supervisor.sources().find((s) => s.config.name === 'keep'), kept, 'an unchanged source is not restarted');
    assert.deepEqual(supervisor.sources().map((s) => s.config.name), ['keep', 'change', 'new']);
    await Promise.all(supervisor.sources().map((s) => s.poller.pollOnce()));
    const metrics = await pipeline.collect();
    const bySource = (name: string) => metrics.get('replication.lag')!.points.filter((p) => p.attributes['replication.source'] === name).length;
    assert.deepEqual([bySource('keep'), bySource('change'), bySource('new'), bySource('gone')], [1, 3, 1, 0]);
    assert.deepEqual(metrics.get('replication.source.up')!.points.map((p) => p.attributes['replication.source']).sort(), ['change', 'keep', 'new']);
    await sleep(1200);
    assert.equal(gone.polls, pollsAfterStop, 'a removed source is polled no more');
  });

  it('apply: a source that cannot be built changes nothing (and what was built for it is closed)', async () => {
    await supervisor.apply(configs('{ name: a, type: demo, nodes: 1 }'));
    const running = supervisor.sources();
    await assert.rejects(
      supervisor.apply(configs('{ name: b, type: postgres, url: "postgres://h/b" }', '{ name: c, type: postgres, url: "postgres://refuse/c" }')),
      (e: unknown) => e instanceof SourceSetupError && e.problems.length === 1 && e.problems[0]!.path.join('/') === 'sources/1' && e.problems[0]!.message === 'refused by the source',
    );
    assert.deepEqual(supervisor.sources(), running);
    assert.equal(scripted.get('b')!.closed, 1, 'the source built for the refused configuration was closed');
    assert.equal(scripted.get('b')!.polls, 0, 'and never polled');
  });

  it('stop: every source stops and closes, and nothing is exported any more', async () => {
    await supervisor.apply(configs('{ name: a, type: postgres, url: "postgres://h/a" }', '{ name: b, type: demo }'));
    await supervisor.stop();
    assert.equal(scripted.get('a')!.closed, 1);
    assert.deepEqual(supervisor.sources(), []);
    const metrics = await pipeline.collect();
    assert.equal(metrics.get('replication.lag')?.points.length ?? 0, 0);
    assert.equal(metrics.get('replication.source.up')?.points.length ?? 0, 0);
  });
});

describe('SourceSupervisor on startTelemetry', () => {
  it("keeps each live source's replication.alerts series (bounded by every source's monitor, not only the pipeline's own)", async () => {
    const port = await findFreePort(29_600, 29_900);
    const telemetry = await startTelemetry({ otlp: false, prometheus: { port, host: '127.0.0.1' } });
    const supervisor = new SourceSupervisor({
      meterProvider: telemetry.meterProvider,
      loggerProvider: telemetry.loggerProvider,
      trackMonitor: (name, monitor) => telemetry.addMonitor(name, monitor),
      createSource: async () => new ScriptedSource([{ nodeId: 'replica-1', leaderSeq: 100, followerSeq: 40, lagSeconds: 100 }]),
    });
    try {
      await supervisor.apply(configs('{ name: pg-a, type: postgres, url: postgres://a/db }', '{ name: pg-b, type: postgres, url: postgres://b/db }'));
      await Promise.all(supervisor.sources().map((s) => s.poller.pollOnce()));
      const scrape = async () => (await fetch(telemetry.prometheusUrl!)).text();
      const alertLines = (text: string) => text.split('\n').filter((l) => l.startsWith('replication_alerts_total{')).sort();
      const first = alertLines(await scrape());
      assert.equal(first.length, 2, first.join('\n'));
      for (const [i, source] of ['pg-a', 'pg-b'].entries()) {
        assert.match(first[i]!, new RegExp(`replication_source="${source}"`));
        assert.match(first[i]!, /replication_node_id="replica-1".* 1$/);
      }
      // Still there at the next scrape (a cumulative counter), and gone once its source is removed.
      assert.deepEqual(alertLines(await scrape()), first);
      await supervisor.apply(configs('{ name: pg-b, type: postgres, url: postgres://b/db }'));
      const after = alertLines(await scrape());
      assert.equal(after.length, 1, after.join('\n'));
      assert.match(after[0]!, /replication_source="pg-b"/);
    } finally {
      await supervisor.stop();
      await telemetry.shutdown();
    }
  });
});
