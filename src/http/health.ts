/** `GET /healthz` (liveness: no poll loop wedged) and `GET /readyz` (readiness: every source read once, not stopping). */
import { json, type HttpAnswer } from './answer.ts';
import { pollState, type StatusView } from './view.ts';

/** 200 while every poll loop comes back within its deadline plus an interval; 503 naming the wedged ones. */
export function healthAnswer(view: StatusView, now: number): HttpAnswer {
  const wedged = [];
  for (const s of view.sources()) {
    const state = pollState(s, now);
    if (state.wedgedForMs === undefined) continue;
    const since = s.poller?.health().pollingSince ?? now;
    wedged.push({ name: s.name, pollRunningSeconds: Math.round((now - since) / 100) / 10, limitSeconds: (s.timeoutMs + (state.intervalMs ?? 0)) / 1000 });
  }
  if (wedged.length > 0) return json(503, { status: 'wedged', message: 'a poll has run past its deadline plus an interval', sources: wedged });
  return json(200, { status: 'ok' });
}

/** 503 until every source has ended its first poll (success or failure), 200 after, 503 again once stopping. */
export function readyAnswer(view: StatusView, now: number): HttpAnswer {
  if (view.stopping?.() === true) return json(503, { status: 'stopping' });
  if (view.starting?.() === true) return json(503, { status: 'starting', waiting: [] });
  const waiting = view.sources().filter((s) => !pollState(s, now).polled).map((s) => s.name);
  if (waiting.length > 0) return json(503, { status: 'starting', waiting });
  return json(200, { status: 'ready' });
}
