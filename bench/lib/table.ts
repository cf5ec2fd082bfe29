/** The printed table: Markdown, so that it can be pasted into BENCHMARKS.md as is. */
import type { Results } from './types.ts';

/** A number with at most 4 significant digits, thousands separated; '—' for none. */
export function fmt(value: number | undefined): string {
  if (value === undefined) return '—';
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '−∞';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs < 1e-3) return value.toExponential(1);
  return String(Number(value.toPrecision(4)));
}

export function renderTable(results: Results): string {
  const lines = [
    `Measured ${results.date}${results.quick ? ' (--quick: sizes too small to mean anything)' : ''} on ${results.machine.cpuModel}, ${results.machine.cores} cores, Node ${results.machine.node}.`,
    '',
    '| Workload | Metric | Ours | Baseline | Ours ÷ baseline | Goal | Met |',
    '|---|---|---:|---:|---:|---|:-:|',
  ];
  for (const w of results.workloads) {
    for (const r of w.rows) {
      const met = r.met === undefined ? '' : r.met ? 'yes' : '**no**';
      const unit = r.unit === '×' ? '' : ` ${r.unit}`;
      const baseline = r.baseline === undefined ? '—' : `${fmt(r.baseline)}${unit}`;
      lines.push(`| ${w.title} | ${r.metric} | ${fmt(r.ours)}${unit} | ${baseline} | ${r.ratio === undefined ? '—' : fmt(r.ratio)} | ${r.goal ?? ''} | ${met} |`);
    }
  }
  lines.push('', `All goals met: ${results.allGoalsMet ? 'yes' : 'no'}.`, '');
  return lines.join('\n');
}
