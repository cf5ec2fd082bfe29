// The live table and the plain summary mark a provisional severity (no delay estimate, no reported figure) as `warning?`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReplicationLagMonitor } from '../../src/monitor.ts';
import { PROVISIONAL_LEGEND, renderTable, summary, provisionalCount } from '../../src/cli/table.ts';

describe('replag table: provisional severities', () => {
  it('shows warning? with the legend while the delay is unknown, warning without it once known or reported', () => {
    const clock = { t: 1_000_000 };
    const monitor = new ReplicationLagMonitor({ now: () => clock.t });
    monitor.updateLag('unknown', 5000, 1000);
    monitor.updateLag('reported', 5000, 1000, { reportedDelaySeconds: 12 });
    monitor.updateLag('given', 5000, 1000, 12);
    const table = renderTable(monitor.getAllStatuses().values(), monitor.getStats(), [], 10, false);
    const row = (id: string) => table.split('\n').find((l) => l.startsWith(`${id} `))!;
    assert.match(row('unknown'), /^unknown\s+warning\?\s/);
    assert.match(row('reported'), /^reported\s+warning\s/);
    assert.match(row('given'), /^given\s+warning\s/);
    assert.ok(table.includes(PROVISIONAL_LEGEND), table);
    assert.match(PROVISIONAL_LEGEND, /^warning\? = provisional/);
    assert.match(table.split('\n')[0]!, /warning=3 \(1 provisional\)/);

    clock.t += 1000;
    monitor.updateLag('unknown', 6000, 5000);
    const later = renderTable(monitor.getAllStatuses().values(), monitor.getStats(), [], 10, false);
    assert.doesNotMatch(later, /warning\?/);
    assert.ok(!later.includes(PROVISIONAL_LEGEND));
    assert.equal(provisionalCount(monitor.getAllStatuses().values()), 0);
    assert.doesNotMatch(summary(monitor.getStats(), 0), /provisional/);
  });
});
