/**
 * The heartbeat every source that has one shares: its options, the writer (a timer owned by the source that writes
 * the monitor's own clock on the leader every interval, stopped by the source's close()), and the delay it gives.
 *
 * One clock writes and reads: the value written is this process's `Date.now()`, and a follower's heartbeat delay is
 * the time between the newest heartbeat written (acknowledged by the leader) before the follower was read and the
 * newest one the follower shows: 0 when caught up, otherwise off by at most one interval plus a read's time. No
 * clock synchronisation between servers is needed.
 */
import { objectOption, stringOption, timeoutOption } from './options.ts';

/** Default time between two heartbeat writes, ms. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1000;
/** Default heartbeat table of the SQL sources (in the URL's database or schema). */
export const DEFAULT_HEARTBEAT_TABLE = 'replag_heartbeat';
/** Default heartbeat key (a hash: one field per heartbeat name) of the Redis sources. */
export const DEFAULT_HEARTBEAT_KEY = 'replag:heartbeat';
/** The longest heartbeat name (a row's primary key, a hash field). */
export const MAX_HEARTBEAT_NAME = 64;

/** The heartbeat option of the SQL sources (PostgreSQL, MySQL / MariaDB, Galera). */
export interface SqlHeartbeatOptions {
  /**
   * Table to write and read, `table` or `schema.table` (lower-case letters, digits and `_`). Default
   * `replag_heartbeat`, in the URL's database (MySQL) or the first schema of the search path (PostgreSQL).
   */
  table?: string;
  /** Time between two writes, ms. Default 1000. */
  intervalMs?: number;
  /**
   * The row this monitor writes (its primary key): several monitors of one database need distinct names. Default
   * the source's name (`postgresql`, `mysql`); `replag --config` passes each source's `name`.
   */
  name?: string;
}

/** The heartbeat option of the Redis sources. */
export interface RedisHeartbeatOptions {
  /** Hash to write and read: one field per heartbeat name. Default `replag:heartbeat`. */
  key?: string;
  /** Time between two writes, ms. Default 1000. */
  intervalMs?: number;
  /** The hash field this monitor writes: several monitors of one Redis need distinct names. Default `redis`. */
  name?: string;
}

/** A validated heartbeat option: where (table or key), how often, under which name. */
export interface HeartbeatSettings {
  /** The table (`table` or `schema.table`) or the key. */
  readonly target: string;
  readonly intervalMs: number;
  readonly name: string;
}

const SQL_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The SQL heartbeat option, validated; undefined when not given (then nothing is created or written anywhere).
 * @param option its full name, e.g. `PostgresSourceOptions.heartbeat`.
 * @throws TypeError / RangeError naming the bad field.
 */
export function sqlHeartbeatOption(value: unknown, option: string, defaultName: string): HeartbeatSettings | undefined {
  if (value === undefined) return undefined;
  const o = objectOption(value, option, '{ table?, intervalMs?, name? }');
  unknownFields(o, option, ['table', 'intervalMs', 'name']);
  const table = stringOption(o.table, `${option}.table`) ?? DEFAULT_HEARTBEAT_TABLE;
  const parts = table.split('.');
  if (parts.length > 2 || !parts.every((p) => SQL_IDENTIFIER.test(p))) {
    throw new RangeError(`${option}.table must be a table name or schema.table of lower-case letters, digits and _ (at most 63 each, not starting with a digit), got "${table}"`);
  }
  return { target: table, intervalMs: interval(o.intervalMs, option), name: heartbeatName(o.name, option, defaultName) };
}

/** The Redis heartbeat option, validated; undefined when not given. @throws TypeError / RangeError naming the bad field. */
export function redisHeartbeatOption(value: unknown, option: string, defaultName: string): HeartbeatSettings | undefined {
  if (value === undefined) return undefined;
  const o = objectOption(value, option, '{ key?, intervalMs?, name? }');
  unknownFields(o, option, ['key', 'intervalMs', 'name']);
  const key = stringOption(o.key, `${option}.key`) ?? DEFAULT_HEARTBEAT_KEY;
  if (key === '' || key.length > 256 || /[\s\x00-\x1f]/.test(key)) throw new RangeError(`${option}.key must be 1 to 256 characters without spaces or control characters`);
  return { target: key, intervalMs: interval(o.intervalMs, option), name: heartbeatName(o.name, option, defaultName) };
}

function unknownFields(o: Record<string, unknown>, option: string, known: readonly string[]): void {
  const extra = Object.keys(o).filter((k) => !known.includes(k));
  if (extra.length > 0) throw new RangeError(`${option} has unknown field(s) ${extra.join(', ')}: expected ${known.join(', ')}`);
}

function interval(value: unknown, option: string): number {
  return timeoutOption(value, `${option}.intervalMs`, DEFAULT_HEARTBEAT_INTERVAL_MS, 86_400_000);
}

function heartbeatName(value: unknown, option: string, fallback: string): string {
  const name = stringOption(value, `${option}.name`) ?? fallback;
  if (name === '' || name.length > MAX_HEARTBEAT_NAME || /[\x00-\x1f]/.test(name)) {
    throw new RangeError(`${option}.name must be 1 to ${MAX_HEARTBEAT_NAME} characters without control characters`);
  }
  return name;
}

/**
 * A follower's heartbeat delay, seconds: from the newest heartbeat written before the follower was read
 * (`writtenMs`) back to the newest one it shows (`shownMs`); 0 when it shows that one (or a newer one). Undefined
 * when either is unknown (nothing written yet, or the follower shows no heartbeat of this name).
 */
export function heartbeatDelaySeconds(writtenMs: number | undefined, shownMs: number | undefined): number | undefined {
  if (writtenMs === undefined || shownMs === undefined || !Number.isFinite(shownMs)) return undefined;
  return writtenMs > shownMs ? (writtenMs - shownMs) / 1000 : 0;
}

/** Options of `HeartbeatWriter`. */
export interface HeartbeatWriterOptions {
  readonly intervalMs: number;
  /** Writes `nowMs` on the leader (creating what is missing on the first call); rejects with an explained error. */
  readonly write: (nowMs: number, first: boolean) => Promise<void>;
  /** Called with a timed write's failure (the first write's failure rejects `start()` instead). */
  readonly onError?: (error: Error) => void;
}

/**
 * Writes a heartbeat now and then every `intervalMs` (one write at a time), until `stop()`. A write that fails is
 * retried at the next tick; `newestWrittenMs` is the value of the newest write the leader acknowledged.
 */
export class HeartbeatWriter {
  readonly #options: HeartbeatWriterOptions;
  #newest: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #started: Promise<void> | undefined;
  #inFlight: Promise<void> = Promise.resolve();
  #stopped = false;
  #setupDone = false;
  /** The latest write attempt failed (the leader is down or refuses): `writtenMs` is then undefined. */
  #failing = false;

  constructor(options: HeartbeatWriterOptions) {
    this.#options = options;
  }

  /** The value (`Date.now()` when written) of the newest acknowledged write; undefined before the first. */
  get newestWrittenMs(): number | undefined {
    return this.#newest;
  }

  /**
   * The newest acknowledged write's value, for computing delays now: undefined before the first write and while the
   * latest attempt failed (a delay against a heartbeat no longer being written would read too low).
   */
  get writtenMs(): number | undefined {
    return this.#failing ? undefined : this.#newest;
  }

  /**
   * Until one succeeds: writes now and resolves when the leader acknowledged it (then the timer runs), or rejects
   * with that write's error (the next call tries again). Afterwards resolves at once.
   */
  start(): Promise<void> {
    if (this.#stopped) return Promise.reject(new Error('the heartbeat writer is stopped'));
    this.#started ??= this.#writeOnce().then(
      () => this.#schedule(),
      (error: unknown) => {
        this.#started = undefined;
        throw error;
      },
    );
    return this.#started;
  }

  /** Stops the timer and waits for a write in flight (its failure ignored). Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inFlight.catch(() => undefined);
  }

  #writeOnce(): Promise<void> {
    const run = this.#inFlight.catch(() => undefined).then(async () => {
      if (this.#stopped) throw new Error('the heartbeat writer is stopped');
      const now = Date.now();
      try {
        await this.#options.write(now, !this.#setupDone);
      } catch (error) {
        this.#failing = true;
        throw error;
      }
      this.#failing = false;
      this.#setupDone = true;
      if (this.#newest === undefined || now > this.#newest) this.#newest = now;
    });
    this.#inFlight = run;
    return run;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#writeOnce().then(
        () => this.#schedule(),
        (error: unknown) => {
          try {
            this.#options.onError?.(error instanceof Error ? error : new Error(String(error)));
          } catch {
            // A throwing listener must not stop the heartbeat.
          }
          this.#schedule();
        },
      );
    }, this.#options.intervalMs);
    this.#timer.unref?.();
  }
}
