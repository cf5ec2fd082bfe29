/**
 * A real PostgreSQL 15 primary with streaming standbys for tests, from the Debian packages.
 *
 * `startPostgresCluster()` initdb's a primary in a temporary folder, starts it as the `postgres` OS user
 * (initdb refuses root) on 127.0.0.1 only, takes a `pg_basebackup -R` per standby (with a physical slot when
 * asked) and waits until every standby streams. The superuser `postgres` connects over TCP without a password
 * (`trust`); every other role must authenticate with SCRAM, so wrong-password tests are real.
 * With `tls`, the primary (and the standbys, which copy its configuration) also accept TLS (`ssl = on`, client
 * certificates checked against the CA), and `hba` lines put before the generic ones can make roles TLS-only or
 * authenticate them by certificate; the standbys then stream over TLS too (pg_basebackup -R writes sslmode=prefer).
 * `PgServer.promote()` turns a standby into a primary (`pg_ctl promote`), for failover tests.
 * `close()` SIGCONTs whatever the test SIGSTOPped, stops the standbys then the primary (bounded, then
 * SIGKILL) and removes the folder; if the test process dies first, an `exit` hook kills the servers.
 */
import { execFile } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { startBackgroundLoop } from './background-loop.ts';
import { ensureDebianPackages } from './debian-packages.ts';
import { ensureServiceUser } from './service-user.ts';
import { findFreePort, waitUntil } from './wait.ts';

export { findFreePort, waitUntil } from './wait.ts';

/** Where Debian's postgresql-15 puts the server binaries (not on PATH). */
export const PG_BIN = '/usr/lib/postgresql/15/bin';
const RUN_USER = 'postgres';
const COMMAND_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_SECONDS = 10;

/** One standby to create. */
export interface StandbySpec {
  /** Its `cluster_name`, hence the `application_name` the primary shows for it. */
  name: string;
  /** Physical replication slot to create and use (`pg_basebackup -C -S`). Default: none. */
  slot?: string;
}

export interface PostgresClusterOptions {
  standbys: StandbySpec[];
  /** Ports are picked free in [min, max) on 127.0.0.1 (keep max ≤ 32768). */
  portRange: [number, number];
  /**
   * Start the primary's WAL at LSN `walStartHigh`/0 (`pg_resetwal -l` on the fresh cluster), e.g. 0xABCDEF for
   * positions above 2^53. Default: where initdb leaves it.
   */
  walStartHigh?: number;
  /**
   * TLS on the primary: `ssl = on` with these files (PostgreSQL wants the key owned by the `postgres` user, mode
   * 0600: `makeTestCertificates({ owner })`). `caFile` verifies client certificates.
   */
  tls?: { certFile: string; keyFile: string; caFile: string };
  /** pg_hba.conf lines matched before the generic ones, e.g. `hostssl all x 127.0.0.1/32 cert`. */
  hba?: string[];
  /** The primary's `wal_level`: `logical` for a publisher of logical replication. Default `replica`. */
  walLevel?: 'replica' | 'logical';
}

/** One server of the cluster. */
export interface PgServer {
  readonly name: string;
  readonly port: number;
  readonly dataDir: string;
  /** Runs `sql` as the superuser over TCP (a connection per call) and returns the rows. */
  query<R extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** The postmaster and all its children, now (empty when stopped). */
  pids(): number[];
  /** Whether the postmaster runs (as far as this harness knows). */
  readonly running: boolean;
  /** `pg_ctl start -w`. */
  start(): Promise<void>;
  /** `pg_ctl stop -m fast -w` (bounded; SIGKILL after). */
  stop(): Promise<void>;
  /** `pg_ctl promote -w` (bounded): a standby becomes a primary, as a failover manager would make it. */
  promote(): Promise<void>;
  /** The server log so far. */
  log(): string;
}

export interface PostgresCluster {
  readonly primary: PgServer;
  standby(name: string): PgServer;
  /** `postgres://user@127.0.0.1:<port>/postgres` of `server` (default the primary), password not included. */
  url(user?: string, server?: PgServer): string;
  /** Creates a LOGIN role with a SCRAM password on the primary (replicated to the standbys). */
  createRole(name: string, password: string): Promise<void>;
  /** Inserts `rows` rows into a table on the primary (one transaction). */
  write(rows?: number): Promise<void>;
  /** Keeps writing on the primary every `intervalMs` until the returned `stop()` (which rethrows a write error). */
  startLoad(intervalMs?: number): { stop(): Promise<void> };
  /** Waits until every running standby has replayed the primary's current LSN; returns that LSN. */
  waitCaughtUp(timeoutMs?: number): Promise<string>;
  /** Waits until `count` standbys stream from the primary and have reported a replay position. */
  waitStreaming(count: number, timeoutMs?: number): Promise<void>;
  /** The pid of a standby's walreceiver. */
  walReceiverPid(standby: string): Promise<number>;
  /** SIGSTOPs processes; `close()` (and `continue`) SIGCONT them. */
  suspend(pids: number[]): void;
  /** SIGCONTs processes suspended with `suspend`. */
  continue(pids: number[]): void;
  /** SIGCONTs every suspended process, stops every server, removes the folder. Idempotent. */
  close(): Promise<void>;
}

/** Runs `file` as the `postgres` OS user when we are root, else as ourselves. */
function runAs(file: string, args: string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> {
  const asRoot = process.getuid?.() === 0;
  const [cmd, argv] = asRoot ? ['runuser', ['-u', RUN_USER, '--', file, ...args]] : [file, args];
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file.split('/').pop()} ${args.join(' ')} failed: ${error.message}\n${stderr}${stdout}`.trim()));
      else resolve(stdout);
    });
  });
}

/** Children of `pid` (from /proc), one level: a postmaster's backends, walsenders, walreceiver... */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Clusters still running, for the exit hook. */
const live = new Set<{ suspended: Set<number>; servers: Server[]; base: string }>();
process.on('exit', () => {
  for (const c of live) {
    for (const pid of c.suspended) signal(pid, 'SIGCONT');
    for (const s of c.servers) {
      const pm = s.postmasterPid();
      if (pm !== undefined) signal(pm, 'SIGQUIT');
    }
    rmSync(c.base, { recursive: true, force: true });
  }
});

class Server implements PgServer {
  readonly name: string;
  readonly port: number;
  readonly dataDir: string;
  private readonly logFile: string;
  running = false;

  constructor(base: string, name: string, port: number) {
    this.name = name;
    this.port = port;
    this.dataDir = join(base, name);
    this.logFile = join(base, `${name}.log`);
  }

  async query<R extends Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<R[]> {
    const client = new pg.Client({
      host: '127.0.0.1',
      port: this.port,
      user: 'postgres',
      database: 'postgres',
      connectionTimeoutMillis: 5000,
      query_timeout: 10_000,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      return (await client.query<R>(sql, params)).rows;
    } finally {
      await client.end().catch(() => {});
    }
  }

  postmasterPid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  pids(): number[] {
    const pm = this.postmasterPid();
    return pm === undefined ? [] : [pm, ...childrenOf(pm)];
  }

  async start(): Promise<void> {
    await runAs(`${PG_BIN}/pg_ctl`, ['-D', this.dataDir, '-l', this.logFile, '-w', '-t', '30', 'start']);
    this.running = true;
  }

  async stop(): Promise<void> {
    const pids = this.pids();
    if (pids.length === 0) {
      this.running = false;
      return;
    }
    for (const pid of pids) signal(pid, 'SIGCONT'); // a stopped process would hold the shutdown forever
    try {
      await runAs(`${PG_BIN}/pg_ctl`, ['-D', this.dataDir, '-m', 'fast', '-t', String(STOP_TIMEOUT_SECONDS), '-w', 'stop'], (STOP_TIMEOUT_SECONDS + 5) * 1000);
    } catch {
      for (const pid of pids) signal(pid, 'SIGKILL');
      for (let i = 0; i < 50 && pids.some(alive); i++) await sleep(100);
    }
    this.running = false;
  }

  async promote(): Promise<void> {
    await runAs(`${PG_BIN}/pg_ctl`, ['-D', this.dataDir, '-w', '-t', '30', 'promote']);
  }

  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }
}

/** pg_hba.conf: `extra` lines first (matched first to last), then the superuser's trust and SCRAM for the rest. */
function pgHba(extra: readonly string[] = []): string {
  return `# written by test/harness/postgresql.ts
${extra.map((line) => `${line}\n`).join('')}local   all          all                      trust
host    all          postgres  127.0.0.1/32   trust
host    replication  postgres  127.0.0.1/32   trust
host    all          all       127.0.0.1/32   scram-sha-256
`;
}

async function freePorts(count: number, [min, max]: [number, number]): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; ports.length < count && i < 100; i++) {
    const port = await findFreePort(min, max);
    if (!ports.includes(port)) ports.push(port);
  }
  if (ports.length < count) throw new Error(`could not find ${count} distinct free ports in [${min}, ${max})`);
  return ports;
}

/** Starts a primary and its standbys; installs postgresql-15 first when missing (throws if it cannot). */
export async function startPostgresCluster(options: PostgresClusterOptions): Promise<PostgresCluster> {
  ensureDebianPackages(['postgresql-15', 'postgresql-client-15']);
  for (const bin of ['initdb', 'pg_ctl', 'pg_basebackup', 'pg_resetwal']) {
    if (!existsSync(`${PG_BIN}/${bin}`)) throw new Error(`${PG_BIN}/${bin} missing although postgresql-15 is installed`);
  }
  if (process.getuid?.() === 0) ensureServiceUser(RUN_USER);

  const base = mkdtempSync(join(tmpdir(), 'pg-lag-'));
  if (process.getuid?.() === 0) {
    const { uid, gid } = ensureServiceUser(RUN_USER);
    chownSync(base, uid, gid);
  }
  const ports = await freePorts(1 + options.standbys.length, options.portRange);
  const primary = new Server(base, 'primary', ports[0]!);
  const standbys = options.standbys.map((s, i) => new Server(base, s.name, ports[i + 1]!));
  const suspended = new Set<number>();
  const entry = { suspended, servers: [primary, ...standbys], base };
  live.add(entry);

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      for (const pid of suspended) signal(pid, 'SIGCONT');
      suspended.clear();
      for (const s of standbys) await s.stop();
      await primary.stop();
      rmSync(base, { recursive: true, force: true });
      live.delete(entry);
    })();
    return closed;
  };

  const cluster: PostgresCluster = {
    primary,
    standby(name) {
      const s = standbys.find((x) => x.name === name);
      if (s === undefined) throw new Error(`no standby named ${name}`);
      return s;
    },
    url(user = 'postgres', server = primary) {
      return `postgres://${encodeURIComponent(user)}@127.0.0.1:${server.port}/postgres`;
    },
    async createRole(name, password) {
      // Utility statements take no parameters: quote the name and the password ourselves.
      await primary.query(`CREATE ROLE "${name.replace(/"/g, '""')}" LOGIN PASSWORD ${literal(password)}`);
    },
    async write(rows = 50) {
      await primary.query(`INSERT INTO lag_load(v) SELECT repeat('x', 200) FROM generate_series(1, $1::int)`, [rows]);
    },
    startLoad(intervalMs = 100) {
      // A write error ends the loop; stop() rethrows it.
      const loop = startBackgroundLoop(() => cluster.write(20), { intervalMs, maxSteps: 2000 });
      return { stop: () => loop.stop() };
    },
    async waitCaughtUp(timeoutMs = 15_000) {
      const [row] = await primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      const lsn = row!.lsn;
      for (const s of standbys.filter((x) => x.running)) {
        await waitUntil(`${s.name} to replay ${lsn}`, timeoutMs, async () => {
          const [r] = await s.query<{ ok: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [lsn]);
          return r?.ok === true;
        }, 50);
      }
      return lsn;
    },
    async waitStreaming(count, timeoutMs = 20_000) {
      await waitUntil(`${count} standby(s) streaming`, timeoutMs, async () => {
        const [r] = await primary.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_replication WHERE state = 'streaming' AND replay_lsn IS NOT NULL");
        return r?.n === count;
      }, 50);
    },
    async walReceiverPid(name) {
      let pid = 0;
      await waitUntil(`walreceiver of ${name}`, 10_000, async () => {
        const [r] = await cluster.standby(name).query<{ pid: number | null }>('SELECT pid FROM pg_stat_wal_receiver');
        pid = r?.pid ?? 0;
        return pid > 0;
      }, 50);
      return pid;
    },
    suspend(pids) {
      for (const pid of pids) {
        suspended.add(pid);
        signal(pid, 'SIGSTOP');
      }
    },
    continue(pids) {
      for (const pid of pids) {
        signal(pid, 'SIGCONT');
        suspended.delete(pid);
      }
    },
    close,
  };

  try {
    await runAs(`${PG_BIN}/initdb`, ['-D', primary.dataDir, '-U', 'postgres', '-A', 'trust', '-N', '--no-instructions']);
    if (options.walStartHigh !== undefined) {
      const high = options.walStartHigh.toString(16).toUpperCase().padStart(8, '0');
      await runAs(`${PG_BIN}/pg_resetwal`, ['-l', `00000001${high}00000000`, '-D', primary.dataDir]);
    }
    appendConf(primary.dataDir, [
      "listen_addresses = '127.0.0.1'",
      `port = ${primary.port}`,
      `unix_socket_directories = '${base}'`,
      `wal_level = ${options.walLevel ?? 'replica'}`,
      'max_wal_senders = 10',
      'max_replication_slots = 10',
      'wal_keep_size = 64MB',
      'hot_standby = on',
      'wal_receiver_status_interval = 1s', // standbys report their replay position every second
      "wal_retrieve_retry_interval = '100ms'", // standbys reconnect quickly after losing the walsender
      'fsync = off',
      'shared_buffers = 16MB',
      'max_connections = 30',
      "cluster_name = 'primary'",
      ...(options.tls === undefined
        ? []
        : ['ssl = on', `ssl_cert_file = ${literal(options.tls.certFile)}`, `ssl_key_file = ${literal(options.tls.keyFile)}`, `ssl_ca_file = ${literal(options.tls.caFile)}`]),
    ]);
    writeFileSync(join(primary.dataDir, 'pg_hba.conf'), pgHba(options.hba));
    await primary.start();
    await primary.query('CREATE TABLE lag_load(id bigserial PRIMARY KEY, v text)');
    for (const [i, spec] of options.standbys.entries()) {
      const s = standbys[i]!;
      const slot = spec.slot === undefined ? [] : ['-C', '-S', spec.slot];
      await runAs(`${PG_BIN}/pg_basebackup`, ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', s.dataDir, '-R', '-X', 'stream', '-c', 'fast', ...slot]);
      appendConf(s.dataDir, [`port = ${s.port}`, `cluster_name = '${spec.name}'`]);
      await s.start();
    }
    await cluster.waitStreaming(standbys.length);
  } catch (error) {
    const logs = [primary, ...standbys].map((s) => `--- ${s.name}.log\n${s.log().slice(-2000)}`).join('\n');
    await close();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${logs}`);
  }
  return cluster;
}

function appendConf(dataDir: string, lines: string[]): void {
  appendFileSync(join(dataDir, 'postgresql.conf'), `\n# test harness\n${lines.join('\n')}\n`);
}

/** An SQL string literal. */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
