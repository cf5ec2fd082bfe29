/**
 * GTID arithmetic: positions that count transactions, so they are monotonic across binary log rotations.
 * - MariaDB: the sum over replication domains of the highest seq_no (`@@gtid_binlog_pos`, `Gtid_Slave_Pos`).
 * - MySQL 8: the number of transactions in a GTID set (`@@gtid_executed`, `Executed_Gtid_Set`), a replica's
 *   counted only where the primary has them too.
 */

const MAX_UINT32 = 0xffff_ffffn;
const MAX_UINT64 = 0xffff_ffff_ffff_ffffn;
const MAX_GNO = 0x7fff_ffff_ffff_ffffn;

/**
 * Position of a MariaDB GTID list such as `@@gtid_binlog_pos` (`0-1-42,1-2-7`): the sum over replication domains
 * of the highest seq_no seen in each domain. With `cappedBy` (the primary's list), only domains present there
 * count, each at most at its seq_no there. Empty list → 0n. @throws RangeError on a malformed list.
 */
export function mariadbGtidSeq(gtidList: string, cappedBy?: string): bigint {
  const own = parseMariadbGtids(gtidList);
  const cap = cappedBy === undefined ? undefined : parseMariadbGtids(cappedBy);
  let sum = 0n;
  for (const [domain, seq] of own) {
    if (cap === undefined) sum += seq;
    else {
      const limit = cap.get(domain);
      if (limit !== undefined) sum += seq < limit ? seq : limit;
    }
  }
  return sum;
}

/**
 * Number of transactions in a MySQL GTID set such as `@@gtid_executed` (`uuid:1-10:12,uuid2:1-3`, tags allowed).
 * With `within` (the primary's set), only transactions also in that set count. Empty set → 0n.
 * @throws RangeError on a malformed set.
 */
export function mysqlGtidCount(gtidSet: string, within?: string): bigint {
  const own = parseMysqlGtidSet(gtidSet);
  const other = within === undefined ? undefined : parseMysqlGtidSet(within);
  let count = 0n;
  for (const [source, intervals] of own) {
    const limits = other === undefined ? undefined : (other.get(source) ?? []);
    for (const [start, end] of intervals) {
      if (limits === undefined) count += end - start + 1n;
      else {
        for (const [s, e] of limits) {
          const from = s > start ? s : start;
          const to = e < end ? e : end;
          if (to >= from) count += to - from + 1n;
        }
      }
    }
  }
  return count;
}

/** Highest seq_no per domain of a MariaDB GTID list. */
function parseMariadbGtids(text: string): Map<bigint, bigint> {
  if (typeof text !== 'string') throw new TypeError(`a MariaDB GTID list must be a string, got ${typeof text}`);
  const byDomain = new Map<bigint, bigint>();
  if (text.trim() === '') return byDomain;
  for (const part of text.split(',')) {
    const m = /^(\d{1,10})-(\d{1,10})-(\d{1,20})$/.exec(part.trim());
    const [domain, server, seq] = m === null ? [] : [BigInt(m[1]!), BigInt(m[2]!), BigInt(m[3]!)];
    if (domain === undefined || server === undefined || seq === undefined || domain > MAX_UINT32 || server > MAX_UINT32 || seq > MAX_UINT64) {
      throw new RangeError(`malformed MariaDB GTID ${JSON.stringify(part.trim())} in ${quote(text)}: expected domain-server-seq_no`);
    }
    const seen = byDomain.get(domain);
    if (seen === undefined || seq > seen) byDomain.set(domain, seq);
  }
  return byDomain;
}

/** Disjoint, sorted [start, end] intervals per `uuid` or `uuid:tag` of a MySQL GTID set. */
function parseMysqlGtidSet(text: string): Map<string, [bigint, bigint][]> {
  if (typeof text !== 'string') throw new TypeError(`a MySQL GTID set must be a string, got ${typeof text}`);
  const sets = new Map<string, [bigint, bigint][]>();
  if (text.trim() === '') return sets;
  for (const part of text.split(',')) {
    const bad = (why: string) => new RangeError(`malformed MySQL GTID set ${JSON.stringify(part.trim())} in ${quote(text)}: ${why}`);
    const [uuid = '', ...fields] = part.trim().toLowerCase().split(':');
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(uuid)) throw bad('expected a UUID');
    let key = uuid;
    let intervalsSinceKey = 0;
    for (const field of fields) {
      const m = /^(\d{1,19})(?:-(\d{1,19}))?$/.exec(field);
      if (m !== null) {
        const start = BigInt(m[1]!);
        const end = m[2] === undefined ? start : BigInt(m[2]);
        if (start < 1n || end < start || end > MAX_GNO) throw bad(`bad interval ${field}`);
        let list = sets.get(key);
        if (list === undefined) sets.set(key, (list = []));
        list.push([start, end]);
        intervalsSinceKey++;
      } else if (/^[a-z_][a-z0-9_]{0,31}$/.test(field) && (intervalsSinceKey > 0 || key === uuid)) {
        key = `${uuid}:${field}`;
        intervalsSinceKey = 0;
      } else throw bad(`unexpected ${JSON.stringify(field)}`);
    }
    if (intervalsSinceKey === 0) throw bad('expected at least one interval after each UUID or tag');
  }
  for (const [key, list] of sets) {
    list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const merged: [bigint, bigint][] = [];
    for (const [start, end] of list) {
      const last = merged.at(-1);
      if (last !== undefined && start <= last[1] + 1n) last[1] = end > last[1] ? end : last[1];
      else merged.push([start, end]);
    }
    sets.set(key, merged);
  }
  return sets;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

