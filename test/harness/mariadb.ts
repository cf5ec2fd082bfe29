/**
 * A real MariaDB primary and one GTID replica for the MySQL source tests: two mariadbd instances from Debian's
 * mariadb-server, each with its own datadir, tmpdir and unix socket in a temporary folder, run as the unprivileged
 * `mysql` OS user, listening on 127.0.0.1 only, on ports from `findFreePort` in the caller's range. Root talks to
 * them over the socket (unix_socket authentication); the code under test connects over TCP with a password.
 * With `tls`, both servers also accept TLS on that port (ssl_cert, ssl_key, ssl_ca: client certificates signed by
 * the CA are checked); plaintext stays allowed, so accounts choose with REQUIRE SSL / REQUIRE X509.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createConnection } from 'mysql2/promise';
import { startBackgroundLoop } from './background-loop.ts';
import { ensureDebianPackages } from './debian-packages.ts';
import { ensureServiceUser } from './service-user.ts';
import { findFreePort, waitUntil } from './wait.ts';

const run = promisify(execFile);

export type MariaDbServerName = 'primary' | 'replica';

/** Where to find ports for the two servers: [minPort, maxPort), below 32768; optional TLS. */
export interface MariaDbClusterOptions {
  minPort: number;
  maxPort: number;
  /** PEM files for both servers; the key must be readable by the `mysql` OS user (see makeTestCertificates' owner). */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

interface ServerState {
  readonly name: MariaDbServerName;
  readonly serverId: number;
  readonly dir: string;
  readonly socket: string;
  readonly errorLog: string;
  port: number;
  child: ChildProcess | undefined;
  exited: Promise<void>;
}

const SHUTDOWN_WAIT_MS = 20_000;
const SQL_TIMEOUT_MS = 15_000;

/** A running primary + replica. `close()` tears everything down; call it from an `after()` hook. */
export class MariaDbCluster {
  private readonly base: string;
  private readonly servers: Record<MariaDbServerName, ServerState>;
  private readonly stopped = new Set<MariaDbServerName>();
  private readonly uid: number;
  private readonly gid: number;
  private readonly options: MariaDbClusterOptions;
  private closed = false;
  /** Last resort if the test process dies without `close()`: never leave a stopped or running server behind. */
  private readonly onExit = () => {
    for (const s of Object.values(this.servers)) {
      if (s.child?.pid === undefined || s.child.exitCode !== null) continue;
      try {
        process.kill(s.child.pid, 'SIGCONT');
        process.kill(s.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(this.base, { recursive: true, force: true });
  };

  private constructor(options: MariaDbClusterOptions) {
    this.options = options;
    const user = ensureServiceUser('mysql');
    this.uid = user.uid;
    this.gid = user.gid;
    this.base = mkdtempSync(join(tmpdir(), 'replag-mariadb-'));
    chownSync(this.base, this.uid, this.gid);
    const server = (name: MariaDbServerName, serverId: number): ServerState => ({
      name,
      serverId,
      dir: join(this.base, name),
      socket: join(this.base, `${name}.sock`),
      errorLog: join(this.base, `${name}.err`),
      port: 0,
      child: undefined,
      exited: Promise.resolve(),
    });
    this.servers = { primary: server('primary', 1), replica: server('replica', 2) };
    process.on('exit', this.onExit);
  }

  /** Installs mariadb-server if missing, initialises both datadirs, starts both servers and replication. */
  static async start(options: MariaDbClusterOptions): Promise<MariaDbCluster> {
    ensureDebianPackages(['mariadb-server', 'mariadb-client'], ['mariadbd', 'mariadb-install-db', 'mariadb', 'mariadb-admin']);
    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      throw new Error('the MariaDB harness must run as root: it starts mariadbd as the mysql OS user and logs in as root over the unix socket');
    }
    const cluster = new MariaDbCluster(options);
    try {
      await Promise.all(Object.values(cluster.servers).map((s) => cluster.install(s)));
      await Promise.all([cluster.startFresh(cluster.servers.primary), cluster.startFresh(cluster.servers.replica)]);
      await cluster.sql('primary', `
        CREATE USER repl@'127.0.0.1' IDENTIFIED BY 'repl-pw'; GRANT REPLICATION SLAVE ON *.* TO repl@'127.0.0.1';
        CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT, v INT) ENGINE=InnoDB;`);
      // Both datadirs come from identical fresh installs, so the replica can start from an empty GTID position.
      await cluster.sql('replica', "SET GLOBAL gtid_slave_pos = ''");
      await cluster.configureReplication();
      await cluster.waitCaughtUp();
      return cluster;
    } catch (error) {
      await cluster.close();
      throw error;
    }
  }

  /** TCP port of a server on 127.0.0.1. */
  port(name: MariaDbServerName): number {
    return this.servers[name].port;
  }

  /** Runs SQL as root over the server's unix socket; returns the rows tab-separated, without column names. */
  async sql(name: MariaDbServerName, statements: string): Promise<string> {
    const { stdout } = await run('mariadb', ['--no-defaults', '-S', this.servers[name].socket, '-uroot', '-N', '-B', '-e', statements], {
      timeout: SQL_TIMEOUT_MS,
      encoding: 'utf8',
    });
    return stdout.trim();
  }

  /** `@@gtid_binlog_pos` of the primary or `@@gtid_slave_pos` of the replica. */
  gtidPos(name: MariaDbServerName): Promise<string> {
    return this.sql(name, name === 'primary' ? 'SELECT @@GLOBAL.gtid_binlog_pos' : 'SELECT @@GLOBAL.gtid_slave_pos');
  }

  /** Inserts `count` rows on the primary, one transaction (one GTID) each. */
  async insert(count: number): Promise<void> {
    await this.sql('primary', 'INSERT INTO app.t (v) VALUES (1);'.repeat(count));
  }

  /**
   * Keeps inserting one row (one transaction) every `intervalMs` on the primary, over one TCP connection of its
   * own (user `loader`, created on first use), until `stop()`, which rethrows a write error. Bounded to 10,000 rows.
   */
  async startLoad(intervalMs = 100): Promise<{ stop(): Promise<void>; readonly rows: number }> {
    const password = 'loader-pw-5d1c';
    await this.sql('primary', `CREATE USER IF NOT EXISTS 'loader'@'127.0.0.1' IDENTIFIED BY '${password}'; GRANT INSERT ON app.* TO 'loader'@'127.0.0.1';`);
    const conn = await createConnection({ host: '127.0.0.1', port: this.port('primary'), user: 'loader', password });
    let rows = 0;
    // A write error ends the loop; stop() rethrows it.
    const loop = startBackgroundLoop(async () => {
      await conn.query('INSERT INTO app.t (v) VALUES (1)');
      rows++;
    }, { intervalMs, maxSteps: 10_000 });
    return {
      get rows() {
        return rows;
      },
      async stop() {
        try {
          await loop.stop();
        } finally {
          await conn.end().catch(() => conn.destroy());
        }
      },
    };
  }

  /** Waits until the replica has applied everything the primary has written. */
  async waitCaughtUp(timeoutMs = 15_000): Promise<void> {
    const set = (gtids: string) => gtids.split(',').map((g) => g.trim()).filter(Boolean).sort().join(',');
    await waitUntil('the replica to apply every transaction of the primary', timeoutMs, async () => {
      const [primary, replica] = await Promise.all([this.gtidPos('primary'), this.gtidPos('replica')]);
      return set(primary) === set(replica);
    }, 50);
  }

  /** Points the replica at the primary (GTID, slave_pos) and starts replication. */
  async configureReplication(): Promise<void> {
    await this.sql('replica', `
      CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${this.port('primary')}, MASTER_USER='repl',
        MASTER_PASSWORD='repl-pw', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=1;
      START REPLICA;`);
  }

  /**
   * Sends SIGSTOP / SIGCONT to a server process; stopped servers are continued before teardown.
   * SIGSTOP returns once every thread of the server is stopped: a thread already running could otherwise
   * still answer a query sent right after the signal.
   */
  async signal(name: MariaDbServerName, signal: 'SIGSTOP' | 'SIGCONT'): Promise<void> {
    const pid = this.servers[name].child?.pid;
    if (pid === undefined) throw new Error(`${name} mariadbd is not running`);
    if (signal === 'SIGSTOP') this.stopped.add(name);
    else this.stopped.delete(name);
    process.kill(pid, signal);
    if (signal === 'SIGSTOP') await waitUntil(`every thread of ${name} mariadbd (pid ${pid}) to be stopped`, 5000, () => threadStates(pid).every((state) => state === 'T'), 10);
  }

  /** Shuts a server down (SIGTERM, bounded wait, then SIGKILL). */
  async stop(name: MariaDbServerName): Promise<void> {
    const s = this.servers[name];
    const child = s.child;
    if (child === undefined) return;
    if (this.stopped.has(name)) await this.signal(name, 'SIGCONT');
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve();
        }, SHUTDOWN_WAIT_MS);
      });
      await Promise.race([s.exited, killed]);
      clearTimeout(timer);
      await s.exited;
    }
    s.child = undefined;
  }

  /** Starts a stopped server again on its port, with its datadir (a replica resumes replication by itself). */
  async restart(name: MariaDbServerName): Promise<void> {
    await this.launch(this.servers[name]);
  }

  /** Continues stopped servers, shuts both down and removes the temporary folder. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const name of [...this.stopped]) await this.signal(name, 'SIGCONT');
    await this.stop('replica');
    await this.stop('primary');
    rmSync(this.base, { recursive: true, force: true });
    process.off('exit', this.onExit);
  }

  /** Each server gets its own temporary directory: the two installs run at once and must not share /tmp. */
  private tmp(s: ServerState): string {
    return join(this.base, `${s.name}-tmp`);
  }

  private async install(s: ServerState): Promise<void> {
    mkdirSync(this.tmp(s));
    chownSync(this.tmp(s), this.uid, this.gid);
    await run('mariadb-install-db', [
      '--no-defaults', '--user=mysql', `--datadir=${s.dir}`, '--skip-test-db', '--auth-root-authentication-method=socket', `--tmpdir=${this.tmp(s)}`,
    ], { timeout: 60_000 });
  }

  /** First start: on a free port, trying another one if it was taken meanwhile. */
  private async startFresh(s: ServerState): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      do s.port = await findFreePort(this.options.minPort, this.options.maxPort);
      while (Object.values(this.servers).some((o) => o !== s && o.port === s.port));
      try {
        await this.launch(s);
        return;
      } catch (error) {
        if (attempt >= 3 || !/already in use|Bind on TCP\/IP port/i.test(String((error as Error).message))) throw error;
      }
    }
  }

  private async launch(s: ServerState): Promise<void> {
    const args = [
      '--no-defaults', '--user=mysql', `--datadir=${s.dir}`, `--tmpdir=${this.tmp(s)}`, `--port=${s.port}`, '--bind-address=127.0.0.1',
      `--socket=${s.socket}`, `--pid-file=${join(this.base, `${s.name}.pid`)}`, `--log-error=${s.errorLog}`,
      `--server-id=${s.serverId}`, `--log-bin=${join(s.dir, 'binlog')}`, '--binlog-format=ROW', '--skip-name-resolve',
      '--innodb-buffer-pool-size=32M', '--innodb-log-file-size=16M', '--innodb-flush-log-at-trx-commit=2', '--sync-binlog=0',
      '--performance-schema=OFF',
      ...(this.options.tls === undefined ? [] : [`--ssl-cert=${this.options.tls.certFile}`, `--ssl-key=${this.options.tls.keyFile}`, `--ssl-ca=${this.options.tls.caFile}`]),
      ...(s.name === 'replica' ? ['--read-only=ON', `--relay-log=${join(s.dir, 'relay')}`, '--log-slave-updates'] : []),
    ];
    const child = spawn('mariadbd', args, { stdio: 'ignore' });
    s.child = child;
    s.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('error', () => {}); // reported through the exit check below
    let exited = false;
    void s.exited.then(() => (exited = true));
    await waitUntil(`${s.name} mariadbd to accept connections on 127.0.0.1:${s.port}`, 30_000, async () => {
      if (exited) return true;
      await run('mariadb-admin', ['--no-defaults', '-S', s.socket, '-uroot', '--connect-timeout=2', 'ping'], { timeout: 5000 });
      return true;
    }, 100);
    if (exited) {
      s.child = undefined;
      throw new Error(`${s.name} mariadbd exited during startup (exit ${child.exitCode ?? child.signalCode}):\n${tail(s.errorLog)}`);
    }
  }
}

/** Starts a MariaDB primary and a GTID replica; throws (never skips) when they cannot be installed or started. */
export function startMariaDbCluster(options: MariaDbClusterOptions): Promise<MariaDbCluster> {
  return MariaDbCluster.start(options);
}

/** State letter of each thread of `pid` (from /proc/<pid>/task/<tid>/stat): R, S, D, T (stopped), … */
function threadStates(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  });
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-15).join('\n');
  } catch {
    return '(no error log)';
  }
}
