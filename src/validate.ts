/** Input validation for the monitor's public methods: errors name the node and the field. @internal */
import { describe } from './config.ts';
import { RETENTION_STATES } from './retention.ts';
import type { ApplyHealth, LogRetention, NodeAttributes, Position } from './types.ts';

/** Attribute key the instrumentation sets itself; nodes cannot override it. */
export const RESERVED_ATTRIBUTE = 'replication.node.id';

/** Longest node id accepted, in UTF-16 code units (string `length`). */
export const MAX_NODE_ID_LENGTH = 1024;

/** Largest position accepted: 2^64 − 1, the widest counter a replicated system reports (LSNs, offsets). */
export const MAX_POSITION = 2n ** 64n - 1n;

/** Largest `lagSeconds` (or reported delay) accepted: 10^10 s, about 317 years. */
export const MAX_LAG_SECONDS = 1e10;

/** Characters of a node id quoted in an error message. */
const QUOTED_ID_LENGTH = 64;

/** A node id as error messages quote it: JSON-quoted, at most a short prefix of a long one, with its length. */
export function quoteId(nodeId: string): string {
  if (nodeId.length <= QUOTED_ID_LENGTH) return JSON.stringify(nodeId);
  return `${JSON.stringify(nodeId.slice(0, QUOTED_ID_LENGTH))}… (${nodeId.length} characters)`;
}

export function checkNodeId(method: string, nodeId: unknown): asserts nodeId is string {
  if (typeof nodeId !== 'string') throw new TypeError(`${method}: nodeId must be a string, got ${describe(nodeId)}`);
  if (nodeId.length === 0) throw new RangeError(`${method}: nodeId must not be empty`);
  if (nodeId.length > MAX_NODE_ID_LENGTH) {
    throw new RangeError(`${method}(${quoteId(nodeId)}): nodeId must be at most ${MAX_NODE_ID_LENGTH} characters, got ${nodeId.length}`);
  }
}

export function checkPosition(nodeId: string, field: 'leaderSeq' | 'followerSeq', value: unknown): asserts value is Position {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) {
      throw new RangeError(`updateLag(${quoteId(nodeId)}): ${field} must be a non-negative integer, got ${describe(value)}`);
    }
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`updateLag(${quoteId(nodeId)}): ${field} ${value} is above 2^53-1 and has lost precision: pass it as a bigint`);
    }
    return;
  }
  if (typeof value === 'bigint') {
    if (value < 0n) throw new RangeError(`updateLag(${quoteId(nodeId)}): ${field} must be non-negative, got ${value}n`);
    if (value > MAX_POSITION) throw new RangeError(`updateLag(${quoteId(nodeId)}): ${field} must be at most 2^64-1 (18446744073709551615), got a ${value.toString(2).length}-bit value`);
    return;
  }
  throw new TypeError(`updateLag(${quoteId(nodeId)}): ${field} must be a number or bigint, got ${describe(value)}`);
}

export function checkLagSeconds(nodeId: string, value: unknown, field: 'lagSeconds' | 'reportedDelaySeconds' | 'heartbeatDelaySeconds' = 'lagSeconds'): asserts value is number | undefined {
  if (value === undefined) return;
  if (typeof value !== 'number') throw new TypeError(`updateLag(${quoteId(nodeId)}): ${field} must be a number, got ${describe(value)}`);
  if (!Number.isFinite(value) || value < 0 || value > MAX_LAG_SECONDS) {
    throw new RangeError(`updateLag(${quoteId(nodeId)}): ${field} must be a finite number between 0 and ${MAX_LAG_SECONDS}, got ${value}`);
  }
}

/**
 * Validates `updateLag`'s fourth argument: `lagSeconds` as a number (the older form), or a `LagUpdateOptions`
 * object, or undefined. Returns the two figures, both validated.
 */
export function checkLagUpdate(
  nodeId: string,
  value: unknown,
): { lagSeconds: number | undefined; reportedDelaySeconds: number | undefined; heartbeatDelaySeconds: number | undefined; retention?: LogRetention | undefined; apply?: ApplyHealth | undefined } {
  if (value === undefined) return { lagSeconds: undefined, reportedDelaySeconds: undefined, heartbeatDelaySeconds: undefined };
  if (typeof value === 'number') {
    checkLagSeconds(nodeId, value);
    return { lagSeconds: value, reportedDelaySeconds: undefined, heartbeatDelaySeconds: undefined };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`updateLag(${quoteId(nodeId)}): lagSeconds must be a number or an options object { lagSeconds?, reportedDelaySeconds?, heartbeatDelaySeconds? }, got ${describe(value)}`);
  }
  const { lagSeconds, reportedDelaySeconds, heartbeatDelaySeconds, retention, apply } = value as {
    lagSeconds?: unknown;
    reportedDelaySeconds?: unknown;
    heartbeatDelaySeconds?: unknown;
    retention?: unknown;
    apply?: unknown;
  };
  checkLagSeconds(nodeId, lagSeconds, 'lagSeconds');
  checkLagSeconds(nodeId, reportedDelaySeconds, 'reportedDelaySeconds');
  checkLagSeconds(nodeId, heartbeatDelaySeconds, 'heartbeatDelaySeconds');
  // One object per update (this runs on every updateLag): no spread of optional parts.
  return {
    lagSeconds,
    reportedDelaySeconds,
    heartbeatDelaySeconds,
    retention: retention === undefined ? undefined : checkRetention(nodeId, retention),
    apply: apply === undefined ? undefined : checkApply(nodeId, apply),
  };
}

/** Validates `LagUpdateOptions.retention` and returns a frozen copy. */
function checkRetention(nodeId: string, value: unknown): LogRetention {
  const at = `updateLag(${quoteId(nodeId)}): retention`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TypeError(`${at} must be an object { retained, safeSize?, state? }, got ${describe(value)}`);
  const { retained, safeSize, state } = value as { retained?: unknown; safeSize?: unknown; state?: unknown };
  if (typeof retained !== 'number' || !Number.isFinite(retained) || retained < 0) throw new RangeError(`${at}.retained must be a finite number ≥ 0, got ${describe(retained)}`);
  if (safeSize !== undefined && (typeof safeSize !== 'number' || !Number.isFinite(safeSize))) throw new RangeError(`${at}.safeSize must be a finite number or undefined, got ${describe(safeSize)}`);
  if (state !== undefined && !RETENTION_STATES.includes(state as never)) throw new RangeError(`${at}.state must be one of ${RETENTION_STATES.join(', ')} or undefined, got ${describe(state)}`);
  return Object.freeze({
    retained,
    ...(safeSize !== undefined ? { safeSize: safeSize as number } : {}),
    ...(state !== undefined ? { state: state as LogRetention['state'] } : {}),
  });
}

/** Validates `LagUpdateOptions.apply` and returns a frozen copy. */
function checkApply(nodeId: string, value: unknown): ApplyHealth {
  const at = `updateLag(${quoteId(nodeId)}): apply`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TypeError(`${at} must be an object { errors?, tables? }, got ${describe(value)}`);
  const { errors, tables } = value as { errors?: unknown; tables?: unknown };
  return Object.freeze({
    ...(errors !== undefined ? { errors: checkCounts(`${at}.errors`, errors) } : {}),
    ...(tables !== undefined ? { tables: checkCounts(`${at}.tables`, tables) } : {}),
  });
}

/** Most kinds or states an apply health count may have: each is a series of its own. */
export const MAX_COUNT_KEYS = 16;

/** A record of non-negative integer counts (at most MAX_COUNT_KEYS), frozen. */
function checkCounts(at: string, value: unknown): Readonly<Record<string, number>> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TypeError(`${at} must be an object of counts, got ${describe(value)}`);
  const keys = Object.keys(value).length;
  if (keys > MAX_COUNT_KEYS) throw new RangeError(`${at} must have at most ${MAX_COUNT_KEYS} keys (each is a series), got ${keys}`);
  const copy: Record<string, number> = {};
  for (const [key, n] of Object.entries(value)) {
    if (key.length === 0) throw new RangeError(`${at}: keys must not be empty`);
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new RangeError(`${at}.${key} must be an integer ≥ 0, got ${describe(n)}`);
    copy[key] = n;
  }
  return Object.freeze(copy);
}

/** Validates and freezes a copy of node attributes. */
export function checkAttributes(nodeId: string, attributes: unknown): NodeAttributes {
  if (attributes === null || typeof attributes !== 'object' || Array.isArray(attributes)) {
    throw new TypeError(`registerNode(${quoteId(nodeId)}): attributes must be an object, got ${describe(attributes)}`);
  }
  const copy: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (key.length === 0) throw new RangeError(`registerNode(${quoteId(nodeId)}): attribute keys must not be empty`);
    if (key === RESERVED_ATTRIBUTE) {
      throw new RangeError(`registerNode(${quoteId(nodeId)}): attribute ${RESERVED_ATTRIBUTE} is set from the node id and cannot be given`);
    }
    if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) {
      copy[key] = value;
    } else {
      throw new TypeError(
        `registerNode(${quoteId(nodeId)}): attribute ${JSON.stringify(key)} must be a string, finite number or boolean, got ${describe(value)}`,
      );
    }
  }
  return Object.freeze(copy);
}
