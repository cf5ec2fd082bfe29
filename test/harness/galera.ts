/**
 * A real MariaDB Galera cluster for the Galera source tests (the recipe ../shared/recipes/galera-cluster.sh as a
 * harness): two mariadbd nodes (Debian mariadb-server + galera-4) and the Galera arbitrator garbd
 * (galera-arbitrator-4) on 127.0.0.1, in a temporary folder. mariadbd runs as the unprivileged `mysql` user
 * (started as root with --user=mysql), garbd through setpriv as `mysql`. Node 1 bootstraps the cluster, garbd
 * joins, node 2 joins by rsync SST. garbd keeps a quorum when one node is stopped (2 of 3 members).
 * Ports from `basePort` B (all inside the caller's range): SQL B+1/B+2, gcomm B+11/B+12 (garbd B+13),
 * IST B+21/B+22, rsync SST B+31/B+32. Root talks to the nodes over their unix sockets; the code under test
 * connects over TCP as `monitor` (no grant: USAGE only).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createConnection } from 'mysql2/promise';
import { startBackgroundLoop } from './background-loop.ts';
import { ensureDebianPackages } from './debian-packages.ts';
import { ensureServiceUser, killOnExit, stopChild } from './service-user.ts';
import { waitUntil } from './wait.ts';

const run = promisify(execFile);

/** A mariadbd node of the cluster: 1 or 2. */
export type GaleraNode = 1 | 2;

/** The monitoring account the source signs in with (no grant at all: SHOW GLOBAL STATUS needs none). */
export const MONITOR_USER = 'monitor';
export const MONITOR_PASSWORD = 'Mon-8e41-GaleraMonitorSecret';

const SQL_TIMEOUT_MS = 10_000;
const SHUTDOWN_WAIT_MS = 20_000;

/** Options of `startGaleraCluster`. */
export interface GaleraClusterOptions {
  /** B: the cluster uses B+1 … B+32 (see the file comment); B+32 must stay inside the caller's range. */
  basePort: number;
  /**
   * PEM files: both nodes also accept TLS on their SQL port (ssl_cert, ssl_key, ssl_ca); plaintext stays allowed,
   * accounts choose with REQUIRE SSL. The key must be readable by the `mysql` OS user.
   */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

/** A running two-node cluster with garbd. `close()` tears it down; call it from an `after()` hook. */
export class GaleraCluster {
  readonly basePort: number;
  private readonly tls: GaleraClusterOptions['tls'];
  private readonly base: string;
  private readonly uid: number;
  private readonly gid: number;
  private readonly children = new Map<GaleraNode, ChildProcess>();
  private readonly exits = new Map<GaleraNode, Promise<void>>();
  private garbd: ChildProcess | undefined;
  private readonly stopped = new Set<GaleraNode>();
  private closed = false;

  private constructor(options: GaleraClusterOptions) {
    this.basePort = options.basePort;
    this.tls = options.tls;
    const { uid, gid } = ensureServiceUser('mysql');
    this.uid = uid;
    this.gid = gid;
    this.base = mkdtempSync(join(tmpdir(), 'replag-galera-'));
    chownSync(this.base, uid, gid);
  }

  /** Installs the packages when missing, initialises both datadirs, bootstraps node 1, joins garbd and node 2. */
  static async start(options: GaleraClusterOptions): Promise<GaleraCluster> {
    if (!Number.isInteger(options.basePort) || options.basePort <= 0 || options.basePort + 32 >= 32768) {
      throw new RangeError(`startGaleraCluster: basePort ${options.basePort} must leave B+32 below 32768`);
    }
    ensureDebianPackages(['mariadb-server', 'mariadb-client', 'galera-4', 'galera-arbitrator-4', 'rsync', 'iproute2'],
      ['mariadbd', 'mariadb-install-db', 'mariadb', 'garbd', 'rsync', 'ss']);
    if (process.getuid?.() !== 0) throw new Error('the Galera harness must run as root: it starts mariadbd with --user=mysql and garbd through setpriv');
    const cluster = new GaleraCluster(options);
    try {
      await Promise.all([cluster.install(1), cluster.install(2)]);
      cluster.launch(1, ['--wsrep-new-cluster']);
      await waitUntil('node 1 to bootstrap the cluster (wsrep_ready ON)', 30_000, async () => (await cluster.status(1, 'wsrep_ready')) === 'ON', 100);
      cluster.startGarbd();
      await waitUntil('garbd to join (cluster size 2)', 15_000, async () => (await cluster.status(1, 'wsrep_cluster_size')) === '2', 100);
      cluster.launch(2, []);
      await waitUntil('node 2 to join by SST and be Synced', 60_000, async () => (await cluster.status(2, 'wsrep_local_state_comment')) === 'Synced', 200);
      await cluster.sql(1, `
        CREATE USER ${MONITOR_USER}@'127.0.0.1' IDENTIFIED BY '${MONITOR_PASSWORD}';
        CREATE USER loader@'127.0.0.1' IDENTIFIED BY 'loader-pw-77'; GRANT INSERT ON d.* TO loader@'127.0.0.1';
        CREATE DATABASE d; CREATE TABLE d.t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(100)) ENGINE=InnoDB;`);
      return cluster;
    } catch (error) {
      await cluster.close();
      throw new Error(`${(error as Error).message}\n--- node logs ---\n${cluster.logs()}`);
    }
  }

  /** SQL port of a node on 127.0.0.1. */
  port(node: GaleraNode): number {
    return this.basePort + node;
  }

  /** `mysql://monitor@127.0.0.1:<port>` (no password: give it as the source's `password`). */
  url(node: GaleraNode): string {
    return `mysql://${MONITOR_USER}@127.0.0.1:${this.port(node)}`;
  }

  /** Process id of a node's mariadbd. */
  pid(node: GaleraNode): number {
    const pid = this.children.get(node)?.pid;
    if (pid === undefined) throw new Error(`node ${node} is not running`);
    return pid;
  }

  /** Runs SQL as root over the node's unix socket; rows tab-separated, without column names. */
  async sql(node: GaleraNode, statements: string, timeoutMs = SQL_TIMEOUT_MS): Promise<string> {
    const { stdout } = await run('mariadb', ['--no-defaults', '-S', this.socket(node), '-uroot', '-N', '-B', '-e', statements], { timeout: timeoutMs, encoding: 'utf8' });
    return stdout.trim();
  }

  /** One `SHOW GLOBAL STATUS` value of a node (2 s bound: a stopped node never answers). */
  async status(node: GaleraNode, name: string): Promise<string> {
    const out = await this.sql(node, `SHOW GLOBAL STATUS LIKE '${name}'`, 2000);
    return out.split('\t')[1] ?? '';
  }

  /** Inserts `count` rows on `node`, one autocommit writeset (one seqno) each. */
  async insert(count: number, node: GaleraNode = 1): Promise<void> {
    await this.sql(node, "INSERT INTO d.t (v) VALUES ('x');".repeat(count));
  }

  /**
   * Inserts one row every `intervalMs` on node 1 over a TCP connection of its own until `stop()` (at most
   * 10,000 rows). A write that fails (the cluster pausing, a view change) is counted, not thrown: Galera
   * refuses writes while it re-forms its view.
   */
  async startLoad(intervalMs = 20): Promise<{ stop(): Promise<{ rows: number; errors: number }> }> {
    const conn = await createConnection({ host: '127.0.0.1', port: this.port(1), user: 'loader', password: 'loader-pw-77' });
    let rows = 0;
    let errors = 0;
    const loop = startBackgroundLoop(async () => {
      try {
        await conn.query("INSERT INTO d.t (v) VALUES ('load')");
        rows++;
      } catch {
        errors++;
      }
    }, { intervalMs, maxSteps: 10_000 });
    return {
      async stop() {
        await loop.stop();
        await conn.end().catch(() => conn.destroy());
        return { rows, errors };
      },
    };
  }

  /**
   * Holds `LOCK TABLES d.t READ` on `node` (blocks its applier without desyncing it: flow control pauses the whole
   * cluster once its receive queue passes gcs.fc_limit) until the returned `release()`.
   */
  async lockTables(node: GaleraNode): Promise<{ release(): Promise<void> }> {
    const conn = await createConnection({ socketPath: this.socket(node), user: 'root' });
    await conn.query('LOCK TABLES d.t READ');
    return {
      async release() {
        await conn.query('UNLOCK TABLES');
        await conn.end().catch(() => conn.destroy());
      },
    };
  }

  /** SIGSTOP (returns once every thread is stopped) or SIGCONT of a node's mariadbd. */
  async signal(node: GaleraNode, signal: 'SIGSTOP' | 'SIGCONT'): Promise<void> {
    const pid = this.pid(node);
    if (signal === 'SIGSTOP') this.stopped.add(node);
    else this.stopped.delete(node);
    process.kill(pid, signal);
    if (signal === 'SIGSTOP') await waitUntil(`every thread of node ${node} (pid ${pid}) to stop`, 5000, () => threadStates(pid).every((s) => s === 'T'), 10);
  }

  /** Waits until both nodes are Synced members of one Primary component of 3 (2 nodes + garbd). */
  async waitSynced(timeoutMs = 60_000): Promise<void> {
    await waitUntil('both nodes Synced in a Primary component of 3', timeoutMs, async () => {
      for (const n of [1, 2] as const) {
        if ((await this.status(n, 'wsrep_local_state_comment')) !== 'Synced') return false;
        if ((await this.status(n, 'wsrep_cluster_size')) !== '3') return false;
        if ((await this.status(n, 'wsrep_cluster_status')) !== 'Primary') return false;
      }
      return true;
    }, 250);
  }

  /** The last lines of every node's error log, for failure messages. */
  logs(): string {
    return [1, 2].map((n) => `node ${n}:\n${tail(join(this.base, `n${n}.err`))}`).join('\n');
  }

  /** Continues stopped nodes, shuts node 2, node 1 and garbd down, removes the folder. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const n of [...this.stopped]) await this.signal(n, 'SIGCONT').catch(() => {});
    for (const n of [2, 1] as const) await this.stopNode(n);
    if (this.garbd !== undefined) await stop(this.garbd, 5000);
    rmSync(this.base, { recursive: true, force: true });
  }

  private socket(node: GaleraNode): string {
    return join(this.base, `n${node}.sock`);
  }

  /** Each node's own temporary directory: installs and servers running at once must not share /tmp. */
  private tmp(node: GaleraNode): string {
    return join(this.base, `n${node}-tmp`);
  }

  private async install(node: GaleraNode): Promise<void> {
    mkdirSync(this.tmp(node));
    chownSync(this.tmp(node), this.uid, this.gid);
    await run('mariadb-install-db', ['--no-defaults', '--user=mysql', `--datadir=${join(this.base, `n${node}`)}`, '--skip-test-db',
      '--auth-root-authentication-method=socket', `--tmpdir=${this.tmp(node)}`], { timeout: 60_000 });
  }

  private launch(node: GaleraNode, extra: string[]): void {
    const b = this.basePort;
    const peers = [11, 12, 13].map((o) => `127.0.0.1:${b + o}`).join(',');
    const child = spawn('mariadbd', [
      '--no-defaults', '--user=mysql', `--datadir=${join(this.base, `n${node}`)}`, `--tmpdir=${this.tmp(node)}`, `--port=${b + node}`, '--bind-address=127.0.0.1',
      `--socket=${this.socket(node)}`, `--pid-file=${join(this.base, `n${node}.pid`)}`, `--log-error=${join(this.base, `n${node}.err`)}`,
      '--skip-name-resolve', '--binlog-format=ROW', '--innodb-autoinc-lock-mode=2', '--innodb-buffer-pool-size=32M',
      '--innodb-log-file-size=16M', '--innodb-flush-log-at-trx-commit=2', '--performance-schema=OFF',
      '--wsrep-on=ON', '--wsrep-provider=/usr/lib/galera/libgalera_smm.so', '--wsrep-cluster-name=replag',
      `--wsrep-node-name=n${node}`, `--wsrep-cluster-address=gcomm://${peers}`, `--wsrep-node-address=127.0.0.1:${b + 10 + node}`,
      `--wsrep-node-incoming-address=127.0.0.1:${b + node}`,
      `--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:${b + 10 + node};ist.recv_addr=127.0.0.1:${b + 20 + node}`,
      '--wsrep-sst-method=rsync', `--wsrep-sst-receive-address=127.0.0.1:${b + 30 + node}`,
      ...(this.tls === undefined ? [] : [`--ssl-cert=${this.tls.certFile}`, `--ssl-key=${this.tls.keyFile}`, `--ssl-ca=${this.tls.caFile}`]),
      ...extra,
    ], { stdio: 'ignore' });
    child.once('error', () => {});
    this.children.set(node, child);
    this.exits.set(node, new Promise((resolve) => child.once('exit', () => resolve())));
    killOnExit.add(child);
  }

  private startGarbd(): void {
    const b = this.basePort;
    this.garbd = spawn('setpriv', ['--reuid=mysql', '--regid=mysql', '--init-groups', 'garbd', '--name', 'garb', '--group', 'replag',
      '--address', `gcomm://127.0.0.1:${b + 11},127.0.0.1:${b + 12}`, '--options', `gmcast.listen_addr=tcp://127.0.0.1:${b + 13}`,
      '--log', join(this.base, 'garbd.log')], { stdio: 'ignore' });
    this.garbd.once('error', () => {});
    killOnExit.add(this.garbd);
  }

  /** Shuts a node down cleanly (it leaves the cluster at once); it is not restarted. */
  async shutdown(node: GaleraNode): Promise<void> {
    if (this.stopped.has(node)) await this.signal(node, 'SIGCONT');
    await this.stopNode(node);
  }

  private async stopNode(node: GaleraNode): Promise<void> {
    const child = this.children.get(node);
    if (child === undefined) return;
    await run('mariadb-admin', ['--no-defaults', '-S', this.socket(node), '-uroot', 'shutdown'], { timeout: SHUTDOWN_WAIT_MS }).catch(() => {});
    await stop(child, SHUTDOWN_WAIT_MS);
    killOnExit.delete(child);
    this.children.delete(node);
  }
}

/** Starts the cluster; throws (never skips) when it cannot be installed or started. */
export function startGaleraCluster(options: GaleraClusterOptions): Promise<GaleraCluster> {
  return GaleraCluster.start(options);
}

/** `stopChild` (SIGCONT, SIGTERM, SIGKILL after `timeoutMs`), then the child is no longer killed on exit. */
async function stop(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await stopChild(child, timeoutMs);
  killOnExit.delete(child);
}

/** State letter of each thread of `pid` (R, S, D, T for stopped, …). */
function threadStates(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    } catch {
      return 'T'; // the thread ended meanwhile
    }
  });
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-12).join('\n');
  } catch {
    return '(no log)';
  }
}
