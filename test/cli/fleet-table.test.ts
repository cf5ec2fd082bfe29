/** The terminal output of `replag --config`: nodes grouped under their source, alerts naming it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFleetConfig } from '../../src/cli/config.ts';
import { createConfiguredSource } from '../../src/cli/config-sources.ts';
import { formatSourceAlert, renderFleetTable } from '../../src/cli/fleet-table.ts';
import { SourceSupervisor } from '../../src/cli/supervisor.ts';
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
