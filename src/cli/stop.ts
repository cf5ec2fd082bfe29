/**
 * replag's stop after SIGTERM/SIGINT (or --duration): the poller, the final telemetry flush and the source's
 * connections, all within `--shutdown-timeout`; a further SIGTERM/SIGINT meanwhile exits at once.
 */
import type { Telemetry } from '../sdk/index.ts';
import type { Poller } from '../sources/poller.ts';
import type { ReplicationSource } from '../sources/source.ts';

/** What stopWithin stops. */
export interface StopOptions {
  timeoutMs: number;
  poller: Pick<Poller, 'stop'>;
  source: Pick<ReplicationSource, 'close'>;
  telemetry: Pick<Telemetry, 'shutdown'>;
  stderr: NodeJS.WritableStream;
}

/** Resolves with exit status 0 at the first SIGINT/SIGTERM, or after `durationSeconds` when > 0. */
export function untilStopped(durationSeconds: number): Promise<number> {
  return new Promise<number>((resolve) => {
    const finish = (code: number) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (timer !== undefined) clearTimeout(timer);
      resolve(code);
    };
    const onSignal = () => finish(0);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const timer = durationSeconds > 0 ? setTimeout(() => finish(0), durationSeconds * 1000) : undefined;
  });
}

/** Time the telemetry shutdown may take past its bound to answer what it aborted (see bounded-shutdown.ts). */
const SHUTDOWN_GRACE_MS = 300;

/** Resolves when `p` settles or after `ms`, whichever comes first; the timer is cleared. */
export async function within(p: Promise<unknown> | undefined, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.resolve(p).catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))))]);
  clearTimeout(timer);
}

/** Exit status for a second signal: 128 + the signal number, as a shell reports a process killed by it. */
const SIGNAL_STATUS: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Stops the poller (waiting at most a quarter of the bound, ≤ 1 s, for a poll in flight), shuts telemetry down with
 * what is left of the bound, then closes the source's connections. A second SIGTERM/SIGINT exits at once with 130/143.
 */
export async function stopWithin(options: StopOptions): Promise<void> {
  const started = Date.now();
  const left = () => options.timeoutMs - (Date.now() - started);
  const again = (signal: NodeJS.Signals) => {
    options.stderr.write(`replag: ${signal} again: exiting now, without waiting for the final export\n`);
    process.exit(SIGNAL_STATUS[signal] ?? 1);
  };
  process.on('SIGINT', again);
  process.on('SIGTERM', again);
  try {
    await within(options.poller.stop(), Math.min(1000, options.timeoutMs / 4));
    await options.telemetry.shutdown({ timeoutMillis: Math.max(100, left() - SHUTDOWN_GRACE_MS) });
    let closing: Promise<void> | undefined;
    try {
      closing = options.source.close?.();
    } catch (error) {
      closing = Promise.reject(error);
    }
    closing?.catch((error: unknown) => options.stderr.write(`replag: closing the source failed: ${(error as Error).message}\n`));
    await within(closing, Math.max(0, left()));
  } finally {
    process.off('SIGINT', again);
    process.off('SIGTERM', again);
  }
}
