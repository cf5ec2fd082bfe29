/**
 * `GET|HEAD /check`: the freno-style throttle a batch job asks before each chunk. 200 when every selected node is
 * within the delay limit and its source is up; 429 with `Retry-After` when one is behind; 503 when a selected source
 * is down or not read yet. Query: `source=NAME` (repeatable; default every source), `maxDelay=5s` (ms, s, m, h) (default each
 * source's warning threshold), `node=ID` (repeatable; default every node).
 */
import type { ReplicationStatus } from '../types.ts';
import { json, type HttpAnswer } from './answer.ts';
import { unknownSources } from './status.ts';
import { pollState, type StatusSource, type StatusView } from './view.ts';

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;

/** `maxDelay` in seconds: `5s`, `500ms`, `2m` or a plain number of seconds; undefined when not a duration >= 0. */
export function parseMaxDelay(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (m === null) return undefined;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : m[2] === 'h' ? n * 3600 : n;
}

/** A node over the limit, as named in the 429 body. */
export interface OverLimitNode {
  source: string;
  id: string;
  severity: string;
  delaySeconds: number;
  maxDelaySeconds: number;
  /** Why it is over: the delay, a stalled follower, or a delay not known yet. */
  reason: 'delay' | 'stalled' | 'unknown delay';
  catchUpSeconds?: number;
}

/** Why `status` is over `maxDelay`, or undefined when within it. */
function overLimit(status: ReplicationStatus, maxDelay: number): OverLimitNode['reason'] | undefined {
  if (status.severity === 'stalled') return 'stalled';
  if (status.lagSeconds > maxDelay) return 'delay';
  // Behind with no measurement yet (no estimate, no heartbeat): the delay is only a lower bound; do not let a batch
  // job write on a guess.
  if (!status.delayEstimated && status.heartbeatDelaySeconds === undefined && status.lagEntries > 0 && status.severity !== 'normal') return 'unknown delay';
  return undefined;
}

/** The `/check` answer for `query` at `now` (ms). */
export function checkAnswer(view: StatusView, query: URLSearchParams, now: number): HttpAnswer {
  const sources = view.sources();
  const wanted = query.getAll('source');
  const unknown = wanted.filter((name) => !sources.some((s) => s.name === name));
  if (unknown.length > 0) return unknownSources(unknown, sources);
  let maxDelay: number | undefined;
  const given = query.get('maxDelay');
  if (given !== null) {
    maxDelay = parseMaxDelay(given);
    if (maxDelay === undefined) return json(400, { error: 'maxDelay must be a duration such as 5s, 500ms or 2m or 1h, or a number of seconds' });
  }
  const nodeIds = query.getAll('node');
  let selected: readonly StatusSource[] = wanted.length === 0 ? sources : sources.filter((s) => wanted.includes(s.name));
  if (view.starting?.() === true) return json(503, { status: 503, message: 'replag is starting: no source read yet', sources: [] });
  if (nodeIds.length > 0) {
    // Only the sources that report one of the nodes; when none does, every selected source down is a 503 (it
    // may be the one), else the node is unknown.
    const holding = selected.filter((s) => nodeIds.some((id) => s.monitor.getStatus(id) !== undefined));
    const missing = nodeIds.filter((id) => !selected.some((s) => s.monitor.getStatus(id) !== undefined));
    const blind = selected.filter((s) => !pollState(s, now).up);
    if (missing.length > 0 && blind.length === 0) {
      return json(404, { error: `unknown node${missing.length === 1 ? '' : 's'} ${missing.map((n) => JSON.stringify(n)).join(', ')}` });
    }
    selected = missing.length > 0 ? [...new Set([...holding, ...blind])] : holding;
  }

  const down = selected
    .map((s) => ({ source: s, state: pollState(s, now) }))
    .filter(({ state }) => !state.up)
    .map(({ source, state }) => ({ name: source.name, reason: state.polled ? (state.lastError ?? 'poll failed') : 'not read yet' }));
  if (down.length > 0) {
    return json(503, { status: 503, message: `${down.length === 1 ? 'a source is' : `${down.length} sources are`} down or not read yet`, sources: down });
  }

  const over: OverLimitNode[] = [];
  let checked = 0;
  let retryAfter = 0;
  for (const s of selected) {
    const limit = maxDelay ?? s.monitor.config.warningThresholdSeconds;
    const statuses = nodeIds.length === 0 ? s.monitor.getAllStatuses().values() : nodeIds.map((id) => s.monitor.getStatus(id)).filter((x) => x !== undefined);
    for (const status of statuses) {
      checked++;
      const reason = overLimit(status, limit);
      if (reason === undefined) continue;
      const node: OverLimitNode = { source: s.name, id: status.nodeId, severity: status.severity, delaySeconds: status.lagSeconds, maxDelaySeconds: limit, reason };
      const eta = status.catchUpSeconds;
      if (eta !== undefined && Number.isFinite(eta) && eta > 0) node.catchUpSeconds = eta;
      over.push(node);
      const wait = node.catchUpSeconds !== undefined ? Math.ceil(node.catchUpSeconds) : Math.ceil((s.poller?.intervalMs ?? 1000) / 1000);
      retryAfter = Math.max(retryAfter, wait, 1);
    }
  }
  if (over.length > 0) {
    return json(429, { status: 429, message: `${over.length} of ${checked} nodes over the delay limit`, retryAfterSeconds: retryAfter, nodes: over }, { 'retry-after': String(retryAfter) });
  }
  return json(200, { status: 200, message: `${checked} ${checked === 1 ? 'node' : 'nodes'} within the delay limit`, nodes: checked });
}
