/** A bounded loop a harness runs in the background (writes, publishes) while a test watches, until `stop()`. */
import { setTimeout as sleep } from 'node:timers/promises';

/** How a background loop runs. */
export interface BackgroundLoopOptions {
  /** Pause after each step, ms. */
  readonly intervalMs: number;
  /** Steps at the most (the loop ends by itself after them). */
  readonly maxSteps: number;
  /** Runs once when the loop ends (stopped or out of steps), e.g. to close the step's connection. */
  readonly onEnd?: () => void;
}

/**
 * Calls `step(0)`, `step(1)`, … with `intervalMs` after each, until `stop()` or `maxSteps` steps. A step handles its
 * own errors (counting or retrying); one that throws ends the loop, and `stop()` rejects with it.
 * `stop()` resolves once the step in progress has finished.
 */
export function startBackgroundLoop(step: (i: number) => Promise<void>, options: BackgroundLoopOptions): { stop(): Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    try {
      for (let i = 0; i < options.maxSteps && !stopped; i++) {
        await step(i);
        await sleep(options.intervalMs);
      }
    } finally {
      options.onEnd?.();
    }
  })();
  loop.catch(() => undefined); // said by stop(), not as an unhandled rejection
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
