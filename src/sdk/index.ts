/**
 * otel-replication-lag/sdk: run the monitor standalone, exporting over OTLP/HTTP (and optionally serving a
 * Prometheus endpoint). The only place, with the CLI, that imports OpenTelemetry SDK packages.
 */
import { diag, type Attributes } from '@opentelemetry/api';
import { OTLPLogExporter as OTLPJsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OTLPProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as OTLPJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { defaultResource, detectResources, envDetector, hostDetector, resourceFromAttributes, serviceInstanceIdDetector, type Resource } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordProcessor } from '@opentelemetry/sdk-logs';
import {
  AggregationTemporality,
  InstrumentType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type IMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import { ReplicationLagInstrumentation, type ReplicationLagInstrumentationConfig } from '../instrumentation.ts';
import type { ReplicationLagMonitor } from '../monitor.ts';
import { metricExportInterval, otlpEndpointConfigured, otlpProtocol, redactUrl, signalUrl, type OtlpProtocol } from './env.ts';
import { StandardNamePrometheusExporter, type PrometheusEndpointOptions } from './prometheus.ts';
import { AlertLedger, type AlertDelivery } from './alert-ledger.ts';
import { alertQueueSettings, type AlertQueueOptions } from './log-processing.ts';

export type { OtlpProtocol } from './env.ts';
export type { PrometheusEndpointOptions } from './prometheus.ts';
export type { AlertDelivery } from './alert-ledger.ts';
export type { AlertQueueOptions } from './log-processing.ts';
export { prometheusName, type PrometheusMetricKind } from './prometheus-names.ts';

/** OTLP/HTTP export settings; each falls back to the standard OTEL_EXPORTER_OTLP_* environment variables. */
export interface OtlpOptions {
  /** Base URL, e.g. `http://collector:4318` (`/v1/metrics` and `/v1/logs` are appended). */
  endpoint?: string;
  /** `http/protobuf` (the spec's default) or `http/json`. */
  protocol?: OtlpProtocol;
  /** Extra headers, e.g. an API key. Never logged. */
  headers?: Record<string, string>;
  /** Export timeout in milliseconds. */
  timeoutMillis?: number;
}

/** Options of `startTelemetry`. */
export interface TelemetryOptions {
  /** `service.name`; default OTEL_SERVICE_NAME, else the SDK's `unknown_service:node`. */
  serviceName?: string;
  /** Extra resource attributes (merged over OTEL_RESOURCE_ATTRIBUTES and the SDK defaults). */
  resourceAttributes?: Attributes;
  /** Configuration of the instrumentation and its monitor. */
  instrumentation?: ReplicationLagInstrumentationConfig;
  /** Metric export interval; default OTEL_METRIC_EXPORT_INTERVAL, else 60000. */
  metricExportIntervalMillis?: number;
  /**
   * OTLP export. Default: export when an endpoint is set here or in the environment (OTEL_EXPORTER_OTLP_ENDPOINT
   * or a per-signal endpoint), otherwise run without OTLP. `false` disables it.
   */
  otlp?: OtlpOptions | false;
  /** Serve a Prometheus endpoint (off by default). */
  prometheus?: PrometheusEndpointOptions | false;
  /** Series per instrument before the SDK folds the rest into an overflow series. Default 20000 (5000 nodes). */
  cardinalityLimit?: number;
  /** Queue of alert events awaiting OTLP export; each field falls back to its OTEL_BLRP_* variable. */
  alertQueue?: AlertQueueOptions;
}

/** A running telemetry pipeline. */
export interface Telemetry {
  readonly monitor: ReplicationLagMonitor;
  readonly instrumentation: ReplicationLagInstrumentation;
  readonly meterProvider: MeterProvider;
  readonly loggerProvider: LoggerProvider;
  readonly resource: Resource;
  /** Where OTLP goes (credentials removed), or undefined when OTLP export is off. */
  readonly otlp: { readonly protocol: OtlpProtocol; readonly metricsUrl: string; readonly logsUrl: string } | undefined;
  /** The Prometheus endpoint's URL, when enabled. */
  readonly prometheusUrl: string | undefined;
  /**
   * What became of the alert events so far: emitted = delivered + lost + pending, and pending is 0 once
   * `shutdown()` has returned. Undefined when alert events are not exported (no OTLP).
   */
  alertDelivery(): AlertDelivery | undefined;
  /** Exports what is pending now. */
  forceFlush(): Promise<void>;
  /** Flushes metrics and pending alert events, then stops. Safe to call twice. */
  shutdown(): Promise<void>;
}

const DEFAULT_CARDINALITY_LIMIT = 20_000;
const DEFAULT_OTLP_METRICS_URL = 'http://localhost:4318/v1/metrics';
const DEFAULT_OTLP_LOGS_URL = 'http://localhost:4318/v1/logs';

/**
 * Starts a MeterProvider and a LoggerProvider wired to the replication lag instrumentation.
 * ```ts
 * const t = await startTelemetry({ serviceName: 'raft-node-1' });
 * t.monitor.updateLag('replica-1', 1200, 1100);
 * await t.shutdown();
 * ```
 * @throws RangeError / TypeError naming the bad option or environment variable; nothing is started then.
 */
export async function startTelemetry(options: TelemetryOptions = {}): Promise<Telemetry> {
  const env = process.env;
  const interval = metricExportInterval(env, options.metricExportIntervalMillis);
  const cardinalityLimit = options.cardinalityLimit ?? DEFAULT_CARDINALITY_LIMIT;
  if (!Number.isInteger(cardinalityLimit) || cardinalityLimit < 1) throw new RangeError(`cardinalityLimit must be a positive integer, got ${cardinalityLimit}`);
  const otlp = resolveOtlp(env, options.otlp);
  const alertQueue = alertQueueSettings(env, options.alertQueue, interval);
  const instrumentation = new ReplicationLagInstrumentation({ ...options.instrumentation, enabled: false });
  const resource = await settledResource(buildResource(options));

  const readers: IMetricReader[] = [];
  const processors: LogRecordProcessor[] = [];
  const settings = { headers: otlp?.headers, timeoutMillis: otlp?.timeoutMillis };
  let metricExporter: OTLPJsonMetricExporter | OTLPProtoMetricExporter | undefined;
  if (otlp !== undefined) {
    metricExporter =
      otlp.metricsProtocol === 'http/json'
        ? new OTLPJsonMetricExporter({ ...settings, url: otlp.metricsUrl })
        : new OTLPProtoMetricExporter({ ...settings, url: otlp.metricsUrl });
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: withDeltaGauges(metricExporter),
        exportIntervalMillis: interval,
        exportTimeoutMillis: Math.min(30_000, interval),
        cardinalityLimits: { default: cardinalityLimit },
      }),
    );
  }
  let prometheus: StandardNamePrometheusExporter | undefined;
  if (options.prometheus !== undefined && options.prometheus !== false) {
    prometheus = new StandardNamePrometheusExporter({ cardinalityLimit, ...options.prometheus });
    readers.push(prometheus);
  }

  const meterProvider = new MeterProvider({ resource, readers });
  // The SDK's self-observability (otel.sdk.*) goes to our own meter provider, next to the package's metrics.
  let ledger: AlertLedger | undefined;
  if (otlp !== undefined) {
    metricExporter?.setSelfObsMeterProvider(meterProvider);
    const logSettings = { ...settings, url: otlp.logsUrl, selfObsMeterProvider: meterProvider };
    const logExporter = otlp.logsProtocol === 'http/json' ? new OTLPJsonLogExporter(logSettings) : new OTLPProtoLogExporter(logSettings);
    ledger = new AlertLedger();
    processors.push(ledger.processor(new BatchLogRecordProcessor({ exporter: logExporter, ...alertQueue, selfObsMeterProvider: ledger.meterProvider(meterProvider) })));
  }
  const loggerProvider = new LoggerProvider({ resource, processors, meterProvider });
  instrumentation.setMeterProvider(meterProvider);
  instrumentation.setLoggerProvider(loggerProvider);
  instrumentation.enable();

  let prometheusUrl: string | undefined;
  if (prometheus !== undefined) {
    try {
      await prometheus.startServer();
    } catch (error) {
      await Promise.allSettled([meterProvider.shutdown(), loggerProvider.shutdown()]);
      instrumentation.disable();
      throw new Error(`cannot serve Prometheus metrics on ${prometheus.address}: ${(error as Error).message}`);
    }
    prometheusUrl = prometheus.address;
  }

  let shutdownPromise: Promise<void> | undefined;
  return {
    monitor: instrumentation.monitor,
    instrumentation,
    meterProvider,
    loggerProvider,
    resource,
    otlp:
      otlp === undefined
        ? undefined
        : { protocol: otlp.metricsProtocol, metricsUrl: redactUrl(otlp.metricsUrl ?? DEFAULT_OTLP_METRICS_URL), logsUrl: redactUrl(otlp.logsUrl ?? DEFAULT_OTLP_LOGS_URL) },
    prometheusUrl,
    alertDelivery: () => ledger?.snapshot(),
    async forceFlush() {
      await Promise.all([meterProvider.forceFlush(), loggerProvider.forceFlush()]);
    },
    shutdown() {
      shutdownPromise ??= (async () => {
        // Logs first: pending alert events, then the final metric collection and export, which so carries the
        // final delivery and loss counts (otel.sdk.processor.log.processed).
        const results = [...(await Promise.allSettled([loggerProvider.shutdown()])), ...(await Promise.allSettled([meterProvider.shutdown()]))];
        instrumentation.disable();
        for (const r of results) if (r.status === 'rejected') diag.error('otel-replication-lag: shutdown failed', r.reason);
      })();
      return shutdownPromise;
    },
  };
}

interface ResolvedOtlp {
  metricsProtocol: OtlpProtocol;
  logsProtocol: OtlpProtocol;
  /** Undefined: let the exporter read OTEL_EXPORTER_OTLP_(METRICS_)ENDPOINT itself. */
  metricsUrl: string | undefined;
  logsUrl: string | undefined;
  headers: Record<string, string> | undefined;
  timeoutMillis: number | undefined;
}

function resolveOtlp(env: Readonly<Record<string, string | undefined>>, options: OtlpOptions | false | undefined): ResolvedOtlp | undefined {
  if (options === false) return undefined;
  const explicit = options?.endpoint;
  if (explicit !== undefined) {
    try {
      const u = new URL(explicit);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
    } catch {
      throw new RangeError(`otlp.endpoint must be an http(s) URL, got ${JSON.stringify(redactUrl(explicit))}`);
    }
  }
  if (explicit === undefined && !otlpEndpointConfigured(env, 'METRICS') && !otlpEndpointConfigured(env, 'LOGS')) return undefined;
  const metricsUrl = explicit !== undefined ? signalUrl(explicit, 'METRICS') : fromEnv(env, 'METRICS');
  const logsUrl = explicit !== undefined ? signalUrl(explicit, 'LOGS') : fromEnv(env, 'LOGS');
  return {
    metricsProtocol: otlpProtocol(env, 'METRICS', options?.protocol),
    logsProtocol: otlpProtocol(env, 'LOGS', options?.protocol),
    metricsUrl,
    logsUrl,
    headers: options?.headers,
    timeoutMillis: options?.timeoutMillis,
  };
}

/** The URL the exporter will use, resolved from the environment as the OTLP spec says. */
function fromEnv(env: Readonly<Record<string, string | undefined>>, signal: 'METRICS' | 'LOGS'): string | undefined {
  const perSignal = env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`]?.trim();
  if (perSignal) return perSignal;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return base ? signalUrl(base, signal) : undefined;
}

/** How long startTelemetry waits for detected resource attributes (host.id is read from a file). */
const RESOURCE_SETTLE_TIMEOUT_MS = 2000;

/**
 * Waits for the detectors' asynchronous attributes (host.id) before any export or scrape: the SDK logs
 * "Accessing resource attributes before async attributes settled" at every read of a pending resource (twice per
 * Prometheus scrape) and leaves the pending attributes out. Bounded, so a detector that never answers cannot hold
 * startTelemetry: the resource is then rebuilt from the attributes that did settle.
 */
async function settledResource(resource: Resource): Promise<Resource> {
  if (!resource.asyncAttributesPending) return resource;
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    resource.waitForAsyncAttributes?.().then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), RESOURCE_SETTLE_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
  if (settled) return resource;
  diag.warn(`otel-replication-lag: resource detection did not settle within ${RESOURCE_SETTLE_TIMEOUT_MS} ms; exporting without the pending attributes`);
  const ready: Attributes = {};
  for (const [key, value] of resource.getRawAttributes()) if (!(value instanceof Promise) && ready[key] === undefined) ready[key] = value as Attributes[string];
  return resourceFromAttributes(ready);
}

function buildResource(options: TelemetryOptions): Resource {
  // The SDK's defaults (telemetry.sdk.*, service.name fallback), host and instance id, OTEL_SERVICE_NAME and
  // OTEL_RESOURCE_ATTRIBUTES, then what the caller passed. Not the SDK's process detector: it exports the
  // command line, which may hold credentials (e.g. a connection string given to `replag watch`).
  const detected = detectResources({ detectors: [hostDetector, serviceInstanceIdDetector, envDetector] });
  const process_: Attributes = {
    'process.pid': process.pid,
    'process.runtime.name': 'nodejs',
    'process.runtime.version': process.versions.node,
    'process.runtime.description': 'Node.js',
  };
  const explicit: Attributes = { ...options.resourceAttributes };
  if (options.serviceName !== undefined) explicit['service.name'] = options.serviceName;
  return defaultResource().merge(resourceFromAttributes(process_)).merge(detected).merge(resourceFromAttributes(explicit));
}

/**
 * Wraps a metric exporter so observable gauges use delta temporality: a node that is unregistered is then
 * absent from the next export instead of repeating its last value forever (opentelemetry-js issue 4096).
 * Other instruments keep the exporter's own choice (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE).
 */
export function withDeltaGauges(exporter: PushMetricExporter): PushMetricExporter {
  return {
    export: (metrics, done) => exporter.export(metrics, done),
    forceFlush: () => exporter.forceFlush(),
    shutdown: () => exporter.shutdown(),
    selectAggregation: exporter.selectAggregation?.bind(exporter),
    selectAggregationTemporality: (type: InstrumentType) =>
      type === InstrumentType.OBSERVABLE_GAUGE ? AggregationTemporality.DELTA : (exporter.selectAggregationTemporality?.(type) ?? AggregationTemporality.CUMULATIVE),
  };
}
