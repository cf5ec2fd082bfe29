/**
 * The Redis Cluster heartbeat (`RedisClusterSourceOptions.heartbeat`): one hash per shard, `<key>{<tag>}` with a hash
 * tag chosen so that the key's slot is one the shard's master serves, written (`HSET <key>{<tag>} <name> <ms>`) on
 * every master each interval over connections of their own, and read (`READONLY`, then `HGET`) on every replica of
 * the shard, each waited for at most the poll's node timeout. A shard whose latest write failed gives its replicas no
 * heartbeat delay until a write succeeds again. @internal
 */
import { heartbeatDelaySeconds, type HeartbeatSettings } from '../kit/heartbeat.ts';
import type { NodeConnections } from './connections.ts';
import type { ClusterNode, Shard } from './topology.ts';

/** Slots of Redis Cluster. */
const SLOTS = 16384;
/** Hash tags tried per shard before giving up (a shard serving one slot needs ~16,384 tries on average). */
const MAX_TAGS = 200_000;

/** CRC16/XMODEM, as Redis Cluster hashes keys (`CLUSTER KEYSLOT`). */
export function crc16(text: string): number {
  let crc = 0;
  for (const byte of Buffer.from(text, 'utf8')) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The slot of a hash tag (what `{tag}` in a key hashes to). */
export function tagSlot(tag: string): number {
  return crc16(tag) % SLOTS;
}

/** Whether `slot` is in a master's slot list (`0-5460`, `5461`, …; importing/migrating entries ignored). */
function serves(slots: readonly string[], slot: number): boolean {
  for (const s of slots) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(s);
    if (m === null) continue;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (slot >= from && slot <= to) return true;
  }
  return false;
}

/** The first hash tag (`0`, `1`, …) whose slot `slots` serve; undefined when none within MAX_TAGS (no slot served). */
export function tagFor(slots: readonly string[]): string | undefined {
  if (slots.length === 0) return undefined;
  for (let i = 0; i < MAX_TAGS; i++) if (serves(slots, tagSlot(String(i)))) return String(i);
  return undefined;
}

/** The heartbeat of one Redis Cluster source: where each shard's hash is, what was written, and the reads. */
export class ClusterHeartbeat {
  readonly settings: HeartbeatSettings;
  /** For the writes (masters) and for the reads (replicas, in READONLY mode): connections of their own. */
  readonly #writes: NodeConnections;
  readonly #reads: NodeConnections;
  readonly #timeoutMs: number;
  /** Per shard name: the hash tag of its key, for the slot list it was found for. */
  readonly #tags = new Map<string, { slots: string; tag: string | undefined }>();
  /** Per shard name: the value of its newest write, while its latest write succeeded. */
  readonly #written = new Map<string, number>();
  /** The shards of the last topology (what the next write covers). */
  #shards: readonly Shard[] = [];

  constructor(settings: HeartbeatSettings, connections: { writes: NodeConnections; reads: NodeConnections }, timeoutMs: number) {
    this.settings = settings;
    this.#writes = connections.writes;
    this.#reads = connections.reads;
    this.#timeoutMs = timeoutMs;
  }

  /** The shards to write to from now on (each poll's topology). */
  setShards(shards: readonly Shard[]): void {
    this.#shards = shards;
    for (const name of [...this.#written.keys()]) if (!shards.some((s) => s.name === name)) this.#written.delete(name);
  }

  /** Whether a topology is known (the first poll sets it before the first write). */
  get ready(): boolean {
    return this.#shards.length > 0;
  }

  /** `HSET` on every shard's master, at once. @throws the first failure (the other shards are written anyway). */
  async write(nowMs: number): Promise<void> {
    const failures: unknown[] = [];
    await Promise.all(this.#shards.map(async (shard) => {
      const key = this.#key(shard);
      if (key === undefined) return;
      const master = shard.master;
      try {
        await this.#writes.command(master.host, master.port, ['HSET', key, this.settings.name, String(Math.trunc(nowMs))], this.#timeoutMs);
        this.#written.set(shard.name, nowMs);
      } catch (error) {
        this.#written.delete(shard.name);
        failures.push(error);
      }
    }));
    if (failures.length > 0) throw failures[0];
  }

  /** Per replica address: its heartbeat delay, for the replicas that answer within `waitMs` and show a heartbeat. Never rejects. */
  async delays(shards: readonly Shard[], waitMs: number): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    await Promise.all(shards.flatMap((shard) => shard.replicas.map(async (replica: ClusterNode) => {
      const key = this.#key(shard);
      const writtenMs = this.#written.get(shard.name);
      if (key === undefined || writtenMs === undefined || replica.flags.has('fail')) return;
      try {
        await this.#reads.command(replica.host, replica.port, ['READONLY'], waitMs);
        const reply = await this.#reads.command(replica.host, replica.port, ['HGET', key, this.settings.name], waitMs);
        const delay = heartbeatDelaySeconds(writtenMs, typeof reply === 'string' ? Number(reply) : undefined);
        if (delay !== undefined) out.set(replica.address, delay);
      } catch {
        // Unreadable now (hung, paused, restarting): no heartbeat delay at this poll.
      }
    })));
    return out;
  }

  /** `<key>{<tag>}` for the shard, the tag cached per slot list. */
  #key(shard: Shard): string | undefined {
    const slots = shard.master.slots.join(',');
    let entry = this.#tags.get(shard.name);
    if (entry === undefined || entry.slots !== slots) this.#tags.set(shard.name, (entry = { slots, tag: tagFor(shard.master.slots) }));
    return entry.tag === undefined ? undefined : `${this.settings.target}{${entry.tag}}`;
  }
}
