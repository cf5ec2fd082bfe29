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
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { ensureDebianPackages } from '../harness/debian-packages.ts';
import { ALERTING_FILES, PROMETHEUS_BUILTIN_SERIES, PROMETHEUS_METRIC_NAMES, metricNamesInPromQL, parseRuleFile } from './metric-names.ts';

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
    'ReplicationDelayCritical',
    'ReplicationDelayCriticalWithin10m',
    'ReplicationDelayPredictedCritical',
    'ReplicationDelayWarning',
    'ReplicationReplicaAbsent',
    'ReplicationSourceDown',
    'ReplicationStalled',
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
  const known = new Set<string>([...Object.values(PROMETHEUS_METRIC_NAMES), ...PROMETHEUS_BUILTIN_SERIES, ...rules.filter((r) => r.kind === 'record').map((r) => r.name)]);
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
  { what: 'target down alert on every target', from: 'group by (job, instance) (last_over_time(replication_lag[1h]))', to: 'group by (job, instance) (up)', caughtBy: 'ReplicationTargetDown' },
  { what: 'source down alert on any source', from: 'replication_source_up == 0', to: 'replication_source_up >= 0', caughtBy: 'ReplicationSourceDown' },
  { what: 'source down alert for: 2m → 0s', from: /(ReplicationSourceDown\n.*\n\s+for: )2m/, to: '$10s', caughtBy: 'ReplicationSourceDown' },
  { what: 'annotation without the replica', from: "Replica {{ $labels.replication_node_id }} has stopped", to: 'A replica has stopped', caughtBy: 'ReplicationStalled' },
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
