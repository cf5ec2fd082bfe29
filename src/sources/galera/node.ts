/**
 * One Galera node as the source reads it: its own MySQL connection (the MySQL source's `Server`: TLS, password,
 * bounded reads, actionable errors) and a `DeadlineReader`, so that a hung node costs the poll that finds it
 * hung and not every poll after.
 */
import { DeadlineReader, type DeadlineReadOutcome } from '../kit/deadline-reader.ts';
import { Server, type Query } from '../mysql/server.ts';
import type { SourceTlsOptions } from '../tls.ts';
import { GALERA_STATUS_QUERY, parseGaleraStatus, type GaleraNodeStatus } from './status.ts';

/** With the heartbeat: the newest heartbeat a node shows and the newest written when its read started. */
export interface GaleraHeartbeatRead {
  readonly shownMs: number | undefined;
  readonly writtenMs: number | undefined;
}

/** A node's status as read at a poll, with its heartbeat when the source has one. */
export type GaleraNodeRead = GaleraNodeStatus & { readonly heartbeat?: GaleraHeartbeatRead };

/** Reads the heartbeat on a node's connection, after its status (the source's, with `heartbeat`). */
export type ReadHeartbeat = (query: Query) => Promise<GaleraHeartbeatRead>;

/** How a node came to be watched. */
export type NodeOrigin = 'configured' | 'discovered';

/** A node's address, connection and reads across polls. */
export class GaleraNodeReader {
  /** `host:port` (brackets kept for IPv6): the node id. */
  readonly address: string;
  /** Host without IPv6 brackets, for `server.address`. */
  readonly host: string;
  readonly port: number;
  readonly origin: NodeOrigin;
  private readonly server: Server;
  private readonly reader = new DeadlineReader<GaleraNodeRead>();
  private readonly readHeartbeat: ReadHeartbeat | undefined;

  /**
   * @param option the option naming the URL, for messages (`nodes[0]`); discovered nodes: `discovered`.
   * @throws TypeError / RangeError naming `GaleraSourceOptions.<option>`, never quoting a password.
   */
  constructor(url: string, option: string, origin: NodeOrigin, password: string | undefined, tls: SourceTlsOptions | undefined, readHeartbeat?: ReadHeartbeat) {
    this.readHeartbeat = readHeartbeat;
    try {
      this.server = new Server('replica', option, url, password, tls);
    } catch (error) {
      throw rename(error as Error, 'MySqlSourceOptions.', 'GaleraSourceOptions.');
    }
    this.address = this.server.address;
    this.host = this.server.host;
    this.port = this.server.port;
    this.origin = origin;
  }

  /** Starts a read (unless one is in flight) and waits for it at most `waitMs`; never rejects. */
  wait(timeoutMs: number, waitMs: number): Promise<void> {
    return this.reader.wait(() => this.read(timeoutMs), waitMs);
  }

  /** What the reads so far have given (a fresh value once). */
  take(): DeadlineReadOutcome<GaleraNodeRead> {
    return this.reader.take();
  }

  /** Closes the connection (QUIT within `graceMs`, then the socket is destroyed). */
  close(graceMs: number): Promise<void> {
    return this.server.close(graceMs);
  }

  private async read(timeoutMs: number): Promise<GaleraNodeRead> {
    const readHeartbeat = this.readHeartbeat;
    try {
      return await this.server.read(timeoutMs, async (query) => {
        const status = parseGaleraStatus(await query(GALERA_STATUS_QUERY));
        return readHeartbeat === undefined ? status : { ...status, heartbeat: await readHeartbeat(query) };
      });
    } catch (error) {
      throw rename(error as Error, `MySqlSource: replica ${this.address}: `, `GaleraSource: node ${this.address}: `);
    }
  }
}

/** The error with `from` at the start of its message replaced by `to` (the MySQL source's wording → Galera's). */
function rename(error: Error, from: string, to: string): Error {
  if (!error.message.startsWith(from)) return error;
  const renamed = new (error.constructor as new (message: string) => Error)(to + error.message.slice(from.length));
  return renamed;
}
