/** `replag`: runs a source into a monitor, exports through startTelemetry, shows lag live. */
import { startTelemetry, type Telemetry } from '../sdk/index.ts';
import { startPoller } from '../sources/poller.ts';
import type { ReplicationSource } from '../sources/source.ts';
import { PACKAGE_VERSION } from '../version.ts';
import { parseCliArgs, USAGE, type CliOptions } from './args.ts';
import { wantsConfig } from './fleet-dispatch.ts';
import { installDiagOutput } from './diag-logger.ts';
import { stopWithin, untilStopped } from './stop.ts';
import { FailureLog } from './failure-log.ts';
import { createSource, describeSource } from './sources.ts';
import { formatAlert, provisionalCount, renderTable, summary } from './table.ts';
import { otlpStartupLine } from './otlp-line.ts';
import { DEFAULT_CONFIG } from '../config.ts';

/** Where `replag` writes: the table and lines to `stdout`, notices and errors to `stderr`. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; rows?: number };
  stderr: NodeJS.WritableStream;
}

/** Runs `replag` with `argv` (no node/script). Resolves with the exit code: 0 ok, 1 runtime failure, 2 bad usage. */
export async function main(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  // Many sources from a file (`--config FILE` / REPLAG_CONFIG): see fleet.ts.
  if (wantsConfig(argv, process.env)) return (await import('./fleet.ts')).runFleet(argv, io);
  let options: CliOptions;
  try {
    options = parseCliArgs(argv);
  } catch (error) {
    io.stderr.write(`replag: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options.command === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  if (options.command === 'version') {
    io.stdout.write(`${PACKAGE_VERSION}\n`);
    return 0;
  }

  // Export failures (collector down, 4xx/5xx) are reported through diag once per change: one line each.
  installDiagOutput(io.stderr);
  const failures = new FailureLog(io.stderr);
  let source: ReplicationSource;
  try {
    source = await createSource(options.source, {
      env: process.env,
      timeoutMs: options.timeoutMs,
      tls: options.tls,
      onReplicaError: (replica, error) => failures.report(`replica ${replica}`, error),
    });
  } catch (error) {
    io.stderr.write(`replag: ${(error as Error).message}\n`);
    return error instanceof RangeError || error instanceof TypeError ? 2 : 1;
  }
  if (options.tls?.insecure) io.stderr.write("replag: --tls-insecure: the server's certificate is not verified; anyone in the path can read and alter the replication figures\n");
  let telemetry: Telemetry;
  try {
    telemetry = await startTelemetry({
      serviceName: options.serviceName ?? (process.env.OTEL_SERVICE_NAME?.trim() ? undefined : 'replag'),
      metricExportIntervalMillis: options.exportIntervalMs,
      shutdownTimeoutMillis: options.shutdownTimeoutMs,
      otlp: options.otlpEndpoint !== undefined || options.otlpProtocol !== undefined ? { endpoint: options.otlpEndpoint, protocol: options.otlpProtocol } : undefined,
      prometheus: options.prometheusPort === undefined ? false : { port: options.prometheusPort, host: options.prometheusHost },
      instrumentation: {
        warningThresholdSeconds: options.warningSeconds,
        criticalThresholdSeconds: options.criticalSeconds,
        stallTimeoutSeconds: options.stallSeconds,
        // A simulated cluster larger than the default bound on nodes gets room for every follower.
        ...(options.source.kind === 'demo' && options.source.nodes > DEFAULT_CONFIG.maxNodes ? { maxNodes: options.source.nodes } : {}),
      },
    });
  } catch (error) {
    io.stderr.write(`replag: ${(error as Error).message}\n`);
    return error instanceof RangeError || error instanceof TypeError ? 2 : 1;
  }

  const { monitor } = telemetry;
  io.stderr.write(`${otlpStartupLine(telemetry.otlp, '--otlp-endpoint')}\n`);
  if (telemetry.prometheusUrl) io.stderr.write(`replag: serving Prometheus metrics at ${telemetry.prometheusUrl}\n`);

  const mode = options.output === 'auto' ? (io.stdout.isTTY ? 'table' : 'plain') : options.output;
  monitor.onAlert((alert) => {
    if (mode === 'plain') io.stdout.write(`${formatAlert(alert)}\n`);
  });
  io.stderr.write(`replag: watching ${describeSource(options.source)}, polling every ${options.intervalMs} ms\n`);
  const poller = startPoller({
    source,
    monitor,
    intervalMs: options.intervalMs,
    onError: (error) => failures.report('poll', error),
    onPoll: () => {
      failures.settle();
      if (mode === 'plain') io.stdout.write(`${new Date().toISOString()} ${summary(monitor.getStats(), provisionalCount(monitor.getAllStatuses().values()))}\n`);
      else if (mode === 'table') {
        const rows = Math.max(5, (io.stdout.rows ?? 40) - 12);
        io.stdout.write(`\x1b[H\x1b[2J${renderTable(monitor.getAllStatuses().values(), monitor.getStats(), monitor.getAlerts(), rows, true)}\n`);
      }
    },
  });
  telemetry.instrumentation.observeSource(poller);

  const exitCode = await untilStopped(options.durationSeconds);
  await stopWithin({ timeoutMs: options.shutdownTimeoutMs, poller, source, telemetry, stderr: io.stderr });
  io.stderr.write(`replag: stopped; ${summary(monitor.getStats(), provisionalCount(monitor.getAllStatuses().values()))}\n`);
  return exitCode;
}

