/**
 * Runs a fleet of sources on shared exporters through one SourceSupervisor: a config file's (`--config`, SIGHUP
 * re-reads it: added sources start, removed ones stop, changed ones restart; a file that does not validate is
 * reported and the running configuration kept), or flags mode's fleet of one, shown as a single source
 * (its summary lines and table, no `[name]` prefixes).
 */
import { findSource } from '../sources/registry.ts';
import { startTelemetry, type Telemetry } from '../sdk/index.ts';
import type { RunSettings } from './args.ts';
import { createConfiguredSource, describeConfiguredSource, insecureTls } from './config-sources.ts';
import { installDiagOutput } from './diag-logger.ts';
import { FailureLog } from './failure-log.ts';
import { optionsAsFlags } from './option-specs.ts';
import type { FleetConfig } from './fleet-config.ts';
import { formatSourceAlert, renderFleetTable, sourceLine } from './fleet-table.ts';
import type { CliIo } from './io.ts';
import { otlpStartupLine } from './otlp-line.ts';
import { formatProblem } from './problems.ts';
import { stopWithin, untilStopped } from './stop.ts';
import { fleetView } from './status-view.ts';
import { SourceSetupError, SourceSupervisor } from './supervisor.ts';
import { formatAlert, provisionalCount, renderTable, ScreenNotes, summary } from './table.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** What `runFleet` runs. */
export interface RunOptions {
  config: FleetConfig;
  run: RunSettings;
  env: Env;
  /** Flags mode (one source, shown as such) or the file, re-read at SIGHUP by `reload`. */
  view: { mode: 'flags' } | { mode: 'file'; file: string; reload: () => Promise<FleetConfig> };
}

/**
 * Runs until stopped. `hungUpEarly`: whether a SIGHUP came while the file was read (the caller holds them); one
 * reload is then done once the sources run. Resolves with the exit code: 0 ok, 1 runtime failure, 2 a source that
 * cannot be set up.
 */
export async function runFleet(options: RunOptions, io: CliIo, hungUpEarly: () => boolean = () => false): Promise<number> {
  return runParsed(options, io, hungUpEarly);
}

async function runParsed({ config, run, env, view }: RunOptions, io: CliIo, hungUpEarly: () => boolean): Promise<number> {
  const single = view.mode === 'flags';
  const file = view.mode === 'file' ? view.file : undefined;
  const problems = (title: string, error: SourceSetupError, names: ReadonlyMap<number, string>) =>
    io.stderr.write(`${error.problems.map((p) => `${single ? `replag: ${p.message}` : formatProblem(p, file, names)}\n`).join('')}replag: ${title}\n`);
  const namesOf = (c: FleetConfig) => new Map(c.sources.map((s, i) => [i, s.name]));

  const mode = run.output === 'auto' ? (io.stdout.isTTY ? 'table' : 'plain') : run.output;
  // The live table keeps failure causes and notices on screen: its redraws would erase them from the terminal.
  const notes = mode === 'table' ? new ScreenNotes(io.stderr) : undefined;
  if (notes !== undefined) io = { ...io, stderr: notes.stream };
  const onScreen = notes && { notes, width: (io.stdout as { columns?: number }).columns };
  installDiagOutput(io.stderr);
  /** Each source's failure lines (`[name] poll failed: …`; flags mode: `poll failed: …`). */
  const failures = new Map<string, FailureLog>();
  const failureLog = (name: string): FailureLog => {
    let log = failures.get(name);
    if (log === undefined) {
      // Flags mode says the flags where a source's message names a nested option (`tls.ca` → `--tls-ca`).
      const descriptor = single ? findSource(config.sources.find((s) => s.name === name)?.type ?? '') : undefined;
      log = new FailureLog(io.stderr, single ? '' : `[${name}] `, descriptor === undefined ? undefined : optionsAsFlags(descriptor));
      failures.set(name, log);
    }
    return log;
  };
  const alerts: string[] = [];
  let supervisor: SourceSupervisor | undefined;
  /** What the status endpoints read: the supervisor's sources, once they run. */
  const statusView = fleetView(() => supervisor);
  let lastDraw = 0;
  const draw = () => {
    if (mode !== 'table' || supervisor === undefined || (!single && Date.now() - lastDraw < 200)) return;
    lastDraw = Date.now();
    const sources = supervisor.sources();
    if (single && sources[0] !== undefined) {
      const { monitor } = sources[0];
      const rows = Math.max(5, (io.stdout.rows ?? 40) - 12);
      io.stdout.write(`\x1b[H\x1b[2J${renderTable(monitor.getAllStatuses().values(), monitor.getStats(), monitor.getAlerts(), rows, true, onScreen)}\n`);
      return;
    }
    const rows = Math.max(5, (io.stdout.rows ?? 40) - 12 - sources.length * 2);
    io.stdout.write(`\x1b[H\x1b[2J${renderFleetTable(sources, alerts, rows, true, onScreen)}\n`);
  };
  let telemetry: Telemetry;
  try {
    telemetry = await startTelemetry({
      serviceName: config.serviceName ?? (env.OTEL_SERVICE_NAME?.trim() ? undefined : 'replag'),
      metricExportIntervalMillis: config.exportIntervalMs,
      shutdownTimeoutMillis: run.shutdownTimeoutMs,
      otlp: config.otlp,
      prometheus: config.prometheus === undefined ? false : config.prometheus,
      // The status endpoints: on export.http's port, else on the Prometheus port; they read the supervisor's sources.
      http: config.http === undefined && config.prometheus === undefined ? false : { ...config.http, view: statusView },
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
    createSource: (c) => createConfiguredSource(c, { env, onReplicaError: (replica, error) => failureLog(c.name).report(`replica ${replica}`, error) }),
    onPollError: (name, error) => {
      failureLog(name).report('poll', error);
      polled(name);
    },
    onPoll: (name) => {
      failureLog(name).settle();
      polled(name);
    },
    onAlert: (name, alert) => {
      const line = single ? formatAlert(alert) : formatSourceAlert(name, alert);
      alerts.push(line);
      if (alerts.length > 50) alerts.splice(0, alerts.length - 50);
      if (mode === 'plain') io.stdout.write(`${line}\n`);
    },
  });
  /** The insecure-TLS warning, for each source with `tls.insecure` (of `only`, when given). */
  function warnInsecure(c: FleetConfig, only?: readonly string[]): void {
    for (const s of c.sources) {
      if (!insecureTls(s) || (only !== undefined && !only.includes(s.name))) continue;
      const what = single ? '--tls-insecure' : `[${s.name}] tls.insecure`;
      io.stderr.write(`replag: ${what}: the server's certificate is not verified; anyone in the path can read and alter the replication figures\n`);
    }
  }
  /** After each poll of `name`, successful or not: its line (plain) or the whole table. */
  function polled(name: string): void {
    if (mode === 'plain') {
      const s = supervisor?.sources().find((x) => x.config.name === name);
      if (s !== undefined) io.stdout.write(`${new Date().toISOString()} ${single ? summary(s.monitor.getStats(), provisionalCount(s.monitor.getAllStatuses().values())) : sourceLine(s)}\n`);
    } else draw();
  }

  try {
    await built.apply(config.sources);
  } catch (error) {
    await telemetry.shutdown();
    if (!(error instanceof SourceSetupError)) throw error;
    problems(`cannot set up ${error.problems.length === 1 ? 'the source' : 'the sources'}; nothing started`, error, namesOf(config));
    return 2;
  }
  supervisor = built;
  // Listening for SIGTERM/SIGINT before saying it runs: whoever waits for "watching" to signal it is then heard.
  const stopped = untilStopped(run.durationSeconds);
  io.stderr.write(`${otlpStartupLine(telemetry.otlp, single ? '--otlp-endpoint' : 'export.otlp.endpoint')}\n`);
  if (telemetry.prometheusUrl) io.stderr.write(`replag: serving Prometheus metrics at ${telemetry.prometheusUrl}\n`);
  if (telemetry.httpUrl) io.stderr.write(`replag: serving /status, /check, /healthz, /readyz and the status page at ${telemetry.httpUrl}/\n`);
  for (const c of config.sources) io.stderr.write(`replag: ${single ? '' : `[${c.name}] `}watching ${describeConfiguredSource(c)}, polling every ${c.intervalMs} ms\n`);
  warnInsecure(config);

  let running = config;
  const reload = async (next: () => Promise<FleetConfig>, file: string) => {
    let loaded: FleetConfig;
    try {
      loaded = await next();
      const result = await built.apply(loaded.sources);
      const changes = [...result.started.map((n) => `started ${n}`), ...result.stopped.map((n) => `stopped ${n}`), ...result.restarted.map((n) => `restarted ${n}`)];
      for (const n of [...result.stopped, ...result.restarted]) failures.delete(n);
      io.stderr.write(`replag: reloaded ${file}: ${changes.length > 0 ? changes.join(', ') : 'no source changed'}\n`);
      const settings = (c: FleetConfig) => JSON.stringify([c.serviceName, c.prometheus, c.otlp, c.http, c.exportIntervalMs]);
      if (settings(loaded) !== settings(running)) io.stderr.write('replag: service and export settings changed: they take effect at the next start\n');
      warnInsecure(loaded, result.started.concat(result.restarted));
      running = { ...running, sources: loaded.sources };
    } catch (error) {
      const lines = (error as { lines?: () => string[] }).lines?.() ?? (error instanceof SourceSetupError ? error.problems.map((p) => formatProblem(p, file, namesOf(running))) : [(error as Error).message]);
      const count = lines.length === 1 ? '' : ` (${lines.length} problems)`;
      io.stderr.write(`${lines.map((l) => `${l}\n`).join('')}replag: reload of ${file} failed${count}; keeping the running configuration\n`);
    }
  };
  let reloading: Promise<void> = Promise.resolve();
  const onHangup = () => {
    if (view.mode === 'file') reloading = reloading.then(() => reload(view.reload, view.file));
  };
  if (view.mode === 'file') {
    process.on('SIGHUP', onHangup);
    if (hungUpEarly()) onHangup();
  }

  const exitCode = await stopped;
  statusView.markStopping();
  process.off('SIGHUP', onHangup);
  await reloading;
  const last = built.sources();
  // Every source's polling, the final flush (with every source's last figures), then the connections, all within
  // --shutdown-timeout.
  await stopWithin({ timeoutMs: run.shutdownTimeoutMs, poller: { stop: () => built.stopPolling() }, source: { close: () => built.stop() }, telemetry, stderr: io.stderr });
  for (const s of last) io.stderr.write(`replag: stopped; ${single ? summary(s.monitor.getStats(), provisionalCount(s.monitor.getAllStatuses().values())) : sourceLine(s)}\n`);
  return exitCode;
}
