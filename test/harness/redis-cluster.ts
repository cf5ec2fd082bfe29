/**
 * A real Redis Cluster for the Redis Cluster source tests (the recipe ../shared/recipes/redis-cluster.sh as a
 * harness): 3 masters + 3 replicas (Debian redis-server 7.0) on 127.0.0.1, each run as the unprivileged `redis`
 * user, built with `redis-cli --cluster create … --cluster-replicas 1`, `requirepass` + `masterauth` on every node,
 * `cluster-node-timeout` 3000 ms, `repl-timeout` 4 s (a master drops a silent replica from its INFO after 4 s). Ports from `basePort` B: client B+1…B+6, cluster bus B+11…B+16 (set explicitly:
 * the default bus port, port + 10000, would land outside the caller's range). The password reaches redis-cli
 * through REDISCLI_AUTH, never a command line.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackgroundLoop } from './background-loop.ts';
import { ensureDebianPackages } from './debian-packages.ts';
import { parseInfo } from './redis.ts';
import { ensureServiceUser, killOnExit } from './service-user.ts';
import { waitUntil } from './wait.ts';

const RUN_USER = 'redis';
const CLI_TIMEOUT_MS = 5000;

/** One cluster node process. */
export interface ClusterServer {
  readonly port: number;
  readonly pid: number;
  /** redis-cli against this node (authenticated); output trimmed. */
  cli(...args: string[]): Promise<string>;
  /** `INFO <section>` as field → value. */
  info(section: string): Promise<Map<string, string>>;
  /** SIGSTOP (the kernel still accepts connections; the node never answers). */
  pause(): void;
  resume(): void;
}

/** One line of CLUSTER NODES, parsed independently of the source. */
export interface NodeLine {
  readonly id: string;
  readonly port: number;
  readonly flags: string[];
  readonly masterId: string | undefined;
  readonly slots: string[];
}

/** Options of `startRedisClusterOf6`. */
export interface RedisClusterHarnessOptions {
  /** B: ports B+1 … B+16 are used. */
  basePort: number;
  password: string;
  /**
   * PEM files: every node listens on TLS only (`port 0`, `tls-port`), the cluster bus and replication use TLS
   * (`tls-cluster yes`, `tls-replication yes`), outgoing connections present the client certificate; clients need
   * no certificate. redis-cli connects with `--tls --cacert`.
   */
  tls?: { certFile: string; keyFile: string; caFile: string; clientCertFile: string; clientKeyFile: string };
}

/** The running cluster. */
export interface RealRedisCluster {
  readonly servers: readonly ClusterServer[];
  readonly password: string;
  server(port: number): ClusterServer;
  /** CLUSTER NODES as one live node sees it. */
  nodes(fromPort?: number): Promise<NodeLine[]>;
  /** [masterPort, replicaPort] pairs, from one node's view. */
  pairs(fromPort?: number): Promise<[number, number][]>;
  /** Waits until every node agrees: 3 masters with slots, 3 replicas, every replication link up. */
  waitStable(timeoutMs?: number): Promise<void>;
  /** Writes SETs on `masterPort` every `intervalMs` (keys of a hash tag it owns) until `stop()`; bounded to 20,000. */
  startLoad(masterPort: number, intervalMs?: number): Promise<{ stop(): Promise<number> }>;
  close(): Promise<void>;
}

export async function startRedisClusterOf6(options: RedisClusterHarnessOptions): Promise<RealRedisCluster> {
  const { basePort, password, tls } = options;
  const cliTls = tls === undefined ? [] : ['--tls', '--cacert', tls.caFile];
  if (!Number.isInteger(basePort) || basePort <= 0 || basePort + 16 >= 32768) throw new RangeError(`startRedisClusterOf6: basePort ${basePort} must leave B+16 below 32768`);
  if (!/^[\w.-]+$/.test(password)) throw new RangeError('startRedisClusterOf6: password must match [\\w.-]+');
  ensureDebianPackages(['redis-server', 'redis-tools'], ['redis-server', 'redis-cli']);
  const asRoot = process.getuid?.() === 0;
  const { uid, gid } = asRoot ? ensureServiceUser(RUN_USER) : { uid: -1, gid: -1 };
  const base = mkdtempSync(join(tmpdir(), 'replag-redis-cluster-'));
  chmodSync(base, 0o755);
  const children: ChildProcess[] = [];
  const servers: ClusterServer[] = [];

  const cli = (port: number, ...args: string[]): Promise<string> => new Promise((resolve, reject) => {
    execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...cliTls, ...args], { env: { ...process.env, REDISCLI_AUTH: password }, timeout: CLI_TIMEOUT_MS, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => (error ? reject(new Error(`redis-cli -p ${port} ${args.join(' ')}: ${error.message} ${stderr}`)) : resolve(stdout.trim())));
  });

  const close = async () => {
    for (const c of children) c.kill('SIGCONT');
    await Promise.all(children.map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      killOnExit.delete(c);
    }));
    rmSync(base, { recursive: true, force: true });
  };

  try {
    for (let i = 1; i <= 6; i++) {
      const port = basePort + i;
      const dir = join(base, String(i));
      mkdirSync(dir);
      const conf = join(dir, 'redis.conf');
      writeFileSync(conf, [
        ...(tls === undefined ? [`port ${port}`] : ['port 0', `tls-port ${port}`, 'tls-cluster yes', 'tls-replication yes', `tls-cert-file ${tls.certFile}`,
          `tls-key-file ${tls.keyFile}`, `tls-ca-cert-file ${tls.caFile}`, 'tls-auth-clients no', `tls-client-cert-file ${tls.clientCertFile}`,
          `tls-client-key-file ${tls.clientKeyFile}`]),
        `cluster-port ${basePort + 10 + i}`, 'bind 127.0.0.1', 'protected-mode yes', 'daemonize no', `dir ${dir}`, 'logfile ""',
        'save ""', 'appendonly no', 'cluster-enabled yes', `cluster-config-file ${join(dir, 'nodes.conf')}`, 'cluster-node-timeout 3000',
        'repl-diskless-sync-delay 0', 'repl-timeout 4', `requirepass "${password}"`, `masterauth "${password}"`, '',
      ].join('\n'), { mode: 0o600 });
      if (asRoot) {
        chownSync(dir, uid, gid);
        chownSync(conf, uid, gid);
      }
      const child = asRoot
        ? spawn('setpriv', [`--reuid=${RUN_USER}`, `--regid=${RUN_USER}`, '--init-groups', 'redis-server', conf], { stdio: 'ignore' })
        : spawn('redis-server', [conf], { stdio: 'ignore' });
      child.once('error', () => {});
      children.push(child);
      killOnExit.add(child);
      servers.push({
        port,
        pid: child.pid ?? -1,
        cli: (...args) => cli(port, ...args),
        async info(section) {
          const text = await cli(port, 'INFO', section);
          return parseInfo(text);
        },
        pause: () => void child.kill('SIGSTOP'),
        resume: () => void child.kill('SIGCONT'),
      });
    }
    for (const s of servers) await waitUntil(`redis-server :${s.port} to answer PING`, 10_000, async () => (await s.cli('PING')) === 'PONG', 50);
    await cli(basePort + 1, '--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`), '--cluster-replicas', '1', '--cluster-yes');
  } catch (error) {
    await close();
    throw error;
  }

  const server = (port: number) => {
    const s = servers.find((x) => x.port === port);
    if (s === undefined) throw new Error(`no cluster node on port ${port}`);
    return s;
  };
  const nodes = async (fromPort = basePort + 1): Promise<NodeLine[]> => (await cli(fromPort, 'CLUSTER', 'NODES')).split('\n').filter(Boolean).map((line) => {
    const f = line.trim().split(' ');
    return { id: f[0]!, port: Number(f[1]!.split('@')[0]!.split(':')[1]), flags: f[2]!.split(','), masterId: f[3] === '-' ? undefined : f[3], slots: f.slice(8) };
  });
  const pairs = async (fromPort?: number): Promise<[number, number][]> => {
    const all = await nodes(fromPort);
    return all.filter((n) => n.flags.includes('slave')).map((r) => [all.find((m) => m.id === r.masterId)!.port, r.port] as [number, number]).sort((a, b) => a[0] - b[0]);
  };
  const cluster: RealRedisCluster = {
    servers,
    password,
    server,
    nodes,
    pairs,
    async waitStable(timeoutMs = 30_000) {
      await waitUntil('every node to agree on 3 masters with slots and 3 replicas, links up', timeoutMs, async () => {
        for (const s of servers) {
          const all = await nodes(s.port);
          if (all.filter((n) => n.flags.includes('master') && !n.flags.some((f) => f.startsWith('fail')) && n.slots.length > 0).length !== 3) return false;
          if (all.filter((n) => n.flags.includes('slave') && !n.flags.some((f) => f.startsWith('fail'))).length !== 3) return false;
          const info = await s.info('replication');
          if (info.get('role') === 'slave' && info.get('master_link_status') !== 'up') return false;
          if (info.get('role') === 'master' && Number(info.get('connected_slaves')) !== 1) return false;
        }
        return true;
      }, 200);
    },
    async startLoad(masterPort, intervalMs = 10) {
      let tag = '';
      for (let i = 0; i < 500 && tag === ''; i++) if ((await cli(masterPort, 'SET', `{t${i}}probe`, '1').catch(() => '')) === 'OK') tag = `{t${i}}`;
      if (tag === '') throw new Error(`no hash tag owned by :${masterPort}`);
      const child = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(masterPort), ...cliTls], { env: { ...process.env, REDISCLI_AUTH: password }, stdio: ['pipe', 'ignore', 'ignore'] });
      child.once('error', () => {});
      child.stdin!.on('error', () => {});
      killOnExit.add(child);
      let sent = 0;
      const loop = startBackgroundLoop(async (i) => {
        child.stdin!.write(`SET ${tag}:w${i} ${'x'.repeat(50)}\n`);
        sent++;
      }, { intervalMs, maxSteps: 20_000 });
      return {
        async stop() {
          await loop.stop();
          child.stdin!.end();
          const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
          const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(timer);
          killOnExit.delete(child);
          return sent;
        },
      };
    },
    close,
  };
  try {
    await cluster.waitStable();
  } catch (error) {
    await close();
    throw error;
  }
  return cluster;
}
