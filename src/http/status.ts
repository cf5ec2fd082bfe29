/** `GET /status`: every source with its poll state and its nodes' figures, as the pinned JSON shape. */
import { delayUnknown } from '../node-points.ts';
import type { ReplicationStatus } from '../types.ts';
import { json, type HttpAnswer } from './answer.ts';
import { pollState, type StatusSource, type StatusView } from './view.ts';

/** One node of `/status`. Figures that are not known are absent (never null or NaN). */
export interface StatusNode {
  id: string;
  severity: string;
  /**
   * The delay is not a measurement yet: `delaySeconds` is a lower bound or the system's own figure (false with a
   * heartbeat delay, which measures it).
   */
  provisional: boolean;
  /** Entries behind; a decimal string when above 2^53 (64-bit positions). */
  lag: number | string;
  delaySeconds?: number;
  predictedDelaySeconds?: number;
  catchUpSeconds?: number;
  secondsToCritical?: number;
  /** The follower's heartbeat delay (sources with the opt-in heartbeat). */
  heartbeatDelaySeconds?: number;
  applyRate: number;
  attributes: Record<string, string | number | boolean>;
}

/** One source of `/status`. */
export interface StatusSourceDocument {
  name: string;
  type: string;
  up: boolean;
  lastError?: string;
  /** ISO 8601 end of the last poll; absent before the first one ends. */
  lastPoll?: string;
  nodes: StatusNode[];
}

/** The lag of `status`, exact: a decimal string when above 2^53 (only bigint positions get there). */
export function lagOf(status: Pick<ReplicationStatus, 'lagEntries' | 'leaderSeq' | 'followerSeq'>): number | string {
  if (status.lagEntries <= Number.MAX_SAFE_INTEGER) return status.lagEntries;
  const d = BigInt(status.leaderSeq) - BigInt(status.followerSeq);
  return d > 0n ? d.toString() : 0;
}

function finite(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) ? value : undefined;
}

/** A node's `/status` entry. */
export function statusNode(s: ReplicationStatus): StatusNode {
  // As exported: while the delay is unknown (no estimate, no reported figure, no heartbeat) the severity is provisional and the
  // delay has no value (replication.delay has no point).
  const provisional = delayUnknown(s);
  const node = { id: s.nodeId, severity: s.severity, provisional, lag: lagOf(s) } as StatusNode;
  const optional = { delaySeconds: provisional ? undefined : s.lagSeconds, predictedDelaySeconds: s.predictedLagSeconds, catchUpSeconds: s.catchUpSeconds, secondsToCritical: s.secondsToCritical, heartbeatDelaySeconds: s.heartbeatDelaySeconds };
  for (const [key, value] of Object.entries(optional)) {
    const v = finite(value);
    if (v !== undefined) node[key as keyof typeof optional] = v;
  }
  node.applyRate = finite(s.replicationRate) ?? 0;
  node.attributes = { ...s.attributes };
  return node;
}

/** A source's `/status` entry at `now` (ms). */
export function statusSource(source: StatusSource, now: number): StatusSourceDocument {
  const state = pollState(source, now);
  const nodes: StatusNode[] = [];
  for (const status of source.monitor.getAllStatuses().values()) nodes.push(statusNode(status));
  return {
    name: source.name,
    type: source.type,
    up: state.up,
    ...(state.lastError !== undefined ? { lastError: state.lastError } : {}),
    ...(state.lastPollAt !== undefined ? { lastPoll: new Date(state.lastPollAt).toISOString() } : {}),
    nodes,
  };
}

/** `GET /status` (all sources) or `GET /status?source=NAME` (one; 404 naming it when unknown). */
export function statusAnswer(view: StatusView, query: URLSearchParams, now: number): HttpAnswer {
  const sources = view.sources();
  const wanted = query.getAll('source');
  const unknown = wanted.filter((name) => !sources.some((s) => s.name === name));
  if (unknown.length > 0) return unknownSources(unknown, sources);
  const selected = wanted.length === 0 ? sources : sources.filter((s) => wanted.includes(s.name));
  return json(200, { sources: selected.map((s) => statusSource(s, now)) });
}

/** 404 naming the unknown sources and the known ones. */
export function unknownSources(unknown: readonly string[], sources: readonly StatusSource[]): HttpAnswer {
  return json(404, {
    error: `unknown source${unknown.length === 1 ? '' : 's'} ${unknown.map((n) => JSON.stringify(n)).join(', ')}`,
    sources: sources.map((s) => s.name),
  });
}
