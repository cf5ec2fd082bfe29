/**
 * What etcd answers, parsed: a member's `raft.status` from `GET /debug/vars` (the leader's last log index and
 * each follower's `match` index, exact beyond 2^53), and the member list of the v3 JSON gateway.
 */
import { describe } from '../../config.ts';

/** The part of a member's `raft.status` (from `/debug/vars`) the source reads; ids are lowercase hex. */
export interface EtcdRaftStatus {
  /** Hex id of the member that served the status. */
  readonly id: string;
  /** `StateLeader`, `StateFollower`, `StateCandidate` or `StatePreCandidate`. */
  readonly raftState: string;
  /** Hex id of the leader this member knows of; `0` for none. */
  readonly lead: string;
  readonly commit: bigint;
  /** Hex member id → match index. Filled on the leader only (including the leader itself: its last log index). */
  readonly progress: ReadonlyMap<string, bigint>;
}

export interface Member {
  readonly name: string;
  readonly clientUrls: readonly URL[];
}


/**
 * Parses a `/debug/vars` body into its `raft.status`. Indexes are exact: integers beyond 2^53 − 1 are read from
 * the JSON source text as bigint (a plain `JSON.parse` would round them). Throws an Error saying what is missing.
 */
export function parseEtcdDebugVars(body: string): EtcdRaftStatus {
  let vars: unknown;
  try {
    vars = JSON.parse(body, exactIntegers);
  } catch {
    throw new Error('/debug/vars is not JSON');
  }
  const raft = isObject(vars) ? vars['raft.status'] : undefined;
  if (!isObject(raft)) throw new Error('/debug/vars has no "raft.status" object (is this an etcd client URL, and has its Raft node started?)');
  const progress = new Map<string, bigint>();
  if (raft.progress !== undefined && raft.progress !== null) {
    if (!isObject(raft.progress)) throw new Error('raft.status.progress is not an object');
    for (const [id, p] of Object.entries(raft.progress)) progress.set(idFromHex(id, 'raft.status.progress key'), raftIndex(isObject(p) ? p.match : undefined, `raft.status.progress.${id}.match`));
  }
  return {
    id: idFromHex(raft.id, 'raft.status.id'),
    raftState: typeof raft.raftState === 'string' ? raft.raftState : 'unknown',
    lead: idFromHex(raft.lead, 'raft.status.lead'),
    commit: raftIndex(raft.commit, 'raft.status.commit'),
    progress,
  };
}

export function parseMembers(body: string): Map<string, Member> {
  const list = (JSON.parse(body) as { members?: unknown }).members;
  if (!Array.isArray(list)) throw new Error('member list response has no "members" array');
  const members = new Map<string, Member>();
  for (const m of list as { ID?: unknown; name?: unknown; clientURLs?: unknown }[]) {
    const hex = idFromDecimal(m.ID, 'member ID');
    const clientUrls: URL[] = [];
    for (const u of Array.isArray(m.clientURLs) ? m.clientURLs : []) {
      if (typeof u === 'string' && URL.canParse(u)) clientUrls.push(new URL(u));
    }
    members.set(hex, { name: typeof m.name === 'string' ? m.name : '', clientUrls });
  }
  return members;
}

/** A uint64 id from the v3 JSON gateway (a decimal string; omitted when zero) as lowercase hex. */
export function idFromDecimal(value: unknown, field: string): string {
  if (value === undefined) return '0';
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value).toString(16);
  throw new Error(`${field} is not a uint64 decimal string: ${describe(value)}`);
}

/** A member id from `/debug/vars` (hex, as etcd prints it), normalized. */
function idFromHex(value: unknown, field: string): string {
  if (typeof value === 'string' && /^[0-9a-fA-F]{1,16}$/.test(value)) return BigInt(`0x${value}`).toString(16);
  throw new Error(`${field} is not a hex member id: ${describe(value)}`);
}

function raftIndex(value: unknown, field: string): bigint {
  if (typeof value === 'bigint' && value >= 0n) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  throw new Error(`${field} is not an exact non-negative integer: ${describe(value)}`);
}

/** JSON.parse reviver: integers beyond 2^53 − 1 become bigint, read from the source text (Node ≥ 21). */
function exactIntegers(_key: string, value: unknown, context?: { source?: string }): unknown {
  const source = context?.source;
  if (typeof value === 'number' && !Number.isSafeInteger(value) && source !== undefined && /^\d+$/.test(source)) return BigInt(source);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
