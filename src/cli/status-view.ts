/**
 * What replag's status endpoints read (see src/http): the supervisor's running sources, and whether the process is
 * stopping. No state beyond the stopping flag. Errors are shown as the sources wrote them: their messages are built
 * without secrets (src/sources/kit/messages.ts), so nothing is searched and replaced here.
 */
import { DEFAULT_POLL_TIMEOUT_MS, type StatusSource, type StatusView } from '../http/index.ts';
import type { SupervisedSource } from './supervisor.ts';

/** A view whose stopping flag the caller sets at SIGTERM/SIGINT. */
export interface ReplagView extends StatusView {
  /** From now on `/readyz` answers 503 (stopping). */
  markStopping(): void;
}

/** Every running source of the supervisor (none yet while `supervisor()` is undefined); flags mode's one too. */
export function fleetView(supervisor: () => { sources(): SupervisedSource[] } | undefined): ReplagView {
  let stopping = false;
  return {
    sources: () =>
      (supervisor()?.sources() ?? []).map((s): StatusSource => ({
        name: s.config.name,
        type: s.config.type,
        monitor: s.monitor,
        poller: s.poller,
        timeoutMs: s.config.timeoutMs ?? DEFAULT_POLL_TIMEOUT_MS,
      })),
    starting: () => supervisor() === undefined,
    stopping: () => stopping,
    markStopping: () => void (stopping = true),
  };
}
