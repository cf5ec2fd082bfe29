/**
 * A real ZooKeeper ensemble for tests, after ../shared/recipes/zookeeper-ensemble.sh: N `QuorumPeerMain` JVMs of
 * the Debian `zookeeper` package on 127.0.0.1, run as the unprivileged `zookeeper` user when running as root
 * (through setpriv, so the pid is the JVM's own and SIGSTOP reaches it), tickTime 500 ms and syncLimit 5 (a silent
 * follower is dropped after 2.5 s), every four-letter word allowed. Writes go through a small client of ZooKeeper's
 * binary protocol (create + setData), so a write loop needs no client JVM. `close()` resumes paused servers, stops
 * every JVM (SIGTERM, SIGKILL after 5 s) and removes the folder. Idempotent.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackgroundLoop } from './background-loop.ts';
import { ensureDebianPackages } from './debian-packages.ts';
import { ensureServiceUser, killOnExit, stopChild } from './service-user.ts';
import { findFreePort, waitUntil } from './wait.ts';

export { findFreePort, waitUntil } from './wait.ts';

export interface ZooKeeperEnsembleOptions {
  /** Servers. Default 3. */
  size?: number;
  /** Extra servers that join as observers. Default 0. */
  observers?: number;
  /** Ports are picked in [portMin, portMax). */
  portMin: number;
  portMax: number;
  /**
   * Also serve a `secureClientPort` on every server (Netty, PEM key store): `pemFile` holds the server certificate
   * and its PKCS#8 key, readable by the `zookeeper` user; `caFile` the CA.
   */
  tls?: { pemFile: string; caFile: string };
}

export interface ZooKeeperServer {
  /** `myid`. */
  readonly sid: number;
  readonly clientPort: number;
  /** `127.0.0.1:<clientPort>`: the source's node id for it. */
  readonly address: string;
  readonly role: 'participant' | 'observer';
  /** With `tls`: the secureClientPort, and `127.0.0.1:<securePort>`. */
  readonly securePort?: number;
  readonly secureAddress?: string;
}

export interface RunningZooKeeperEnsemble {
  readonly servers: readonly ZooKeeperServer[];
  /** The server answering `srvr` with `Mode: leader` (waits up to `timeoutMs` for one, among running servers). */
  leader(timeoutMs?: number): Promise<ZooKeeperServer>;
  /** A four-letter word's answer (1 s bound). */
  fourLetterWord(server: ZooKeeperServer, word: string): Promise<string>;
  /** `srvr`'s Zxid and Mode. */
  srvr(server: ZooKeeperServer): Promise<{ zxid: bigint; mode: string }>;
  /** Writes `count` times to /k through `server` (default: the leader). */
  write(count: number, server?: ZooKeeperServer): Promise<void>;
  /** setData on /k every `intervalMs` until `stop()` (bounded: 5000 writes); resolves to the writes done. */
  startWriter(intervalMs?: number): { stop(): Promise<number> };
  pid(server: ZooKeeperServer): number;
  pause(server: ZooKeeperServer): void;
  resume(server: ZooKeeperServer): void;
  /** Stops (SIGTERM) and starts the server again with the same data; resolves once it answers srvr as leader/follower. */
  restart(server: ZooKeeperServer): Promise<void>;
  log(server: ZooKeeperServer): string;
  close(): Promise<void>;
}

const RUN_USER = 'zookeeper';
const JARS = ['zookeeper.jar', 'servlet-api.jar', 'slf4j-log4j12.jar', 'log4j-1.2.jar'];
/** Netty, for the TLS client port (the package's manifest class path lacks it). */
const NETTY_JARS = ['buffer', 'codec', 'common', 'handler', 'resolver', 'transport', 'transport-native-unix-common', 'transport-native-epoll'].map((n) => `netty-${n}.jar`);
const STOP_TIMEOUT_MS = 5_000;

/** Starts the ensemble; installs the Debian packages first when missing (throws if it cannot). */
export async function startZooKeeperEnsemble(options: ZooKeeperEnsembleOptions): Promise<RunningZooKeeperEnsemble> {
  const size = options.size ?? 3;
  const total = size + (options.observers ?? 0);
  const tls = options.tls;
  const CLASSPATH = [...JARS, ...(tls === undefined ? [] : NETTY_JARS)].map((j) => `/usr/share/java/${j}`).join(':');
  ensureDebianPackages(['zookeeper', 'libservlet-api-java', 'liblog4j1.2-java', 'libslf4j-java'], ['java']);
  const asRoot = process.getuid?.() === 0;
  const ids = asRoot ? ensureServiceUser(RUN_USER) : undefined;
  const ports = new Set<number>();
  const perServer = tls === undefined ? 3 : 4;
  for (let attempt = 0; ports.size < perServer * total && attempt < 200; attempt++) ports.add(await findFreePort(options.portMin, options.portMax));
  if (ports.size < perServer * total) throw new Error(`no ${perServer * total} distinct free ports for ZooKeeper`);
  const p = [...ports];
  const servers: ZooKeeperServer[] = Array.from({ length: total }, (_, i) => ({
    sid: i + 1,
    clientPort: p[i]!,
    address: `127.0.0.1:${p[i]}`,
    role: i < size ? 'participant' : 'observer',
    ...(tls === undefined ? {} : { securePort: p[3 * total + i]!, secureAddress: `127.0.0.1:${p[3 * total + i]}` }),
  }));
  const lines = servers.map((s, i) => `server.${s.sid}=127.0.0.1:${p[total + i]}:${p[2 * total + i]}:${s.role};127.0.0.1:${s.clientPort}`).join('\n');
  const dir = mkdtempSync(join(tmpdir(), 'replication-zookeeper-'));
  for (const s of servers) {
    const base = join(dir, `s${s.sid}`);
    mkdirSync(join(base, 'data'), { recursive: true });
    writeFileSync(join(base, 'data', 'myid'), `${s.sid}\n`);
    writeFileSync(join(base, 'zoo.cfg'), [
      'tickTime=500', 'initLimit=10', 'syncLimit=5', `dataDir=${base}/data`, '4lw.commands.whitelist=*', 'admin.enableServer=false',
      ...(s.role === 'observer' ? ['peerType=observer'] : []),
      ...(tls === undefined ? [] : [
        'serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory', `secureClientPort=${s.securePort}`,
        `ssl.keyStore.location=${tls.pemFile}`, 'ssl.keyStore.type=PEM', `ssl.trustStore.location=${tls.caFile}`, 'ssl.trustStore.type=PEM', 'ssl.clientAuth=none',
      ]),
      lines, '',
    ].join('\n'));
  }
  if (ids !== undefined) chownRecursive(dir, ids);

  const children = new Map<number, ChildProcess>();
  const paused = new Set<number>();
  const start = (s: ZooKeeperServer) => {
    const base = join(dir, `s${s.sid}`);
    const args = ['-Xmx128m', `-Dzookeeper.log.dir=${base}`, '-Dzookeeper.root.logger=INFO,ROLLINGFILE', '-Dlog4j.configuration=file:/etc/zookeeper/conf_example/log4j.properties',
      '-cp', CLASSPATH, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', join(base, 'zoo.cfg')];
    const child = asRoot
      ? spawn('setpriv', [`--reuid=${RUN_USER}`, `--regid=${RUN_USER}`, '--init-groups', 'java', ...args], { stdio: 'ignore' })
      : spawn('java', args, { stdio: 'ignore' });
    children.set(s.sid, child);
    killOnExit.add(child);
  };
  const logOf = (s: ZooKeeperServer) => {
    const file = join(dir, `s${s.sid}`, 'zookeeper.log');
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-30).join('\n') : '(no log)';
  };
  const stopAll = async () => {
    for (const child of children.values()) child.kill('SIGCONT');
    await Promise.all([...children.values()].map((c) => stopChild(c, STOP_TIMEOUT_MS)));
    rmSync(dir, { recursive: true, force: true });
  };
  const srvr = async (s: ZooKeeperServer) => {
    const text = await fourLetterWord(s.clientPort, 'srvr');
    const zxid = /^Zxid: (0x[0-9a-f]+)$/m.exec(text)?.[1];
    const mode = /^Mode: (\S+)$/m.exec(text)?.[1];
    if (zxid === undefined || mode === undefined) throw new Error(`srvr on ${s.address}: ${text.trim().slice(0, 100)}`);
    return { zxid: BigInt(zxid), mode };
  };
  const serving = async (s: ZooKeeperServer) => ['leader', 'follower', 'observer'].includes((await srvr(s)).mode);
  try {
    for (const s of servers) start(s);
    await waitUntil('every ZooKeeper server to serve (leader elected)', 40_000, async () => (await Promise.all(servers.map(serving))).every(Boolean), 200)
      .catch((error: Error) => {
        throw new Error(`${error.message}\n${servers.map((s) => `--- s${s.sid} log ---\n${logOf(s)}`).join('\n')}`);
      });
  } catch (error) {
    await stopAll();
    throw error;
  }

  const running = () => servers.filter((s) => !paused.has(s.sid));
  let closed: Promise<void> | undefined;
  const ensemble: RunningZooKeeperEnsemble = {
    servers,
    async leader(timeoutMs = 20_000) {
      let leader: ZooKeeperServer | undefined;
      await waitUntil('a ZooKeeper leader', timeoutMs, async () => {
        for (const s of running().filter((x) => x.role === 'participant')) {
          if ((await srvr(s).catch(() => undefined))?.mode === 'leader') leader = s;
        }
        return leader !== undefined;
      }, 100);
      return leader!;
    },
    fourLetterWord: (s, word) => fourLetterWord(s.clientPort, word),
    srvr,
    async write(count, server) {
      const client = await ZooKeeperWriter.open((server ?? (await ensemble.leader())).clientPort);
      try {
        for (let i = 0; i < count; i++) await client.set('/k', `w${i}`);
      } finally {
        client.close();
      }
    },
    startWriter(intervalMs = 20) {
      let writes = 0;
      let client: ZooKeeperWriter | undefined;
      const loop = startBackgroundLoop(async (i) => {
        try {
          client ??= await ZooKeeperWriter.open((await ensemble.leader(2000)).clientPort);
          await client.set('/k', `loop${i}`);
          writes++;
        } catch {
          client?.close(); // during an election: reconnect to the next leader
          client = undefined;
        }
      }, { intervalMs, maxSteps: 5000, onEnd: () => client?.close() });
      return {
        async stop() {
          await loop.stop();
          return writes;
        },
      };
    },
    pid: (s) => children.get(s.sid)!.pid!,
    pause(s) {
      paused.add(s.sid);
      children.get(s.sid)!.kill('SIGSTOP');
    },
    resume(s) {
      children.get(s.sid)!.kill('SIGCONT');
      paused.delete(s.sid);
    },
    async restart(s) {
      await stopChild(children.get(s.sid)!, STOP_TIMEOUT_MS);
      start(s);
      await waitUntil(`s${s.sid} to serve again`, 30_000, () => serving(s), 200);
    },
    log: logOf,
    close() {
      closed ??= stopAll().finally(() => {
        for (const child of children.values()) killOnExit.delete(child);
      });
      return closed;
    },
  };
  // /k exists for the writers.
  const first = await ZooKeeperWriter.open((await ensemble.leader()).clientPort);
  try {
    await first.create('/k', 'start');
  } finally {
    first.close();
  }
  return ensemble;
}

function chownRecursive(dir: string, ids: { uid: number; gid: number }): void {
  const r = spawnSync('chown', ['-R', `${ids.uid}:${ids.gid}`, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`chown -R ${dir} failed: ${r.stderr}`);
}

/** One four-letter word over a fresh connection; 1 s bound. */
export function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error(`${word} on port ${port}: no answer within 1 s`)), 1000);
    socket.on('connect', () => socket.write(word));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

/**
 * The smallest ZooKeeper client that writes: a session (ConnectRequest) then create / setData requests, one at a
 * time, over ZooKeeper's length-prefixed jute encoding. 2 s bound per request.
 */
class ZooKeeperWriter {
  private buffered = Buffer.alloc(0);
  private waiting: ((frame: Buffer) => void) | undefined;
  private failed: Error | undefined;
  private failWaiting: ((e: Error) => void) | undefined;
  private xid = 1;
  private readonly socket: Socket;
  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, c]);
      while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
        const frame = this.buffered.subarray(4, 4 + this.buffered.readInt32BE(0));
        this.buffered = this.buffered.subarray(4 + frame.length);
        const w = this.waiting;
        this.waiting = undefined;
        w?.(frame);
      }
    });
    const fail = (e: Error) => {
      this.failed = e;
      this.failWaiting?.(e);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  static async open(port: number): Promise<ZooKeeperWriter> {
    const socket = connect(port, '127.0.0.1');
    const writer = new ZooKeeperWriter(socket);
    // ConnectRequest: protocolVersion, lastZxidSeen, timeOut, sessionId, passwd (16 zero bytes), readOnly
    const body = Buffer.alloc(4 + 8 + 4 + 8 + 4 + 16 + 1);
    body.writeInt32BE(30_000, 12);
    body.writeInt32BE(16, 24);
    await writer.roundTrip(body);
    return writer;
  }

  async create(path: string, data: string): Promise<void> {
    const acl = Buffer.concat([int(1), int(31), str('world'), str('anyone')]);
    const err = await this.request(1, Buffer.concat([str(path), str(data), acl, int(0)]));
    if (err !== 0 && err !== -110) throw new Error(`create ${path}: error ${err}`); // -110: node exists
  }

  async set(path: string, data: string): Promise<void> {
    const err = await this.request(5, Buffer.concat([str(path), str(data), int(-1)]));
    if (err !== 0) throw new Error(`setData ${path}: error ${err}`);
  }

  close(): void {
    this.socket.destroy();
  }

  private async request(type: number, body: Buffer): Promise<number> {
    const frame = await this.roundTrip(Buffer.concat([int(this.xid++), int(type), body]));
    return frame.readInt32BE(12); // ReplyHeader: xid, zxid (long), err
  }

  private roundTrip(payload: Buffer): Promise<Buffer> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.socket.destroy();
        reject(new Error('no answer within 2 s'));
      }, 2000);
      this.waiting = (f) => {
        clearTimeout(timer);
        resolve(f);
      };
      this.failWaiting = (e) => {
        clearTimeout(timer);
        reject(e);
      };
      this.socket.write(Buffer.concat([int(payload.length), payload]));
    });
  }
}

const int = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const str = (s: string) => Buffer.concat([int(Buffer.byteLength(s)), Buffer.from(s)]);
