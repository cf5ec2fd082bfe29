/**
 * What one Galera node says of itself and of its cluster: the `wsrep_*` rows of `SHOW GLOBAL STATUS` (no privilege
 * needed beyond a login), read now — the receive queue and flow control as they are at this moment, not the
 * averages since the last `FLUSH STATUS` (`wsrep_local_recv_queue_avg`, `wsrep_flow_control_paused`).
 */

/** The status variables the source reads, in one statement. */
export const GALERA_STATUS_QUERY = `SHOW GLOBAL STATUS WHERE Variable_name IN (${[
  'wsrep_on', 'wsrep_ready', 'wsrep_last_committed', 'wsrep_local_recv_queue', 'wsrep_local_state_comment', 'wsrep_cluster_status',
  'wsrep_cluster_size', 'wsrep_cluster_conf_id', 'wsrep_cluster_state_uuid', 'wsrep_incoming_addresses', 'wsrep_flow_control_active',
  'wsrep_flow_control_sent', 'wsrep_flow_control_recv',
].map((name) => `'${name}'`).join(', ')})`;

/** One node's view, parsed. */
export interface GaleraNodeStatus {
  /** `wsrep_last_committed`: global seqno of the last writeset this node committed (comparable within one state UUID). */
  readonly lastCommitted: bigint;
  /** `wsrep_cluster_state_uuid`: the history the seqnos belong to. */
  readonly stateUuid: string;
  /** `wsrep_local_state_comment`: Synced, Donor/Desynced, Joining, Joined, Initialized, … */
  readonly state: string;
  /** `wsrep_cluster_status`: Primary, or non-Primary (Disconnected counts as non-Primary). */
  readonly clusterStatus: 'Primary' | 'non-Primary';
  /** `wsrep_cluster_size`: members in this node's view (garbd included). */
  readonly clusterSize: number;
  /** `wsrep_cluster_conf_id`: view number; -1 while not in a Primary component (the server shows 2^64 − 1). */
  readonly confId: bigint;
  /** `wsrep_incoming_addresses`: SQL addresses (`host:port`) of the members in this node's view; garbd's empty entry dropped. */
  readonly incomingAddresses: readonly string[];
  /** `wsrep_local_recv_queue`: writesets received and not applied yet, now. */
  readonly recvQueue: number;
  /** `wsrep_flow_control_active`: replication is paused by flow control now (the node itself or a peer asked). */
  readonly flowControlActive: boolean;
  /** `wsrep_flow_control_sent`: pause requests this node sent since the last FLUSH STATUS (a counter). */
  readonly flowControlSent: bigint;
}

const MAX_UINT64 = 0xffff_ffff_ffff_ffffn;

/**
 * Parses the rows of `GALERA_STATUS_QUERY` (`Variable_name`, `Value`; names in any case).
 * @throws Error saying what is missing: a server without Galera (`wsrep_on` OFF or no `wsrep_*` variables).
 */
export function parseGaleraStatus(rows: readonly Record<string, unknown>[]): GaleraNodeStatus {
  const v = new Map<string, string>();
  for (const row of rows) {
    const name = row.Variable_name ?? row.VARIABLE_NAME;
    const value = row.Value ?? row.VALUE;
    if (typeof name === 'string') v.set(name.toLowerCase(), value === null || value === undefined ? '' : String(value));
  }
  if (!v.has('wsrep_last_committed') || !v.has('wsrep_cluster_status')) {
    throw new Error('is not a Galera node: SHOW GLOBAL STATUS has no wsrep_last_committed / wsrep_cluster_status (is wsrep_on=ON and wsrep_provider set?)');
  }
  if (/^(off|0|false)$/i.test(v.get('wsrep_on') ?? 'ON')) throw new Error('is not a Galera node: wsrep_on is OFF');
  const seqno = v.get('wsrep_last_committed')!;
  if (!/^-?\d{1,20}$/.test(seqno)) throw new Error(`wsrep_last_committed is not an integer: ${JSON.stringify(seqno.slice(0, 40))}`);
  const conf = v.get('wsrep_cluster_conf_id') ?? '-1';
  const confId = /^\d{1,20}$/.test(conf) ? (BigInt(conf) === MAX_UINT64 ? -1n : BigInt(conf)) : -1n;
  return {
    lastCommitted: seqno.startsWith('-') ? 0n : BigInt(seqno), // -1 before the first writeset of a new history
    stateUuid: v.get('wsrep_cluster_state_uuid') ?? '',
    state: v.get('wsrep_local_state_comment') || 'unknown',
    clusterStatus: v.get('wsrep_cluster_status') === 'Primary' ? 'Primary' : 'non-Primary',
    clusterSize: toNumber(v.get('wsrep_cluster_size')),
    confId,
    incomingAddresses: parseIncomingAddresses(v.get('wsrep_incoming_addresses') ?? ''),
    recvQueue: toNumber(v.get('wsrep_local_recv_queue')),
    flowControlActive: /^(on|true|1)$/i.test(v.get('wsrep_flow_control_active') ?? ''),
    flowControlSent: /^\d{1,20}$/.test(v.get('wsrep_flow_control_sent') ?? '') ? BigInt(v.get('wsrep_flow_control_sent')!) : 0n,
  };
}

/**
 * The SQL addresses of `wsrep_incoming_addresses` (`127.0.0.1:3306,,10.0.0.2:3306`): empty entries (garbd, which
 * has no SQL port) and `AUTO` left out, duplicates once, IPv6 kept in brackets.
 */
export function parseIncomingAddresses(text: string): string[] {
  const out = new Set<string>();
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '' || /^auto$/i.test(entry)) continue;
    if (!/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]/]+):\d{1,5}$/.test(entry)) continue; // not host:port: nothing to connect to
    out.add(entry);
  }
  return [...out];
}

function toNumber(text: string | undefined): number {
  const n = Number(text);
  return Number.isFinite(n) && n >= 0 ? n : 0;
}
