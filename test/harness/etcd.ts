/**
 * A real etcd cluster for tests: `startEtcdCluster()` runs N members of the Debian `etcd` binary in a temporary
 * folder, on 127.0.0.1 only, as the unprivileged `etcd` user when running as root (through setpriv, so the pid
 * is etcd's own and SIGSTOP reaches etcd itself). It waits until every member knows the leader and hands back
 * small helpers over the v3 JSON gateway. With `tls`, the client URLs are https:// only (peers stay plain
 * http) and the harness's own requests present the CA (and its client certificate). `close()` resumes paused members, stops every member (SIGTERM, then
 * SIGKILL after 2 s) and removes the folder. Idempotent.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackgroundLoop } from './background-loop.ts';
import { ensureDebianPackages } from './debian-packages.ts';
import { ensureServiceUser, killOnExit, stopChild } from './service-user.ts';
import type { CertFiles, TestCertificates } from './tls.ts';
import { findFreePort, waitUntil } from './wait.ts';

export { findFreePort, waitUntil } from './wait.ts';

export interface EtcdClusterOptions {
  /** Members. Default 3. */
  size?: number;
  /** Ports are picked in [portMin, portMax). Default 23000–24000 (below 32768). */
  portMin?: number;
  portMax?: number;
  /** Serve the client URLs over https only. */
  tls?: EtcdClusterTls;
}

/** TLS on the members' client URLs. Files must be readable by the `etcd` user (keys: owned by it, 0600). */
export interface EtcdClusterTls {
  /** `--cert-file` / `--key-file`. With `clientCertAuth` the certificate needs extendedKeyUsage clientAuth too: see `makeEtcdServerCertificate`. */
  certFile: string;
  keyFile: string;
  /** The CA that signs the server certificate (the harness's own requests check it), and with `clientCertAuth` the client ones. */
  caFile: string;
  /**
   * `--client-cert-auth --trusted-ca-file caFile`: refuse clients without a certificate signed by `caFile`.
   * (etcd 3.4 requires client certificates whenever `--trusted-ca-file` is given, so without this it is not passed.)
   */
  clientCertAuth?: boolean;
  /** The client certificate the harness itself presents (needed with `clientCertAuth`). */
  clientCertFile?: string;
  clientKeyFile?: string;
}

/** PEM the harness's own requests present; undefined for plain http. */
interface HarnessTls {
  readonly ca: string;
  readonly cert?: string;
  readonly key?: string;
}

export interface EtcdMember {
  readonly name: string;
  /** `http://127.0.0.1:<port>` (`https://` with `tls`). */
  readonly clientUrl: string;
  readonly clientPort: number;
  /** The uint64 member id as etcd's gateway prints it (decimal), and as `/debug/vars` prints it (hex). */
  readonly id: string;
  readonly hexId: string;
  readonly pid: number;
}

/** One member's own view, from `POST /v3/maintenance/status`; ids as hex. */
export interface EtcdMemberStatus {
  readonly memberHexId: string;
  readonly leaderHexId: string;
  readonly raftIndex: bigint;
  readonly raftAppliedIndex: bigint;
}

export interface RunningEtcdCluster {
  readonly members: readonly EtcdMember[];
  /** Client URLs of every member. */
  readonly endpoints: string[];
  member(name: string): EtcdMember;
  /** The member's own status (2 s bound). */
  status(member: EtcdMember): Promise<EtcdMemberStatus>;
  /** `GET /debug/vars` parsed with plain JSON.parse (test indexes are small): `raft.status`. */
  raftStatus(member: EtcdMember): Promise<{ id: string; raftState: string; progress: Record<string, { match: number }> }>;
  /** The member every running member names as leader; waits up to `timeoutMs` for them to agree. */
  leader(timeoutMs?: number): Promise<EtcdMember>;
  /** Puts through a running member (a follower forwards to the leader). `token` for auth-enabled clusters. */
  put(key: string, value: string, token?: string): Promise<void>;
  /** Puts in a loop every `intervalMs` until `stop()`, which resolves to the number of successful puts. Bounded: 5000 puts. */
  startWriter(intervalMs?: number): { stop(): Promise<number> };
  /** POST to the gateway of a running member; rejects on an HTTP error with etcd's message. */
  gateway(path: string, body: unknown, token?: string): Promise<Record<string, unknown>>;
  /** SIGSTOP / SIGCONT one member. */
  pause(member: EtcdMember): void;
  resume(member: EtcdMember): void;
  /** Stops one member for good (SIGTERM, SIGKILL after 2 s). */
  kill(member: EtcdMember): Promise<void>;
  /** The tail of a member's log, for failure messages. */
  log(member: EtcdMember): string;
  close(): Promise<void>;
}

const RUN_USER = 'etcd';
const STOP_TIMEOUT_MS = 2_000;
const REQUEST_TIMEOUT_MS = 2_000;

/** Starts the cluster; installs the Debian package first when missing (throws if it cannot). */
export async function startEtcdCluster(options: EtcdClusterOptions = {}): Promise<RunningEtcdCluster> {
  const size = options.size ?? 3;
  const scheme = options.tls === undefined ? 'http' : 'https';
  const tls = harnessTls(options.tls);
  const post = (base: string, path: string, body: unknown, token?: string) => postJson(base, path, body, token, tls);
  ensureDebianPackages(['etcd-server'], ['etcd']);
  const asRoot = process.getuid?.() === 0;
  const ids = asRoot ? ensureServiceUser(RUN_USER) : undefined;

  const ports = new Set<number>();
  for (let attempt = 0; ports.size < 2 * size && attempt < 100; attempt++) ports.add(await findFreePort(options.portMin ?? 23_000, options.portMax ?? 24_000));
  if (ports.size < 2 * size) throw new Error(`no ${2 * size} distinct free ports for etcd`);
  const [clientPorts, peerPorts] = [[...ports].slice(0, size), [...ports].slice(size)];
  const names = clientPorts.map((_, i) => `m${i + 1}`);
  const initialCluster = names.map((n, i) => `${n}=http://127.0.0.1:${peerPorts[i]}`).join(',');

  const dir = mkdtempSync(join(tmpdir(), 'replication-etcd-'));
  if (ids !== undefined) chownSync(dir, ids.uid, ids.gid);
  const children = new Map<string, ChildProcess>();
  const paused = new Set<string>();
  const gone = new Set<string>();
  const spawnErrors: string[] = [];
  const logOf = (name: string) => {
    const file = join(dir, `${name}.log`);
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-30).join('\n') : '(no log)';
  };
  const stopAll = async () => {
    for (const child of children.values()) child.kill('SIGCONT');
    await Promise.all([...children.values()].map((child) => stopChild(child, STOP_TIMEOUT_MS)));
    rmSync(dir, { recursive: true, force: true });
  };

  let members: EtcdMember[];
  try {
    names.forEach((name, i) => {
      const url = `${scheme}://127.0.0.1:${clientPorts[i]}`;
      const peer = `http://127.0.0.1:${peerPorts[i]}`;
      const args = [
        '--name', name, '--data-dir', join(dir, name),
        '--listen-client-urls', url, '--advertise-client-urls', url,
        '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
        '--initial-cluster', initialCluster, '--initial-cluster-state', 'new', '--initial-cluster-token', 'replication-lag-test',
        '--heartbeat-interval', '100', '--election-timeout', '1000',
        '--logger', 'zap', '--log-outputs', join(dir, `${name}.log`),
        ...tlsArgs(options.tls),
      ];
      const child = asRoot
        ? spawn('setpriv', [`--reuid=${RUN_USER}`, `--regid=${RUN_USER}`, '--init-groups', 'etcd', ...args], { stdio: 'ignore' })
        : spawn('etcd', args, { stdio: 'ignore' });
      child.once('exit', () => gone.add(name));
      child.once('error', (error) => {
        spawnErrors.push(`${name}: ${error.message}`);
        gone.add(name);
      });
      children.set(name, child);
      killOnExit.add(child);
    });
    // Every member knows the leader, and the member list gives the ids.
    let list: { ID: string; name: string }[] = [];
    const ready = async (): Promise<boolean> => {
      const statuses = await Promise.all(clientPorts.map((p) => post(`${scheme}://127.0.0.1:${p}`, '/v3/maintenance/status', {})));
      if (!statuses.every((s) => s.leader !== undefined && s.leader !== '0' && s.leader === statuses[0]!.leader)) return false;
      list = (await post(`${scheme}://127.0.0.1:${clientPorts[0]}`, '/v3/cluster/member/list', {})).members as typeof list;
      return list.length === size && list.every((m) => m.name !== undefined);
    };
    // Not waitUntil: a member that exits must fail the start at once, with its log.
    const deadline = Date.now() + 20_000;
    let lastError = '';
    for (let attempt = 0; ; attempt++) {
      const dead = names.find((n) => gone.has(n));
      if (dead !== undefined) throw new Error(`etcd ${dead} exited during startup ${spawnErrors.join('; ')}\n--- ${dead} log ---\n${logOf(dead)}`);
      try {
        if (await ready()) break;
      } catch (err) {
        lastError = (err as Error).message;
      }
      if (Date.now() > deadline || attempt >= 200) {
        throw new Error(`etcd cluster not ready within 20 s (${lastError})\n${names.map((n) => `--- ${n} log ---\n${logOf(n)}`).join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    members = names.map((name, i) => {
      const id = list.find((m) => m.name === name)!.ID;
      return { name, clientUrl: `${scheme}://127.0.0.1:${clientPorts[i]}`, clientPort: clientPorts[i]!, id, hexId: BigInt(id).toString(16), pid: children.get(name)!.pid! };
    });
  } catch (err) {
    await stopAll();
    throw err;
  }

  const running = () => members.filter((m) => !paused.has(m.name) && !gone.has(m.name));
  const anyRunning = () => {
    const m = running()[0];
    if (m === undefined) throw new Error('no etcd member is running');
    return m;
  };
  let closed: Promise<void> | undefined;
  const cluster: RunningEtcdCluster = {
    members,
    endpoints: members.map((m) => m.clientUrl),
    member(name) {
      const m = members.find((x) => x.name === name);
      if (m === undefined) throw new Error(`no etcd member ${name}`);
      return m;
    },
    async status(member) {
      const s = await post(member.clientUrl, '/v3/maintenance/status', {});
      const header = s.header as { member_id: string };
      return {
        memberHexId: BigInt(header.member_id).toString(16),
        leaderHexId: BigInt((s.leader as string | undefined) ?? '0').toString(16),
        raftIndex: BigInt(s.raftIndex as string),
        raftAppliedIndex: BigInt(s.raftAppliedIndex as string),
      };
    },
    async raftStatus(member) {
      const res = await call(`${member.clientUrl}/debug/vars`, 'GET', undefined, undefined, tls);
      return (JSON.parse(res.body) as Record<string, unknown>)['raft.status'] as Awaited<ReturnType<RunningEtcdCluster['raftStatus']>>;
    },
    async leader(timeoutMs = 10_000) {
      let leader: EtcdMember | undefined;
      await waitUntil('the running etcd members to agree on a leader', timeoutMs, async () => {
        const statuses = await Promise.all(running().map((m) => cluster.status(m)));
        const hex = statuses[0]?.leaderHexId;
        leader = members.find((m) => m.hexId === hex && !paused.has(m.name) && !gone.has(m.name));
        return leader !== undefined && statuses.every((s) => s.leaderHexId === hex);
      }, 100);
      return leader!;
    },
    async put(key, value, token) {
      await cluster.gateway('/v3/kv/put', { key: b64(key), value: b64(value) }, token);
    },
    startWriter(intervalMs = 20) {
      let puts = 0;
      const loop = startBackgroundLoop(async (i) => {
        try {
          await cluster.put(`writer/${i}`, String(i));
          puts++;
        } catch {
          // a write during an election may fail; the next one is tried
        }
      }, { intervalMs, maxSteps: 5000 });
      return {
        async stop() {
          await loop.stop();
          return puts;
        },
      };
    },
    gateway: (path, body, token) => post(anyRunning().clientUrl, path, body, token),
    pause(member) {
      paused.add(member.name);
      children.get(member.name)!.kill('SIGSTOP');
    },
    resume(member) {
      children.get(member.name)!.kill('SIGCONT');
      paused.delete(member.name);
    },
    async kill(member) {
      const child = children.get(member.name)!;
      child.kill('SIGCONT');
      paused.delete(member.name);
      await stopChild(child, STOP_TIMEOUT_MS);
      gone.add(member.name);
    },
    log: (member) => logOf(member.name),
    close() {
      closed ??= stopAll().finally(() => {
        for (const child of children.values()) killOnExit.delete(child);
      });
      return closed;
    },
  };
  return cluster;
}

function tlsArgs(tls: EtcdClusterTls | undefined): string[] {
  if (tls === undefined) return [];
  const args = ['--cert-file', tls.certFile, '--key-file', tls.keyFile];
  return tls.clientCertAuth === true ? [...args, '--trusted-ca-file', tls.caFile, '--client-cert-auth'] : args;
}

function harnessTls(tls: EtcdClusterTls | undefined): HarnessTls | undefined {
  if (tls === undefined) return undefined;
  if (tls.clientCertAuth === true && (tls.clientCertFile === undefined || tls.clientKeyFile === undefined)) {
    throw new Error('startEtcdCluster: tls.clientCertAuth needs tls.clientCertFile and tls.clientKeyFile for the harness itself');
  }
  const ca = readFileSync(tls.caFile, 'utf8');
  if (tls.clientCertFile === undefined || tls.clientKeyFile === undefined) return { ca };
  return { ca, cert: readFileSync(tls.clientCertFile, 'utf8'), key: readFileSync(tls.clientKeyFile, 'utf8') };
}

/** One request on its own connection (node:http/https: fetch cannot take a CA), 2 s bound. */
function call(url: string, method: string, body: string | undefined, headers: Record<string, string> = {}, tls?: HarnessTls): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const options = { method, agent: false, headers: { connection: 'close', ...headers } };
    const req = tls === undefined ? httpRequest(url, options) : httpsRequest(url, { ...options, ...tls });
    const timer = setTimeout(() => req.destroy(new Error(`${method} ${url}: no answer within ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end(body);
  });
}

async function postJson(base: string, path: string, body: unknown, token: string | undefined, tls: HarnessTls | undefined): Promise<Record<string, unknown>> {
  const headers = { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: token }) };
  const res = await call(base + path, 'POST', JSON.stringify(body), headers, tls);
  const json = JSON.parse(res.body) as Record<string, unknown>;
  if (res.status < 200 || res.status > 299) throw new Error(`${path} on ${base}: HTTP ${res.status}: ${String(json.message ?? '')}`);
  return json;
}

/**
 * A server certificate for etcd with `--client-cert-auth`, signed by the test CA: like `certs.server`
 * (DNS:localhost, IP:127.0.0.1) but also for clientAuth, since etcd 3.4's v3 gateway presents `--cert-file`
 * to its own gRPC server (without it the gateway answers 503 "connection closed"). Key owned by `owner`, 0600.
 */
export function makeEtcdServerCertificate(certs: TestCertificates, owner?: { uid: number; gid: number }): CertFiles {
  const certFile = join(certs.dir, 'etcd-server.crt');
  const keyFile = join(certs.dir, 'etcd-server.key');
  const csr = join(certs.dir, 'etcd-server.csr');
  const ext = join(certs.dir, 'etcd-server.ext');
  writeFileSync(ext, 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n');
  const openssl = (args: string[]) => {
    const r = spawnSync('openssl', args, { cwd: certs.dir, encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed (${r.status ?? r.signal}): ${r.stderr || r.error?.message}`);
  };
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-subj', '/CN=localhost', '-keyout', keyFile, '-out', csr]);
  openssl(['x509', '-req', '-in', csr, '-CA', certs.ca.certFile, '-CAkey', certs.ca.keyFile, '-CAcreateserial', '-days', '2', '-sha256', '-extfile', ext, '-out', certFile]);
  chmodSync(certFile, 0o644);
  chmodSync(keyFile, 0o600);
  if (owner !== undefined) chownSync(keyFile, owner.uid, owner.gid);
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

