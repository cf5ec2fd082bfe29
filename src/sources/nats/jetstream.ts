/**
 * The JetStream API requests the source makes (`$JS.API.STREAM.NAMES`, `$JS.API.STREAM.INFO.<stream>`,
 * `$JS.API.CONSUMER.NAMES.<stream>`, `$JS.API.CONSUMER.INFO.<stream>.<consumer>`) and the parts of their answers
 * it reads. Sequences are uint64: integers beyond 2^53 − 1 are read exactly (as bigint) from the JSON text.
 */
import type { NatsConnection } from './connection.ts';

/** An error answer of the JetStream API (`{"error":{"code","err_code","description"}}`). */
export class JetStreamApiError extends Error {
  override readonly name = 'JetStreamApiError';
  /** HTTP-like code: 404 not found, 503 unavailable, … */
  readonly code: number;
  /** JetStream's own error code (10059 stream not found, 10014 consumer not found, 10008 cluster not available, …). */
  readonly errCode: number;
  constructor(code: number, errCode: number, description: string) {
    super(`${description} (JetStream API error ${code}/${errCode})`);
    this.code = code;
    this.errCode = errCode;
  }
}

/** One replica in the stream leader's view. */
export interface StreamReplica {
  /** Server name. */
  readonly name: string;
  /** Raft entries behind the leader's commit (absent in the answer: 0). */
  readonly lag: bigint;
  readonly current: boolean;
  readonly offline: boolean;
}

/** What `$JS.API.STREAM.INFO.<stream>` says (answered by the stream's leader). */
export interface StreamInfo {
  readonly name: string;
  /** The leader's last sequence. */
  readonly lastSeq: bigint;
  /** Configured replicas (1 when not clustered). */
  readonly numReplicas: number;
  /** Cluster name; undefined for a stream that is not clustered. */
  readonly cluster: string | undefined;
  /** The leader's server name; undefined when the stream has none (election). */
  readonly leader: string | undefined;
  readonly replicas: readonly StreamReplica[];
}

/** What `$JS.API.CONSUMER.INFO.<stream>.<consumer>` says. */
export interface ConsumerInfo {
  readonly name: string;
  /** Durable (has a `durable_name`); ephemeral consumers are not watched. */
  readonly durable: boolean;
  /** `ack_floor.stream_seq`: every message up to it is acknowledged. */
  readonly ackFloorStreamSeq: bigint;
}

const MAX_PAGES = 100;

/** The names of every stream of the account (paged: at most 100 pages). */
export async function streamNames(connection: NatsConnection, signal: AbortSignal): Promise<string[]> {
  return pagedNames(connection, '$JS.API.STREAM.NAMES', 'streams', signal);
}

/** The names of every consumer of `stream` (paged). */
export async function consumerNames(connection: NatsConnection, stream: string, signal: AbortSignal): Promise<string[]> {
  return pagedNames(connection, `$JS.API.CONSUMER.NAMES.${stream}`, 'consumers', signal);
}

/** The stream leader's view of `stream`. */
export async function streamInfo(connection: NatsConnection, stream: string, signal: AbortSignal): Promise<StreamInfo> {
  const answer = await call(connection, `$JS.API.STREAM.INFO.${stream}`, '', signal);
  const state = object(answer.state, 'state');
  const config = answer.config === undefined ? {} : object(answer.config, 'config');
  const cluster = answer.cluster === undefined ? undefined : object(answer.cluster, 'cluster');
  const replicas = cluster?.replicas === undefined || cluster.replicas === null ? [] : array(cluster.replicas, 'cluster.replicas').map((r, i) => {
    const replica = object(r, `cluster.replicas[${i}]`);
    return {
      name: text(replica.name, `cluster.replicas[${i}].name`),
      lag: replica.lag === undefined ? 0n : sequence(replica.lag, `cluster.replicas[${i}].lag`),
      current: replica.current === true,
      offline: replica.offline === true,
    };
  });
  return {
    name: typeof config.name === 'string' ? config.name : stream,
    lastSeq: sequence(state.last_seq, 'state.last_seq'),
    numReplicas: typeof config.num_replicas === 'number' && config.num_replicas > 0 ? config.num_replicas : 1,
    cluster: typeof cluster?.name === 'string' && cluster.name !== '' ? cluster.name : undefined,
    leader: typeof cluster?.leader === 'string' && cluster.leader !== '' ? cluster.leader : undefined,
    replicas,
  };
}

/** One consumer's state. */
export async function consumerInfo(connection: NatsConnection, stream: string, consumer: string, signal: AbortSignal): Promise<ConsumerInfo> {
  const answer = await call(connection, `$JS.API.CONSUMER.INFO.${stream}.${consumer}`, '', signal);
  const config = answer.config === undefined ? {} : object(answer.config, 'config');
  const ackFloor = object(answer.ack_floor, 'ack_floor');
  return {
    name: typeof answer.name === 'string' ? answer.name : consumer,
    durable: typeof config.durable_name === 'string' && config.durable_name !== '',
    ackFloorStreamSeq: ackFloor.stream_seq === undefined ? 0n : sequence(ackFloor.stream_seq, 'ack_floor.stream_seq'),
  };
}

async function pagedNames(connection: NatsConnection, subject: string, key: string, signal: AbortSignal): Promise<string[]> {
  const names: string[] = [];
  for (let page = 0; page < MAX_PAGES; page++) {
    const answer = await call(connection, subject, JSON.stringify({ offset: names.length }), signal);
    const list = answer[key] === null || answer[key] === undefined ? [] : array(answer[key], key);
    for (const [i, n] of list.entries()) names.push(text(n, `${key}[${i}]`));
    const total = typeof answer.total === 'number' ? answer.total : names.length;
    if (list.length === 0 || names.length >= total) return names;
  }
  return names;
}

/** A request whose answer is a JSON object; an `error` answer becomes a JetStreamApiError. */
async function call(connection: NatsConnection, subject: string, body: string, signal: AbortSignal): Promise<Record<string, unknown>> {
  const payload = await connection.request(subject, body, signal);
  let answer: unknown;
  try {
    answer = JSON.parse(payload.toString('utf8'), exactIntegers);
  } catch {
    throw new Error(`the answer to ${subject} is not JSON`);
  }
  const o = object(answer, 'answer');
  if (o.error !== undefined) {
    const e = object(o.error, 'error');
    throw new JetStreamApiError(Number(e.code ?? 0), Number(e.err_code ?? 0), typeof e.description === 'string' ? e.description : 'unknown error');
  }
  return o;
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`the JetStream answer has no "${field}" object`);
  return value as Record<string, unknown>;
}

function array(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`the JetStream answer's "${field}" is not an array`);
  return value;
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new Error(`the JetStream answer's "${field}" is not a string`);
  return value;
}

function sequence(value: unknown, field: string): bigint {
  if (typeof value === 'bigint' && value >= 0n) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  throw new Error(`the JetStream answer's "${field}" is not an exact non-negative integer`);
}

/** JSON.parse reviver: integers beyond 2^53 − 1 become bigint, read from the source text (Node ≥ 21). */
function exactIntegers(_key: string, value: unknown, context?: { source?: string }): unknown {
  const source = context?.source;
  if (typeof value === 'number' && !Number.isSafeInteger(value) && source !== undefined && /^\d+$/.test(source)) return BigInt(source);
  return value;
}
