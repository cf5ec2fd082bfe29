/**
 * otel-replication-lag/sdk: run the monitor standalone, exporting over OTLP/HTTP or gRPC (and optionally serving a
 * Prometheus endpoint). The only place, with the CLI, that imports OpenTelemetry SDK packages.
 */
import { diag, type Attributes } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
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
import { cardinalityLimitFor, ReplicationLagInstrumentation, type ReplicationLagInstrumentationConfig } from '../instrumentation.ts';
import { ReplicationLagMonitor } from '../monitor.ts';
import { checkShutdownTimeout, DEFAULT_SHUTDOWN_TIMEOUT_MILLIS } from './bounded-shutdown.ts';
import { OtlpExportPipeline } from './export-pipeline.ts';
import { metricExportInterval, otlpEndpointConfigured, otlpProtocol, readEnv, redactUrl, signalUrl, type OtlpProtocol } from './env.ts';
import { otlpEndpointProblem } from './otlp-endpoint.ts';
import { CumulativeSums, type IsLiveNode } from './cumulative-sums.ts';
import { LiveNodes } from './live-nodes.ts';
import { createGrpcLogExporter, createGrpcMetricExporter, DEFAULT_OTLP_GRPC_ENDPOINT, grpcDisplayUrl, grpcEndpoint } from './grpc.ts';
import { StandardNamePrometheusExporter, type PrometheusEndpointOptions } from './prometheus.ts';
import { AlertLedger, type AlertDelivery } from './alert-ledger.ts';
import { alertQueueSettings, type AlertQueueOptions } from './log-processing.ts';
import { DEFAULT_POLL_TIMEOUT_MS, startStatusServer, type StatusServer, type StatusView } from '../http/index.ts';
import type { Poller } from '../sources/poller.ts';
import { mergeScopes, NodePoints } from './node-metric-producer.ts';

export type { OtlpProtocol } from './env.ts';
export type { PrometheusEndpointOptions } from './prometheus.ts';
export { isReportedExportFailure, type ExportHealthChange } from './export-health.ts';
import { describeExportFailure } from './export-health.ts';
export type { AlertDelivery } from './alert-ledger.ts';
export type { AlertQueueOptions } from './log-processing.ts';
export { prometheusName, type PrometheusMetricKind } from './prometheus-names.ts';

/** OTLP export settings; each falls back to the standard OTEL_EXPORTER_OTLP_* environment variables. */
export interface OtlpOptions {
  /**
   * Base URL. OTLP/HTTP: e.g. `http://collector:4318` (`/v1/metrics` and `/v1/logs` are appended). gRPC: e.g.
   * `http://collector:4317`, used as-is; `http://` is plaintext, `https://` TLS.
   */
  endpoint?: string;
  /** `http/protobuf` (the spec's default), `http/json` or `grpc` (the gRPC exporters are loaded only then). */
  protocol?: OtlpProtocol;
  /** Extra headers (gRPC: metadata), e.g. an API key. Never logged. */
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
  /**
   * Series per instrument before the SDK folds the rest into an overflow series. Default `4 × maxNodes + 1`
   * (20001 with the default maxNodes of 5000): every node the monitor accepts is exported under its own id.
   * A lower limit is said once per episode through `diag.warn` when the live nodes stop fitting.
   */
  cardinalityLimit?: number;
  /**
   * Bound of `shutdown()` in milliseconds, whatever the collector does (refuses, answers 5xx, hangs). Default 10000.
   * Alert events get the first half, the final metric export the rest; what is not sent by then is counted and said
   * in one diag warning.
   */
  shutdownTimeoutMillis?: number;
  /** Queue of alert events awaiting OTLP export; each field falls back to its OTEL_BLRP_* variable. */
  alertQueue?: AlertQueueOptions;
  /**
   * Serve the status endpoints (`/status`, `/check`, `/healthz`, `/readyz` and the page at `/`, see the README):
   * on a port of their own, or without `port` on the Prometheus endpoint's server. Off by default.
   */
  http?: HttpEndpointOptions | false;
  /**
   * @internal How the per-node points are collected: `producer` (the default) straight from the monitors' statuses
   * through a MetricProducer; `instruments` recorded into SDK instruments by the instrumentation at each collection
   * (the drop-in path; kept for the benchmark and the golden comparison test).
   */
  nodePoints?: 'producer' | 'instruments';
}

/** Options of `Telemetry.addMonitor`. */
export interface AddMonitorOptions {
  /**
   * Produce the monitor's node gauges and `replication.alerts` here, from its statuses (the cheap path), instead of
   * through an instrumentation of its own; that instrumentation (if any) must then be created with
   * `nodePointsProducedElsewhere: true`, so that it records only the alert events and its sources' gauges.
   * Default false.
   */
  nodePoints?: boolean;
  /** Attributes of its `replication.alerts` series, next to node id and severity. Default `replication.source` = source. */
  counterAttributes?: Attributes;
}

/** Where the status endpoints are served. */
export interface HttpEndpointOptions {
  /** A port of their own (0: any free port); omitted: the Prometheus endpoint's port (then `prometheus` is required). */
  port?: number;
  /** Interface of their own port. Default `127.0.0.1`. */
  host?: string;
  /**
   * What the endpoints read. Default: this telemetry's monitor as one source, with the state of the poller observed
   * through `instrumentation.observeSource` when there is exactly one. @internal (replag passes its sources)
   */
  view?: StatusView;
}

/** A running telemetry pipeline. */
export interface Telemetry {
  readonly monitor: ReplicationLagMonitor;
  readonly instrumentation: ReplicationLagInstrumentation;
  readonly meterProvider: MeterProvider;
  readonly loggerProvider: LoggerProvider;
  readonly resource: Resource;
  /**
   * Where OTLP goes, per signal (the protocols may differ), or undefined when OTLP export is off. URLs carry no
   * credentials, query or fragment; a gRPC URL is `http://host:port` (plaintext) or `https://host:port` (TLS).
   */
  readonly otlp:
    | { readonly metricsProtocol: OtlpProtocol; readonly metricsUrl: string; readonly logsProtocol: OtlpProtocol; readonly logsUrl: string }
    | undefined;
  /** The Prometheus endpoint's URL, when enabled. */
  readonly prometheusUrl: string | undefined;
  /** The status endpoints' base URL (`http://host:port`), when `http` is on. */
  readonly httpUrl: string | undefined;
  /**
   * Another monitor exported through these providers (one per source of `replag --config`), whose points carry
   * `replication.source` = `source`: its live nodes keep their `replication.alerts` series like the main
   * monitor's. With `options.nodePoints`, its nodes' gauges and alert counts are produced here (see
   * AddMonitorOptions). Returns a function that removes it (its nodes' series then end).
   */
  addMonitor(source: string, monitor: ReplicationLagMonitor, options?: AddMonitorOptions): () => void;
  /**
   * What became of the alert events so far: emitted = delivered + lost + pending, and pending is 0 once
   * `shutdown()` has returned. Undefined when alert events are not exported (no OTLP).
   */
  alertDelivery(): AlertDelivery | undefined;
  /** Exports what is pending now. */
  forceFlush(): Promise<void>;
  /**
   * Flushes pending alert events, then the final metrics, then stops; settles within `shutdownTimeoutMillis`
   * (or `options.timeoutMillis`) plus a fraction of a second. Safe to call twice.
   */
  shutdown(options?: { timeoutMillis?: number }): Promise<void>;
}

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
  // The cardinality limit follows maxNodes, so that with the defaults no node is folded into an overflow series;
  // the instrumentation is told the limit so that it warns when live nodes do not fit in it.
  const given = options.instrumentation?.monitor;
  if (given !== undefined && !(given instanceof ReplicationLagMonitor)) throw new TypeError('ReplicationLagInstrumentationConfig.monitor must be a ReplicationLagMonitor');
  const monitor = given ?? new ReplicationLagMonitor(options.instrumentation);
  const cardinalityLimit = options.cardinalityLimit ?? cardinalityLimitFor(monitor.config.maxNodes);
  const liveNodes = new LiveNodes(monitor);
  if (!Number.isInteger(cardinalityLimit) || cardinalityLimit < 2) throw new RangeError(`cardinalityLimit must be an integer >= 2, got ${cardinalityLimit}`);
  const otlp = resolveOtlp(env, options.otlp);
  const shutdownTimeout = checkShutdownTimeout(options.shutdownTimeoutMillis ?? DEFAULT_SHUTDOWN_TIMEOUT_MILLIS);
  const alertQueue = alertQueueSettings(env, options.alertQueue, interval);
  const pipeline = new OtlpExportPipeline({ env, metricsUrl: otlp?.metricsShown ?? redactUrl(DEFAULT_OTLP_METRICS_URL), logsUrl: otlp?.logsShown ?? redactUrl(DEFAULT_OTLP_LOGS_URL) });
  const produced = (options.nodePoints ?? 'producer') === 'producer';
  if (options.nodePoints !== undefined && options.nodePoints !== 'producer' && options.nodePoints !== 'instruments') {
    throw new RangeError(`nodePoints must be 'producer' or 'instruments', got ${JSON.stringify(options.nodePoints)}`);
  }
  // Produced only for readers that export them (without any, nothing would read the alert counts).
  const nodePoints = produced && (otlp !== undefined || (options.prometheus !== undefined && options.prometheus !== false)) ? new NodePoints(monitor) : undefined;
  const instrumentation = new ReplicationLagInstrumentation({
    ...options.instrumentation,
    monitor,
    cardinalityLimit,
    enabled: false,
    nodePointsProducedElsewhere: nodePoints !== undefined,
  });
  const resource = await settledResource(buildResource(options));

  const readers: IMetricReader[] = [];
  const processors: LogRecordProcessor[] = [];
  const settings = { headers: otlp?.headers, timeoutMillis: otlp?.timeoutMillis };
  let metricExporter: PushMetricExporter | undefined;
  if (otlp !== undefined) {
    const metricSettings = { ...settings, url: otlp.metricsUrl, httpAgentOptions: pipeline.metricConnection.agentFactory };
    metricExporter =
      otlp.metricsProtocol === 'grpc'
        ? await createGrpcMetricExporter({ ...settings, url: otlp.metricsUrl ?? DEFAULT_OTLP_GRPC_ENDPOINT, onRetry: (error) => pipeline.health.attemptFailed('metrics', describeExportFailure(error)) })
        : otlp.metricsProtocol === 'http/json'
          ? new OTLPJsonMetricExporter(metricSettings)
          : new OTLPProtoMetricExporter(metricSettings);
    // The background exporter answers the reader at once and exports with the exporter's own timeout (not the
    // interval). Counters are added up into cumulative sums at collection time, before it: a collection that waits
    // behind an export in flight and is replaced by a newer one is then folded into that one, increments included.
    const exporter = withDeltaGauges(pipeline.wrapMetrics(metricExporter, otlp.timeoutMillis), { isLiveNode: liveNodes.isLive });
    const inner = metricExporter;
    readers.push(
      new PeriodicExportingMetricReader({
        exporter,
        exportIntervalMillis: interval,
        exportTimeoutMillis: Math.min(30_000, interval),
        cardinalityLimits: { default: cardinalityLimit },
        metricProducers: nodePoints === undefined ? [] : [nodePoints.producer({ temporality: producedTemporality(exporter, inner), cardinalityLimit })],
      }),
    );
  }
  const http = checkHttpOptions(options);
  let prometheus: StandardNamePrometheusExporter | undefined;
  if (options.prometheus !== undefined && options.prometheus !== false) {
    prometheus = new StandardNamePrometheusExporter({ cardinalityLimit, ...options.prometheus, isLiveNode: liveNodes.isLive, nodePoints });
    readers.push(prometheus);
  }

  const meterProvider = new MeterProvider({ resource, readers });
  // The SDK's self-observability (otel.sdk.*) goes to our own meter provider, next to the package's metrics.
  let ledger: AlertLedger | undefined;
  if (otlp !== undefined) {
    (metricExporter as { setSelfObsMeterProvider?: (provider: MeterProvider) => void } | undefined)?.setSelfObsMeterProvider?.(meterProvider);
    const logSettings = { ...settings, url: otlp.logsUrl, selfObsMeterProvider: meterProvider, httpAgentOptions: pipeline.logConnection.agentFactory };
    const logExporter = pipeline.wrapLogs(
      otlp.logsProtocol === 'grpc'
        ? await createGrpcLogExporter({ ...settings, url: otlp.logsUrl ?? DEFAULT_OTLP_GRPC_ENDPOINT, onRetry: (error) => pipeline.health.attemptFailed('logs', describeExportFailure(error)) })
        : otlp.logsProtocol === 'http/json'
          ? new OTLPJsonLogExporter(logSettings)
          : new OTLPProtoLogExporter(logSettings),
      otlp.timeoutMillis,
    );
    ledger = new AlertLedger();
    processors.push(ledger.processor(new BatchLogRecordProcessor({ exporter: logExporter, ...alertQueue, selfObsMeterProvider: ledger.meterProvider(meterProvider) })));
  }
  const loggerProvider = new LoggerProvider({ resource, processors, meterProvider });
  instrumentation.setMeterProvider(meterProvider);
  instrumentation.setLoggerProvider(loggerProvider);
  instrumentation.enable();

  let prometheusUrl: string | undefined;
  let statusServer: StatusServer | undefined;
  const view = http?.view ?? monitorView(options.serviceName, instrumentation);
  const shared = prometheus !== undefined && http !== undefined && (http.port === undefined || http.port === ((options.prometheus as PrometheusEndpointOptions).port ?? 9464));
  if (prometheus !== undefined) {
    try {
      if (shared) {
        // One server: the Prometheus endpoint's path to the exporter, the others to the status endpoints.
        const p = options.prometheus as PrometheusEndpointOptions;
        statusServer = await startStatusServer({ port: p.port ?? 9464, host: p.host ?? '0.0.0.0', view, metrics: { path: p.endpoint ?? '/metrics', handle: (req, res) => prometheus.getMetricsRequestHandler(req, res) } });
      } else await prometheus.startServer();
    } catch (error) {
      await Promise.allSettled([meterProvider.shutdown(), loggerProvider.shutdown()]);
      instrumentation.disable();
      throw new Error(`cannot serve Prometheus metrics on ${prometheus.address}: ${(error as Error).message}`);
    }
    prometheusUrl = prometheus.address;
  }
  if (http !== undefined && !shared) {
    try {
      statusServer = await startStatusServer({ port: http.port!, host: http.host ?? '127.0.0.1', view });
    } catch (error) {
      await Promise.allSettled([meterProvider.shutdown(), loggerProvider.shutdown(), prometheus?.stopServer()]);
      instrumentation.disable();
      throw error;
    }
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
        : { metricsProtocol: otlp.metricsProtocol, metricsUrl: otlp.metricsShown, logsProtocol: otlp.logsProtocol, logsUrl: otlp.logsShown },
    prometheusUrl,
    httpUrl: statusServer?.url,
    addMonitor: (source, other, addOptions) => {
      const unlive = liveNodes.add(source, other);
      const unproduce = addOptions?.nodePoints === true ? nodePoints?.add(source, other, addOptions.counterAttributes as Record<string, string> | undefined) : undefined;
      return () => {
        unlive();
        unproduce?.();
      };
    },
    alertDelivery: () => ledger?.snapshot(),
    async forceFlush() {
      await Promise.all([meterProvider.forceFlush(), loggerProvider.forceFlush()]);
    },
    shutdown(shutdownOptions) {
      const timeoutMillis = checkShutdownTimeout(shutdownOptions?.timeoutMillis ?? shutdownTimeout, 'shutdown timeoutMillis');
      shutdownPromise ??= (async () => {
        // Logs first: pending alert events, then the final metric collection and export, each cut at its deadline.
        await pipeline.shutdown({ timeoutMillis, loggerProvider, meterProvider });
        instrumentation.disable();
        nodePoints?.close();
        // Last: /readyz answers 503 (stopping) until here.
        await statusServer?.close();
      })();
      return shutdownPromise;
    },
  };
}

/** `options.http` checked. @throws RangeError naming the bad field. */
function checkHttpOptions(options: TelemetryOptions): HttpEndpointOptions | undefined {
  const http = options.http;
  if (http === undefined || http === false) return undefined;
  if (http === null || typeof http !== 'object') throw new TypeError('http must be an object ({ port, host }) or false');
  if (http.port !== undefined && (!Number.isInteger(http.port) || http.port < 0 || http.port > 65535)) throw new RangeError(`http.port must be an integer from 0 to 65535, got ${http.port}`);
  if (http.host !== undefined && (typeof http.host !== 'string' || http.host.trim() === '')) throw new RangeError('http.host must be a non-empty string');
  if (http.port === undefined && (options.prometheus === undefined || options.prometheus === false)) {
    throw new RangeError('http.port is required without a Prometheus endpoint (without a port the status endpoints share the Prometheus server)');
  }
  return http;
}

/** The library's view: its monitor as one source, with the state of its one observed poller, if any. */
function monitorView(serviceName: string | undefined, instrumentation: ReplicationLagInstrumentation): StatusView {
  return {
    sources() {
      const pollers = instrumentation.observedPollers() as Array<Pick<Poller, 'health'> & { intervalMs?: number }>;
      const one = pollers.length === 1 ? pollers[0]! : undefined;
      const poller = one === undefined ? undefined : { health: () => one.health(), intervalMs: one.intervalMs ?? 1000 };
      const name = one?.health().source ?? serviceName ?? 'monitor';
      return [{ name, type: 'monitor', monitor: instrumentation.monitor, poller, timeoutMs: DEFAULT_POLL_TIMEOUT_MS }];
    },
  };
}

interface ResolvedOtlp {
  metricsProtocol: OtlpProtocol;
  logsProtocol: OtlpProtocol;
  /** Undefined: let the exporter read OTEL_EXPORTER_OTLP_(METRICS_)ENDPOINT itself. */
  metricsUrl: string | undefined;
  logsUrl: string | undefined;
  /** Where each signal goes, safe to print. */
  metricsShown: string;
  logsShown: string;
  headers: Record<string, string> | undefined;
  timeoutMillis: number | undefined;
}

function resolveOtlp(env: Readonly<Record<string, string | undefined>>, options: OtlpOptions | false | undefined): ResolvedOtlp | undefined {
  if (options === false) return undefined;
  const explicit = options?.endpoint;
  if (explicit === undefined && !otlpEndpointConfigured(env, 'METRICS') && !otlpEndpointConfigured(env, 'LOGS')) return undefined;
  const metricsProtocol = otlpProtocol(env, 'METRICS', options?.protocol);
  const logsProtocol = otlpProtocol(env, 'LOGS', options?.protocol);
  // One check for the explicit endpoint and the environment's, per signal and its protocol.
  for (const [signal, protocol] of [['METRICS', metricsProtocol], ['LOGS', logsProtocol]] as const) {
    const origin = explicit !== undefined ? 'otlp.endpoint' : readEnv(env, `OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`) !== undefined ? `OTEL_EXPORTER_OTLP_${signal}_ENDPOINT` : 'OTEL_EXPORTER_OTLP_ENDPOINT';
    const endpoint = explicit ?? readEnv(env, origin);
    const problem = endpoint === undefined ? undefined : otlpEndpointProblem(endpoint, protocol);
    if (problem !== undefined) throw new RangeError(`${origin}: ${problem}, got ${JSON.stringify(redactUrl(endpoint!))}`);
  }
  // gRPC: the endpoint as-is (no /v1/... path); OTLP/HTTP: base + /v1/<signal>, or the per-signal URL.
  const url = (protocol: OtlpProtocol, signal: 'METRICS' | 'LOGS') =>
    protocol === 'grpc' ? grpcEndpoint(env, signal, explicit) : explicit !== undefined ? signalUrl(explicit, signal) : fromEnv(env, signal);
  const metricsUrl = url(metricsProtocol, 'METRICS');
  const logsUrl = url(logsProtocol, 'LOGS');
  return {
    metricsProtocol,
    logsProtocol,
    metricsUrl,
    logsUrl,
    metricsShown: metricsProtocol === 'grpc' ? grpcDisplayUrl(env, 'METRICS', metricsUrl!) : redactUrl(metricsUrl ?? DEFAULT_OTLP_METRICS_URL),
    logsShown: logsProtocol === 'grpc' ? grpcDisplayUrl(env, 'LOGS', logsUrl!) : redactUrl(logsUrl ?? DEFAULT_OTLP_LOGS_URL),
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

/** Options of `withDeltaGauges`. */
export interface DeltaGaugesOptions {
  /**
   * The monitor whose nodes are exported. When given, counters are collected with delta temporality and added
   * back up into cumulative series here, keeping only the series of nodes the monitor still has: the cumulative
   * `replication.alerts` then holds one series per live node and severity instead of one per node id ever seen
   * (a node that comes back restarts its count from 0: a counter reset). Ignored when the exporter prefers delta.
   */
  monitor?: Pick<ReplicationLagMonitor, 'getStatus'>;
  /** Instead of `monitor`: whether the node of a point is live, from its id and attributes (several monitors). */
  isLiveNode?: IsLiveNode;
}

/**
 * Wraps a metric exporter so gauges (synchronous and observable) use delta temporality: a node that is
 * unregistered is then absent from the next export instead of repeating its last value forever
 * (opentelemetry-js issue 4096), and the SDK forgets its series. Other instruments keep the exporter's own choice
 * (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE); with `options.monitor`, cumulative counters are bounded
 * by the live nodes too (see `DeltaGaugesOptions`).
 */
export function withDeltaGauges(exporter: PushMetricExporter, options: DeltaGaugesOptions = {}): PushMetricExporter {
  const preferred = (type: InstrumentType): AggregationTemporality => exporter.selectAggregationTemporality?.(type) ?? AggregationTemporality.CUMULATIVE;
  const { monitor } = options;
  const isLive = options.isLiveNode ?? (monitor === undefined ? undefined : (id: string) => monitor.getStatus(id) !== undefined);
  const sums = isLive !== undefined && preferred(InstrumentType.COUNTER) === AggregationTemporality.CUMULATIVE ? new CumulativeSums({ isLive }) : undefined;
  return {
    export: (metrics, done) => {
      try {
        sums?.convert(metrics);
        mergeScopes(metrics);
      } catch (error) {
        done({ code: ExportResultCode.FAILED, error: error as Error });
        return;
      }
      exporter.export(metrics, done);
    },
    forceFlush: () => exporter.forceFlush(),
    shutdown: () => exporter.shutdown(),
    selectAggregation: exporter.selectAggregation?.bind(exporter),
    selectAggregationTemporality: (type: InstrumentType) => {
      if (type === InstrumentType.GAUGE || type === InstrumentType.OBSERVABLE_GAUGE) return AggregationTemporality.DELTA;
      if (type === InstrumentType.COUNTER && sums !== undefined) return AggregationTemporality.DELTA;
      return preferred(type);
    },
  };
}

/**
 * The temporality of produced points for a reader exporting through `wrapped` (withDeltaGauges): gauges delta,
 * counters as the exporter itself prefers (cumulative ones are produced cumulative, not re-added by CumulativeSums).
 */
function producedTemporality(wrapped: PushMetricExporter, inner: PushMetricExporter): (type: InstrumentType) => AggregationTemporality {
  return (type) =>
    type === InstrumentType.COUNTER
      ? (inner.selectAggregationTemporality?.(type) ?? AggregationTemporality.CUMULATIVE)
      : (wrapped.selectAggregationTemporality?.(type) ?? AggregationTemporality.CUMULATIVE);
}
