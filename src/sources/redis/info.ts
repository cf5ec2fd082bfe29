/**
 * `INFO replication` of a Redis master, parsed: its role, `master_repl_offset` (bytes of replication stream
 * produced) and one entry per `slaveN:` line (each replica's acknowledged `offset=`). Offsets are exact bigints.
 */

const UNSIGNED = /^\d+$/;

/** One `slaveN:` line of `INFO replication`, as the master reports its replica. */
export interface RedisReplicaInfo {
  /** `ip:port` (`[ip]:port` for IPv6): the replica's address and announced listening port. */
  readonly id: string;
  readonly ip: string;
  readonly port: number;
  /** `online` once synced; `wait_bgsave` / `send_bulk` during a full resynchronization. */
  readonly state: string;
  /** Replication offset the replica last acknowledged. */
  readonly offset: bigint;
}

/** The fields of `INFO replication` the source uses. */
export interface RedisReplicationInfo {
  /** `master` or `slave`. */
  readonly role: string;
  /** Bytes of replication stream the server has produced (a replica: received and passed on). */
  readonly masterReplOffset: bigint;
  readonly replicas: readonly RedisReplicaInfo[];
  /** `host:port` of this server's master, when it is itself a replica. */
  readonly master?: string;
}

/**
 * Parses the text of `INFO replication` (CRLF or LF lines). Offsets are exact bigints.
 * @throws Error when `role` or `master_repl_offset` is missing or a `slaveN:` line is malformed.
 */
export function parseReplicationInfo(text: string): RedisReplicationInfo {
  const fields = new Map<string, string>();
  const replicas: RedisReplicaInfo[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1);
    if (/^slave\d+$/.test(key)) replicas.push(parseReplicaLine(key, value));
    else fields.set(key, value);
  }
  const role = fields.get('role');
  if (role === undefined) throw new Error('INFO replication has no role field');
  const offset = fields.get('master_repl_offset');
  if (offset === undefined || !UNSIGNED.test(offset)) throw new Error(`INFO replication: master_repl_offset is not an unsigned integer: ${JSON.stringify(offset)}`);
  const host = fields.get('master_host');
  const port = fields.get('master_port');
  return {
    role,
    masterReplOffset: BigInt(offset),
    replicas,
    ...(host !== undefined && port !== undefined ? { master: hostPort(host, port) } : {}),
  };
}

function parseReplicaLine(key: string, value: string): RedisReplicaInfo {
  const kv = new Map(value.split(',').map((pair) => {
    const eq = pair.indexOf('=');
    return [pair.slice(0, eq), pair.slice(eq + 1)] as const;
  }));
  const ip = kv.get('ip');
  const port = Number(kv.get('port'));
  const offset = kv.get('offset');
  if (ip === undefined || ip === '' || !Number.isInteger(port) || port <= 0 || port > 65535 || offset === undefined || !UNSIGNED.test(offset)) {
    throw new Error(`INFO replication: malformed ${key} line: ${JSON.stringify(value)}`);
  }
  return { id: hostPort(ip, String(port)), ip, port, state: kv.get('state') ?? 'unknown', offset: BigInt(offset) };
}

export function hostPort(host: string, port: string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

