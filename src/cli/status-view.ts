/**
 * What replag's status endpoints read (see src/http): the supervisor's running sources (`--config`) or the one
 * poller of flags mode, and whether the process is stopping. No state beyond the stopping flag.
 */
import type { ReplicationLagMonitor } from '../monitor.ts';
import type { Poller } from '../sources/poller.ts';
import { DEFAULT_POLL_TIMEOUT_MS, type StatusSource, type StatusView } from '../http/index.ts';
import type { FleetSourceConfig, FleetSourceOptions } from './config.ts';
import type { SupervisedSource } from './supervisor.ts';

/** A view whose stopping flag the caller sets at SIGTERM/SIGINT. */
export interface ReplagView extends StatusView {
  /** From now on `/readyz` answers 503 (stopping). */
  markStopping(): void;
}

/** The strings of `options` that are secrets: passwords, and the password part of URLs. */
export function secretsOf(options: FleetSourceOptions): string[] {
  const out: string[] = [];
  const fromUrl = (text: string | undefined) => {
    if (text === undefined) return;
    try {
      const u = new URL(text);
      if (u.password !== '') out.push(u.password, decodeURIComponent(u.password));
    } catch {
      // Not a URL: nothing to take from it.
    }
  };
  const o = options as Record<string, unknown>;
  for (const key of ['password', 'sentinelPassword']) if (typeof o[key] === 'string') out.push(o[key] as string);
  for (const key of ['url', 'primary']) fromUrl(o[key] as string | undefined);
  for (const key of ['replicas', 'sentinels', 'subscribers', 'endpoints']) if (Array.isArray(o[key])) for (const u of o[key] as string[]) fromUrl(u);
  return out.filter((s) => s.length > 0);
}

function redactor(secrets: () => readonly string[]): (text: string) => string {
  return (text) => {
    let out = text;
    for (const s of secrets()) out = out.split(s).join('***');
    return out;
  };
}

/** `replag --config`: every running source of the supervisor (none yet while `supervisor()` is undefined). */
export function fleetView(supervisor: () => { sources(): SupervisedSource[] } | undefined): ReplagView {
  let stopping = false;
  const running = () => supervisor()?.sources() ?? [];
  return {
    sources: () =>
      running().map((s): StatusSource => ({
        name: s.config.name,
        type: s.config.options.type,
        monitor: s.monitor,
        poller: s.poller,
        timeoutMs: s.config.timeoutMs ?? DEFAULT_POLL_TIMEOUT_MS,
      })),
    starting: () => supervisor() === undefined,
    stopping: () => stopping,
    markStopping: () => void (stopping = true),
    redact: redactor(() => running().flatMap((s: { config: FleetSourceConfig }) => secretsOf(s.config.options))),
  };
}

/** Flags mode: one source named after its type. */
export function singleView(source: { type: string; timeoutMs: number | undefined; secrets: readonly string[] }): ReplagView & { setPoller(poller: Poller, monitor: ReplicationLagMonitor): void } {
  let stopping = false;
  let running: { poller: Poller; monitor: ReplicationLagMonitor } | undefined;
  return {
    sources: () => (running === undefined ? [] : [{ name: source.type, type: source.type, ...running, timeoutMs: source.timeoutMs ?? DEFAULT_POLL_TIMEOUT_MS }]),
    starting: () => running === undefined,
    stopping: () => stopping,
    markStopping: () => void (stopping = true),
    setPoller: (poller, monitor) => void (running = { poller, monitor }),
    redact: redactor(() => source.secrets),
  };
}
