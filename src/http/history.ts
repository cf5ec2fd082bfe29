/**
 * `GET /history?source=NAME`: each node's recent delay, for the status page's small charts. Read from the history
 * the monitor already keeps (`ReplicationStatus.history`): nothing is stored for it.
 */
import { json, type HttpAnswer } from './answer.ts';
import { unknownSources } from './status.ts';
import type { StatusView } from './view.ts';

/** The window the charts show, seconds. */
export const HISTORY_WINDOW_SECONDS = 600;
/** Points per node at most (enough for a 120-pixel chart). */
export const HISTORY_POINTS = 60;

/**
 * Up to `points` [seconds before now, delay seconds] pairs, oldest first, of `history` within `windowSeconds` of
 * `now` (all in the monitor's clock, ms), evenly thinned; the newest sample is always kept.
 */
export function delayPoints(history: readonly { timestamp: number; lagSeconds: number }[], now: number, windowSeconds = HISTORY_WINDOW_SECONDS, points = HISTORY_POINTS): [number, number][] {
  const from = now - windowSeconds * 1000;
  let first = history.length;
  while (first > 0 && history[first - 1]!.timestamp >= from) first--;
  const n = history.length - first;
  const out: [number, number][] = [];
  if (n === 0) return out;
  const step = n <= points ? 1 : (n - 1) / (points - 1);
  for (let k = 0; k < Math.min(n, points); k++) {
    const s = history[first + Math.round(k * step)]!;
    out.push([Math.round((s.timestamp - now) / 100) / 10, Number.isFinite(s.lagSeconds) ? Math.round(s.lagSeconds * 1000) / 1000 : 0]);
  }
  return out;
}

/** `GET /history?source=NAME` (required): `{ source, windowSeconds, nodes: { id: [[t, delay], …] } }`. */
export function historyAnswer(view: StatusView, query: URLSearchParams): HttpAnswer {
  const name = query.get('source');
  const sources = view.sources();
  if (name === null) return json(400, { error: 'source is required: /history?source=NAME', sources: sources.map((s) => s.name) });
  const source = sources.find((s) => s.name === name);
  if (source === undefined) return unknownSources([name], sources);
  const now = source.monitor.config.now();
  const nodes: Record<string, [number, number][]> = {};
  for (const status of source.monitor.getAllStatuses().values()) nodes[status.nodeId] = delayPoints(status.history, now);
  return json(200, { source: name, windowSeconds: HISTORY_WINDOW_SECONDS, nodes });
}
