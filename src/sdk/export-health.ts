/**
 * Export failures reported like poll failures: once when a signal's exports start failing, with the real cause
 * (connection refused, HTTP status with Retry-After, timeout, DNS), again when the cause changes, once on recovery.
 * Holds the exporter wrappers that observe every export and can end what is in flight at the shutdown deadline.
 * @internal
 */
import { diag } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { AggregationOption, AggregationTemporality, InstrumentType, PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ExportConnection, HttpAnswer } from './export-connection.ts';
import { describeGrpcError, isGrpcError } from './grpc.ts';

export type ExportSignal = 'metrics' | 'logs';

/** Why an export failed, in one line without secrets (no headers, no response body). */
export interface ExportFailureCause {
  readonly kind: 'refused' | 'http-status' | 'timeout' | 'dns' | 'network' | 'aborted' | 'other';
  readonly text: string;
}

const NETWORK_CODES: Record<string, string> = {
  ECONNRESET: 'connection reset by the collector',
  EPIPE: 'connection closed by the collector',
  ETIMEDOUT: 'connection timed out',
  ENETUNREACH: 'network unreachable',
  EHOSTUNREACH: 'host unreachable',
  ECONNABORTED: 'connection aborted',
};

const MAX_TEXT = 200;

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_TEXT ? `${line.slice(0, MAX_TEXT)}…` : line;
}

function describeAnswer(answer: HttpAnswer): string {
  const text = answer.statusText ? ` ${oneLine(answer.statusText)}` : '';
  return `HTTP ${answer.status}${text}${answer.retryAfter !== undefined ? `, Retry-After ${oneLine(answer.retryAfter)}${/^\d+$/.test(answer.retryAfter.trim()) ? ' s' : ''}` : ''}`;
}

/**
 * Names the cause of a failed export. `answer` is the collector's last HTTP answer during that export (the SDK's
 * error for 429/502/503/504 says only "retryable status"); `timeoutMillis` the exporter's timeout.
 */
export function describeExportFailure(error: unknown, options: { answer?: HttpAnswer; timeoutMillis?: number } = {}): ExportFailureCause {
  const e = (error ?? {}) as { code?: unknown; message?: unknown; name?: unknown; hostname?: unknown; details?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : error === undefined ? '' : String(error);
  if (code === 'ERR_REPLICATION_LAG_EXPORT_ABORTED') return { kind: 'aborted', text: oneLine(message) };
  if (isGrpcError(error)) return describeGrpcError(error);
  if (code === 'ECONNREFUSED') return { kind: 'refused', text: 'connection refused (ECONNREFUSED)' };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    const host = typeof e.hostname === 'string' ? ` ${oneLine(e.hostname)}` : '';
    return { kind: 'dns', text: `DNS lookup of${host || ' the collector'} failed (${code})` };
  }
  if (code !== undefined && NETWORK_CODES[code] !== undefined) {
    // The SDK's transport retries these; a timeout that ends a retried request shows as the last network error.
    return { kind: 'network', text: `${NETWORK_CODES[code]} (${code})` };
  }
  if (/request timed out|timeout/i.test(message)) {
    return { kind: 'timeout', text: options.timeoutMillis !== undefined ? `timed out after ${options.timeoutMillis} ms` : 'timed out' };
  }
  // OTLPExporterError carries the status for non-retryable answers (400, 401, 404, 500…).
  const status = typeof e.code === 'number' && e.code >= 100 && e.code < 600 ? e.code : undefined;
  if (status !== undefined) {
    const answer = options.answer?.status === status ? options.answer : { status, statusText: message, retryAfter: undefined };
    return { kind: 'http-status', text: describeAnswer(answer) };
  }
  if (options.answer !== undefined && options.answer.status >= 300) return { kind: 'http-status', text: describeAnswer(options.answer) };
  return { kind: 'other', text: oneLine(message) || 'unknown error' };
}

/** What a signal's exports look like now. */
export interface SignalHealth {
  /** The current failure's cause, undefined while exports succeed. */
  readonly failing: ExportFailureCause | undefined;
  /** Exports that failed / items (points' batches or log records) in them, since start. */
  readonly failedExports: number;
  readonly failedItems: number;
  /** Metric collections not exported because the previous export was still in flight. */
  readonly skippedExports: number;
}

/** A change the reporter announces (one diag.warn line each). */
export interface ExportHealthChange {
  readonly signal: ExportSignal;
  readonly state: 'failing' | 'recovered' | 'skipping';
  readonly cause?: ExportFailureCause;
  readonly message: string;
}

interface SignalState {
  failing: ExportFailureCause | undefined;
  failedExports: number;
  failedItems: number;
  skippedExports: number;
  /** Failures and skips since the episode began. */
  episodeFailures: number;
  episodeSkips: number;
  /** Skips since the last export ended. */
  recentSkips: number;
  /** Whether slowness (skips while exports succeed) has been said in this episode. */
  slownessSaid: boolean;
}

const initial = (): SignalState => ({ failing: undefined, failedExports: 0, failedItems: 0, skippedExports: 0, episodeFailures: 0, episodeSkips: 0, recentSkips: 0, slownessSaid: false });

/**
 * Keeps per-signal export health and announces changes once: the first failure and each change of cause, the
 * recovery (with how many exports failed and collections were skipped meanwhile), and, while exports succeed but take
 * longer than the interval, that collections are being skipped (once until an export ends without one skipped).
 */
export class ExportHealth {
  private readonly state: Record<ExportSignal, SignalState> = { metrics: initial(), logs: initial() };
  private readonly urls: Partial<Record<ExportSignal, string>>;
  private readonly announce: (change: ExportHealthChange) => void;

  /** `urls`: where each signal goes (credentials removed), named in the messages. */
  constructor(options: { urls?: Partial<Record<ExportSignal, string>>; announce?: (change: ExportHealthChange) => void } = {}) {
    this.urls = options.urls ?? {};
    this.announce = options.announce ?? ((change) => diag.warn(change.message));
  }

  get(signal: ExportSignal): SignalHealth {
    const s = this.state[signal];
    return { failing: s.failing, failedExports: s.failedExports, failedItems: s.failedItems, skippedExports: s.skippedExports };
  }

  failed(signal: ExportSignal, cause: ExportFailureCause, items: number): void {
    const s = this.state[signal];
    s.failedExports++;
    s.failedItems += items;
    s.episodeFailures++;
    s.recentSkips = 0;
    if (s.failing?.text === cause.text) return;
    s.failing = cause;
    const to = this.urls[signal] !== undefined ? ` to ${this.urls[signal]}` : '';
    this.say({ signal, state: 'failing', cause, message: `otel-replication-lag: ${signal} export failed${to}: ${cause.text}` });
  }

  /**
   * An attempt of an export that is retried failed (gRPC; the OTLP/HTTP transport retries out of sight): said
   * like a failure when the cause is new, counted in the episode, not as a failed export.
   */
  attemptFailed(signal: ExportSignal, cause: ExportFailureCause): void {
    const s = this.state[signal];
    s.episodeFailures++;
    if (s.failing?.text === cause.text) return;
    s.failing = cause;
    const to = this.urls[signal] !== undefined ? ` to ${this.urls[signal]}` : '';
    this.say({ signal, state: 'failing', cause, message: `otel-replication-lag: ${signal} export failed${to}: ${cause.text} (retrying)` });
  }

  succeeded(signal: ExportSignal): void {
    const s = this.state[signal];
    const skips = s.recentSkips;
    s.recentSkips = 0;
    if (s.failing !== undefined) {
      const n = s.episodeFailures;
      const skipped = s.episodeSkips > 0 ? `, ${s.episodeSkips} collection${s.episodeSkips === 1 ? '' : 's'} skipped meanwhile (one export at a time)` : '';
      s.failing = undefined;
      s.episodeFailures = 0;
      s.episodeSkips = 0;
      s.slownessSaid = false;
      this.say({ signal, state: 'recovered', message: `otel-replication-lag: ${signal} export succeeded again after ${n} failed export${n === 1 ? '' : 's'}${skipped}` });
      return;
    }
    if (skips === 0) {
      s.slownessSaid = false;
      s.episodeSkips = 0;
      return;
    }
    if (s.slownessSaid) return;
    s.slownessSaid = true;
    this.say({
      signal,
      state: 'skipping',
      message: `otel-replication-lag: ${signal} export takes longer than the export interval: ${skips} collection${skips === 1 ? '' : 's'} skipped (one export at a time; the newest goes next)`,
    });
  }

  /** A collection was not exported because an export was in flight (it waits, or a newer one replaced it). */
  skipped(signal: ExportSignal): void {
    const s = this.state[signal];
    s.skippedExports++;
    s.episodeSkips++;
    s.recentSkips++;
  }

  private say(change: ExportHealthChange): void {
    try {
      this.announce(change);
    } catch {
      // A reporter that throws must not break an export callback.
    }
  }
}

/** Errors the wrappers passed to the SDK after reporting them: a CLI's global error handler can stay silent on them. */
const reported = new WeakSet<object>();

/** Whether `error` is an export failure already reported through ExportHealth (so not worth printing again). */
export function isReportedExportFailure(error: unknown): boolean {
  return typeof error === 'object' && error !== null && reported.has(error);
}

/**
 * The error handed to the SDK for a failed export: the original's name (the SDK counts `error.type` by it), a
 * one-line message naming the cause and a one-line stack, so the SDK's own report of it is one line too.
 */
function reportedError(signal: ExportSignal, cause: ExportFailureCause, original: unknown): Error {
  const e = new Error(`${signal} export failed: ${cause.text}`);
  e.name = cause.kind === 'aborted' ? 'ExportAbortedError' : original instanceof Error ? original.name : 'Error';
  e.stack = `${e.name}: ${e.message}`;
  reported.add(e);
  return e;
}

/** The cause of the attempt still in flight on `connection`, or undefined when none has ended yet (a hang). */
export function inFlightCause(connection: ExportConnection | undefined, timeoutMillis?: number): ExportFailureCause | undefined {
  const last = connection?.lastAttempt;
  if (last === undefined) return undefined;
  return 'answer' in last ? describeExportFailure(undefined, { answer: last.answer }) : describeExportFailure(last.error, { timeoutMillis });
}

/** Resolves when `abort()` is called: what the SDK awaits on an exporter stops waiting then. */
class AbortLatch {
  reason: string | undefined;
  readonly promise: Promise<void>;
  private open!: () => void;
  constructor() {
    this.promise = new Promise((resolve) => (this.open = resolve));
  }
  fire(reason: string): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.open();
  }
  race<T>(p: Promise<T>): Promise<T | void> {
    return Promise.race([p.catch(() => undefined), this.promise]);
  }
}

interface WrapperOptions {
  health: ExportHealth;
  /** The exporter's HTTP connections (OTLP/HTTP only), for the status code and for ending hung requests. */
  connection?: ExportConnection;
  /** The exporter's own timeout, named in timeout failures. */
  timeoutMillis?: number;
}

/**
 * Log exporter wrapper: reports each export's outcome to ExportHealth and, on `abort()`, answers every export in
 * flight and every later one as failed at once, so the batch processor's flush and shutdown settle.
 */
export class ReportingLogExporter implements LogRecordExporter {
  private readonly inner: LogRecordExporter;
  private readonly options: WrapperOptions;
  private readonly latch = new AbortLatch();
  private readonly inFlight = new Map<number, { count: number; done: (result: ExportResult) => void }>();
  private seq = 0;
  /** Log records whose export failed or was abandoned at the deadline, since start. */
  notExported = 0;
  lastCause: ExportFailureCause | undefined;

  constructor(inner: LogRecordExporter, options: WrapperOptions) {
    this.inner = inner;
    this.options = options;
  }

  export(records: ReadableLogRecord[], done: (result: ExportResult) => void): void {
    if (this.latch.reason !== undefined) {
      this.fail(records.length, { kind: 'aborted', text: this.latch.reason }, done);
      return;
    }
    const id = ++this.seq;
    this.inFlight.set(id, { count: records.length, done });
    this.options.connection?.clearAnswer();
    try {
      this.inner.export(records, (result) => {
        if (!this.inFlight.delete(id)) return; // Already answered by abort().
        if (result.code === ExportResultCode.SUCCESS) {
          this.options.health.succeeded('logs');
          done(result);
          return;
        }
        const cause = describeExportFailure(result.error, { answer: this.options.connection?.lastAnswer, timeoutMillis: this.options.timeoutMillis });
        this.options.health.failed('logs', cause, records.length);
        this.notExported += records.length;
        this.lastCause = cause;
        done({ code: ExportResultCode.FAILED, error: reportedError('logs', cause, result.error) });
      });
    } catch (error) {
      this.inFlight.delete(id);
      this.fail(records.length, describeExportFailure(error), done);
    }
  }

  private fail(count: number, cause: ExportFailureCause, done: (result: ExportResult) => void): void {
    this.notExported += count;
    if (cause.kind !== 'aborted') {
      this.lastCause = cause;
      this.options.health.failed('logs', cause, count);
    } else this.lastCause ??= cause;
    done({ code: ExportResultCode.FAILED, error: reportedError('logs', cause, undefined) });
  }

  /** Ends what is in flight and everything after: counted as not exported, with the last real cause kept. */
  abort(reason: string): void {
    this.latch.fire(reason);
    this.options.connection?.close(reason);
    for (const [id, { count, done }] of [...this.inFlight]) {
      this.inFlight.delete(id);
      this.fail(count, { kind: 'aborted', text: reason }, done);
    }
  }

  async forceFlush(): Promise<void> {
    await this.latch.race(this.inner.forceFlush?.() ?? Promise.resolve());
  }

  async shutdown(): Promise<void> {
    await this.latch.race(this.inner.shutdown());
  }
}

/**
 * Metric exporter wrapper that answers the reader at once and runs the real export in the background, one at a time,
 * with the exporter's own timeout: the PeriodicExportingMetricReader would otherwise cut every export at its interval
 * (it caps its timeout there) and report "timed out" whatever the real cause, while the abandoned request goes on.
 * A collection handed over while an export is in flight waits in a single slot (the newest replaces an older one,
 * which is counted as skipped and said once per episode). With the default cumulative temporality a skipped
 * collection loses nothing; gauges show their newest values.
 */
export class BackgroundMetricExporter implements PushMetricExporter {
  private readonly inner: PushMetricExporter;
  private readonly options: WrapperOptions;
  private readonly latch = new AbortLatch();
  private running: Promise<void> | undefined;
  private pending: ResourceMetrics | undefined;
  /** Exports delivered / failed (including abandoned at the deadline), since start. */
  delivered = 0;
  failed = 0;
  lastCause: ExportFailureCause | undefined;
  /** Whether the newest export attempted succeeded. */
  lastSucceeded = true;
  readonly selectAggregationTemporality?: (type: InstrumentType) => AggregationTemporality;
  readonly selectAggregation?: (type: InstrumentType) => AggregationOption;

  constructor(inner: PushMetricExporter, options: WrapperOptions) {
    this.inner = inner;
    this.options = options;
    if (inner.selectAggregationTemporality) this.selectAggregationTemporality = inner.selectAggregationTemporality.bind(inner);
    if (inner.selectAggregation) this.selectAggregation = inner.selectAggregation.bind(inner);
  }

  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    done({ code: ExportResultCode.SUCCESS });
    if (this.latch.reason !== undefined) {
      this.failed++;
      this.lastSucceeded = false;
      return;
    }
    if (this.running !== undefined) {
      // One waits; a newer collection replaces it (the replaced one is skipped).
      if (this.pending !== undefined) this.options.health.skipped('metrics');
      this.pending = metrics;
      return;
    }
    this.start(metrics);
  }

  private start(metrics: ResourceMetrics): void {
    this.options.connection?.clearAnswer();
    this.running = new Promise<void>((resolve) => {
      const finish = (result: ExportResult) => {
        if (this.latch.reason !== undefined) {
          // Counted as lost by abort(); its late outcome changes nothing.
        } else if (result.code === ExportResultCode.SUCCESS) {
          this.delivered++;
          this.lastSucceeded = true;
          this.options.health.succeeded('metrics');
        } else {
          const cause = describeExportFailure(result.error, { answer: this.options.connection?.lastAnswer, timeoutMillis: this.options.timeoutMillis });
          this.failed++;
          this.lastSucceeded = false;
          this.lastCause = cause;
          this.options.health.failed('metrics', cause, 1);
        }
        resolve();
      };
      try {
        this.inner.export(metrics, finish);
      } catch (error) {
        finish({ code: ExportResultCode.FAILED, error: error as Error });
      }
    }).then(() => {
      this.running = undefined;
      const next = this.pending;
      this.pending = undefined;
      if (next !== undefined && this.latch.reason === undefined) this.start(next);
    });
  }

  /** Waits for the export in flight and the one waiting, or until `abort()`. */
  async forceFlush(): Promise<void> {
    for (let i = 0; i < 3 && this.running !== undefined && this.latch.reason === undefined; i++) await this.latch.race(this.running);
    await this.latch.race(this.inner.forceFlush());
  }

  async shutdown(): Promise<void> {
    await this.forceFlush();
    await this.latch.race(this.inner.shutdown());
  }

  /** Stops waiting: the export in flight is abandoned (its connection closed), the waiting collection dropped. */
  abort(reason: string): void {
    if (this.latch.reason !== undefined) return;
    const lost = (this.running !== undefined ? 1 : 0) + (this.pending !== undefined ? 1 : 0);
    this.failed += lost;
    if (lost > 0) this.lastSucceeded = false;
    this.pending = undefined;
    this.latch.fire(reason);
    this.options.connection?.close(reason);
  }
}

/** The OTLP exporter's timeout for a signal as the SDK resolves it: option, per-signal variable, general variable, 10 s. */
export function otlpExportTimeoutMillis(env: Readonly<Record<string, string | undefined>>, signal: 'METRICS' | 'LOGS', explicit?: number): number {
  if (explicit !== undefined) return explicit;
  for (const name of [`OTEL_EXPORTER_OTLP_${signal}_TIMEOUT`, 'OTEL_EXPORTER_OTLP_TIMEOUT']) {
    const value = Number(env[name]?.trim() || Number.NaN);
    if (Number.isFinite(value) && value > 0) return value;
  }
  return 10_000;
}
