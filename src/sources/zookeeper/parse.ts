/** Parsing of the four-letter words' answers, and the zxid's two halves. */

/** What `srvr` says of one server. */
export interface SrvrAnswer {
  /** `leader`, `follower`, `observer` or `standalone` (`read-only` for a read-only server). */
  readonly mode: string;
  /** The last processed zxid. */
  readonly zxid: bigint;
}

/** One member as `conf` lists it. */
export interface ConfMember {
  /** `server.N`: the server id (`myid`). */
  readonly sid: number;
  /** `participant` or `observer`. */
  readonly role: 'participant' | 'observer';
  /** The client address clients should use; from the line's `;host:port` part, else the quorum host and `clientPort`. */
  readonly host: string;
  readonly port: number;
}

/** A zxid's epoch (the leader's term, high 32 bits) and counter (the transaction in that epoch, low 32 bits). */
export interface Zxid {
  readonly epoch: bigint;
  readonly counter: bigint;
}

/** Splits a zxid: `epoch << 32 | counter`. */
export function splitZxid(zxid: bigint): Zxid {
  return { epoch: zxid >> 32n, counter: zxid & 0xffff_ffffn };
}

/** Parses `srvr`. @throws Error naming the missing line. */
export function parseSrvr(text: string): SrvrAnswer {
  const zxid = /^Zxid: (0x[0-9a-fA-F]{1,16})\s*$/m.exec(text)?.[1];
  const mode = /^Mode: (\S+)\s*$/m.exec(text)?.[1];
  if (zxid === undefined || mode === undefined) throw new Error(`srvr answer has no "Zxid:" or "Mode:" line: "${firstLine(text)}"`);
  return { mode, zxid: BigInt(zxid) };
}

/**
 * Parses `conf`'s membership: `server.N=quorumHost:quorumPort:electionPort[:role][;[clientHost:]clientPort]`.
 * A member without a client part (a static configuration) is reached on the quorum host and the answering
 * server's `clientPort=`; a wildcard client host (0.0.0.0, ::) is replaced by the quorum host.
 * @throws Error when there is no membership line (a standalone server) or a line cannot be read.
 */
export function parseConf(text: string): ConfMember[] {
  const clientPort = Number(/^clientPort=(\d+)\s*$/m.exec(text)?.[1] ?? Number.NaN);
  const members: ConfMember[] = [];
  for (const match of text.matchAll(/^server\.(\d+)=(.*?)\s*$/gm)) {
    const sid = Number(match[1]);
    const [quorum = '', client] = match[2]!.split(';');
    const quorumHost = hostOf(quorum);
    const role = /:observer$/.test(quorum) ? 'observer' : 'participant';
    let host = quorumHost;
    let port = clientPort;
    if (client !== undefined && client.trim() !== '') {
      const c = /^(?:(.*):)?(\d+)$/.exec(client.trim());
      if (c === null) throw new Error(`conf: server.${sid} has an unreadable client address "${client}"`);
      port = Number(c[2]);
      const h = c[1]?.replace(/^\[(.*)\]$/, '$1');
      if (h !== undefined && h !== '' && h !== '0.0.0.0' && h !== '::' && h !== '0:0:0:0:0:0:0:0') host = h;
    }
    if (quorumHost === '' || !Number.isInteger(port) || port <= 0 || port > 65_535) {
      throw new Error(`conf: server.${sid}=${match[2]} names no client address (and the answer has no clientPort=)`);
    }
    members.push({ sid, role, host, port });
  }
  if (members.length === 0) throw new Error('conf lists no server.N member (a standalone server has no followers)');
  return members.sort((a, b) => a.sid - b.sid);
}

/** What `conf` says of the answering server itself. */
export interface ConfServer {
  /** `serverId=` (its `myid`). */
  readonly serverId: number | undefined;
  /** `secureClientPort=` when it serves TLS (the answer says -1 when it does not). */
  readonly secureClientPort: number | undefined;
}

/** Parses the answering server's own `serverId=` and `secureClientPort=` from `conf`. */
export function parseConfServer(text: string): ConfServer {
  const serverId = /^serverId=(\d+)\s*$/m.exec(text)?.[1];
  const secure = Number(/^secureClientPort=(\d+)\s*$/m.exec(text)?.[1] ?? Number.NaN);
  return { serverId: serverId === undefined ? undefined : Number(serverId), secureClientPort: secure > 0 && secure <= 65_535 ? secure : undefined };
}

/** The host of `host:port:port[:role]` (IPv6 in brackets). */
function hostOf(quorum: string): string {
  const bracketed = /^\[([^\]]+)\]/.exec(quorum);
  if (bracketed !== null) return bracketed[1]!;
  return quorum.split(':')[0] ?? '';
}

function firstLine(text: string): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > 80 ? `${line.slice(0, 80)}…` : line;
}
