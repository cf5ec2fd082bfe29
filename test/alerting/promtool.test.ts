/**
 * The shipped rules pass `promtool check rules` and their unit tests (`promtool test rules`), the unit tests
 * fail on mutated rules (so they test something), and the rules use only the translated metric names with
 * the package's default thresholds.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { before, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { ensureDebianPackages } from '../harness/debian-packages.ts';
import { ALERTING_FILES, PROMETHEUS_BUILTIN_SERIES, PROMETHEUS_METRIC_NAMES, SDK_PROMETHEUS_METRIC_NAMES, metricNamesInPromQL, parseRuleFile } from './metric-names.ts';

const rulesText = readFileSync(ALERTING_FILES.rules, 'utf8');
const rules = parseRuleFile(rulesText);

function promtool(args: string[], cwd: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}${r.error ? String(r.error) : ''}` };
}

before(() => ensureDebianPackages(['prometheus'], ['promtool']));

test('promtool check rules accepts every rule', () => {
  const { status, output } = promtool(['check', 'rules', ALERTING_FILES.rules], dirname(ALERTING_FILES.rules));
  assert.equal(status, 0, output);
  assert.match(output, new RegExp(`SUCCESS: ${rules.length} rules found`));
});

test('the file defines the expected alerts, each with a for: clause', () => {
  const alerts = rules.filter((r) => r.kind === 'alert');
  assert.deepEqual(alerts.map((r) => r.name).sort(), [
    'ReplicationAlertEventsLost',
    'ReplicationDelayCritical',
    'ReplicationDelayCriticalWithin10m',
    'ReplicationDelayPredictedCritical',
    'ReplicationDelayWarning',
    'ReplicationReplicaAbsent',
    'ReplicationSlotLossWithin15m',
    'ReplicationSlotLossWithin1h',
    'ReplicationSlotLost',
    'ReplicationSourceDown',
    'ReplicationStalled',
    'ReplicationSubscriptionErrors',
    'ReplicationTargetDown',
  ]);
  for (const alert of alerts) assert.match(alert.for ?? '', /^\d+[smh]$/, `${alert.name} has no for:`);
});

test('thresholds are the package defaults', () => {
  const expr = (name: string): string => rules.find((r) => r.name === name)?.expr ?? '';
  const { warningThresholdSeconds: warning, criticalThresholdSeconds: critical } = DEFAULT_CONFIG;
  assert.equal(expr('ReplicationDelayWarning'), `replication_delay_seconds >= ${warning}`);
  assert.equal(expr('ReplicationDelayCritical'), `replication_delay_seconds >= ${critical}`);
  assert.match(expr('ReplicationDelayPredictedCritical'), new RegExp(`^replication_delay_predicted_seconds >= ${critical} .* replication_delay_seconds < ${critical}$`));
});

test('rules select only translated metric names, built-in series and their own recording rules', () => {
  const known = new Set<string>([...Object.values(PROMETHEUS_METRIC_NAMES), ...Object.values(SDK_PROMETHEUS_METRIC_NAMES), ...PROMETHEUS_BUILTIN_SERIES, ...rules.filter((r) => r.kind === 'record').map((r) => r.name)]);
  for (const rule of rules) {
    const names = metricNamesInPromQL(rule.expr);
    assert.ok(names.length > 0, `${rule.name}: no metric found in ${rule.expr}`);
    for (const name of names) assert.ok(known.has(name), `${rule.name} uses unknown metric ${name}`);
  }
});

test('promtool test rules passes the unit tests', () => {
  const { status, output } = promtool(['test', 'rules', basename(ALERTING_FILES.rulesTest)], dirname(ALERTING_FILES.rulesTest));
  assert.equal(status, 0, output);
  assert.match(output, /SUCCESS/);
});

/** How the annotations name a replica: `source/node`, or the node alone where the series has no source. */
const SOURCE_NODE = '{{ with $labels.replication_source }}{{ . }}/{{ end }}{{ $labels.replication_node_id }}';

/** Alerts about the process's own export pipeline, which serves all its sources: no source to name. */
const PROCESS_ALERTS = new Set(['ReplicationAlertEventsLost']);

interface RuleFileYaml { groups: { rules: { alert?: string; record?: string; expr: string; annotations?: Record<string, string> }[] }[] }
interface RuleTestYaml {
  tests: { name: string; input_series: { series: string }[]; alert_rule_test?: { alertname: string; exp_alerts: { exp_labels: Record<string, string>; exp_annotations: Record<string, string> }[] }[] }[];
}

test('every per-replica match keeps sources apart, and every alert annotation that names a replica names its source', () => {
  const file = parseYaml(rulesText) as RuleFileYaml;
  for (const rule of file.groups.flatMap((g) => g.rules)) {
    for (const [, labels] of rule.expr.matchAll(/(?:on|by)\s*\(([^)]*)\)/g)) {
      const names = (labels as string).split(',').map((l) => l.trim());
      if (names.includes('replication_node_id')) assert.ok(names.includes('replication_source'), `${rule.alert ?? rule.record}: ${labels}`);
    }
    for (const [key, text] of Object.entries(rule.annotations ?? {})) {
      const bare = text.replaceAll(SOURCE_NODE, '');
      assert.doesNotMatch(bare, /replication_node_id/, `${rule.alert} ${key} names a replica without its source`);
      if (!PROCESS_ALERTS.has(rule.alert ?? '') && key === 'summary') assert.match(text, /replication_source/, `${rule.alert} summary does not name the source`);
    }
  }
});

test('every alert on replicas or sources has a unit test with two sources, firing for one of them with its source', () => {
  const file = parseYaml(readFileSync(ALERTING_FILES.rulesTest, 'utf8')) as RuleTestYaml;
  const twoSourceTests = file.tests.filter((t) => new Set(t.input_series.map((s) => /replication_source="([^"]+)"/.exec(s.series)?.[1]).filter(Boolean)).size >= 2);
  const covered = new Set<string>();
  for (const t of twoSourceTests) {
    for (const check of t.alert_rule_test ?? []) {
      const sources = new Set(check.exp_alerts.map((a) => a.exp_labels.replication_source));
      if (check.exp_alerts.length === 0 || sources.has(undefined as unknown as string)) continue;
      for (const a of check.exp_alerts) assert.match(a.exp_annotations.summary ?? '', new RegExp(a.exp_labels.replication_source as string), `${t.name}: summary names the source`);
      covered.add(check.alertname);
    }
  }
  const alerts = rules.filter((r) => r.kind === 'alert' && !PROCESS_ALERTS.has(r.name)).map((r) => r.name).sort();
  assert.deepEqual([...covered].sort(), alerts);
});

/** Each mutation of the rules must make the unit tests fail, naming the alert they caught. */
const MUTATIONS: { what: string; from: string | RegExp; to: string; caughtBy: string }[] = [
  { what: 'warning threshold 5 → 6', from: 'replication_delay_seconds >= 5', to: 'replication_delay_seconds >= 6', caughtBy: 'ReplicationDelayWarning' },
  { what: 'warning threshold 5 → 4', from: 'replication_delay_seconds >= 5', to: 'replication_delay_seconds >= 4', caughtBy: 'ReplicationDelayWarning' },
  { what: 'critical threshold inclusive → exclusive', from: 'replication_delay_seconds >= 30', to: 'replication_delay_seconds > 30', caughtBy: 'ReplicationDelayCritical' },
  { what: 'warning for: 2m → 1m', from: /(ReplicationDelayWarning\n.*\n\s+for: )2m/, to: '$11m', caughtBy: 'ReplicationDelayWarning' },
  { what: 'predicted alert without the "not yet breached" guard', from: 'replication_delay_seconds < 30', to: 'replication_delay_seconds < 1000', caughtBy: 'ReplicationDelayPredictedCritical' },
  { what: 'predicted alert for: 15s → 0s', from: /(ReplicationDelayPredictedCritical\n(?:.*\n){4}\s+for: )15s/, to: '$10s', caughtBy: 'ReplicationDelayPredictedCritical' },
  { what: 'critical-within-10m alert also once critical', from: 'replication_critical_time_seconds > 0', to: 'replication_critical_time_seconds >= 0', caughtBy: 'ReplicationDelayCriticalWithin10m' },
  { what: 'critical-within-10m alert at 20 minutes', from: 'replication_critical_time_seconds <= 600', to: 'replication_critical_time_seconds <= 1200', caughtBy: 'ReplicationDelayCriticalWithin10m' },
  { what: 'critical-within-10m alert for: 2m → 0s', from: /(ReplicationDelayCriticalWithin10m\n(?:.*\n){4}\s+for: )2m/, to: '$10s', caughtBy: 'ReplicationDelayCriticalWithin10m' },
  { what: 'stalled alert on the wrong state', from: 'replication_severity="stalled"', to: 'replication_severity="critical"', caughtBy: 'ReplicationStalled' },
  { what: 'absent replica alert also while the target is down', from: '(up == 1 or target_info)', to: '(up >= 0 or target_info)', caughtBy: 'ReplicationReplicaAbsent' },
  { what: 'target down alert on every target', from: '(last_over_time(replication_lag[1h]))', to: '(up)', caughtBy: 'ReplicationTargetDown' },
  { what: 'target down alert once per target, not per source', from: 'group by (job, instance, replication_source)', to: 'group by (job, instance)', caughtBy: 'ReplicationTargetDown' },
  { what: 'forecast alert compared with the delay of a same-named replica of another source', from: 'and on (job, instance, replication_source, replication_node_id)', to: 'and on (job, instance, replication_node_id)', caughtBy: 'ReplicationDelayPredictedCritical' },
  { what: 'absent replica hidden by a same-named replica of another source', from: 'unless on (job, instance, replication_source, replication_node_id)', to: 'unless on (job, instance, replication_node_id)', caughtBy: 'ReplicationReplicaAbsent' },
  { what: 'source down alert on any source', from: 'replication_source_up == 0', to: 'replication_source_up >= 0', caughtBy: 'ReplicationSourceDown' },
  { what: 'source down alert for: 2m → 0s', from: /(ReplicationSourceDown\n.*\n\s+for: )2m/, to: '$10s', caughtBy: 'ReplicationSourceDown' },
  {
    what: 'lost-events alert on delivered records too',
    from: 'increase(otel_sdk_processor_log_processed_total{error_type!=""}[10m])',
    to: 'increase(otel_sdk_processor_log_processed_total[10m])',
    caughtBy: 'ReplicationAlertEventsLost',
  },
  {
    what: 'lost-events alert blind to the first loss (a new error series)',
    from: /(\n\s+)unless(\n\s+otel_sdk_processor_log_processed_total)/,
    to: '$1and$2',
    caughtBy: 'ReplicationAlertEventsLost',
  },
  { what: 'slot loss warning at 2 hours', from: 'replication_slot_loss_time_seconds <= 3600', to: 'replication_slot_loss_time_seconds <= 7200', caughtBy: 'ReplicationSlotLossWithin1h' },
  { what: 'slot loss page at 30 minutes', from: 'replication_slot_loss_time_seconds <= 900', to: 'replication_slot_loss_time_seconds <= 1800', caughtBy: 'ReplicationSlotLossWithin15m' },
  { what: 'slot loss page for: 2m → 0s', from: /(ReplicationSlotLossWithin15m\n(?:.*\n){4}\s+for: )2m/, to: '$10s', caughtBy: 'ReplicationSlotLossWithin15m' },
  {
    what: 'slot loss forecast still firing for a lost slot',
    from: 'unless on (job, instance, replication_source, replication_node_id)\n          replication_slot_wal_status_ratio{postgresql_replication_slot_wal_status="lost"} == 1',
    to: 'unless on (job, instance, replication_source, replication_node_id)\n          replication_slot_wal_status_ratio{postgresql_replication_slot_wal_status="gone"} == 1',
    caughtBy: 'ReplicationSlotLossWithin1h',
  },
  { what: 'slot lost alert on the wrong state', from: /(ReplicationSlotLost\n\s+expr: .*)"lost"/, to: '$1"reserved"', caughtBy: 'ReplicationSlotLost' },
  { what: 'subscription errors alert on any counter', from: 'increase(replication_subscription_errors_total[5m]) > 0', to: 'replication_subscription_errors_total >= 0', caughtBy: 'ReplicationSubscriptionErrors' },
  { what: 'subscription errors alert for: 1m → 0s', from: /(ReplicationSubscriptionErrors\n.*\n\s+for: )1m/, to: '$10s', caughtBy: 'ReplicationSubscriptionErrors' },
  { what: 'annotation without the replica', from: `Replica ${SOURCE_NODE} has stopped`, to: 'A replica has stopped', caughtBy: 'ReplicationStalled' },
  { what: 'summary without the source', from: `summary: 'Replica ${SOURCE_NODE} is {{ $value | humanizeDuration }} behind its leader'`, to: "summary: 'Replica {{ $labels.replication_node_id }} is {{ $value | humanizeDuration }} behind its leader'", caughtBy: 'ReplicationDelayWarning' },
  { what: 'source down summary without the source', from: "cannot read its source {{ $labels.replication_source }}'", to: "cannot read its source'", caughtBy: 'ReplicationSourceDown' },
];

for (const mutation of MUTATIONS) {
  test(`promtool test rules fails on mutated rules: ${mutation.what}`, () => {
    const mutated = rulesText.replace(mutation.from, mutation.to);
    assert.notEqual(mutated, rulesText, 'the mutation applies');
    const dir = mkdtempSync(join(tmpdir(), 'replication-rules-mutant-'));
    try {
      writeFileSync(join(dir, basename(ALERTING_FILES.rules)), mutated);
      copyFileSync(ALERTING_FILES.rulesTest, join(dir, basename(ALERTING_FILES.rulesTest)));
      assert.equal(promtool(['check', 'rules', basename(ALERTING_FILES.rules)], dir).status, 0, 'the mutant is still a valid rule file');
      const { status, output } = promtool(['test', 'rules', basename(ALERTING_FILES.rulesTest)], dir);
      assert.notEqual(status, 0, `unit tests passed on a mutant (${mutation.what}):\n${output}`);
      assert.match(output, /FAILED/);
      assert.match(output, new RegExp(`alertname: ${mutation.caughtBy}\\b`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
