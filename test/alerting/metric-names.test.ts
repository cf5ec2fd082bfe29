/**
 * The Prometheus name table follows from the package's instrument names and units (src/semconv.ts) by the
 * OTLP → Prometheus translation with suffixes (otlptranslator `normalizeName`), re-stated here for the units
 * the package uses; and the PromQL name extractor the rule and dashboard checks rely on.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as semconv from '../../src/semconv.ts';
import { PROMETHEUS_LABELS, PROMETHEUS_METRIC_NAMES, metricNamesInPromQL } from './metric-names.ts';

type Kind = 'gauge' | 'monotonic-counter';

const UNIT_SUFFIX: Record<string, string> = { s: 'seconds', ms: 'milliseconds', By: 'bytes', m: 'meters', '1': '', '%': 'percent' };
const PER_UNIT_SUFFIX: Record<string, string> = { s: 'second', m: 'minute', h: 'hour', d: 'day' };

/** OTLP metric → Prometheus name: tokens, main unit (not `{...}`), `per_<unit>`, `_total` / `_ratio`. */
function translate(name: string, unit: string, kind: Kind): string {
  let tokens = name.split(/[^A-Za-z0-9:]+/).filter(Boolean);
  const [main = '', per = ''] = unit.split('/', 2).map((u) => u.trim());
  if (main && !/[{}]/.test(main)) {
    const suffix = UNIT_SUFFIX[main] ?? main;
    if (suffix && !tokens.includes(suffix)) tokens.push(suffix);
  }
  if (per && !/[{}]/.test(per)) {
    const suffix = PER_UNIT_SUFFIX[per] ?? per;
    if (!tokens.includes(suffix)) tokens.push('per', suffix);
  }
  if (kind === 'monotonic-counter') tokens = [...tokens.filter((t) => t !== 'total'), 'total'];
  if (unit === '1' && kind === 'gauge') tokens = [...tokens.filter((t) => t !== 'ratio'), 'ratio'];
  return tokens.join('_');
}

const INSTRUMENTS: [string, string, Kind][] = [
  [semconv.METRIC_REPLICATION_LAG, semconv.UNIT_ENTRY, 'gauge'],
  [semconv.METRIC_REPLICATION_DELAY, semconv.UNIT_SECONDS, 'gauge'],
  [semconv.METRIC_REPLICATION_DELAY_PREDICTED, semconv.UNIT_SECONDS, 'gauge'],
  [semconv.METRIC_REPLICATION_CATCHUP_TIME, semconv.UNIT_SECONDS, 'gauge'],
  [semconv.METRIC_REPLICATION_CRITICAL_TIME, semconv.UNIT_SECONDS, 'gauge'],
  [semconv.METRIC_REPLICATION_HEARTBEAT_DELAY, semconv.UNIT_SECONDS, 'gauge'],
  [semconv.METRIC_REPLICATION_APPLY_RATE, semconv.UNIT_ENTRY_PER_SECOND, 'gauge'],
  [semconv.METRIC_REPLICATION_SEVERITY, semconv.UNIT_ONE, 'gauge'],
  [semconv.METRIC_REPLICATION_ALERTS, semconv.UNIT_ALERT, 'monotonic-counter'],
  [semconv.METRIC_REPLICATION_SOURCE_UP, semconv.UNIT_NONE, 'gauge'],
  [semconv.METRIC_REPLICATION_REPLICA_READABLE, semconv.UNIT_NONE, 'gauge'],
  [semconv.METRIC_REPLICATION_SLOT_RETAINED, semconv.UNIT_BYTES, 'gauge'],
  [semconv.METRIC_REPLICATION_SLOT_SAFE_SIZE, semconv.UNIT_BYTES, 'gauge'],
  [semconv.METRIC_REPLICATION_SLOT_LOSS_TIME, semconv.UNIT_SECONDS, 'gauge'],
  [semconv.METRIC_REPLICATION_SLOT_WAL_STATUS, semconv.UNIT_ONE, 'gauge'],
  [semconv.METRIC_REPLICATION_SUBSCRIPTION_ERRORS, semconv.UNIT_ERROR, 'monotonic-counter'],
  [semconv.METRIC_REPLICATION_SUBSCRIPTION_TABLES, semconv.UNIT_TABLE, 'gauge'],
];

test('the translation reproduces the documented examples', () => {
  assert.equal(translate('system.filesystem.usage', 'By', 'gauge'), 'system_filesystem_usage_bytes');
  assert.equal(translate('system.network.dropped', '{packets}', 'gauge'), 'system_network_dropped');
  assert.equal(translate('system.memory.utilization', '1', 'gauge'), 'system_memory_utilization_ratio');
  assert.equal(translate('astro.light.speed', 'm/s', 'gauge'), 'astro_light_speed_meters_per_second');
  assert.equal(translate('system.processes.created', '{processes}', 'monotonic-counter'), 'system_processes_created_total');
  assert.equal(translate('http.server.duration', 's', 'gauge'), 'http_server_duration_seconds');
});

test('every instrument of the package has its translated name in the table', () => {
  assert.deepEqual(Object.keys(PROMETHEUS_METRIC_NAMES).sort(), INSTRUMENTS.map(([name]) => name).sort());
  for (const [name, unit, kind] of INSTRUMENTS) {
    assert.equal(PROMETHEUS_METRIC_NAMES[name as keyof typeof PROMETHEUS_METRIC_NAMES], translate(name, unit, kind), `${name} [${unit}]`);
  }
});

test('attribute names become labels with `.` replaced by `_`', () => {
  for (const [attribute, label] of Object.entries(PROMETHEUS_LABELS)) {
    if (attribute.startsWith('service.')) continue; // resource attributes: job / instance
    assert.equal(label, attribute.replaceAll('.', '_'));
  }
  assert.equal(PROMETHEUS_LABELS[semconv.ATTR_REPLICATION_NODE_ID], 'replication_node_id');
});

test('metricNamesInPromQL finds selected metrics and skips functions, labels, keywords and variables', () => {
  const cases: [string, string[]][] = [
    ['replication_delay_seconds >= 5', ['replication_delay_seconds']],
    ['sum by (job, replication_severity) (increase(replication_alerts_total{job=~"$job"}[$__rate_interval]))', ['replication_alerts_total']],
    ['max without (le) (a:b:max offset 1h30m) and on (job) group_left (instance) up == bool 1', ['a:b:max', 'up']],
    ['label_replace(target_info, "dst", "$1", "src", "(.*)") * 0x1f + .5 + Inf - NaN', ['target_info']],
    ['histogram_quantile(0.9, rate(x_bucket{le!=""}[${__range}])) @ end()', ['x_bucket']],
    ['vector(1)', []],
  ];
  for (const [expr, names] of cases) assert.deepEqual(metricNamesInPromQL(expr), names, expr);
});
