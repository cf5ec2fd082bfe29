/** The terminal output of `replag --config`: nodes grouped under their source, alerts naming it. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { parseFleetConfig } from '../../src/cli/config.ts';
import { createConfiguredSource } from '../../src/cli/config-sources.ts';
import { formatSourceAlert, renderFleetTable } from '../../src/cli/fleet-table.ts';
import { FailureLog } from '../../src/cli/failure-log.ts';
import { SourceSupervisor } from '../../src/cli/supervisor.ts';
import { ScreenNotes } from '../../src/cli/table.ts';
import { inMemoryPipeline } from '../helpers/in-memory-sdk.ts';

describe('fleet table', () => {
  it('groups nodes by source, under a line with its name, type, state and summary', async () => {
    const pipeline = inMemoryPipeline();
    const supervisor = new SourceSupervisor({ meterProvider: pipeline.meterProvider, loggerProvider: pipeline.loggerProvider, createSource: (c) => createConfiguredSource(c) });
    try {
      const { sources } = parseFleetConfig('sources:\n  - { name: eu, type: demo, nodes: 2 }\n  - { name: us, type: demo, nodes: 3 }\n', { env: {} });
      await supervisor.apply(sources);
      await Promise.all(supervisor.sources().map((s) => s.poller.pollOnce()));
      const text = renderFleetTable(supervisor.sources(), ['ALERT WARNING [us] x'], 100, false);
      const lines = text.split('\n');
      const eu = lines.findIndex((l) => l.startsWith('[eu] demo up nodes=2 '));
      const us = lines.findIndex((l) => l.startsWith('[us] demo up nodes=3 '));
      assert.ok(eu > 0 && us > eu, text);
      assert.deepEqual(lines.slice(eu + 1, eu + 3).map((l) => l.trim().split(/\s+/)[0]), ['healthy-1', 'slow-1']);
      assert.deepEqual(lines.slice(us + 1, us + 4).map((l) => l.trim().split(/\s+/)[0]), ['healthy-1', 'lagging-1', 'slow-1']);
      assert.match(text, /Latest alerts:\n {2}ALERT WARNING \[us\] x/);
      const capped = renderFleetTable(supervisor.sources(), [], 3, false);
      assert.match(capped, /… and 2 more nodes/);
    } finally {
      await supervisor.stop();
      await pipeline.shutdown();
    }
  });

  it('an alert line names its source', () => {
    const line = formatSourceAlert('orders-pg', { nodeId: 'r1', severity: 'critical', previousSeverity: 'warning', message: 'r1 is 40.0s behind', lagEntries: 5, lagSeconds: 40, timestamp: 0 } as never);
    assert.match(line, /^ALERT CRITICAL \[orders-pg\] /);
  });
});

describe('screen notes (what the live table keeps of replag\'s stderr)', () => {
  /** A ScreenNotes over a sink, and the text that went through to the sink. */
  function notesOverSink(): { notes: ScreenNotes; passed: () => string } {
    let passed = '';
    const sink = new Writable({ write: (chunk: Buffer, _e, cb) => ((passed += chunk.toString()), cb()) });
    return { notes: new ScreenNotes(sink, { maxNotices: 3 }), passed: () => passed };
  }
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('keeps each source\'s current failures from FailureLog\'s lines, until they succeed again; passes every line on', async () => {
    const { notes, passed } = notesOverSink();
    const log = new FailureLog(notes.stream, '[cache] ');
    log.report('poll', new Error('cannot connect: no server listens there'));
    log.report('replica r2', new Error('timed out'));
    await settle();
    assert.deepEqual(notes.failures('cache'), [{ what: 'poll', message: 'cannot connect: no server listens there' }, { what: 'replica r2', message: 'timed out' }]);
    assert.deepEqual(notes.failures('other'), []);
    log.report('poll', new Error('authentication failed'));
    log.settle(); // a poll that reported both: still current
    await settle();
    assert.deepEqual(notes.failures('cache').map((f) => f.message), ['authentication failed', 'timed out']);
    log.settle(); // a poll that reported neither: both are over
    await settle();
    assert.deepEqual(notes.failures('cache'), []);
    assert.match(passed(), /\[cache\] poll failed: cannot connect[^\n]*\n[^\n]*replica r2 failed: timed out\n[^\n]*poll failed: authentication failed\n/);
    assert.deepEqual(notes.notices(), [], 'failures are not notices');
    const flags = new FailureLog(notes.stream);
    flags.report('poll', new Error('refused'));
    await settle();
    assert.deepEqual(notes.failures(''), [{ what: 'poll', message: 'refused' }]);
  });

  it('keeps the latest notice per topic (a newer one on the same topic replaces it), with its indented details', async () => {
    const { notes } = notesOverSink();
    notes.stream.write('replag: no OTLP endpoint configured (set OTEL_EXPORTER_OTLP_ENDPOINT); running locally without export\n');
    notes.stream.write('replag: [cache] watching Redis master redis://127.0.0.1:1, polling every 1000 ms\n');
    notes.stream.write('replag: reload of f.yaml failed; keeping the running configuration (2 problems):\n  sources[0].type: required\n');
    notes.stream.write('  sources[1].url: required\nreplag: otel-replication-lag: metrics export failed to http://c:4318/v1/metrics: ECONNREFUSED\n');
    await settle();
    assert.deepEqual(notes.notices(), [
      ['no OTLP endpoint configured (set OTEL_EXPORTER_OTLP_ENDPOINT); running locally without export'],
      ['reload of f.yaml failed; keeping the running configuration (2 problems):', 'sources[0].type: required', 'sources[1].url: required'],
      ['otel-replication-lag: metrics export failed to http://c:4318/v1/metrics: ECONNREFUSED'],
    ]);
    notes.stream.write('replag: reloaded f.yaml: no source changed\nreplag: otel-replication-lag: metrics export succeeded again after 3 failed exports\n');
    notes.stream.write('replag: otel-replication-lag: logs export failed: timeout\n');
    await settle();
    assert.deepEqual(notes.notices().map((n) => n[0]), [
      'reloaded f.yaml: no source changed',
      'otel-replication-lag: metrics export succeeded again after 3 failed exports',
      'otel-replication-lag: logs export failed: timeout',
    ], 'replaced per topic; the oldest topic (OTLP) dropped past maxNotices');
  });

  it('the fleet table shows a DOWN source\'s poll failure under its heading, shortened to the width, and the notices', async () => {
    const pipeline = inMemoryPipeline();
    const supervisor = new SourceSupervisor({ meterProvider: pipeline.meterProvider, loggerProvider: pipeline.loggerProvider, createSource: (c) => createConfiguredSource(c) });
    try {
      const { sources } = parseFleetConfig('sources:\n  - { name: down, type: redis, url: "redis://127.0.0.1:1", timeout: 200ms }\n  - { name: eu, type: demo, nodes: 2 }\n', { env: {} });
      await supervisor.apply(sources);
      await Promise.all(supervisor.sources().map((s) => s.poller.pollOnce()));
      const { notes } = notesOverSink();
      notes.stream.write(`replag: [down] poll failed: ${'x'.repeat(200)}\nreplag: [eu] replica healthy-1 failed: gone\nreplag: no OTLP endpoint configured\n`);
      await settle();
      const lines = renderFleetTable(supervisor.sources(), [], 100, false, { notes, width: 60 }).split('\n');
      const down = lines.findIndex((l) => l.startsWith('[down] redis DOWN '));
      assert.match(lines[down + 1] ?? '', /^ {2}! poll failed: x+…$/);
      assert.equal(lines[down + 1]?.length, 60);
      const eu = lines.findIndex((l) => l.startsWith('[eu] demo up '));
      assert.equal(lines[eu + 1], '  ! replica healthy-1 failed: gone', 'an up source shows its replicas\' failures');
      assert.deepEqual(lines.slice(-2), ['Notices:', '  no OTLP endpoint configured']);
      const without = renderFleetTable(supervisor.sources(), [], 100, false).split('\n');
      assert.ok(!without.some((l) => l.includes('!')) && !without.includes('Notices:'), 'nothing without a screen');
    } finally {
      await supervisor.stop();
      await pipeline.shutdown();
    }
  });
});
