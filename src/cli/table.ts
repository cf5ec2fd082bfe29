/** Rendering of statuses and alerts for the terminal. */
import { Writable } from 'node:stream';
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

/**
 * A full-screen table: one row per node (up to `maxRows` lines of nodes, failures and notices), then the latest
 * alerts; with `screen`, the source's current failures under the summary and the notices at the end.
 */
export function renderTable(statuses: Iterable<ReplicationStatus>, stats: LagStatistics, alerts: readonly LagAlert[], maxRows: number, color: boolean, screen?: { notes: ScreenNotes; width?: number }): string {
  const width = screen?.width ?? 100;
  const failures = (screen?.notes.failures('') ?? []).map((f) => {
    const text = `! ${shorten(`${f.what} failed: ${f.message}`, width - 2)}`;
    return color ? `${COLOR.critical}${text}${RESET}` : text;
  });
  const notices = screen === undefined ? [] : renderNotices(screen.notes, width);
  maxRows = Math.max(1, maxRows - failures.length - notices.length);
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
  const out = [summary(stats, provisional), ...failures, '', line(header), ...rows.map((r) => line(r, r[1]))];
  if (hidden > 0) out.push(`… and ${hidden} more nodes`);
  if (provisional > 0) out.push(PROVISIONAL_LEGEND);
  out.push('', 'Latest alerts:');
  for (const a of alerts.slice(-5)) out.push(`  ${formatAlert(a)}`);
  if (alerts.length === 0) out.push('  (none)');
  out.push(...notices);
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

/** One failure replag reports for a source (FailureLog's `what`: `poll`, `replica r2`), with its latest message. */
export interface ScreenFailure {
  readonly what: string;
  readonly message: string;
}

/** Options of ScreenNotes. */
export interface ScreenNotesOptions {
  /** Notices kept on screen (the latest per topic, the oldest topic dropped first). Default 5. */
  maxNotices?: number;
}

/** `replag: [name] what failed: message` / `replag: [name] what succeeded again`, as FailureLog writes them. */
const FAILURE_LINE = /^(?:\[([^\]]*)\] )?(poll|replica .+?) (?:failed: (.*)|succeeded again)$/;

/**
 * What replag reports on stderr, kept for the live table, whose redraws would erase it: each source's current
 * failures (from FailureLog's lines: set when one starts or changes, dropped when it succeeds again) and the latest
 * notices (anything else: no OTLP endpoint, reload results, export failures …), one per topic, so that a notice stays
 * until one on the same topic replaces it (an export failure by its recovery, a reload by the next one).
 * `stream` is what replag's reporting code writes to: every line also goes to `out` unchanged.
 */
export class ScreenNotes {
  /** Write replag's stderr lines here. */
  readonly stream: NodeJS.WritableStream;
  private readonly failuresBySource = new Map<string, Map<string, string>>();
  private readonly noticesByTopic = new Map<string, string[]>();
  private readonly maxNotices: number;
  private partial = '';
  /** The notice that indented lines continue (a problem list under its title). */
  private lastTopic: string | undefined;

  constructor(out: NodeJS.WritableStream, options: ScreenNotesOptions = {}) {
    this.maxNotices = options.maxNotices ?? 5;
    this.stream = new Writable({
      write: (chunk: Buffer | string, _encoding, callback) => {
        const text = chunk.toString();
        out.write(text);
        this.take(text);
        callback();
      },
    });
  }

  /** The current failures of `source` (`''`: the only source of flags mode), oldest first. */
  failures(source: string): ScreenFailure[] {
    return [...(this.failuresBySource.get(source) ?? [])].map(([what, message]) => ({ what, message }));
  }

  /** The notices on screen, oldest first; each a list of lines (a title and its indented details). */
  notices(): string[][] {
    return [...this.noticesByTopic.values()];
  }

  private take(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  private line(raw: string): void {
    if (raw.trim() === '') return;
    if (/^\s/.test(raw)) {
      const notice = this.lastTopic === undefined ? undefined : this.noticesByTopic.get(this.lastTopic);
      notice?.push(raw.trim());
      return;
    }
    const text = raw.replace(/^replag: /, '');
    const failure = FAILURE_LINE.exec(text);
    if (failure) {
      const source = failure[1] ?? '';
      const failures = this.failuresBySource.get(source) ?? new Map<string, string>();
      if (failure[3] === undefined) failures.delete(failure[2]!);
      else failures.set(failure[2]!, failure[3]);
      if (failures.size > 0) this.failuresBySource.set(source, failures);
      else this.failuresBySource.delete(source);
      this.lastTopic = undefined;
      return;
    }
    // What the table shows anyway: the sources it watches.
    if (/^(?:\[[^\]]*\] )?watching /.test(text) || /^stopped; /.test(text)) {
      this.lastTopic = undefined;
      return;
    }
    const topic = topicOf(text);
    this.noticesByTopic.delete(topic);
    this.noticesByTopic.set(topic, [text]);
    while (this.noticesByTopic.size > this.maxNotices) this.noticesByTopic.delete(this.noticesByTopic.keys().next().value as string);
    this.lastTopic = topic;
  }
}

/** The topic of a notice: a newer notice on the same topic replaces it. */
function topicOf(text: string): string {
  const exportSignal = /^otel-replication-lag: (\w+) export /.exec(text);
  if (exportSignal) return `export ${exportSignal[1]}`;
  if (/^(no OTLP endpoint|exporting OTLP)/.test(text)) return 'otlp';
  if (/^(reloaded |reload of |service and export settings changed)/.test(text)) return text.startsWith('service and export') ? 'reload settings' : 'reload';
  const source = /^\[([^\]]*)\] /.exec(text);
  if (source) return `source ${source[1]}: ${text.slice(source[0].length).split(/[:;]/, 1)[0]}`;
  return text.split(/[:;]/, 1)[0]!;
}

/** `text` on one line of at most `width` characters (`…` where it was cut). */
export function shorten(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= width ? flat : `${flat.slice(0, Math.max(1, width - 1))}…`;
}

/** The notices area: a heading and one shortened line per notice line (at most 3 per notice); none when empty. */
export function renderNotices(notes: ScreenNotes, width: number): string[] {
  const notices = notes.notices();
  if (notices.length === 0) return [];
  const out = ['', 'Notices:'];
  for (const lines of notices) {
    out.push(`  ${shorten(lines[0]!, width - 2)}`);
    for (const detail of lines.slice(1, 3)) out.push(`    ${shorten(detail, width - 4)}`);
    if (lines.length > 3) out.push(`    … ${lines.length - 3} more`);
  }
  return out;
}
