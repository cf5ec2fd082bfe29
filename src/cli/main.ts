/**
 * `replag`: parses the command line and runs what it asks: help, version, `validate`, or a fleet of sources (from
 * `--config FILE`, or flags mode's fleet of one) through one supervisor (run.ts).
 */
import { PACKAGE_VERSION } from '../version.ts';
import { findSource } from '../sources/registry.ts';
import { parseCliArgs, type Invocation } from './args.ts';
import type { FleetConfig } from './fleet-config.ts';
import type { CliIo } from './io.ts';
import { ConfigError } from './problems.ts';
import { FLEET_USAGE, typeUsage, usage } from './usage.ts';

export type { CliIo } from './io.ts';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Runs `replag` with `argv` (no node/script). Resolves with the exit code: 0 ok, 1 runtime failure, 2 bad usage
 * or configuration (nothing started).
 */
export async function main(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }, env: Env = process.env): Promise<number> {
  let invocation: Invocation;
  try {
    invocation = parseCliArgs(argv, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // The usage follows a mistake on the command line, not one in the environment.
    const ofFlags = error.problems.some((p) => p.origin === undefined || !p.origin.startsWith('OTEL_'));
    io.stderr.write(`${error.lines().map((l) => `replag: ${l}\n`).join('')}${ofFlags ? `\n${usage()}` : ''}`);
    return 2;
  }
  if (invocation.command === 'help') {
    const descriptor = invocation.type === undefined ? undefined : findSource(invocation.type);
    io.stdout.write(invocation.config ? FLEET_USAGE : descriptor !== undefined ? typeUsage(descriptor) : usage());
    return 0;
  }
  if (invocation.command === 'version') {
    io.stdout.write(`${PACKAGE_VERSION}\n`);
    return 0;
  }

  // From here a file is read: a SIGHUP before its sources run (Node's default would end the process) is held, and
  // applied once they do.
  let earlyHangups = 0;
  const holdHangup = () => void earlyHangups++;
  if (invocation.mode === 'file' && invocation.command === 'run') process.on('SIGHUP', holdHangup);
  try {
    return await runInvocation(invocation, io, env, () => earlyHangups > 0);
  } finally {
    process.off('SIGHUP', holdHangup);
  }
}

async function runInvocation(invocation: Extract<Invocation, { mode: string }>, io: CliIo, env: Env, hungUpEarly: () => boolean): Promise<number> {
  let config: FleetConfig;
  let reload: (() => Promise<FleetConfig>) | undefined;
  if (invocation.mode === 'file') {
    // The YAML parser is loaded only for a file.
    const { loadFleetConfig } = await import('./config.ts');
    const { file } = invocation;
    reload = () => loadFleetConfig(file, env);
    try {
      config = await reload();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const lines = error.lines();
      io.stderr.write(`${lines.map((l) => `${l}\n`).join('')}replag: ${file} is not a valid configuration (${lines.length} ${lines.length === 1 ? 'problem' : 'problems'}); nothing started\n`);
      return 2;
    }
  } else config = invocation.config;

  if (invocation.command === 'validate') {
    const n = config.sources.length;
    const what = invocation.mode === 'file' ? invocation.file : `replag ${invocation.type}`;
    io.stdout.write(`${what}: valid (${n} ${n === 1 ? 'source' : 'sources'})\n`);
    return 0;
  }
  const { runFleet } = await import('./run.ts');
  const view = invocation.mode === 'file' ? { mode: 'file' as const, file: invocation.file, reload: reload! } : { mode: 'flags' as const };
  return runFleet({ config, run: invocation.run, env, view }, io, hungUpEarly);
}
