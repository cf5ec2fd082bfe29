/**
 * What startTelemetry adds around its OTLP exporters: owned connections, failure reporting (ExportHealth), the
 * background metric export, and the bounded shutdown that drives them.
 * @internal
 */
import type { LogRecordExporter, LoggerProvider } from '@opentelemetry/sdk-logs';
import type { MeterProvider, PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { boundedShutdown, type ShutdownReport } from './bounded-shutdown.ts';
import { ExportConnection } from './export-connection.ts';
import { BackgroundMetricExporter, ExportHealth, inFlightCause, otlpExportTimeoutMillis, ReportingLogExporter, type ExportHealthChange } from './export-health.ts';

type Env = Readonly<Record<string, string | undefined>>;

export class OtlpExportPipeline {
  readonly health: ExportHealth;
  readonly metricConnection: ExportConnection;
  readonly logConnection: ExportConnection;
  metricExporter: BackgroundMetricExporter | undefined;
  logExporter: ReportingLogExporter | undefined;
  /**
   * Loss notes read when the shutdown says what it could not export (see BoundedShutdownOptions.lossNotes): loss
   * accounting pushes e.g. `() => dropped > 0 ? `${dropped} alert events dropped from the full queue` : undefined`.
   */
  readonly lossNotes: (() => string | undefined)[] = [];
  /** The last shutdown's report, once it has run. */
  lastShutdown: ShutdownReport | undefined;
  private readonly env: Env;

  constructor(options: { env: Env; metricsUrl: string; logsUrl: string; announce?: (change: ExportHealthChange) => void }) {
    this.env = options.env;
    this.health = new ExportHealth({ urls: { metrics: options.metricsUrl, logs: options.logsUrl }, announce: options.announce });
    this.metricConnection = new ExportConnection({ signal: 'METRICS', env: options.env });
    this.logConnection = new ExportConnection({ signal: 'LOGS', env: options.env });
  }

  wrapMetrics(exporter: PushMetricExporter, timeoutMillis?: number): BackgroundMetricExporter {
    this.metricExporter = new BackgroundMetricExporter(exporter, {
      health: this.health,
      connection: this.metricConnection,
      timeoutMillis: otlpExportTimeoutMillis(this.env, 'METRICS', timeoutMillis),
    });
    return this.metricExporter;
  }

  wrapLogs(exporter: LogRecordExporter, timeoutMillis?: number): ReportingLogExporter {
    this.logExporter = new ReportingLogExporter(exporter, { health: this.health, connection: this.logConnection, timeoutMillis: otlpExportTimeoutMillis(this.env, 'LOGS', timeoutMillis) });
    return this.logExporter;
  }

  /** Logs, then metrics, each cut at its deadline; one warning for what was not exported. */
  async shutdown(options: { timeoutMillis: number; loggerProvider: LoggerProvider; meterProvider: MeterProvider }): Promise<ShutdownReport> {
    const logs = this.logExporter;
    const metrics = this.metricExporter;
    const logsBefore = logs?.notExported ?? 0;
    const metricsBefore = { delivered: metrics?.delivered ?? 0, failed: metrics?.failed ?? 0 };
    let logsAborted: string | undefined;
    let metricsAborted: string | undefined;
    const cut = (aborted: string | undefined, cause: string | undefined) => (aborted !== undefined ? `${aborted}, cut at the shutdown deadline` : (cause ?? 'export failed'));
    // At the deadline: what the attempt in flight last saw (refused, an HTTP status), else the episode's cause, else a hang.
    const seen = (signal: 'metrics' | 'logs') =>
      inFlightCause(signal === 'logs' ? this.logConnection : this.metricConnection)?.text ?? this.health.get(signal).failing?.text ?? 'no answer from the collector';
    try {
      this.lastShutdown = await boundedShutdown({
        timeoutMillis: options.timeoutMillis,
        lossNotes: this.lossNotes,
        logs: {
          stop: () => options.loggerProvider.shutdown(),
          abort: (reason) => {
            logsAborted = seen('logs');
            logs?.abort(reason);
          },
          loss: () => {
            const n = (logs?.notExported ?? logsBefore) - logsBefore;
            if (n === 0) return undefined;
            const cause = logs?.lastCause?.kind === 'aborted' ? undefined : logs?.lastCause?.text;
            return `${n} log record${n === 1 ? '' : 's'} (alert events): ${cut(logsAborted, cause)}`;
          },
        },
        metrics: {
          stop: () => options.meterProvider.shutdown(),
          abort: (reason) => {
            metricsAborted = seen('metrics');
            metrics?.abort(reason);
          },
          loss: () => {
            if (metrics === undefined) return undefined;
            const attempted = metrics.delivered + metrics.failed - metricsBefore.delivered - metricsBefore.failed;
            if (attempted === 0 && metricsAborted === undefined) return undefined;
            if (metrics.lastSucceeded && metricsAborted === undefined) return undefined;
            return `the final metrics: ${cut(metricsAborted, metrics.lastCause?.text)}`;
          },
        },
      });
      return this.lastShutdown;
    } finally {
      // Idle keep-alive sockets, and anything a late retry might open: nothing of ours outlives shutdown().
      this.metricConnection.close('telemetry shut down');
      this.logConnection.close('telemetry shut down');
    }
  }
}
