/**
 * What the HTTP endpoints read: the running sources, each with its monitor and poller. The endpoints hold no state
 * of their own; every answer is computed from these at request time (the same statuses the instrumentation reads).
 */
import type { ReplicationLagMonitor } from '../monitor.ts';
import type { Poller, SourceHealth } from '../sources/poller.ts';

/** One source as the endpoints see it. */
export interface StatusSource {
  /** Unique name (`replag --config`: the configured name; flags mode: the source's type). */
  readonly name: string;
  /** The source's type (`postgres`, `redis`, `demo`, …). */
  readonly type: string;
  readonly monitor: Pick<ReplicationLagMonitor, 'getAllStatuses' | 'getStatus' | 'config'>;
  /** The poller feeding the monitor; undefined for a monitor fed directly (always up and ready). */
  readonly poller?: Pick<Poller, 'health' | 'intervalMs'>;
  /** The source's own bound on one poll (ms): a poll running past it plus an interval is a wedged loop. */
  readonly timeoutMs: number;
}

/** The process as the endpoints see it. */
export interface StatusView {
  /** The running sources, in configuration order. */
  sources(): readonly StatusSource[];
  /** true while the sources are not started yet (the process is starting). Default false. */
  starting?(): boolean;
  /** true from SIGTERM/SIGINT until exit. Default false. */
  stopping?(): boolean;
}

/** Default bound on a poll, ms: the built-in sources' default `timeoutMs`. */
export const DEFAULT_POLL_TIMEOUT_MS = 5000;

/** A source's poll state at `now` (ms). */
export interface PollState {
  /** The last poll succeeded. */
  readonly up: boolean;
  /** A first poll has ended (successfully or not). */
  readonly polled: boolean;
  readonly lastError: string | undefined;
  readonly lastPollAt: number | undefined;
  /** Milliseconds the poll in flight has run past its deadline plus an interval; undefined when not wedged. */
  readonly wedgedForMs: number | undefined;
  readonly intervalMs: number | undefined;
}

/** `source`'s poll state at `now`; a source without a poller is always up. */
export function pollState(source: StatusSource, now: number): PollState {
  const poller = source.poller;
  if (poller === undefined) return { up: true, polled: true, lastError: undefined, lastPollAt: undefined, wedgedForMs: undefined, intervalMs: undefined };
  const health: SourceHealth = poller.health();
  const limit = source.timeoutMs + poller.intervalMs;
  const running = health.pollingSince === undefined ? 0 : now - health.pollingSince;
  return {
    up: health.up === true,
    polled: health.up !== undefined,
    lastError: health.up === false && health.lastError !== undefined ? health.lastError : undefined,
    lastPollAt: health.lastPollAt,
    wedgedForMs: running > limit ? running - limit : undefined,
    intervalMs: poller.intervalMs,
  };
}
