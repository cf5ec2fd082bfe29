/** Child processes of the benchmarks: the tests' bounded runner (clean OTEL_* environment), and reading a child's JSON report. */
import type { RunResult } from '../../test/helpers/run-node.ts';

export { runNode, type RunResult } from '../../test/helpers/run-node.ts';

/** The last line of stdout parsed as JSON; throws with the child's stderr when it failed. */
export function lastJsonLine<T>(what: string, result: RunResult): T {
  if (result.code !== 0) throw new Error(`${what} exited with ${result.code ?? result.signal}\n${result.stderr.slice(-2000)}`);
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}
