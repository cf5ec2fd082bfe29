/**
 * A real NATS JetStream cluster for tests, after ../shared/recipes/nats-jetstream.sh: N `nats-server` processes of
 * the Debian package on 127.0.0.1, run as the unprivileged `nats` user when running as root (through setpriv, so
 * the pid is the server's own), cluster `rc`, accounts APP (JetStream, user app/apppw) and SYS (system account,
 * sys/syspw). The harness speaks the NATS text protocol itself (the bookworm package has no CLI): requests to the
 * JetStream API, a publish loop, a push consumer that acknowledges what it receives. `close()` resumes paused
 * servers, stops every server (SIGTERM, SIGKILL after 5 s) and removes the folder. Idempotent.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackgroundLoop } from './background-loop.ts';
import { ensureDebianPackages } from './debian-packages.ts';
import { ensureServiceUser, killOnExit, stopChild } from './service-user.ts';
import { findFreePort, waitUntil } from './wait.ts';

export { findFreePort, waitUntil } from './wait.ts';

export interface NatsClusterOptions {
  size?: number;
  portMin: number;
  portMax: number;
  /** Extra lines for every server's configuration (e.g. a `tls { … }` block). */
  extraConfig?: string;
}

export interface NatsServer {
  /** `server_name`: n1, n2, … */
  readonly name: string;
  readonly clientPort: number;
  readonly httpPort: number;
  /** `nats://127.0.0.1:<clientPort>`. */
  readonly url: string;
}

export interface RunningNatsCluster {
  readonly servers: readonly NatsServer[];
  server(name: string): NatsServer;
  /** A client as user app (JetStream account) on a running server. */
  client(server?: NatsServer): Promise<NatsTestClient>;
  /** `$JS.API.*` request as app through a running server, parsed; rejects on an API error. */
  api(subject: string, body?: unknown, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Creates a file stream with `num_replicas` and waits until it has a leader and current replicas. */
  createStream(name: string, subjects: string[], replicas?: number): Promise<void>;
  /** The stream's leader per `$JS.API.STREAM.INFO` (waits for one). */
  streamLeader(stream: string, timeoutMs?: number): Promise<NatsServer>;
  /** The JetStream meta leader per `/jsz` of a running server. */
  metaLeader(): Promise<string | undefined>;
  /** Publishes with JetStream acks (request/reply) `count` messages to `subject`. */
  publish(subject: string, count: number): Promise<void>;
  /**
   * Publishes (acked) every `intervalMs` until `stop()` (bounded: 5000), through `via` while it runs (default: the
   * first running server); resolves to the messages stored.
   */
  startPublisher(subject: string, intervalMs?: number, via?: NatsServer): { stop(): Promise<number> };
  /**
   * A durable push consumer `name` on `stream` delivering to a fresh subject, with explicit acks; the returned
   * handle acknowledges every message it receives until `stopAcking()`.
   */
  startAckingConsumer(stream: string, name: string): Promise<{ stopAcking(): void; acked(): number }>;
  /** `/jsz?streams=true&consumers=true` of a server (1 s bound). */
  jsz(server: NatsServer): Promise<Record<string, unknown>>;
  pid(server: NatsServer): number;
  pause(server: NatsServer): void;
  resume(server: NatsServer): void;
  log(server: NatsServer): string;
  close(): Promise<void>;
}

const RUN_USER = 'nats';
const STOP_TIMEOUT_MS = 5_000;

/** Starts the cluster; installs the Debian package first when missing (throws if it cannot). */
export async function startNatsCluster(options: NatsClusterOptions): Promise<RunningNatsCluster> {
  const size = options.size ?? 3;
  ensureDebianPackages(['nats-server'], ['nats-server']);
  const asRoot = process.getuid?.() === 0;
  const ids = asRoot ? ensureServiceUser(RUN_USER) : undefined;
  const ports = new Set<number>();
  for (let attempt = 0; ports.size < 3 * size && attempt < 200; attempt++) ports.add(await findFreePort(options.portMin, options.portMax));
  if (ports.size < 3 * size) throw new Error(`no ${3 * size} distinct free ports for NATS`);
  const p = [...ports];
  const servers: NatsServer[] = Array.from({ length: size }, (_, i) => ({ name: `n${i + 1}`, clientPort: p[i]!, httpPort: p[size + i]!, url: `nats://127.0.0.1:${p[i]}` }));
  const routes = servers.map((_, i) => `nats-route://127.0.0.1:${p[2 * size + i]}`).join(', ');
  const dir = mkdtempSync(join(tmpdir(), 'replication-nats-'));
  servers.forEach((s, i) => {
    mkdirSync(join(dir, s.name));
    writeFileSync(join(dir, s.name, 'nats.conf'), `server_name: ${s.name}
listen: 127.0.0.1:${s.clientPort}
http: 127.0.0.1:${s.httpPort}
jetstream { store_dir: "${join(dir, s.name, 'js')}", max_memory_store: 64MB, max_file_store: 256MB }
cluster { name: rc, listen: 127.0.0.1:${p[2 * size + i]}, routes: [ ${routes} ] }
accounts {
  SYS: { users: [ { user: sys, password: syspw } ] }
  APP: { jetstream: enabled, users: [ { user: app, password: apppw } ] }
}
system_account: SYS
${options.extraConfig ?? ''}
`);
  });
  if (ids !== undefined) {
    const r = spawnSync('chown', ['-R', `${ids.uid}:${ids.gid}`, dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`chown -R ${dir} failed: ${r.stderr}`);
  }
  const children = new Map<string, ChildProcess>();
  const paused = new Set<string>();
  const logOf = (s: NatsServer) => {
    const file = join(dir, s.name, 'nats.log');
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-30).join('\n') : '(no log)';
  };
  const stopAll = async () => {
    for (const child of children.values()) child.kill('SIGCONT');
    await Promise.all([...children.values()].map((c) => stopChild(c, STOP_TIMEOUT_MS)));
    rmSync(dir, { recursive: true, force: true });
  };
  const http = (s: NatsServer, path: string) => httpGet(`http://127.0.0.1:${s.httpPort}${path}`);
  try {
    for (const s of servers) {
      const args = ['-c', join(dir, s.name, 'nats.conf'), '-l', join(dir, s.name, 'nats.log')];
      const child = asRoot
        ? spawn('setpriv', [`--reuid=${RUN_USER}`, `--regid=${RUN_USER}`, '--init-groups', 'nats-server', ...args], { stdio: 'ignore' })
        : spawn('nats-server', args, { stdio: 'ignore' });
      children.set(s.name, child);
      killOnExit.add(child);
    }
    await waitUntil('every NATS server healthy (JetStream meta leader elected)', 30_000, async () => {
      const health = await Promise.all(servers.map((s) => http(s, '/healthz').then((r) => r.status === 200, () => false)));
      return health.every(Boolean);
    }, 100).catch((error: Error) => {
      throw new Error(`${error.message}\n${servers.map((s) => `--- ${s.name} log ---\n${logOf(s)}`).join('\n')}`);
    });
  } catch (error) {
    await stopAll();
    throw error;
  }

  const running = () => servers.filter((s) => !paused.has(s.name));
  let shared: NatsTestClient | undefined;
  const sharedClient = async () => {
    if (shared !== undefined && !shared.closed && !paused.has(shared.server.name)) return shared;
    shared?.close();
    shared = await NatsTestClient.open(running()[0]!, 'app', 'apppw');
    return shared;
  };
  const cluster: RunningNatsCluster = {
    servers,
    server(name) {
      const s = servers.find((x) => x.name === name);
      if (s === undefined) throw new Error(`no NATS server ${name}`);
      return s;
    },
    client: (server) => NatsTestClient.open(server ?? running()[0]!, 'app', 'apppw'),
    async api(subject, body, timeoutMs = 2000) {
      const client = await sharedClient();
      const answer = JSON.parse((await client.request(subject, body === undefined ? '' : JSON.stringify(body), timeoutMs)).toString('utf8')) as Record<string, unknown>;
      if (answer.error !== undefined) throw new Error(`${subject}: ${JSON.stringify(answer.error)}`);
      return answer;
    },
    async createStream(name, subjects, replicas = 3) {
      await cluster.api(`$JS.API.STREAM.CREATE.${name}`, { name, subjects, num_replicas: replicas, storage: 'file' }, 5000);
      await waitUntil(`stream ${name} with a leader and current replicas`, 30_000, async () => {
        const info = await cluster.api(`$JS.API.STREAM.INFO.${name}`, undefined, 500);
        const c = info.cluster as { leader?: string; replicas?: { current: boolean }[] } | undefined;
        return c?.leader !== undefined && (c.replicas ?? []).filter((r) => r.current).length === replicas - 1;
      }, 200);
    },
    async streamLeader(stream, timeoutMs = 20_000) {
      let leader: NatsServer | undefined;
      await waitUntil(`a leader for stream ${stream}`, timeoutMs, async () => {
        const info = await cluster.api(`$JS.API.STREAM.INFO.${stream}`, undefined, 500);
        const name = (info.cluster as { leader?: string } | undefined)?.leader;
        leader = servers.find((s) => s.name === name && !paused.has(s.name));
        return leader !== undefined;
      }, 200);
      return leader!;
    },
    async metaLeader() {
      const jsz = await cluster.jsz(running()[0]!);
      return (jsz.meta_cluster as { leader?: string } | undefined)?.leader;
    },
    async publish(subject, count) {
      const client = await sharedClient();
      for (let i = 0; i < count; i++) await client.request(subject, `msg-${i}`, 2000);
    },
    startPublisher(subject, intervalMs = 10, via) {
      let stored = 0;
      let client: NatsTestClient | undefined;
      const loop = startBackgroundLoop(async (i) => {
        try {
          client ??= await NatsTestClient.open(via !== undefined && !paused.has(via.name) ? via : running()[0]!, 'app', 'apppw');
          const ack = JSON.parse((await client.request(subject, `loop-${i}`, 1000)).toString('utf8')) as { seq?: number };
          if (ack.seq !== undefined) stored++;
        } catch {
          client?.close(); // no leader right now, or the server went away: try again on a running server
          client = undefined;
        }
      }, { intervalMs, maxSteps: 5000, onEnd: () => client?.close() });
      return {
        async stop() {
          await loop.stop();
          return stored;
        },
      };
    },
    async startAckingConsumer(stream, name) {
      const deliver = `deliver.${name}.${randomBytes(4).toString('hex')}`;
      await cluster.api(`$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${name}`, {
        stream_name: stream,
        config: { durable_name: name, deliver_subject: deliver, ack_policy: 'explicit', deliver_policy: 'all', max_ack_pending: 10_000, ack_wait: 30_000_000_000 },
      }, 5000);
      const client = await NatsTestClient.open(running()[0]!, 'app', 'apppw');
      let acking = true;
      let acked = 0;
      client.subscribe(deliver, (msg) => {
        if (!acking || msg.reply === undefined) return;
        client.publish(msg.reply, '+ACK');
        acked++;
      });
      return {
        stopAcking() {
          acking = false;
          client.close();
        },
        acked: () => acked,
      };
    },
    async jsz(s) {
      const r = await http(s, '/jsz?streams=true&consumers=true');
      return JSON.parse(r.body) as Record<string, unknown>;
    },
    pid: (s) => children.get(s.name)!.pid!,
    pause(s) {
      paused.add(s.name);
      children.get(s.name)!.kill('SIGSTOP');
    },
    resume(s) {
      children.get(s.name)!.kill('SIGCONT');
      paused.delete(s.name);
    },
    log: logOf,
    async close() {
      shared?.close();
      await stopAll().finally(() => {
        for (const child of children.values()) killOnExit.delete(child);
      });
    },
  };
  return cluster;
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, timeout: 1000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within 1 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** A received message. */
export interface NatsTestMessage {
  readonly subject: string;
  readonly reply: string | undefined;
  readonly payload: Buffer;
}

/** The harness's own NATS client (text protocol, no headers), independent of the source under test. */
export class NatsTestClient {
  readonly server: NatsServer;
  closed = false;
  private readonly socket: Socket;
  private buffer = Buffer.alloc(0);
  private readonly subs = new Map<string, (msg: NatsTestMessage) => void>();
  private nextSid = 1;
  private readonly inbox = `_INBOX.${randomBytes(8).toString('hex')}`;
  private readonly replies = new Map<string, (payload: Buffer) => void>();
  private nextReply = 1;

  private constructor(server: NatsServer, socket: Socket) {
    this.server = server;
    this.socket = socket;
    socket.on('data', (c: Buffer) => this.onData(c));
    socket.on('error', () => this.close());
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static async open(server: NatsServer, user: string, password: string): Promise<NatsTestClient> {
    const socket = connect(server.clientPort, '127.0.0.1');
    const client = new NatsTestClient(server, socket);
    socket.write(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, user, pass: password, protocol: 1 })}\r\n`);
    client.subscribe(`${client.inbox}.*`, (msg) => {
      const token = msg.subject.slice(client.inbox.length + 1);
      const r = client.replies.get(token);
      client.replies.delete(token);
      r?.(msg.payload);
    });
    await client.flush(2000);
    return client;
  }

  subscribe(subject: string, handler: (msg: NatsTestMessage) => void): void {
    const sid = String(this.nextSid++);
    this.subs.set(sid, handler);
    this.socket.write(`SUB ${subject} ${sid}\r\n`);
  }

  publish(subject: string, payload: string, reply?: string): void {
    const body = Buffer.from(payload);
    this.socket.write(Buffer.concat([Buffer.from(`PUB ${subject}${reply === undefined ? '' : ` ${reply}`} ${body.length}\r\n`), body, Buffer.from('\r\n')]));
  }

  request(subject: string, payload: string, timeoutMs: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error('client closed'));
    const token = String(this.nextReply++);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.replies.delete(token);
        reject(new Error(`${subject}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.replies.set(token, (p) => {
        clearTimeout(timer);
        resolve(p);
      });
      this.publish(subject, payload, `${this.inbox}.${token}`);
    });
  }

  /** PING, waits for the PONG. */
  flush(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no PONG within ${timeoutMs} ms from ${this.server.name}`)), timeoutMs);
      this.pongs.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.write('PING\r\n');
    });
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private readonly pongs: (() => void)[] = [];

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const end = this.buffer.indexOf('\r\n');
      if (end < 0) return;
      const line = this.buffer.subarray(0, end).toString();
      if (line.startsWith('MSG ')) {
        const parts = line.split(' ');
        const size = Number(parts[parts.length - 1]);
        if (this.buffer.length < end + 2 + size + 2) return;
        const payload = Buffer.from(this.buffer.subarray(end + 2, end + 2 + size));
        this.buffer = this.buffer.subarray(end + 2 + size + 2);
        const handler = this.subs.get(parts[2]!);
        handler?.({ subject: parts[1]!, reply: parts.length === 5 ? parts[3] : undefined, payload });
        continue;
      }
      this.buffer = this.buffer.subarray(end + 2);
      if (line === 'PING') this.socket.write('PONG\r\n');
      else if (line === 'PONG') this.pongs.shift()?.();
      else if (line.startsWith('-ERR')) this.close();
    }
  }
}
