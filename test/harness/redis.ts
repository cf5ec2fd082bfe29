/**
 * A real Redis master + replica for tests: `startRedisCluster()` writes one config per server into a temporary
 * folder and runs the Debian `redis-server` in the foreground (as the `redis` user when running as root), bound
 * to 127.0.0.1 with `requirepass`, and waits until the replica is synced. Helpers run redis-cli, write load and
 * SIGSTOP/SIGCONT servers. `close()` resumes stopped servers, stops them (SIGTERM, SIGKILL after 5 s) and
 * removes the folder. The password is in the config files and in redis-cli's environment, never on a command line.
 * With the `tls` option both servers listen on TLS only (`port 0`), the replica replicates over TLS, and redis-cli
 * connects with `--tls --cacert` (plus the client certificate when one is given).
 * `addSentinel()` starts a Redis Sentinel (Debian `redis-sentinel`) monitoring the master, with its config file in
 * the cluster's folder owned by the `redis` user (Sentinel rewrites it), short down-after and failover timeouts,
 * `sentinel auth-pass` set to the servers' password and optionally a `requirepass` of its own; TLS-only like the
 * servers when the cluster is. `close()` stops Sentinels before the servers.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianPackages } from './debian-packages.ts';
import { ensureServiceUser, killOnExit } from './service-user.ts';
import { waitUntil } from './wait.ts';

export { findFreePort, waitUntil } from './wait.ts';

const RUN_USER = 'redis';
const STOP_TIMEOUT_MS = 5_000;
const CLI_TIMEOUT_MS = 5_000;

/** One running redis-server. */
export interface RedisServer {
  readonly port: number;
  readonly pid: number;
  /** Runs `redis-cli` against this server as the default user; resolves with its output, trimmed. */
  cli(...args: string[]): Promise<string>;
  /** `INFO <section>` as field → value. */
  info(section: string): Promise<Map<string, string>>;
  /** SIGSTOP: the process stops answering (the kernel still accepts connections). */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Stops the server (SIGCONT, SIGTERM, SIGKILL after 5 s). Idempotent. */
  stop(): Promise<void>;
  /** The server's output so far, for failure messages. */
  log(): string;
}

/** One running Redis Sentinel; `cli()` authenticates with the Sentinel's own password, when it has one. */
export interface RedisSentinel extends RedisServer {
  /** The name it monitors the cluster's master under. */
  readonly masterName: string;
}

/** Options of `RedisCluster.addSentinel`. */
export interface RedisSentinelOptions {
  port: number;
  /** `sentinel monitor <masterName> 127.0.0.1 <master port> 1`. */
  masterName: string;
  /** The Sentinel's own `requirepass`; default none. */
  password?: string;
  /** `sentinel down-after-milliseconds`; default 1000. */
  downAfterMs?: number;
  /** `sentinel failover-timeout`; default 5000. */
  failoverTimeoutMs?: number;
}

/** A master and its replica. */
export interface RedisCluster {
  readonly master: RedisServer;
  readonly replica: RedisServer;
  /** The `requirepass` of every server (default user). */
  readonly password: string;
  /** Starts one more replica of the master on `port` and waits until the master lists it online. */
  addReplica(port: number): Promise<RedisServer>;
  /** Starts a Sentinel monitoring the (first) master, quorum 1, and waits until it has seen the master's replica. */
  addSentinel(options: RedisSentinelOptions): Promise<RedisSentinel>;
  /** `count` INCRs on the master (each is replicated). */
  write(count: number): Promise<void>;
  /** Stops every server and removes the folder. Idempotent. */
  close(): Promise<void>;
}

export interface RedisClusterOptions {
  masterPort: number;
  replicaPort: number;
  /** `requirepass` / `masterauth` of every server. */
  password: string;
  /** TLS only on every server (no plaintext port); the replica replicates over TLS. */
  tls?: RedisTlsFiles;
}

/** PEM files for a TLS-only cluster; the key files must be readable by the `redis` user. */
export interface RedisTlsFiles {
  /** The servers' certificate and key (`tls-cert-file`, `tls-key-file`). */
  certFile: string;
  keyFile: string;
  /** The CA that signs the server and client certificates (`tls-ca-cert-file`, redis-cli `--cacert`). */
  caFile: string;
  /** `tls-auth-clients`: whether clients must present a certificate. Default `no`; changeable with CONFIG SET. */
  authClients?: 'no' | 'yes' | 'optional';
  /** A client certificate and key: presented by redis-cli and by a replica to its master (`tls-client-cert-file`). */
  clientCertFile?: string;
  clientKeyFile?: string;
}

/** Starts a master and one replica; installs the Debian packages first when missing (throws if it cannot). */
export async function startRedisCluster(options: RedisClusterOptions): Promise<RedisCluster> {
  for (const port of [options.masterPort, options.replicaPort]) {
    if (!Number.isInteger(port) || port <= 0 || port >= 32768) throw new RangeError(`startRedisCluster: port ${port} must be an integer in 1..32767`);
  }
  if (!/^[\w.-]+$/.test(options.password)) throw new RangeError('startRedisCluster: password must match [\\w.-]+ (it is written into redis.conf)');
  if (options.tls !== undefined && (options.tls.clientCertFile === undefined) !== (options.tls.clientKeyFile === undefined)) {
    throw new RangeError('startRedisCluster: tls.clientCertFile and tls.clientKeyFile go together');
  }
  for (const file of Object.values(options.tls ?? {})) {
    if (!/^[\w./-]+$/.test(file)) throw new RangeError(`startRedisCluster: TLS file path ${file} must match [\\w./-]+ (it is written into redis.conf)`);
  }
  ensureDebianPackages(['redis-server', 'redis-tools'], ['redis-server', 'redis-cli']);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) ensureServiceUser(RUN_USER);
  const base = mkdtempSync(join(tmpdir(), 'replication-redis-'));
  chmodSync(base, 0o755);
  const servers: RedisServer[] = [];
  const sentinels: RedisSentinel[] = [];
  const { password } = options;

  const start = async (port: number, replicaOf?: number): Promise<RedisServer> => {
    const server = await startServer(base, port, password, asRoot, options.tls, replicaOf);
    servers.push(server);
    return server;
  };
  const waitOnline = async (replica: RedisServer, master: RedisServer) => {
    await waitUntil(`replica :${replica.port} online at master :${master.port}`, 20_000, async () => {
      const r = await replica.info('replication');
      if (r.get('master_link_status') !== 'up') return false;
      const m = await master.info('replication');
      return [...m.entries()].some(([k, v]) => /^slave\d+$/.test(k) && v.includes(`port=${replica.port},state=online`));
    }, 100);
  };

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      for (const s of [...sentinels, ...servers]) s.resume();
      // Sentinels first (no failover while stopping), then replicas, so that the master does not log them reconnecting.
      for (const s of sentinels) await s.stop();
      for (const s of [...servers].reverse()) await s.stop();
      rmSync(base, { recursive: true, force: true });
    })();
    return closed;
  };

  try {
    const master = await start(options.masterPort);
    const replica = await start(options.replicaPort, options.masterPort);
    await waitOnline(replica, master);
    return {
      master,
      replica,
      password,
      async addReplica(port) {
        const r = await start(port, options.masterPort);
        await waitOnline(r, master);
        return r;
      },
      async addSentinel(sentinelOptions) {
        const sentinel = await startSentinel(base, options.masterPort, password, asRoot, options.tls, sentinelOptions, sentinels);
        await waitUntil(`Sentinel :${sentinel.port} sees the replica of ${sentinel.masterName}`, 10_000, async () => {
          const listed = await sentinel.cli('SENTINEL', 'REPLICAS', sentinel.masterName);
          return listed.split('\n').includes(`127.0.0.1:${replica.port}`);
        }, 100);
        return sentinel;
      },
      async write(count) {
        await master.cli('-r', String(count), 'INCR', 'replag:counter');
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** redis.conf lines for a TLS-only server (`port 0`) that also replicates over TLS. */
function tlsConfig(port: number, tls: RedisTlsFiles): string[] {
  return [
    'port 0',
    `tls-port ${port}`,
    `tls-cert-file ${tls.certFile}`,
    `tls-key-file ${tls.keyFile}`,
    `tls-ca-cert-file ${tls.caFile}`,
    `tls-auth-clients ${tls.authClients ?? 'no'}`,
    'tls-replication yes',
    // The server certificate is for serverAuth only: a replica presents the client certificate to its master.
    ...(tls.clientCertFile === undefined ? [] : [`tls-client-cert-file ${tls.clientCertFile}`, `tls-client-key-file ${tls.clientKeyFile}`]),
  ];
}

/** redis-cli arguments to reach a server: TLS ones when the cluster is TLS-only. */
function cliConnectArgs(port: number, tls: RedisTlsFiles | undefined): string[] {
  const args = ['-h', '127.0.0.1', '-p', String(port)];
  if (tls === undefined) return args;
  args.push('--tls', '--cacert', tls.caFile);
  if (tls.clientCertFile !== undefined) args.push('--cert', tls.clientCertFile, '--key', tls.clientKeyFile ?? '');
  return args;
}

async function startServer(base: string, port: number, password: string, asRoot: boolean, tls: RedisTlsFiles | undefined, replicaOf?: number): Promise<RedisServer> {
  const dir = join(base, String(port));
  const lines = [
    ...(tls === undefined ? [`port ${port}`] : tlsConfig(port, tls)),
    'bind 127.0.0.1',
    'protected-mode yes',
    'daemonize no',
    `dir ${dir}`,
    'logfile ""',
    'save ""',
    'appendonly no',
    // The default 5 s delay would postpone every full sync by 5 s.
    'repl-diskless-sync-delay 0',
    // A SIGSTOPped replica stays listed (offset frozen) until this timeout: longer than any test.
    'repl-timeout 60',
    `requirepass "${password}"`,
    `masterauth "${password}"`,
    ...(replicaOf === undefined ? [] : [`replicaof 127.0.0.1 ${replicaOf}`]),
  ];
  return runRedis({ dir, lines, port, password, asRoot, tls, sentinel: false });
}

/** Starts a Sentinel (`redis-server <conf> --sentinel`) monitoring 127.0.0.1:`masterPort`; adds it to `started`. */
async function startSentinel(base: string, masterPort: number, password: string, asRoot: boolean, tls: RedisTlsFiles | undefined,
  options: RedisSentinelOptions, started: RedisSentinel[]): Promise<RedisSentinel> {
  const { port, masterName, downAfterMs = 1000, failoverTimeoutMs = 5000 } = options;
  if (!Number.isInteger(port) || port <= 0 || port >= 32768) throw new RangeError(`addSentinel: port ${port} must be an integer in 1..32767`);
  if (!/^[\w.-]+$/.test(masterName)) throw new RangeError('addSentinel: masterName must match [\\w.-]+');
  if (options.password !== undefined && !/^[\w.-]+$/.test(options.password)) throw new RangeError('addSentinel: password must match [\\w.-]+ (it is written into the config)');
  ensureDebianPackages(['redis-sentinel'], ['redis-sentinel']);
  const dir = join(base, `sentinel-${port}`);
  const lines = [
    ...(tls === undefined ? [`port ${port}`] : tlsConfig(port, tls)),
    'bind 127.0.0.1',
    'daemonize no',
    `dir ${dir}`,
    'logfile ""',
    ...(options.password === undefined ? [] : [`requirepass "${options.password}"`]),
    `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 1`,
    `sentinel auth-pass ${masterName} ${password}`,
    `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
    `sentinel failover-timeout ${masterName} ${failoverTimeoutMs}`,
  ];
  const server = await runRedis({ dir, lines, port, password: options.password, asRoot, tls, sentinel: true });
  const sentinel: RedisSentinel = { ...server, masterName };
  started.push(sentinel);
  return sentinel;
}

/** What `runRedis` needs: the config lines, where to write them, and how redis-cli reaches the process. */
interface RedisProcessOptions {
  /** A new folder for the config file (and Sentinel's rewrites of it), owned by the run user. */
  dir: string;
  lines: string[];
  port: number;
  /** redis-cli's password (REDISCLI_AUTH), if any. */
  password: string | undefined;
  asRoot: boolean;
  tls: RedisTlsFiles | undefined;
  /** Run as a Sentinel (`--sentinel`). */
  sentinel: boolean;
}

/** Writes the config into `dir`, runs redis-server on it in the foreground and waits until it answers PING. */
async function runRedis(options: RedisProcessOptions): Promise<RedisServer> {
  const { dir, port, password, asRoot, tls } = options;
  mkdirSync(dir);
  const conf = join(dir, 'redis.conf');
  writeFileSync(conf, `${options.lines.join('\n')}\n`, { mode: 0o600 });
  if (asRoot) {
    const { uid, gid } = ensureServiceUser(RUN_USER);
    chownSync(dir, uid, gid);
    chownSync(conf, uid, gid);
  }
  const what = options.sentinel ? 'redis-sentinel' : 'redis-server';
  const args = options.sentinel ? [conf, '--sentinel'] : [conf];
  const child: ChildProcess = asRoot
    ? spawn('setpriv', [`--reuid=${RUN_USER}`, `--regid=${RUN_USER}`, '--init-groups', 'redis-server', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const append = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-64_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    resolve();
  }));
  killOnExit.add(child);

  const cli = (...args: string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      execFile('redis-cli', [...cliConnectArgs(port, tls), ...args], {
        env: password === undefined ? withoutAuth(process.env) : { ...process.env, REDISCLI_AUTH: password },
        timeout: CLI_TIMEOUT_MS,
        maxBuffer: 16 * 1024 * 1024,
      }, (error, stdout, stderr) => {
        if (error) reject(new Error(`redis-cli -p ${port} ${args.join(' ')}: ${error.message} ${stderr}`));
        else resolve(stdout.trim());
      });
    });
  let stopping: Promise<void> | undefined;
  const server: RedisServer = {
    port,
    pid: child.pid ?? -1,
    cli,
    async info(section) {
      const text = await cli('INFO', section);
      return parseInfo(text);
    },
    pause: () => void (exited || child.kill('SIGSTOP')),
    resume: () => void (exited || child.kill('SIGCONT')),
    stop() {
      stopping ??= (async () => {
        if (!exited) {
          child.kill('SIGCONT');
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
          await exit;
          clearTimeout(timer);
        }
        killOnExit.delete(child);
      })();
      return stopping;
    },
    log: () => output,
  };
  try {
    await waitUntil(`${what} on 127.0.0.1:${port}`, 10_000, async () => {
      if (exited) throw new Error(`${what} exited during startup`);
      return (await cli('PING')) === 'PONG';
    }, 50);
  } catch (error) {
    await server.stop();
    throw new Error(`${(error as Error).message}\n--- ${what} output ---\n${output}`);
  }
  return server;
}

/** The environment without REDISCLI_AUTH (redis-cli would send it to a server without a password). */
function withoutAuth(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { REDISCLI_AUTH: _, ...rest } = env;
  return rest;
}

/** The output of `INFO <section>` as field → value (section headers and blank lines left out). */
export function parseInfo(text: string): Map<string, string> {
  return new Map(text.split(/\r?\n/).filter((l) => l.includes(':') && !l.startsWith('#')).map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i), l.slice(i + 1).trim()] as const;
  }));
}
