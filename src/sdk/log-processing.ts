/**
 * Settings of the BatchLogRecordProcessor that carries alert events: the `alertQueue` option, then the standard
 * OTEL_BLRP_* environment variables (which `@opentelemetry/sdk-logs` 3.1 does not read itself), then defaults
 * sized for an alert storm. @internal
 */

/** Queue settings of the alert event pipeline (the SDK's BatchLogRecordProcessor). */
export interface AlertQueueOptions {
  /** Alert events held while waiting for export; more are dropped and counted (`error.type=queue_full`). Default 65536 (OTEL_BLRP_MAX_QUEUE_SIZE). */
  maxQueueSize?: number;
  /** Delay between two exports in milliseconds. Default 1000, at most the metric export interval (OTEL_BLRP_SCHEDULE_DELAY). */
  scheduledDelayMillis?: number;
  /** How long one batch export may run before the processor moves on, in milliseconds. Default 30000 (OTEL_BLRP_EXPORT_TIMEOUT). */
  exportTimeoutMillis?: number;
  /** Alert events per export request; at most maxQueueSize. Default 2048 (OTEL_BLRP_MAX_EXPORT_BATCH_SIZE). */
  maxExportBatchSize?: number;
}

/** The resolved settings, every field set. */
export type AlertQueueSettings = Required<AlertQueueOptions>;

/**
 * Defaults. A queued alert record costs about 0.69 KiB of heap (BENCHMARKS.md, alert loss accounting), so a full
 * queue of 65,536 costs at most ~45 MiB and holds a storm of 13 alerts per node across 5,000 nodes (the default
 * cardinality limit), or a one-minute outage at 1,000 alerts/s. 2,048 records per request drain a full queue in
 * 32 requests; the SDK's 2,048 / 512 kept 2,560 of a 5,000-alert burst against a healthy endpoint.
 */
export const DEFAULT_ALERT_QUEUE: Readonly<AlertQueueSettings> = Object.freeze({
  maxQueueSize: 65_536,
  scheduledDelayMillis: 1000,
  exportTimeoutMillis: 30_000,
  maxExportBatchSize: 2048,
});

/** Upper bound of any of the settings: larger queues or delays are mistakes, not configurations. */
const MAX_VALUE = 2 ** 31 - 1;

const ENV_NAMES: Readonly<Record<keyof AlertQueueSettings, string>> = {
  maxQueueSize: 'OTEL_BLRP_MAX_QUEUE_SIZE',
  scheduledDelayMillis: 'OTEL_BLRP_SCHEDULE_DELAY',
  exportTimeoutMillis: 'OTEL_BLRP_EXPORT_TIMEOUT',
  maxExportBatchSize: 'OTEL_BLRP_MAX_EXPORT_BATCH_SIZE',
};

/** Which settings may be 0 (a 0 ms schedule delay exports as soon as the previous export ends). */
const MIN_VALUE: Readonly<Record<keyof AlertQueueSettings, number>> = {
  maxQueueSize: 1,
  scheduledDelayMillis: 0,
  exportTimeoutMillis: 1,
  maxExportBatchSize: 1,
};

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Resolves the alert queue: each field from `options`, else its OTEL_BLRP_* variable, else the default; the
 * schedule delay's default is capped at the metric export interval.
 * @throws RangeError naming the option (`alertQueue.maxQueueSize`) or variable and the bad value.
 */
export function alertQueueSettings(env: Env, options: AlertQueueOptions | undefined, metricIntervalMillis: number): AlertQueueSettings {
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw new TypeError(`alertQueue must be an object, got ${JSON.stringify(options)}`);
  const out = {} as AlertQueueSettings;
  for (const key of Object.keys(ENV_NAMES) as (keyof AlertQueueSettings)[]) {
    const explicit = options?.[key];
    if (explicit !== undefined) {
      if (!isValid(explicit, MIN_VALUE[key])) throw new RangeError(`alertQueue.${key} must be an integer in [${MIN_VALUE[key]}, ${MAX_VALUE}], got ${JSON.stringify(explicit)}`);
      out[key] = explicit;
      continue;
    }
    const raw = env[ENV_NAMES[key]]?.trim();
    if (raw !== undefined && raw !== '') {
      const value = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
      if (!isValid(value, MIN_VALUE[key])) throw new RangeError(`${ENV_NAMES[key]} must be an integer in [${MIN_VALUE[key]}, ${MAX_VALUE}], got ${JSON.stringify(raw)}`);
      out[key] = value;
      continue;
    }
    out[key] = key === 'scheduledDelayMillis' ? Math.min(DEFAULT_ALERT_QUEUE.scheduledDelayMillis, metricIntervalMillis) : DEFAULT_ALERT_QUEUE[key];
  }
  if (out.maxExportBatchSize > out.maxQueueSize) {
    const batchFrom = options?.maxExportBatchSize !== undefined ? 'alertQueue.maxExportBatchSize' : isSet(env, 'maxExportBatchSize') ? ENV_NAMES.maxExportBatchSize : undefined;
    // A default batch size simply follows a smaller queue; an explicit one that does not fit is a mistake.
    if (batchFrom === undefined) out.maxExportBatchSize = out.maxQueueSize;
    else {
      const queueFrom = options?.maxQueueSize !== undefined ? 'alertQueue.maxQueueSize' : isSet(env, 'maxQueueSize') ? ENV_NAMES.maxQueueSize : 'the default queue size';
      throw new RangeError(`${batchFrom} (${out.maxExportBatchSize}) must not exceed ${queueFrom} (${out.maxQueueSize})`);
    }
  }
  return out;
}

function isSet(env: Env, key: keyof AlertQueueSettings): boolean {
  const raw = env[ENV_NAMES[key]]?.trim();
  return raw !== undefined && raw !== '';
}

function isValid(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= MAX_VALUE;
}
