/**
 * `replag --config FILE` (or `REPLAG_CONFIG=FILE replag`): many sources from one YAML file in one process, on
 * shared exporters. SIGHUP re-reads the file: added sources start, removed ones stop, changed ones restart; a file
 * that does not validate is reported and the running configuration kept.
 */
import { parseArgs } from 'node:util';
import { startTelemetry, type Telemetry } from '../sdk/index.ts';
import { ConfigError, loadFleetConfig, type FleetConfig } from './config.ts';
import { createConfiguredSource, describeConfiguredSource } from './config-sources.ts';
import { formatSourceAlert, renderFleetTable, sourceLine } from './fleet-table.ts';
import type { CliIo } from './main.ts';
import { SourceSetupError, SourceSupervisor } from './supervisor.ts';
import { otlpStartupLine } from './otlp-line.ts';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, shutdownTimeout } from './args.ts';
import { installDiagOutput } from './diag-logger.ts';
import { stopWithin, untilStopped } from './stop.ts';
import { FailureLog } from './failure-log.ts';

export const FLEET_USAGE = `Usage: replag --config FILE [--output MODE] [--duration S] [--shutdown-timeout T]
       REPLAG_CONFIG=FILE replag

Runs every source listed in the YAML file FILE (see examples/replag.yaml); SIGHUP re-reads it.
  --config FILE            the configuration file (default: REPLAG_CONFIG)
  --output MODE            auto (table on a terminal, lines otherwise), table, plain or quiet
  --duration S             stop after S seconds (default: run until Ctrl-C / SIGTERM)
  --shutdown-timeout T     bound on stopping at SIGTERM/SIGINT, final export included: 10s, 2500ms or
                           seconds (default 10s); a second SIGTERM/SIGINT exits at once
`;

type Env = Readonly<Record<string, string | undefined>>;


interface FleetArgs {
  file: string;
  output: 'auto' | 'table' | 'plain' | 'quiet';
  durationSeconds: number;
  shutdownTimeoutMs: number;
  help: boolean;
}

function parseFleetArgs(argv: readonly string[], env: Env): FleetArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string' },
        output: { type: 'string' },
        duration: { type: 'string' },
        'shutdown-timeout': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new RangeError(`${(error as Error).message}; with a config file the sources and exports are set in the file`);
  }
  if (values.help) return { file: '', output: 'quiet', durationSeconds: 0, shutdownTimeoutMs: DEFAULT_SHUTDOWN_TIMEOUT_MS, help: true };
  const file = values.config ?? env.REPLAG_CONFIG?.trim();
  if (file === undefined || file.trim() === '') throw new RangeError('--config needs a file name');
  const output = values.output ?? 'auto';
  if (output !== 'auto' && output !== 'table' && output !== 'plain' && output !== 'quiet') {
    throw new RangeError(`--output must be auto, table, plain or quiet, got ${JSON.stringify(output)}`);
  }
  const duration = values.duration === undefined ? 0 : Number(values.duration);
  if (values.duration !== undefined && (values.duration.trim() === '' || !Number.isFinite(duration) || duration < 0)) {
    throw new RangeError(`--duration must be a number of seconds >= 0, got ${JSON.stringify(values.duration)}`);
  }
  const shutdownTimeoutMs = shutdownTimeout(values['shutdown-timeout']) ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  return { file, output, durationSeconds: duration, shutdownTimeoutMs, help: false };
}

/** Runs `replag` from a config file. Resolves with the exit code: 0 ok, 1 runtime failure, 2 bad usage or file. */
export async function runFleet(argv: readonly string[], io: CliIo, env: Env = process.env): Promise<number> {
  let args: FleetArgs;
  try {
    args = parseFleetArgs(argv, env);
  } catch (error) {
    io.stderr.write(`replag: ${(error as Error).message}\n\n${FLEET_USAGE}`);
    return 2;
  }
  if (args.help) {
    io.stdout.write(FLEET_USAGE);
    return 0;
  }
  // A SIGHUP before the sources run (Node's default would end the process) is held, and applied once they do.
  let earlyHangups = 0;
  const holdHangup = () => void earlyHangups++;
  process.on('SIGHUP', holdHangup);
  try {
    return await runParsed(args, io, env, () => earlyHangups > 0);
  } finally {
    process.off('SIGHUP', holdHangup);
  }
}

async function runParsed(args: FleetArgs, io: CliIo, env: Env, hungUpEarly: () => boolean): Promise<number> {
  const problems = (title: string, list: readonly string[]) => io.stderr.write(`replag: ${title}\n${list.map((p) => `  ${p}\n`).join('')}`);
  let config: FleetConfig;
  try {
    config = await loadFleetConfig(args.file, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems(`${args.file} is not a valid configuration (${error.problems.length} ${error.problems.length === 1 ? 'problem' : 'problems'}):`, error.problems);
    return 2;
  }

  installDiagOutput(io.stderr);
  const mode = args.output === 'auto' ? (io.stdout.isTTY ? 'table' : 'plain') : args.output;
  /** Each source's failure lines (`[name] poll failed: …`, `[name] replica … succeeded again`). */
  const failures = new Map<string, FailureLog>();
  const failureLog = (name: string): FailureLog => {
    let log = failures.get(name);
    if (log === undefined) failures.set(name, (log = new FailureLog(io.stderr, `[${name}] `)));
    return log;
  };
  const alerts: string[] = [];
  let supervisor: SourceSupervisor | undefined;
  let lastDraw = 0;
  let telemetry: Telemetry;
  const draw = () => {
    if (mode !== 'table' || supervisor === undefined || Date.now() - lastDraw < 200) return;
    lastDraw = Date.now();
    const rows = Math.max(5, (io.stdout.rows ?? 40) - 12 - supervisor.sources().length * 2);
    io.stdout.write(`\x1b[H\x1b[2J${renderFleetTable(supervisor.sources(), alerts, rows, true)}\n`);
  };
  try {
    telemetry = await startTelemetry({
      serviceName: config.serviceName ?? (env.OTEL_SERVICE_NAME?.trim() ? undefined : 'replag'),
      metricExportIntervalMillis: config.exportIntervalMs,
      otlp: config.otlp,
      prometheus: config.prometheus === undefined ? false : config.prometheus,
    });
  } catch (error) {
    io.stderr.write(`replag: ${(error as Error).message}\n`);
    return error instanceof RangeError || error instanceof TypeError ? 2 : 1;
  }
  const built = new SourceSupervisor({
    meterProvider: telemetry.meterProvider,
    loggerProvider: telemetry.loggerProvider,
    trackMonitor: (name, monitor, counterAttributes) => telemetry.addMonitor(name, monitor, { nodePoints: true, counterAttributes }),
    nodePointsProduced: true,
    createSource: (c) => createConfiguredSource(c, { onReplicaError: (replica, error) => failureLog(c.name).report(`replica ${replica}`, error) }),
    onPollError: (name, error) => {
      failureLog(name).report('poll', error);
      polled(name);
    },
    onPoll: (name) => {
      failureLog(name).settle();
      polled(name);
    },
    onAlert: (name, alert) => {
      const line = formatSourceAlert(name, alert);
      alerts.push(line);
      if (alerts.length > 50) alerts.splice(0, alerts.length - 50);
      if (mode === 'plain') io.stdout.write(`${line}\n`);
    },
  });
  /** The `--tls-insecure` warning, for each source with `tls.insecure` (of `only`, when given). */
  function warnInsecure(c: FleetConfig, only?: readonly string[]): void {
    for (const s of c.sources) {
      if (s.tls?.insecure && (only === undefined || only.includes(s.name))) {
        io.stderr.write(`replag: [${s.name}] tls.insecure: the server's certificate is not verified; anyone in the path can read and alter the replication figures\n`);
      }
    }
  }
  /** After each poll of `name`, successful or not: its line (plain) or the whole table. */
  function polled(name: string): void {
    if (mode === 'plain') {
      const s = supervisor?.sources().find((x) => x.config.name === name);
      if (s !== undefined) io.stdout.write(`${new Date().toISOString()} ${sourceLine(s)}\n`);
    } else draw();
  }

  try {
    await built.apply(config.sources);
  } catch (error) {
    await telemetry.shutdown();
    if (!(error instanceof SourceSetupError)) throw error;
    problems(`${args.file}: cannot set up ${error.problems.length === 1 ? 'a source' : 'sources'}:`, error.problems);
    return 2;
  }
  supervisor = built;
  io.stderr.write(`${otlpStartupLine(telemetry.otlp, 'export.otlp.endpoint')}\n`);
  if (telemetry.prometheusUrl) io.stderr.write(`replag: serving Prometheus metrics at ${telemetry.prometheusUrl}\n`);
  for (const c of config.sources) io.stderr.write(`replag: [${c.name}] watching ${describeConfiguredSource(c.options)}, polling every ${c.intervalMs} ms\n`);
  warnInsecure(config);

  let running = config;
  const reload = async () => {
    let next: FleetConfig;
    try {
      next = await loadFleetConfig(args.file, env);
      const summary = await built.apply(next.sources);
      const changes = [
        ...summary.started.map((n) => `started ${n}`),
        ...summary.stopped.map((n) => `stopped ${n}`),
        ...summary.restarted.map((n) => `restarted ${n}`),
      ];
      for (const n of [...summary.stopped, ...summary.restarted]) failures.delete(n);
      io.stderr.write(`replag: reloaded ${args.file}: ${changes.length > 0 ? changes.join(', ') : 'no source changed'}\n`);
      if (JSON.stringify([next.serviceName, next.prometheus, next.otlp, next.exportIntervalMs]) !== JSON.stringify([running.serviceName, running.prometheus, running.otlp, running.exportIntervalMs])) {
        io.stderr.write('replag: service and export settings changed: they take effect at the next start\n');
      }
      warnInsecure(next, summary.started.concat(summary.restarted));
      running = { ...running, sources: next.sources };
    } catch (error) {
      if (error instanceof ConfigError || error instanceof SourceSetupError) {
        problems(`reload of ${args.file} failed; keeping the running configuration (${error.problems.length} ${error.problems.length === 1 ? 'problem' : 'problems'}):`, error.problems);
      } else io.stderr.write(`replag: reload of ${args.file} failed; keeping the running configuration: ${(error as Error).message}\n`);
    }
  };
  let reloading: Promise<void> = Promise.resolve();
  const onHangup = () => {
    reloading = reloading.then(reload);
  };
  process.on('SIGHUP', onHangup);
  if (hungUpEarly()) onHangup();

  const exitCode = await untilStopped(args.durationSeconds);
  process.off('SIGHUP', onHangup);
  await reloading;
  const last = built.sources();
  // Every source's polling, the final flush (with every source's last figures), then the connections, all within
  // --shutdown-timeout.
  await stopWithin({ timeoutMs: args.shutdownTimeoutMs, poller: { stop: () => built.stopPolling() }, source: { close: () => built.stop() }, telemetry, stderr: io.stderr });
  for (const s of last) io.stderr.write(`replag: stopped; ${sourceLine(s)}\n`);
  return exitCode;
}
