/** Feeds a source's positions into a monitor on an interval. */
import type { ReplicationLagMonitor } from '../monitor.ts';
import type { ReplicaPosition, ReplicationSource } from './source.ts';

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

/** What a poller knows of its source's health (exported as `replication.source.up`). */
export interface SourceHealth {
  /** The source's name (`ReplicationSource.name`, e.g. `postgresql`). */
  readonly source: string;
  /** true when the last poll succeeded, false when it failed, undefined until the first poll ends. */
  readonly up: boolean | undefined;
  /** Failed polls since the last successful one. */
  readonly consecutiveFailures: number;
  /** `Date.now()` at the end of the last successful poll; undefined until one succeeds. */
  readonly lastSuccessAt: number | undefined;
  /** The source's `replicaReadability()` after the last successful poll, for sources that have it. */
  readonly replicasReadable?: ReadonlyMap<string, boolean>;
  /** The last poll's error message while it failed (sources keep credentials out of it); undefined after a success. */
  readonly lastError?: string;
  /** `Date.now()` at the end of the last poll, successful or not; undefined until the first poll ends. */
  readonly lastPollAt?: number;
  /** `Date.now()` when the poll in flight started; undefined between polls (how long a poll has been running). */
  readonly pollingSince?: number;
}

/** A running poller. */
export interface Poller {
  /** Polls once now (also what the timer does). Never rejects: errors go to `onError`. */
  pollOnce(): Promise<void>;
  /** Stops the timer and waits for a poll in flight. */
  stop(): Promise<void>;
  /**
   * The source's health after the last poll that ended. A failed poll changes no status: the monitor keeps the
   * last positions read, so `up: false` means those figures are stale. A poll that read the leader but not every
   * replica (a source's `onReplicaError`) counts as successful.
   */
  health(): SourceHealth;
  /** Milliseconds between the end of one poll and the start of the next. */
  readonly intervalMs: number;
}

/** Starts polling `source` into `monitor`: one poll at a time, never overlapping. */
export function startPoller(options: PollerOptions): Poller {
  const { source, monitor } = options;
  const intervalMs = options.intervalMs ?? 1000;
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new RangeError(`PollerOptions.intervalMs must be a number > 0, got ${intervalMs}`);
  const forgetMissing = options.forgetMissing ?? true;
  /** Node ids of the last successful poll, with the attributes they were registered with. */
  let known = new Map<string, ReplicaPosition['attributes']>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  let health: SourceHealth = { source: source.name, up: undefined, consecutiveFailures: 0, lastSuccessAt: undefined };

  /** Hands an error to `onError`; a throwing `onError` must not break polling (nor reject `pollOnce`). */
  const report = (error: unknown) => {
    try {
      options.onError?.(error instanceof Error ? error : new Error(String(error)));
    } catch {
      // Nowhere left to report it.
    }
  };
  const failed = (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    health = { ...health, up: false, consecutiveFailures: health.consecutiveFailures + 1, lastError: message, lastPollAt: Date.now(), pollingSince: undefined };
    report(error);
  };

  /** `replicasReadable` for the health, when the source has `replicaReadability()`; a throwing one is reported. */
  const readability = (): { replicasReadable?: ReadonlyMap<string, boolean> } => {
    if (typeof source.replicaReadability !== 'function') return {};
    try {
      return { replicasReadable: new Map(source.replicaReadability()) };
    } catch (error) {
      report(error);
      return {};
    }
  };

  const pollOnce = (): Promise<void> => {
    inFlight = inFlight.then(async () => {
      health = { ...health, pollingSince: Date.now() };
      let replicas: readonly ReplicaPosition[];
      try {
        replicas = await source.poll();
      } catch (error) {
        failed(error);
        return;
      }
      if (!Array.isArray(replicas)) {
        failed(new TypeError(`${source.name}: poll() must resolve to an array of replica positions, got ${replicas === null ? 'null' : typeof replicas}`));
        return;
      }
      const seen = new Map<string, ReplicaPosition['attributes']>();
      for (const r of replicas) {
        try {
          // (Re-)register when the node is new or its attributes changed (e.g. a logical slot's consumer left).
          const before = known.get(r.nodeId);
          seen.set(r.nodeId, r.attributes ?? before);
          if (r.attributes !== undefined && (!known.has(r.nodeId) || !sameAttributes(before, r.attributes))) monitor.registerNode(r.nodeId, r.attributes);
          monitor.updateLag(r.nodeId, r.leaderSeq, r.followerSeq, {
            lagSeconds: r.lagSeconds,
            reportedDelaySeconds: r.reportedDelaySeconds,
            heartbeatDelaySeconds: r.heartbeatDelaySeconds,
            ...(r.retention !== undefined ? { retention: r.retention } : {}),
            ...(r.apply !== undefined ? { apply: r.apply } : {}),
          });
        } catch (error) {
          // One bad replica must not hide the others.
          report(error);
        }
      }
      if (forgetMissing) for (const id of known.keys()) if (!seen.has(id)) monitor.unregisterNode(id);
      known = seen;
      const now = Date.now();
      health = { source: source.name, up: true, consecutiveFailures: 0, lastSuccessAt: now, lastPollAt: now, ...readability() };
      try {
        options.onPoll?.(replicas.length);
      } catch (error) {
        report(error);
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
    health: () => health,
    intervalMs,
  };
}

function sameAttributes(a: ReplicaPosition['attributes'], b: ReplicaPosition['attributes']): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}
