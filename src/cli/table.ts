/** Rendering of statuses and alerts for the terminal. */
import { delayUnknown } from '../node-points.ts';
import type { LagAlert, LagStatistics, ReplicationStatus } from '../types.ts';

const COLOR: Record<string, string> = { normal: '\x1b[32m', warning: '\x1b[33m', critical: '\x1b[31m', stalled: '\x1b[35m' };
const RESET = '\x1b[0m';

function fixed(n: number | undefined, digits: number): string {
  return n === undefined ? '-' : n.toFixed(digits);
}

/** The severity as shown: `warning?` while it is provisional (the delay is not known yet). */
export function severityLabel(status: ReplicationStatus): string {
  return delayUnknown(status) ? `${status.severity}?` : status.severity;
}

/** The legend line of a table that shows a provisional severity. */
export const PROVISIONAL_LEGEND = 'warning? = provisional: no delay estimate yet and no delay reported by the system (DELAY is a lower bound); known from the next sample';

/** How many of `statuses` have a provisional severity. */
export function provisionalCount(statuses: Iterable<ReplicationStatus>): number {
  let n = 0;
  for (const s of statuses) if (delayUnknown(s)) n++;
  return n;
}

/** A full-screen table: one row per node (up to `maxRows`), then the latest alerts. */
export function renderTable(statuses: Iterable<ReplicationStatus>, stats: LagStatistics, alerts: readonly LagAlert[], maxRows: number, color: boolean): string {
  const header = ['NODE', 'SEVERITY', 'LAG', 'DELAY s', 'PREDICTED s', 'APPLY/s'];
  const rows: string[][] = [];
  let hidden = 0;
  let provisional = 0;
  for (const s of statuses) {
    if (delayUnknown(s)) provisional++;
    if (rows.length >= maxRows) {
      hidden++;
      continue;
    }
    rows.push([s.nodeId, severityLabel(s), String(s.lagEntries), fixed(s.lagSeconds, 1), fixed(s.predictedLagSeconds, 1), fixed(s.replicationRate, 0)]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[], severity?: string) =>
    cells
      .map((c, i) => {
        const padded = i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!);
        return i === 1 && color && severity ? `${COLOR[severity.replace('?', '')]}${padded}${RESET}` : padded;
      })
      .join('  ');
  const out = [summary(stats, provisional), '', line(header), ...rows.map((r) => line(r, r[1]))];
  if (hidden > 0) out.push(`… and ${hidden} more nodes`);
  if (provisional > 0) out.push(PROVISIONAL_LEGEND);
  out.push('', 'Latest alerts:');
  for (const a of alerts.slice(-5)) out.push(`  ${formatAlert(a)}`);
  if (alerts.length === 0) out.push('  (none)');
  return out.join('\n');
}

/**
 * One line: how many nodes in each severity and the worst delay; `provisional` of the warnings are only
 * provisional (`warning=3 (2 provisional)`).
 */
export function summary(stats: LagStatistics, provisional = 0): string {
  const normal = stats.totalNodes - stats.warningNodes - stats.criticalNodes - stats.stalledNodes;
  const marked = provisional > 0 ? ` (${provisional} provisional)` : '';
  return `nodes=${stats.totalNodes} normal=${normal} warning=${stats.warningNodes}${marked} critical=${stats.criticalNodes} stalled=${stats.stalledNodes} max_delay=${stats.maxLagSeconds.toFixed(1)}s avg_delay=${stats.avgLagSeconds.toFixed(1)}s alerts=${stats.totalAlerts}`;
}

export function formatAlert(alert: LagAlert): string {
  return `ALERT ${alert.severity.toUpperCase()} ${alert.message}`;
}
