/**
 * The Grafana dashboard: every PromQL expression parses (promtool) and selects only translated metric
 * names, built-in series or recording rules of the shipped rules file; the checker catches a misspelt
 * metric; variables, datasource and thresholds are as documented.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { ensureDebianPackages } from '../harness/debian-packages.ts';
import { ALERTING_FILES, PROMETHEUS_BUILTIN_SERIES, PROMETHEUS_METRIC_NAMES, metricNamesInPromQL, parseRuleFile } from './metric-names.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Panel {
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: { expr?: string; datasource?: { uid?: string } }[];
  fieldConfig?: { defaults?: { thresholds?: { steps: { value: number | null }[] }; custom?: { thresholdsStyle?: { mode: string } }; mappings?: { options: Record<string, { text: string }> }[] } };
  panels?: Panel[];
}
interface Variable {
  type: string;
  name: string;
  query?: string | { query: string };
  datasource?: { uid?: string };
}

const dashboardText = readFileSync(ALERTING_FILES.dashboard, 'utf8');
const dashboardJson = JSON.parse(dashboardText) as Json;
const dashboard = dashboardJson as unknown as { schemaVersion: number; panels: Panel[]; templating: { list: Variable[] } };
const recordingRules = parseRuleFile(readFileSync(ALERTING_FILES.rules, 'utf8')).filter((r) => r.kind === 'record').map((r) => r.name);
const KNOWN = new Set<string>([...Object.values(PROMETHEUS_METRIC_NAMES), ...PROMETHEUS_BUILTIN_SERIES, ...recordingRules]);

/** Every PromQL expression in a dashboard: `expr` fields anywhere, and the PromQL inside variable queries. */
function promqlOf(json: Json, where = '$'): { where: string; expr: string }[] {
  if (Array.isArray(json)) return json.flatMap((item, i) => promqlOf(item, `${where}[${i}]`));
  if (json === null || typeof json !== 'object') return [];
  const found: { where: string; expr: string }[] = [];
  for (const [key, value] of Object.entries(json)) {
    if (key === 'expr' && typeof value === 'string') found.push({ where: `${where}.expr`, expr: value });
    else if (key === 'query' && json.type === 'query') {
      const query = typeof value === 'string' ? value : typeof value === 'object' && value !== null && !Array.isArray(value) ? value.query : undefined;
      if (typeof query === 'string') found.push(...variableQueryPromQL(query).map((expr) => ({ where: `${where}.query`, expr })));
    } else found.push(...promqlOf(value, `${where}.${key}`));
  }
  return found;
}

/** The PromQL inside a Grafana Prometheus variable query (`label_values(expr, label)`, `query_result(expr)`). */
function variableQueryPromQL(query: string): string[] {
  const labelValues = /^\s*label_values\((.*),\s*\w+\s*\)\s*$/s.exec(query);
  if (labelValues) return [labelValues[1] as string];
  if (/^\s*label_values\(\s*\w+\s*\)\s*$/.test(query) || /^\s*(label_names|metrics)\(/.test(query)) return [];
  const result = /^\s*query_result\((.*)\)\s*$/s.exec(query);
  return [result ? (result[1] as string) : query];
}

/** The metric names in `json`'s PromQL that are not known, with where they appear. */
function unknownMetrics(json: Json, known: Set<string>): string[] {
  return promqlOf(json).flatMap(({ where, expr }) => metricNamesInPromQL(expr).filter((n) => !known.has(n)).map((n) => `${n} at ${where}`));
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

before(() => ensureDebianPackages(['prometheus'], ['promtool']));

test('schemaVersion is at least 36', () => {
  assert.ok(dashboard.schemaVersion >= 36, `schemaVersion ${dashboard.schemaVersion}`);
});

test('every PromQL expression selects only translated names, built-in series or recording rules', () => {
  const exprs = promqlOf(dashboardJson);
  assert.ok(exprs.length >= 10, `only ${exprs.length} expressions found`);
  assert.deepEqual(unknownMetrics(dashboardJson, KNOWN), []);
});

test('the checker fails on a dashboard with a misspelt metric, recording rule or variable query', () => {
  const mutants: [string, string, string][] = [
    ['replication_delay_seconds{job', 'replication_delay_second{job', 'replication_delay_second'],
    ['job_replication_severity:replication_nodes:count{', 'job_replication_severity:replication_node:count{', 'job_replication_severity:replication_node:count'],
    ['label_values(replication_lag, job)', 'label_values(replication_lags, job)', 'replication_lags'],
    ['replication_alerts_total{', 'replication_alerts{', 'replication_alerts'],
  ];
  for (const [from, to, name] of mutants) {
    const mutated = dashboardText.replace(from, to);
    assert.notEqual(mutated, dashboardText, `mutation ${from} applies`);
    const unknown = unknownMetrics(JSON.parse(mutated) as Json, KNOWN);
    assert.equal(unknown.length, 1, `${to}: ${unknown.join(', ')}`);
    assert.match(unknown[0] as string, new RegExp(`^${name.replaceAll(':', '\\:')} at \\$\\.`));
  }
});

test('the dashboard shows every metric the package exports', () => {
  const used = new Set(promqlOf(dashboardJson).flatMap(({ expr }) => metricNamesInPromQL(expr)));
  for (const name of Object.values(PROMETHEUS_METRIC_NAMES)) assert.ok(used.has(name), `${name} not on the dashboard`);
});

test('every PromQL expression parses (promtool check rules on a rule file made of them)', () => {
  const exprs = promqlOf(dashboardJson).map(({ expr }) =>
    expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', '.*').replaceAll('$source', '.*').replaceAll('$replica', '.*'));
  const groups = { groups: [{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `dashboard:expr:${i}`, expr })) }] };
  const dir = mkdtempSync(join(tmpdir(), 'replication-dashboard-'));
  try {
    const file = join(dir, 'dashboard.rules.json.yml');
    writeFileSync(file, JSON.stringify(groups, null, 2));
    const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, new RegExp(`SUCCESS: ${exprs.length} rules found`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a Prometheus datasource variable, and job, source and replica variables that use it', () => {
  const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
  assert.deepEqual([...vars.keys()], ['datasource', 'job', 'source', 'replica']);
  assert.equal(vars.get('datasource')?.type, 'datasource');
  assert.equal(vars.get('datasource')?.query, 'prometheus');
  const queryOf = (v: Variable | undefined): string => (typeof v?.query === 'string' ? v.query : v?.query?.query ?? '');
  assert.equal(queryOf(vars.get('source')), 'label_values(replication_lag{job=~"$job"}, replication_source)');
  assert.match(queryOf(vars.get('replica')), /replication_source=~"\$source"/);
  for (const name of ['job', 'source', 'replica']) {
    assert.equal(vars.get(name)?.type, 'query');
    assert.equal(vars.get(name)?.datasource?.uid, '${datasource}');
  }
});

test('every panel and query uses the datasource variable', () => {
  for (const panel of allPanels(dashboard.panels)) {
    if (panel.type === 'row') continue;
    assert.equal(panel.datasource?.uid, '${datasource}', panel.title);
    assert.ok((panel.targets ?? []).length > 0, `${panel.title} has no query`);
    for (const t of panel.targets ?? []) assert.equal(t.datasource?.uid, '${datasource}', panel.title);
  }
});

test('the delay panel draws the default warning and critical thresholds', () => {
  const delay = allPanels(dashboard.panels).find((p) => p.title === 'Delay');
  const steps = (delay?.fieldConfig?.defaults?.thresholds?.steps ?? []).map((s) => s.value);
  assert.deepEqual(steps, [null, DEFAULT_CONFIG.warningThresholdSeconds, DEFAULT_CONFIG.criticalThresholdSeconds]);
  assert.notEqual(delay?.fieldConfig?.defaults?.custom?.thresholdsStyle?.mode ?? 'off', 'off');
});

test('the severity state timeline maps every severity', () => {
  const timeline = allPanels(dashboard.panels).find((p) => p.type === 'state-timeline');
  const texts = Object.values(timeline?.fieldConfig?.defaults?.mappings?.[0]?.options ?? {}).map((o) => o.text);
  assert.deepEqual(texts, ['normal', 'warning', 'critical', 'stalled']);
  assert.match(timeline?.targets?.[0]?.expr ?? '', /replication_severity_ratio/);
});

/** Targets of every panel, with their panel's title. */
function targetsOf(panels: Panel[]): { title: string; expr: string; legendFormat: string }[] {
  return allPanels(panels).flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr ?? '', legendFormat: (t as { legendFormat?: string }).legendFormat ?? '' })));
}

test('every per-replica query keeps sources apart: filtered by $source, grouped by source and node, legend source/node', () => {
  const perReplica = targetsOf(dashboard.panels).filter((t) => /replication_node_id/.test(t.expr) || /replication_node_id/.test(t.legendFormat));
  assert.ok(perReplica.length >= 9, `only ${perReplica.length} per-replica queries`);
  for (const t of perReplica) {
    assert.match(t.expr, /replication_source=~"\$source"/, `${t.title}: ${t.expr}`);
    for (const [, labels] of t.expr.matchAll(/\b(?:by|on)\s*\(([^)]*)\)/g)) {
      if ((labels as string).includes('replication_node_id')) assert.match(labels as string, /replication_source/, `${t.title}: ${t.expr}`);
    }
    assert.match(t.legendFormat, /\{\{replication_source\}\}\/\{\{replication_node_id\}\}/, `${t.title}: legend ${t.legendFormat}`);
  }
  for (const t of targetsOf(dashboard.panels).filter((t) => /replication_source_up|ALERTS/.test(t.expr))) {
    assert.match(t.expr, /replication_source=~"\$source"/, `${t.title}: ${t.expr}`);
  }
});
