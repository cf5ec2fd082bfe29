/**
 * A shutdown that settles within its bound whatever the collector does: alert events (logs) are flushed first, so
 * that what the final metric export carries (loss counts included) is collected after them; each stage that
 * outlives its share of the bound is aborted (its requests ended, its waiting batches failed at once) and what could
 * not be sent is counted and said in one warning.
 * @internal
 */
import { diag } from '@opentelemetry/api';
import type { ExportFailureCause } from './export-health.ts';

/** Default bound of `Telemetry.shutdown()`: within Kubernetes' default 30 s grace period with room to spare. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MILLIS = 10_000;

/** How long an aborted stage may take to settle after its abort (it only answers callbacks then). */
const ABORT_GRACE_MILLIS = 250;

/** One pipeline (logs or metrics) as the shutdown drives it. */
export interface ShutdownStage {
  /** Flushes what is pending and stops (e.g. `loggerProvider.shutdown()`). */
  stop(): Promise<unknown>;
  /** Ends what is still in flight, so `stop()` settles at once. */
  abort(reason: string): void;
  /** Read after the stage: what it could not export and why, or undefined when everything went out. */
  loss(): string | undefined;
}

/** What one bounded shutdown did. */
export interface ShutdownReport {
  readonly elapsedMillis: number;
  /** Stages cut at their deadline. */
  readonly aborted: readonly ('logs' | 'metrics')[];
  /** One entry per thing not exported, e.g. "12 log records (connection refused (ECONNREFUSED))". */
  readonly notExported: readonly string[];
  /** The warning said through diag, if any. */
  readonly warning: string | undefined;
}

/** Options of `boundedShutdown`. */
export interface BoundedShutdownOptions {
  timeoutMillis: number;
  logs?: ShutdownStage;
  metrics?: ShutdownStage;
  /** Share of the bound the log flush may use before it is cut, so the final metric export keeps time. Default 0.5. */
  logShare?: number;
  /**
   * Extra loss notes read after both stages, e.g. records dropped from a full queue: each returns a phrase like
   * "40 alert events dropped from the full queue" or undefined. The place for loss accounting to add its counts.
   */
  lossNotes?: readonly (() => string | undefined)[];
  /** Where the warning goes; default diag.warn. */
  warn?: (message: string) => void;
}

/** Settles `p` or resolves false at `deadline` (epoch ms); the timer is cleared either way. */
async function settleBy(p: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Validates a shutdown timeout option. @throws RangeError naming `what`. */
export function checkShutdownTimeout(value: number, what = 'shutdownTimeoutMillis'): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new RangeError(`${what} must be a number of milliseconds > 0, got ${value}`);
  return value;
}

/**
 * Runs the log stage (cut at `logShare` of the bound), then the metric stage (cut at the bound), and says once what
 * was not exported. Settles within `timeoutMillis` plus a short grace for aborted stages to answer.
 */
export async function boundedShutdown(options: BoundedShutdownOptions): Promise<ShutdownReport> {
  const started = Date.now();
  const deadline = started + options.timeoutMillis;
  const share = options.logShare ?? 0.5;
  const aborted: ('logs' | 'metrics')[] = [];
  const run = async (name: 'logs' | 'metrics', stage: ShutdownStage | undefined, by: number) => {
    if (stage === undefined) return;
    let stopping: Promise<unknown>;
    try {
      stopping = stage.stop();
    } catch (error) {
      stopping = Promise.reject(error);
    }
    if (await settleBy(stopping, by)) return;
    aborted.push(name);
    stage.abort(`shutdown deadline of ${options.timeoutMillis} ms reached`);
    await settleBy(stopping, Date.now() + ABORT_GRACE_MILLIS);
  };
  await run('logs', options.logs, started + options.timeoutMillis * share);
  await run('metrics', options.metrics, deadline);

  const notExported: string[] = [];
  for (const note of [options.logs?.loss, options.metrics?.loss, ...(options.lossNotes ?? [])]) {
    try {
      const text = note?.();
      if (text) notExported.push(text);
    } catch {
      // A note that throws must not break the shutdown.
    }
  }
  const elapsedMillis = Date.now() - started;
  let warning: string | undefined;
  if (notExported.length > 0) {
    warning = `otel-replication-lag: shutdown after ${elapsedMillis} ms (bound ${options.timeoutMillis} ms) did not export: ${notExported.join('; ')}`;
    (options.warn ?? ((m: string) => diag.warn(m)))(warning);
  }
  return { elapsedMillis, aborted, notExported, warning };
}

/** "12 log records (alert events): connection refused (ECONNREFUSED)". */
export function describeLoss(what: string, cause: ExportFailureCause | undefined): string {
  return cause === undefined ? what : `${what}: ${cause.text}`;
}
