/**
 * Series and memory bounded by the live nodes under churn: one million register / update / unregister cycles
 * through the instrumentation on a real MeterProvider, in a child process with --expose-gc (clean heap figures).
 * Every churned node raises an alert, so `replication.alerts` would hold one series per id ever seen if the
 * SDK kept them (it did: 300,000 series for 10 live nodes, issue 10).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const CHILD = fileURLToPath(new URL('./helpers/churn-child.ts', import.meta.url));
const CYCLES = 1_000_000;
const STABLE = 10;
const WINDOW = 10;

interface ChurnReport {
  collections: number;
  maxExcessOverFourPerLiveNode: number;
  maxSeriesPerInstrument: number;
  maxLiveNodes: number;
  missingLiveNode: number;
  overflowPoints: number;
  alertsExported: number;
  heapBeforeBytes: number;
  heapAfterBytes: number;
  durationMs: number;
}

describe('instrumentation under churn', () => {
  it(`${CYCLES.toLocaleString('en-US')} register/update/unregister cycles: series bounded by live nodes, each live node under its own id, heap back to its baseline`, { timeout: 600_000 }, async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--expose-gc', CHILD, '--cycles', String(CYCLES), '--stable', String(STABLE), '--window', String(WINDOW), '--collect-every', '1000'],
      { timeout: 590_000, maxBuffer: 1 << 20 },
    );
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as ChurnReport;
    assert.ok(r.collections >= CYCLES / 1000, `collected ${r.collections} times`);
    assert.equal(r.maxLiveNodes, STABLE + WINDOW, 'live nodes at each collection');
    // At most 4 series per live node (the severity state set; alerts by severity) and no constant beyond it.
    assert.ok(r.maxExcessOverFourPerLiveNode <= 0, `an instrument had ${r.maxExcessOverFourPerLiveNode} series more than 4 per live node`);
    assert.ok(r.maxSeriesPerInstrument <= 4 * (STABLE + WINDOW), `max series per instrument ${r.maxSeriesPerInstrument}`);
    assert.equal(r.missingLiveNode, 0, 'collections where a live node was not exported under its own id');
    assert.equal(r.overflowPoints, 0, 'points folded into the overflow series');
    assert.equal(r.alertsExported, 1, 'each churned node exported its one alert');
    // One million node ids have existed; anything kept per id would be tens of MB (the SDK's memo: ~200 B per id).
    const growth = r.heapAfterBytes - r.heapBeforeBytes;
    assert.ok(growth < 8 * 1024 * 1024, `heap grew ${(growth / 1048576).toFixed(1)} MiB over the churn (before ${(r.heapBeforeBytes / 1048576).toFixed(1)} MiB)`);
  });
});
