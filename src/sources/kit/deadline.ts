/**
 * The one deadline every source uses: work gets an `AbortSignal` that aborts when its time is up (or when the
 * caller's own signal aborts, e.g. at close), and the caller gets a rejection at that moment, whether or not the
 * work notices. Whatever the work holds (a socket, a request) is released on the signal's `abort` event.
 */

/** The rejection of `withDeadline` when the time is up: names what did not answer and within how long. */
export class DeadlineError extends Error {
  override readonly name = 'DeadlineError';
  /** Node's code for a timed-out operation, so that code-based explanations recognise it. */
  readonly code = 'ETIMEDOUT';
  /** What did not answer, e.g. `PostgreSQL primary postgres://db:5432/postgres`. */
  readonly what: string;
  readonly timeoutMs: number;
  constructor(what: string, timeoutMs: number) {
    super(`${what}: no answer within ${timeoutMs} ms`);
    this.what = what;
    this.timeoutMs = timeoutMs;
  }
}

/** Options of `withDeadline`. */
export interface DeadlineOptions {
  /** How long the work may take, ms (≥ 1; smaller values count as 1). */
  readonly timeoutMs: number;
  /** What is waited for, safe to print (no secret): the `DeadlineError` names it. */
  readonly what: string;
  /** Aborts the work early (e.g. the source is closing): the rejection is then this signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * Runs `work` with a signal that aborts after `timeoutMs` (reason: a `DeadlineError`) or when `options.signal`
 * aborts (its reason). Resolves or rejects as the work does when it settles first; otherwise rejects with the
 * abort reason at once, and the work's late outcome is ignored (never an unhandled rejection).
 */
export async function withDeadline<T>(work: (signal: AbortSignal) => Promise<T>, options: DeadlineOptions): Promise<T> {
  const { timeoutMs, what, signal: outer } = options;
  const controller = new AbortController();
  if (outer?.aborted) throw reasonOf(outer);
  const onOuterAbort = () => controller.abort(reasonOf(outer!));
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  const timer = setTimeout(() => controller.abort(new DeadlineError(what, timeoutMs)), Math.max(1, timeoutMs));
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(reasonOf(controller.signal)), { once: true });
  });
  aborted.catch(() => {});
  let running: Promise<T>;
  try {
    running = Promise.resolve(work(controller.signal));
  } catch (error) {
    running = Promise.reject(error);
  }
  running.catch(() => {}); // settles after the deadline when nobody waits any more
  try {
    return await Promise.race([running, aborted]);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuterAbort);
  }
}

/**
 * Whether `promise` settles within `waitMs` (true) or not (false). Never rejects and never cancels: the promise
 * goes on (what `DeadlineReader` needs, which keeps a late answer for the next poll).
 */
export async function settlesWithin(promise: Promise<unknown>, waitMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), waitMs)));
  try {
    return await Promise.race([promise.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

function reasonOf(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error(String(reason ?? 'aborted'));
}
