/**
 * The package's metrics as Prometheus sees them, after the standard OTLP → Prometheus translation
 * (opentelemetry-collector-contrib `pkg/translator/prometheus`, now `prometheus/otlptranslator`, with
 * suffixes on — what the Collector's prometheus / prometheusremotewrite exporters and Mimir produce):
 * words joined with `_`; UCUM units mapped and appended (`s` → `_seconds`), `{annotation}` units
 * dropped, a `/x` per-unit appended as `_per_<unit>` (`{entry}/s` → `_per_second`), `_ratio` for
 * gauges of unit `1`, `_total` for monotonic counters.
 *
 * The one table the alert rules, the dashboard and the tests under test/alerting/ are checked against.
 */
import { fileURLToPath } from 'node:url';

/** OpenTelemetry instrument → Prometheus metric name. */
export const PROMETHEUS_METRIC_NAMES = {
  'replication.lag': 'replication_lag',
  'replication.delay': 'replication_delay_seconds',
  'replication.delay.predicted': 'replication_delay_predicted_seconds',
  'replication.catchup.time': 'replication_catchup_time_seconds',
  'replication.critical.time': 'replication_critical_time_seconds',
  'replication.heartbeat.delay': 'replication_heartbeat_delay_seconds',
  'replication.apply.rate': 'replication_apply_rate_per_second',
  'replication.severity': 'replication_severity_ratio',
  'replication.alerts': 'replication_alerts_total',
  'replication.source.up': 'replication_source_up',
  'replication.replica.readable': 'replication_replica_readable',
  'replication.slot.retained': 'replication_slot_retained_bytes',
  'replication.slot.safe_size': 'replication_slot_safe_size_bytes',
  'replication.slot.loss.time': 'replication_slot_loss_time_seconds',
  'replication.slot.wal_status': 'replication_slot_wal_status_ratio',
  'replication.subscription.errors': 'replication_subscription_errors_total',
  'replication.subscription.tables': 'replication_subscription_tables',
} as const;

/**
 * The OpenTelemetry SDK's own metrics that startTelemetry exports next to the package's (self-observability of
 * the alert event pipeline), with their Prometheus names. Rules may use them; the dashboard need not.
 */
export const SDK_PROMETHEUS_METRIC_NAMES = {
  'otel.sdk.processor.log.processed': 'otel_sdk_processor_log_processed_total',
  'otel.sdk.processor.log.queue.capacity': 'otel_sdk_processor_log_queue_capacity',
  'otel.sdk.processor.log.queue.size': 'otel_sdk_processor_log_queue_size',
  'otel.sdk.exporter.log.exported': 'otel_sdk_exporter_log_exported_total',
  'otel.sdk.exporter.log.inflight': 'otel_sdk_exporter_log_inflight',
  'otel.sdk.log.created': 'otel_sdk_log_created_total',
} as const;

/** OpenTelemetry attribute → Prometheus label (`.` → `_`); service.name / service.instance.id become job / instance. */
export const PROMETHEUS_LABELS = {
  'replication.node.id': 'replication_node_id',
  'replication.severity': 'replication_severity',
  'replication.system': 'replication_system',
  'replication.source': 'replication_source',
  'postgresql.replication.slot': 'postgresql_replication_slot',
  'postgresql.replication.slot.wal_status': 'postgresql_replication_slot_wal_status',
  'postgresql.subscription': 'postgresql_subscription',
  'postgresql.subscription.error.kind': 'postgresql_subscription_error_kind',
  'postgresql.subscription.table.state': 'postgresql_subscription_table_state',
  'server.address': 'server_address',
  'service.name': 'job',
  'service.instance.id': 'instance',
} as const;

/** Series Prometheus itself writes, which rules and panels may use too. */
export const PROMETHEUS_BUILTIN_SERIES = ['up', 'ALERTS', 'ALERTS_FOR_STATE', 'target_info'] as const;

/** The files under alerting/ at the repository top. */
export const ALERTING_FILES = {
  rules: repoPath('alerting/prometheus/replication-lag.rules.yml'),
  rulesTest: repoPath('alerting/prometheus/replication-lag.rules.test.yml'),
  dashboard: repoPath('alerting/grafana/replication-lag.dashboard.json'),
} as const;

/** The rules' text with every `for:` set to `duration` (to watch pending → firing quickly); nothing else changes. */
export function withShortFor(rules: string, duration: string): string {
  return rules.replace(/^(\s+for:\s*)\S+\s*$/gm, `$1${duration}`);
}

/** One rule of a Prometheus rule file, as far as the tests need it. */
export interface RuleSummary {
  kind: 'alert' | 'record';
  name: string;
  /** The PromQL expression, block scalars joined into one line. */
  expr: string;
  /** The `for:` duration as written, if any. */
  for?: string;
}

/**
 * The rules of a Prometheus rule file's text (a line reader for the layout of the files under alerting/:
 * `- alert:` / `- record:`, then `expr:` inline or as a `|` block, and `for:`); no YAML library needed.
 */
export function parseRuleFile(text: string): RuleSummary[] {
  const rules: RuleSummary[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const head = /^\s*-\s*(alert|record):\s*(\S+)\s*$/.exec(line);
    if (head) {
      rules.push({ kind: head[1] as 'alert' | 'record', name: head[2] as string, expr: '' });
      continue;
    }
    const rule = rules.at(-1);
    if (!rule) continue;
    const expr = /^(\s*)expr:\s*(.*)$/.exec(line);
    if (expr) {
      const indent = (expr[1] as string).length;
      const inline = (expr[2] as string).trim();
      if (inline !== '|' && inline !== '>' && inline !== '|-' && inline !== '>-') {
        rule.expr = inline;
        continue;
      }
      const body: string[] = [];
      while (i + 1 < lines.length && (/^\s*$/.test(lines[i + 1] as string) || indentOf(lines[i + 1] as string) > indent)) {
        body.push((lines[++i] as string).trim());
      }
      rule.expr = body.filter((l) => l !== '').join(' ');
      continue;
    }
    const forClause = /^\s*for:\s*(\S+)\s*$/.exec(line);
    if (forClause) rule.for = forClause[1] as string;
  }
  return rules;
}

const PROMQL_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'atan2', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects: identifiers that are not functions or aggregations
 * (followed by `(`), keywords, label names (in `{...}`, `by (...)`, `on (...)`, ...), strings, durations
 * or Grafana variables (`$job`, `${job}`, `$__rate_interval`).
 */
export function metricNamesInPromQL(expr: string): string[] {
  const stripped = expr
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ')
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^{}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ')
    .replace(/@\s*(?:start|end)\s*\(\s*\)/g, ' ');
  const names = new Set<string>();
  const token = /0x[0-9a-fA-F]+|(?:\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?:ms|[smhdwy])?)+|(\.\d+)|([A-Za-z_:][\w:]*)(\s*\()?/g;
  for (const m of stripped.matchAll(token)) {
    const ident = m[2];
    if (ident === undefined || m[3] !== undefined || PROMQL_KEYWORDS.has(ident.toLowerCase())) continue;
    names.add(ident);
  }
  return [...names];
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

function repoPath(relative: string): string {
  return fileURLToPath(new URL(`../../${relative}`, import.meta.url));
}
