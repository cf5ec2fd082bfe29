/**
 * The standard OpenTelemetry → Prometheus metric name translation (as in the Collector's prometheus and
 * prometheusremotewrite exporters with suffixes on): dots to underscores, unit suffixes, `_ratio` for gauges
 * with unit `1`, `_total` for monotonic counters. Our Prometheus endpoint applies it so that the same rules
 * and dashboards work whether metrics arrive through a Collector or are scraped from this process.
 */

/** What kind of Prometheus series a metric becomes. */
export type PrometheusMetricKind = 'gauge' | 'counter' | 'other';

const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '%': 'percent',
};
const PER_UNIT_WORDS: Readonly<Record<string, string>> = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', mo: 'month', y: 'year' };

function sanitize(text: string): string {
  return text.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/_+/g, '_').replace(/^_|_$/g, '');
}

/** Prometheus name of an OpenTelemetry metric, e.g. `replication.delay` (s, gauge) → `replication_delay_seconds`. */
export function prometheusName(name: string, unit: string, kind: PrometheusMetricKind): string {
  const tokens = sanitize(name).split('_').filter((t) => t.length > 0);
  const withoutAnnotations = unit.replace(/\{[^}]*\}/g, '').trim();
  const [main = '', per = ''] = withoutAnnotations.split('/', 2);
  const mainWord = main === '' || main === '1' ? '' : sanitize(UNIT_WORDS[main] ?? main);
  const perWord = per === '' ? '' : sanitize(PER_UNIT_WORDS[per] ?? per);
  const append = (suffix: string) => {
    if (suffix !== '' && tokens.at(-1) !== suffix) tokens.push(suffix);
  };
  if (mainWord !== '') append(mainWord);
  if (perWord !== '') tokens.push('per', perWord);
  if (kind === 'gauge' && unit === '1') append('ratio');
  if (kind === 'counter') append('total');
  let result = tokens.join('_');
  if (/^[0-9]/.test(result)) result = `_${result}`;
  return result;
}
