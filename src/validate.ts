/** Input validation for the monitor's public methods: errors name the node and the field. @internal */
import { describe } from './config.ts';
import type { NodeAttributes, Position } from './types.ts';

/** Attribute key the instrumentation sets itself; nodes cannot override it. */
export const RESERVED_ATTRIBUTE = 'replication.node.id';

export function checkNodeId(method: string, nodeId: unknown): asserts nodeId is string {
  if (typeof nodeId !== 'string') throw new TypeError(`${method}: nodeId must be a string, got ${describe(nodeId)}`);
  if (nodeId.length === 0) throw new RangeError(`${method}: nodeId must not be empty`);
}

export function checkPosition(nodeId: string, field: 'leaderSeq' | 'followerSeq', value: unknown): asserts value is Position {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) {
      throw new RangeError(`updateLag(${JSON.stringify(nodeId)}): ${field} must be a non-negative integer, got ${describe(value)}`);
    }
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`updateLag(${JSON.stringify(nodeId)}): ${field} ${value} is above 2^53-1 and has lost precision: pass it as a bigint`);
    }
    return;
  }
  if (typeof value === 'bigint') {
    if (value < 0n) throw new RangeError(`updateLag(${JSON.stringify(nodeId)}): ${field} must be non-negative, got ${value}n`);
    return;
  }
  throw new TypeError(`updateLag(${JSON.stringify(nodeId)}): ${field} must be a number or bigint, got ${describe(value)}`);
}

export function checkLagSeconds(nodeId: string, value: unknown): asserts value is number | undefined {
  if (value === undefined) return;
  if (typeof value !== 'number') throw new TypeError(`updateLag(${JSON.stringify(nodeId)}): lagSeconds must be a number, got ${describe(value)}`);
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`updateLag(${JSON.stringify(nodeId)}): lagSeconds must be a finite number >= 0, got ${value}`);
  }
}

/** Validates and freezes a copy of node attributes. */
export function checkAttributes(nodeId: string, attributes: unknown): NodeAttributes {
  if (attributes === null || typeof attributes !== 'object' || Array.isArray(attributes)) {
    throw new TypeError(`registerNode(${JSON.stringify(nodeId)}): attributes must be an object, got ${describe(attributes)}`);
  }
  const copy: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (key.length === 0) throw new RangeError(`registerNode(${JSON.stringify(nodeId)}): attribute keys must not be empty`);
    if (key === RESERVED_ATTRIBUTE) {
      throw new RangeError(`registerNode(${JSON.stringify(nodeId)}): attribute ${RESERVED_ATTRIBUTE} is set from the node id and cannot be given`);
    }
    if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) {
      copy[key] = value;
    } else {
      throw new TypeError(
        `registerNode(${JSON.stringify(nodeId)}): attribute ${JSON.stringify(key)} must be a string, finite number or boolean, got ${describe(value)}`,
      );
    }
  }
  return Object.freeze(copy);
}
