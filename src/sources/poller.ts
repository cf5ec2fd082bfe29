/** Feeds a source's positions into a monitor on an interval. */
import type { ReplicationLagMonitor } from '../monitor.ts';
import type { ReplicationSource } from './source.ts';

/** Options of `startPoller`. */
export interface PollerOptions {
  source: ReplicationSource;
  monitor: ReplicationLagMonitor;
  /** Milliseconds between the end of one poll and the start of the next. Default 1000. */
  intervalMs?: number;
  /** Unregister nodes that a successful poll no longer reports. Default true. */
  forgetMissing?: boolean;
  /** Called with each failed poll's error (message only, never credentials). Default: ignored. */
  onError?: (error: Error) => void;
  /** Called after each successful poll with the number of replicas read. */
  onPoll?: (replicas: number) => void;
}

/** A running poller. */
export interface Poller {
  /** Polls once now (also what the timer does). Never rejects: errors go to `onError`. */
  pollOnce(): Promise<void>;
  /** Stops the timer and waits for a poll in flight. */
  stop(): Promise<void>;
}

/** Starts polling `source` into `monitor`: one poll at a time, never overlapping. */
export function startPoller(options: PollerOptions): Poller {
  const { source, monitor } = options;
  const intervalMs = options.intervalMs ?? 1000;
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new RangeError(`PollerOptions.intervalMs must be a number > 0, got ${intervalMs}`);
  const forgetMissing = options.forgetMissing ?? true;
  let known = new Set<string>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();

  const pollOnce = (): Promise<void> => {
    inFlight = inFlight.then(async () => {
      try {
        const replicas = await source.poll();
        const seen = new Set<string>();
        for (const r of replicas) {
          seen.add(r.nodeId);
          try {
            if (r.attributes !== undefined && !known.has(r.nodeId)) monitor.registerNode(r.nodeId, r.attributes);
            monitor.updateLag(r.nodeId, r.leaderSeq, r.followerSeq, r.lagSeconds);
          } catch (error) {
            // One bad replica must not hide the others.
            options.onError?.(error instanceof Error ? error : new Error(String(error)));
          }
        }
        if (forgetMissing) for (const id of known) if (!seen.has(id)) monitor.unregisterNode(id);
        known = seen;
        options.onPoll?.(replicas.length);
      } catch (error) {
        options.onError?.(error instanceof Error ? error : new Error(String(error)));
      }
    });
    return inFlight;
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void pollOnce().then(schedule), intervalMs);
  };
  void pollOnce().then(schedule);

  return {
    pollOnce,
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await inFlight;
    },
  };
}
