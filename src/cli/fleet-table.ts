/** Terminal output of `replag --config`: nodes grouped by source. */
import type { LagAlert } from '../types.ts';
import type { SupervisedSource } from './supervisor.ts';
import { formatAlert, PROVISIONAL_LEGEND, provisionalCount, renderNotices, severityLabel, shorten, summary, type ScreenNotes } from './table.ts';

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
  return `[${source.config.name}] ${source.config.type} ${sourceState(source)} ${summary(source.monitor.getStats(), provisionalCount(source.monitor.getAllStatuses().values()))}`;
}

/** An alert line, naming its source. */
export function formatSourceAlert(name: string, alert: LagAlert): string {
  return formatAlert(alert).replace(/^ALERT (\S+) /, `ALERT $1 [${name}] `);
}

/** What the live table shows besides the monitors: replag's reports, and the terminal's width to fit them in. */
export interface TableScreen {
  notes: ScreenNotes;
  /** Columns of the terminal (default 100). */
  width?: number;
}

/**
 * The failure lines under a source's heading: while it is DOWN, why its polls fail; and what fails for its replicas
 * (until they succeed again). One shortened line each.
 */
export function failureLines(source: SupervisedSource, notes: ScreenNotes, width: number, color: boolean): string[] {
  const down = sourceState(source) === 'DOWN';
  return notes
    .failures(source.config.name)
    .filter((f) => f.what !== 'poll' || down)
    .map((f) => {
      const text = `  ! ${shorten(`${f.what} failed: ${f.message}`, width - 4)}`;
      return color ? `${COLOR.critical}${text}${RESET}` : text;
    });
}

/**
 * A full-screen table: per source a heading line, its current failures (with `screen`), then its nodes (at most
 * `maxRows` lines of nodes, failures and notices in all), then alerts and the notices.
 */
export function renderFleetTable(sources: readonly SupervisedSource[], alerts: readonly string[], maxRows: number, color: boolean, screen?: TableScreen): string {
  const width = screen?.width ?? 100;
  const failures = new Map(sources.map((s) => [s, screen === undefined ? [] : failureLines(s, screen.notes, width, color)]));
  const notices = screen === undefined ? [] : renderNotices(screen.notes, width);
  const nodeRows = Math.max(1, maxRows - notices.length - [...failures.values()].reduce((n, lines) => n + lines.length, 0));
  const header = ['NODE', 'SEVERITY', 'LAG', 'DELAY s', 'PREDICTED s', 'APPLY/s'];
  const groups: { heading: string; failures: string[]; rows: string[][] }[] = [];
  let shown = 0;
  let hidden = 0;
  let provisional = false;
  for (const source of sources) {
    const rows: string[][] = [];
    for (const s of source.monitor.getAllStatuses().values()) {
      const label = severityLabel(s);
      if (label !== s.severity) provisional = true;
      if (shown >= nodeRows) {
        hidden++;
        continue;
      }
      shown++;
      rows.push([s.nodeId, label, String(s.lagEntries), fixed(s.lagSeconds, 1), fixed(s.predictedLagSeconds, 1), fixed(s.replicationRate, 0)]);
    }
    groups.push({ heading: sourceLine(source), failures: failures.get(source) ?? [], rows });
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
  for (const g of groups) out.push('', g.heading, ...g.failures, ...g.rows.map(line));
  if (hidden > 0) out.push(`… and ${hidden} more nodes`);
  if (provisional) out.push(PROVISIONAL_LEGEND);
  out.push('', 'Latest alerts:');
  for (const a of alerts.slice(-5)) out.push(`  ${a}`);
  if (alerts.length === 0) out.push('  (none)');
  out.push(...notices);
  return out.join('\n');
}
