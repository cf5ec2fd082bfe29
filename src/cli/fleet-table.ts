/** Terminal output of `replag --config`: nodes grouped by source. */
import type { LagAlert } from '../types.ts';
import type { SupervisedSource } from './supervisor.ts';
import { formatAlert, PROVISIONAL_LEGEND, provisionalCount, severityLabel, summary } from './table.ts';

const COLOR: Record<string, string> = { normal: '\x1b[32m', warning: '\x1b[33m', critical: '\x1b[31m', stalled: '\x1b[35m' };
const RESET = '\x1b[0m';

function fixed(n: number | undefined, digits: number): string {
  return n === undefined ? '-' : n.toFixed(digits);
}

/** `up`, `DOWN` (last poll failed: figures are stale) or `…` before the first poll ends. */
export function sourceState(source: SupervisedSource): string {
  const up = source.poller.health().up;
  return up === undefined ? '…' : up ? 'up' : 'DOWN';
}

/** One line for a source: its name, type, state and summary. */
export function sourceLine(source: SupervisedSource): string {
  return `[${source.config.name}] ${source.config.options.type} ${sourceState(source)} ${summary(source.monitor.getStats(), provisionalCount(source.monitor.getAllStatuses().values()))}`;
}

/** An alert line, naming its source. */
export function formatSourceAlert(name: string, alert: LagAlert): string {
  return formatAlert(alert).replace(/^ALERT (\S+) /, `ALERT $1 [${name}] `);
}

/** A full-screen table: per source a heading line, then its nodes (at most `maxRows` node rows in all), then alerts. */
export function renderFleetTable(sources: readonly SupervisedSource[], alerts: readonly string[], maxRows: number, color: boolean): string {
  const header = ['NODE', 'SEVERITY', 'LAG', 'DELAY s', 'PREDICTED s', 'APPLY/s'];
  const groups: { heading: string; rows: string[][] }[] = [];
  let shown = 0;
  let hidden = 0;
  let provisional = false;
  for (const source of sources) {
    const rows: string[][] = [];
    for (const s of source.monitor.getAllStatuses().values()) {
      const label = severityLabel(s);
      if (label !== s.severity) provisional = true;
      if (shown >= maxRows) {
        hidden++;
        continue;
      }
      shown++;
      rows.push([s.nodeId, label, String(s.lagEntries), fixed(s.lagSeconds, 1), fixed(s.predictedLagSeconds, 1), fixed(s.replicationRate, 0)]);
    }
    groups.push({ heading: sourceLine(source), rows });
  }
  const all = groups.flatMap((g) => g.rows);
  const widths = header.map((h, i) => Math.max(h.length, ...all.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    '  ' +
    cells
      .map((c, i) => {
        const padded = i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!);
        const severity = c.replace('?', '');
        return i === 1 && color && COLOR[severity] !== undefined ? `${COLOR[severity]}${padded}${RESET}` : padded;
      })
      .join('  ');
  const out = [line(header)];
  for (const g of groups) out.push('', g.heading, ...g.rows.map(line));
  if (hidden > 0) out.push(`… and ${hidden} more nodes`);
  if (provisional) out.push(PROVISIONAL_LEGEND);
  out.push('', 'Latest alerts:');
  for (const a of alerts.slice(-5)) out.push(`  ${a}`);
  if (alerts.length === 0) out.push('  (none)');
  return out.join('\n');
}
