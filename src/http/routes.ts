/** The endpoints' routing: a pure function from method and URL to an answer, given what the process runs. */
import { json, type HttpAnswer } from './answer.ts';
import { checkAnswer } from './check.ts';
import { healthAnswer, readyAnswer } from './health.ts';
import { historyAnswer } from './history.ts';
import { pageAnswer } from './page.ts';
import { statusAnswer } from './status.ts';
import type { StatusView } from './view.ts';

/** The paths served (besides the Prometheus endpoint when shared). */
export const STATUS_PATHS = ['/', '/status', '/check', '/healthz', '/readyz', '/history'] as const;

/**
 * The answer to `method` `url` at `now` (ms, `Date.now()` clock); undefined for a path that is not one of ours.
 * Read-only: GET and HEAD only (HEAD: the same status and headers; the caller sends no body).
 */
export function route(view: StatusView, method: string, url: string, now: number): HttpAnswer | undefined {
  const parsed = new URL(url, 'http://localhost');
  const path = parsed.pathname;
  if (!(STATUS_PATHS as readonly string[]).includes(path)) return undefined;
  if (method !== 'GET' && method !== 'HEAD') return json(405, { error: `${method} not allowed: these endpoints are read-only (GET, HEAD)` }, { allow: 'GET, HEAD' });
  const query = parsed.searchParams;
  switch (path) {
    case '/':
      return pageAnswer();
    case '/status':
      return statusAnswer(view, query, now);
    case '/check':
      return checkAnswer(view, query, now);
    case '/healthz':
      return healthAnswer(view, now);
    case '/readyz':
      return readyAnswer(view, now);
    default:
      return historyAnswer(view, query);
  }
}
