/**
 * Runs `replag` as a subprocess (`--output plain`) and notes when its first poll's summary line arrives, so that a
 * test can compare that poll's figures with the truth at that moment.
 */
import { spawn } from 'node:child_process';
import { REPO_ROOT } from './run-node.ts';

/** What the first poll printed, and `performance.now()` when its summary line arrived. */
export interface FirstPoll {
  readonly line: string;
  readonly at: number;
  /** Everything printed until the process ended. */
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
}

/** `replag <args> --output plain --duration <s>`; rejects when no summary line comes or after `timeoutMs`. */
export function replagFirstPoll(args: readonly string[], options: { env?: Record<string, string>; durationSeconds?: number; timeoutMs?: number } = {}): Promise<FirstPoll> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('OTEL_') && k !== 'NODE_TEST_CONTEXT') env[k] = v;
  Object.assign(env, options.env);
  const argv = ['src/cli/replag.ts', ...args, '--output', 'plain', '--duration', String(options.durationSeconds ?? 2)];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let first: { line: string; at: number } | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (first === undefined) {
        const line = stdout.split('\n').find((l) => / nodes=\d+ normal=\d+ /.test(l));
        if (line !== undefined) first = { line, at: performance.now() };
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`replag did not finish within ${options.timeoutMs ?? 30_000} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (first === undefined) reject(new Error(`replag printed no summary line (exit ${code})\nstdout:\n${stdout}\nstderr:\n${stderr}`));
      else resolve({ ...first, stdout, stderr, code });
    });
  });
}
