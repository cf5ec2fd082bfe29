/**
 * The docs agree with the shipped rules: every alert and recording rule name the README and docs/alerting.md
 * mention exists; the alerts table of docs/alerting.md lists every alert with its `for:` and severity, and every
 * PromQL condition it quotes is in that alert's expression; the routing table, the recording rule list and the
 * inhibit rules name what exists (and keep sources apart); every metric a quoted query selects is one the package
 * exports, a built-in series or a recording rule; the Datadog and Honeycomb per-replica queries group by source too.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from '../helpers/run-node.ts';
import { ALERTING_FILES, PROMETHEUS_BUILTIN_SERIES, PROMETHEUS_METRIC_NAMES, SDK_PROMETHEUS_METRIC_NAMES, metricNamesInPromQL } from './metric-names.ts';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const rules = (parseYaml(readFileSync(ALERTING_FILES.rules, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const alerts = new Map(rules.filter((r) => r.alert).map((r) => [r.alert!, r]));
const recordings = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));
const alertingDoc = readFileSync(join(REPO_ROOT, 'docs/alerting.md'), 'utf8');
const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const DOCS: [string, string][] = [['docs/alerting.md', alertingDoc], ['README.md', readme]];
const flat = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** Names exported by the package's sources (classes, types, …): `Replication…` words that are not alerts. */
function exportedNames(dir: string): Set<string> {
  const names = new Set<string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const text = readFileSync(join(entry.parentPath, entry.name), 'utf8');
    for (const m of text.matchAll(/export (?:declare )?(?:abstract )?(?:class|interface|type|function|const|enum) (\w+)/g)) names.add(m[1]!);
  }
  return names;
}

/** Alert names a doc defines itself, in its YAML examples (`- alert: Name`): suggestions, not shipped rules. */
function docOwnAlerts(text: string): Set<string> {
  return new Set([...text.matchAll(/^\s*-\s*alert:\s*(\w+)/gm)].map((m) => m[1]!));
}

/** The rows of the markdown table whose header row starts with `| first |`. */
function tableRows(text: string, first: string): string[][] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`| ${first} |`));
  assert.ok(start >= 0, `a table starting with | ${first} |`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));
  }
  return rows;
}

const codeSpans = (text: string): string[] => [...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
const KNOWN_SERIES = new Set<string>([...Object.values(PROMETHEUS_METRIC_NAMES), ...Object.values(SDK_PROMETHEUS_METRIC_NAMES), ...PROMETHEUS_BUILTIN_SERIES, ...recordings]);

describe('the docs against the shipped rules', () => {
  it('every alert or recording rule name they mention exists', () => {
    const notAlerts = exportedNames(join(REPO_ROOT, 'src'));
    for (const [file, text] of DOCS) {
      const own = docOwnAlerts(text);
      for (const [, name] of text.matchAll(/\b(Replication[A-Z]\w*)\b/g)) {
        if (notAlerts.has(name!) || own.has(name!)) continue;
        assert.ok(alerts.has(name!), `${file} mentions ${name}, which is not a shipped alert`);
      }
      for (const [, name] of text.matchAll(/\b([a-z_]+:[a-z_]+:[a-z]+)\b/g)) assert.ok(recordings.has(name!), `${file} mentions recording rule ${name}`);
    }
  });

  it('the alerts table lists every alert with its for: and severity, quoting only conditions of its expression', () => {
    const rows = tableRows(alertingDoc, 'alert');
    assert.deepEqual(rows.map((r) => r[0]).sort(), [...alerts.keys()].sort());
    for (const [name, condition, forClause, severity] of rows) {
      const rule = alerts.get(name!)!;
      assert.equal(forClause, rule.for, `${name} for:`);
      assert.equal(severity, rule.labels?.severity, `${name} severity`);
      const quoted = codeSpans(condition!).filter((span) => metricNamesInPromQL(span).some((n) => KNOWN_SERIES.has(n)));
      assert.ok(quoted.length > 0, `${name}: no condition quoted`);
      for (const span of quoted) assert.ok(flat(rule.expr).includes(flat(span)), `${name}: \`${span}\` is not in its expression ${flat(rule.expr)}`);
    }
  });

  it('the routing table gives each alert its severity', () => {
    const routed = new Map<string, string>();
    for (const [severity, names] of tableRows(alertingDoc, 'severity')) {
      for (const name of names!.split(',').map((n) => n.trim())) routed.set(name, severity!.replaceAll('`', ''));
    }
    assert.deepEqual([...routed.keys()].sort(), [...alerts.keys()].sort());
    for (const [name, severity] of routed) assert.equal(severity, alerts.get(name)?.labels?.severity, name);
  });

  it('the recording rule list is the shipped one', () => {
    const section = alertingDoc.slice(alertingDoc.indexOf('The recording rules feed'), alertingDoc.indexOf('## Importing the dashboard'));
    assert.deepEqual(new Set([...section.matchAll(/^- `([^`]+)`/gm)].map((m) => m[1])), recordings);
  });

  it('the inhibit rules name shipped alerts and keep replicas of different sources apart', () => {
    const block = /```yaml\n(inhibit_rules:[\s\S]*?)```/.exec(alertingDoc)?.[1];
    assert.ok(block, 'an inhibit_rules example');
    const inhibit = (parseYaml(block) as { inhibit_rules: { source_matchers: string[]; target_matchers: string[]; equal: string[] }[] }).inhibit_rules;
    assert.ok(inhibit.length > 0);
    for (const rule of inhibit) {
      const named = [...rule.source_matchers, ...rule.target_matchers].flatMap((m) => /alertname=~?"([^"]+)"/.exec(m)?.[1]?.split('|') ?? []);
      assert.ok(named.length >= 2);
      for (const name of named) assert.ok(alerts.has(name), `inhibit rule names ${name}`);
      assert.ok(rule.equal.includes('replication_source'), `equal: ${rule.equal.join(', ')} keeps sources apart`);
      // An inhibition by a per-replica alert (its summary names the node) must hold for that replica only.
      const sources = rule.source_matchers.flatMap((m) => /alertname=~?"([^"]+)"/.exec(m)?.[1]?.split('|') ?? []);
      const perReplica = sources.every((n) => /replication_node_id/.test(alerts.get(n)?.annotations?.summary ?? ''));
      if (perReplica) assert.ok(rule.equal.includes('replication_node_id'), `equal: ${rule.equal.join(', ')} names the replica`);
    }
  });

  it('every metric a quoted query selects exists', () => {
    for (const [file, text] of DOCS) {
      for (const span of codeSpans(text)) {
        if (!/[_a-z]+\{|[<>=]=?|\b(sum|max|min|count|increase|rate) ?(by )?\(/.test(span) || /\bVISUALIZE\b|:max:|\.as_count|^min\(|^max\(|^avg\(|^sum\(last/.test(span)) continue;
        for (const name of metricNamesInPromQL(span)) {
          if (!/^(replication_|otel_sdk_|job[_:])/.test(name)) continue;
          assert.ok(KNOWN_SERIES.has(name), `${file}: \`${span}\` selects ${name}, which nothing exports`);
        }
      }
    }
  });

  it('the Datadog and Honeycomb per-replica queries group by source and node', () => {
    const perReplica = codeSpans(alertingDoc).filter((s) => /replication\.node\.id/.test(s) && /\bby \{|GROUP BY/.test(s));
    assert.ok(perReplica.length >= 8, `${perReplica.length} per-replica queries`);
    for (const span of perReplica) assert.match(span, /replication\.source,\s*replication\.node\.id/, span);
  });
});
