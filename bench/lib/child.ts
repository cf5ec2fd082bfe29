/** Runs a Node script as a child process, bounded in time, with a clean OTEL_* environment. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment without OTEL_* variables (no exporter is configured by accident). */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('OTEL_') && k !== 'NODE_TEST_CONTEXT') env[k] = v;
  return Object.assign(env, extra);
}

/** `node <args>` with this process's Node binary, from the repository root; SIGKILL and reject after `timeoutMs`. */
export function runNode(args: readonly string[], timeoutMs: number, onSpawn?: (child: ChildProcess) => void): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args], { cwd: REPO_ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${args.join(' ')} did not finish within ${timeoutMs} ms\nstderr:\n${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    onSpawn?.(child);
  });
}

/** The last line of stdout parsed as JSON; throws with the child's stderr when it failed. */
export function lastJsonLine<T>(what: string, result: ChildResult): T {
  if (result.code !== 0) throw new Error(`${what} exited with ${result.code ?? result.signal}\n${result.stderr.slice(-2000)}`);
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}
