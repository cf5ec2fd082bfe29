/**
 * Workload 6 — sidecar overhead. `replag` watching its simulated source of 1,000 replicas, polling every 1 s
 * for 60 s, `--output quiet`, no OTLP endpoint (OTEL_* variables removed from its environment).
 * CPU = utime + stime of the child (read from /proc while it runs, and in total from this process's
 * cutime/cstime once it is reaped); peak RSS = VmHWM. The steady-state CPU share leaves out the first seconds
 * (module loading, SDK set-up), which the whole-run figure includes.
 *
 * `replag` runs as shipped: plain JavaScript compiled from the current src/ by tsc (bench/tsconfig.sidecar.json,
 * into bench/.build, so dist/ is never touched and never stale). It is also run straight from src/*.ts, as
 * information: Node's type stripping alone adds ~17 MiB of RSS. The baseline runs the original monitor on the
 * same source and interval, without OpenTelemetry, compiled the same way.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { runNode } from '../lib/child.ts';
import { round } from '../lib/stats.ts';
import { row, type WorkloadOptions, type WorkloadResult } from '../lib/types.ts';

const REPLAG_TS = fileURLToPath(new URL('../../src/cli/replag.ts', import.meta.url));
const TSCONFIG = fileURLToPath(new URL('../tsconfig.sidecar.json', import.meta.url));
const BUILD = fileURLToPath(new URL('../.build/', import.meta.url));
const REPLAG_JS = `${BUILD}src/cli/replag.js`;
const BASELINE_JS = `${BUILD}bench/baseline/sidecar.js`;
const GOAL_CPU_PERCENT = 2;
const GOAL_RSS_MIB = 120;

/** Compiles src/ and the baseline sidecar to JavaScript in bench/.build (about 2 s). */
function compile(log: (line: string) => void): void {
  rmSync(BUILD, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', TSCONFIG], { encoding: 'utf8', timeout: 120_000 });
  } catch (error) {
    // tsc still emits on type errors (e.g. a file being edited); go on when the entry points exist.
    log(`sidecar: tsc reported errors: ${String((error as { stdout?: string }).stdout ?? error).slice(0, 500)}`);
  }
  for (const file of [REPLAG_JS, BASELINE_JS]) if (!existsSync(file)) throw new Error(`sidecar: ${file} was not built`);
}

function clockTicks(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

/** utime + stime (ticks) of a process, from /proc/<pid>/stat; undefined once it is gone. */
function cpuTicks(pid: number | 'self', children = false): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from #3 (state) on
    const at = (n: number) => Number(fields[n - 3]);
    return children ? at(16) + at(17) : at(14) + at(15);
  } catch {
    return undefined;
  }
}

/** VmHWM (peak RSS) in KiB, from /proc/<pid>/status; undefined once it is gone. */
function peakRssKiB(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

interface SidecarMeasure {
  wallSeconds: number;
  cpuSecondsTotal: number;
  cpuPercentTotal: number;
  cpuPercentSteady: number;
  steadyWindowSeconds: number;
  peakRssMiB: number;
  exitCode: number | null;
}

async function measure(args: string[], durationS: number, steadyFromS: number, ticks: number): Promise<SidecarMeasure> {
  const childrenBefore = cpuTicks('self', true) ?? 0;
  const t0 = performance.now();
  let pid = 0;
  let hwm = 0;
  let steadyStart: { t: number; cpu: number } | undefined;
  let last: { t: number; cpu: number } | undefined;
  let sampler: NodeJS.Timeout | undefined;
  const onSpawn = (child: ChildProcess) => {
    pid = child.pid ?? 0;
    sampler = setInterval(() => {
      const cpu = cpuTicks(pid);
      const rss = peakRssKiB(pid);
      const t = (performance.now() - t0) / 1000;
      if (rss !== undefined && rss > hwm) hwm = rss;
      if (cpu === undefined) return;
      if (steadyStart === undefined && t >= steadyFromS) steadyStart = { t, cpu };
      if (t <= durationS) last = { t, cpu }; // stop before the final flush and exit
    }, 250);
  };
  const result = await runNode(args, { timeoutMs: (durationS + 60) * 1000, onSpawn });
  if (sampler !== undefined) clearInterval(sampler);
  const wallSeconds = (performance.now() - t0) / 1000;
  if (result.code !== 0) throw new Error(`${args.join(' ')} exited with ${result.code ?? result.signal}\n${result.stderr.slice(-2000)}`);
  const cpuSecondsTotal = ((cpuTicks('self', true) ?? 0) - childrenBefore) / ticks;
  const steadyWindowSeconds = steadyStart !== undefined && last !== undefined ? last.t - steadyStart.t : 0;
  const cpuPercentSteady =
    steadyStart !== undefined && last !== undefined && steadyWindowSeconds > 0 ? (100 * (last.cpu - steadyStart.cpu)) / ticks / steadyWindowSeconds : Number.NaN;
  return {
    wallSeconds: round(wallSeconds),
    cpuSecondsTotal: round(cpuSecondsTotal),
    cpuPercentTotal: round((100 * cpuSecondsTotal) / wallSeconds),
    cpuPercentSteady: round(cpuPercentSteady),
    steadyWindowSeconds: round(steadyWindowSeconds),
    peakRssMiB: round(hwm / 1024),
    exitCode: result.code,
  };
}

export async function sidecar(options: WorkloadOptions): Promise<WorkloadResult> {
  const started = performance.now();
  const nodes = options.quick ? 100 : 1000;
  const durationS = options.quick ? 4 : 60;
  const steadyFromS = options.quick ? 2 : 10;
  const ticks = clockTicks();
  const common = ['--nodes', String(nodes), '--interval', '1000', '--duration', String(durationS)];
  compile(options.log);
  const ours = await measure([REPLAG_JS, ...common, '--output', 'quiet'], durationS, steadyFromS, ticks);
  options.log(`sidecar replag (compiled JS): ${JSON.stringify(ours)}`);
  const base = await measure([BASELINE_JS, ...common], durationS, steadyFromS, ticks);
  options.log(`sidecar baseline (compiled JS): ${JSON.stringify(base)}`);
  const fromTs = await measure([REPLAG_TS, ...common, '--output', 'quiet'], durationS, steadyFromS, ticks);
  options.log(`sidecar replag (from src/*.ts): ${JSON.stringify(fromTs)}`);
  const cpuMet = ours.cpuPercentSteady <= GOAL_CPU_PERCENT;
  const rssMet = ours.peakRssMiB <= GOAL_RSS_MIB;
  return {
    name: 'sidecar',
    title: 'Sidecar overhead',
    goal: `replag with ${nodes} simulated replicas at a 1 s interval: ≤ ${GOAL_CPU_PERCENT} % of one core, ≤ ${GOAL_RSS_MIB} MiB RSS`,
    met: cpuMet && rssMet,
    rows: [
      row({
        metric: `% of one core, steady state (${nodes} replicas, 1 s)`,
        ours: ours.cpuPercentSteady,
        baseline: base.cpuPercentSteady,
        unit: '%',
        goal: `≤ ${GOAL_CPU_PERCENT} %`,
        met: cpuMet,
      }),
      row({ metric: `% of one core, whole run incl. start-up (${durationS} s)`, ours: ours.cpuPercentTotal, baseline: base.cpuPercentTotal, unit: '%' }),
      row({ metric: 'CPU seconds, whole run', ours: ours.cpuSecondsTotal, baseline: base.cpuSecondsTotal, unit: 's' }),
      row({ metric: 'peak RSS', ours: ours.peakRssMiB, baseline: base.peakRssMiB, unit: 'MiB', goal: `≤ ${GOAL_RSS_MIB} MiB`, met: rssMet }),
      row({ metric: 'peak RSS, run from src/*.ts (type stripping)', ours: fromTs.peakRssMiB, unit: 'MiB' }),
      row({ metric: '% of one core, steady state, run from src/*.ts', ours: fromTs.cpuPercentSteady, unit: '%' }),
    ],
    details: {
      nodes,
      intervalMs: 1000,
      durationSeconds: durationS,
      steadyFromSeconds: steadyFromS,
      clockTicksPerSecond: ticks,
      command: `node bench/.build/src/cli/replag.js ${common.join(' ')} --output quiet`,
      ours,
      baseline: base,
      oursFromTypeScriptSource: fromTs,
    },
    durationSeconds: round((performance.now() - started) / 1000, 3),
  };
}
