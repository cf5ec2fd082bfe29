/**
 * One kept connection to one PostgreSQL server (a standby read for its heartbeat, the primary written to, a logical
 * subscriber read for its subscriptions): opened on first use, dropped after a failure, closed politely then by
 * force. @internal
 */
import pg from 'pg';
import { settlesWithin } from '../kit/deadline.ts';
import type { SubscriberServer } from './subscriber.ts';

const CLOSE_GRACE_MS = 250;

/** What a {@link PgConnection} does beyond connecting. */
export interface PgConnectionOptions {
  /** Runs once per new connection, before `connect()` hands the client out; a rejection fails that connect. */
  readonly afterConnect?: (client: pg.Client) => Promise<void>;
}

/** A lazily opened connection to `server`; holds the password only inside `server.url`. */
export class PgConnection {
  readonly server: Pick<SubscriberServer, 'url' | 'shown' | 'tls'>;
  /** How messages name the server, e.g. `PostgreSQL standby postgres://db2:5432/postgres`. */
  readonly at: string;
  #client: pg.Client | undefined;
  #connected: Promise<void> | undefined;
  #closed = false;
  readonly #afterConnect: PgConnectionOptions['afterConnect'];

  constructor(server: Pick<SubscriberServer, 'url' | 'shown' | 'tls'>, at: string, options: PgConnectionOptions = {}) {
    this.server = server;
    this.at = at;
    this.#afterConnect = options.afterConnect;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The open client (connecting first when needed). */
  connect(): Promise<pg.Client> {
    if (this.#closed) return Promise.reject(new Error(`${this.at}: the source is closed`));
    if (this.#client !== undefined && this.#connected !== undefined) {
      const client = this.#client;
      return this.#connected.then(() => client);
    }
    // ssl is always explicit (false included): pg would otherwise fall back to PGSSLMODE / pg.defaults.ssl.
    const ssl = this.server.tls === undefined ? false : { ...this.server.tls };
    const client = new pg.Client({ connectionString: this.server.url, application_name: 'otel-replication-lag', ssl });
    const lost = () => {
      if (this.#client === client) this.discard();
    };
    client.on('error', lost);
    client.on('end', lost);
    this.#client = client;
    const afterConnect = this.#afterConnect;
    this.#connected = client.connect().then(afterConnect === undefined ? () => undefined : () => afterConnect(client));
    return this.#connected.then(() => client);
  }

  /** Drops the connection at once (after a failure); the next use reconnects. */
  discard(): void {
    const client = this.#client;
    this.#client = undefined;
    this.#connected = undefined;
    client?.connection.stream.destroy();
  }

  /** Closes the connection (politely, then by force). Idempotent; `connect()` rejects afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    this.#connected = undefined;
    if (client === undefined) return;
    await settlesWithin(client.end(), CLOSE_GRACE_MS);
    client.connection.stream.destroy();
  }
}
