/**
 * The four cluster sources through the sidecar, against real clusters started once (ZooKeeper 3 servers, NATS
 * JetStream 3 servers with an R3 stream and a durable consumer, Galera 2 nodes + garbd, Redis Cluster 3 masters + 3
 * replicas): `replag --config` with all four types at once as a subprocess, its Prometheus endpoint scraped by a real
 * Prometheus loading the shipped rules (every per-node series carries the labels the rules and the dashboard match on,
 * the recording rules and the dashboard's queries see every source); then `replag <type>` in flags mode for each type.
 * Ports: ZooKeeper 20250–20499, NATS 20750–20999, Galera 21200–21499, Redis Cluster 21700–21999 (inside each
 * system's range, apart from the per-source suites'). Runs in the later systems' lane (scripts/test.mjs).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MONITOR_PASSWORD, startGaleraCluster, type GaleraCluster } from '../harness/galera.ts';
import { startNatsCluster, type RunningNatsCluster } from '../harness/nats.ts';
import { startPrometheus, type RunningPrometheus } from '../harness/prometheus.ts';
import { startRedisClusterOf6, type RealRedisCluster } from '../harness/redis-cluster.ts';
import { findFreePort, waitUntil } from '../harness/wait.ts';
import { startZooKeeperEnsemble, type RunningZooKeeperEnsemble } from '../harness/zookeeper.ts';
import { ALERTING_FILES } from '../alerting/metric-names.ts';
import { runNode, type RunResult } from '../helpers/run-node.ts';

const ZK_PORTS = [20_250, 20_500] as const;
const NATS_PORTS = [20_750, 21_000] as const;
const GALERA_BASE = 21_200; // 21201…21232
const PROM_PORTS = [21_400, 21_500] as const; // replag's endpoint and the Prometheus server, in Galera's range
const REDIS_BASE = 21_700; // 21701…21716
const NATS_PASSWORD = 'apppw'; // the harness's user app
const REDIS_PASSWORD = 'Rc-7d21-FleetClusterSecret';
const SOURCES = ['coord-zk', 'orders-js', 'shop-galera', 'sessions'] as const;

let zk: RunningZooKeeperEnsemble;
let nats: RunningNatsCluster;
let galera: GaleraCluster;
let redis: RealRedisCluster;
let acker: { stopAcking(): void } | undefined;
let dir: string;

/** What each source must report: node ids, and the attributes (Prometheus labels) of every node. */
interface Expected {
  nodes: string[];
  labels: (node: string) => Record<string, string | RegExp>;
}
let expected: Record<(typeof SOURCES)[number], Expected>;

/** `name{labels} value` lines of `metric` as label maps. */
function series(text: string, metric: string): Record<string, string>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${metric}{`))
    .map((l) => Object.fromEntries([...l.slice(l.indexOf('{') + 1, l.lastIndexOf('}')).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!])));
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'replag-clusters-'));
  [zk, nats, galera, redis] = await Promise.all([
    startZooKeeperEnsemble({ size: 3, portMin: ZK_PORTS[0], portMax: ZK_PORTS[1] }),
    startNatsCluster({ portMin: NATS_PORTS[0], portMax: NATS_PORTS[1] }),
    startGaleraCluster({ basePort: GALERA_BASE }),
    startRedisClusterOf6({ basePort: REDIS_BASE, password: REDIS_PASSWORD }),
  ]);
  await nats.createStream('ORDERS', ['orders.>'], 3);
  acker = await nats.startAckingConsumer('ORDERS', 'billing');
  await nats.publish('orders.new', 20);
  await zk.write(5);
  await redis.waitStable();
  const zkLeader = await zk.leader();
  const natsLeader = await nats.streamLeader('ORDERS');
  const pairs = await redis.pairs();
  expected = {
    'coord-zk': {
      nodes: zk.servers.filter((s) => s.sid !== zkLeader.sid).map((s) => s.address),
      labels: (node) => ({ replication_system: 'zookeeper', server_address: '127.0.0.1', server_port: node.split(':')[1]!, zookeeper_role: 'follower', zookeeper_server_id: String(zk.servers.find((s) => s.address === node)!.sid) }),
    },
    'orders-js': {
      nodes: [...nats.servers.filter((s) => s.name !== natsLeader.name).map((s) => `ORDERS/${s.name}`), 'ORDERS/consumer/billing'],
      labels: (node): Record<string, string> => (node.includes('/consumer/') ? { replication_system: 'nats', nats_stream: 'ORDERS', nats_consumer: 'billing', nats_cluster: 'rc' } : { replication_system: 'nats', nats_stream: 'ORDERS', nats_server_name: node.split('/')[1]!, nats_cluster: 'rc' }),
    },
    'shop-galera': {
      nodes: [1, 2].map((n) => `127.0.0.1:${galera.port(n as 1 | 2)}`),
      labels: (node) => ({ replication_system: 'galera', server_address: '127.0.0.1', server_port: node.split(':')[1]!, galera_state: 'Synced', galera_cluster_status: 'Primary' }),
    },
    sessions: {
      nodes: pairs.map(([, replica]) => `127.0.0.1:${replica}`),
      labels: (node) => ({ replication_system: 'redis', server_address: '127.0.0.1', server_port: node.split(':')[1]!, redis_role: 'replica', redis_cluster_shard: /^\d+-\d+$/ }),
    },
  };
});

after(async () => {
  acker?.stopAcking();
  await Promise.allSettled([zk?.close(), nats?.close(), galera?.close(), redis?.close()]);
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('replag --config with zookeeper, nats, galera and redis-cluster at once (subprocess, real clusters)', () => {
  let child: ChildProcess;
  let run: Promise<RunResult>;
  let prometheus: RunningPrometheus;
  let endpoint: string;
  let stdout = '';
  let stderr = '';

  before(async () => {
    const endpointPort = await findFreePort(PROM_PORTS[0], PROM_PORTS[1]);
    endpoint = `127.0.0.1:${endpointPort}`;
    const file = join(dir, 'replag.yaml');
    writeFileSync(file, [
      'service: { name: replag-clusters-test }',
      `export: { prometheus: { port: ${endpointPort}, host: 127.0.0.1 } }`,
      'defaults: { interval: 500ms, timeout: 3s }',
      'sources:',
      `  - { name: coord-zk, type: zookeeper, servers: ["${zk.servers[0]!.address}"] }`,
      `  - { name: orders-js, type: nats, url: "${nats.servers[0]!.url}", user: app }`,
      `  - { name: shop-galera, type: galera, nodes: ["${galera.url(1)}"] }`,
      `  - { name: sessions, type: redis-cluster, nodes: ["redis://127.0.0.1:${redis.servers[0]!.port}"], password: "\${env:SESSIONS_PASSWORD}" }`,
      '',
    ].join('\n'));
    run = runNode(['src/cli/replag.ts', '--config', file, '--output', 'plain'], {
      // NATS_PASSWORD and MYSQL_PWD: the systems' usual variables (secretEnv); the Redis password by ${env:…}.
      env: { NATS_PASSWORD, MYSQL_PWD: MONITOR_PASSWORD, SESSIONS_PASSWORD: REDIS_PASSWORD },
      timeoutMs: 170_000,
      onSpawn: (c) => {
        child = c;
        c.stdout!.on('data', (d: string) => (stdout += d));
        c.stderr!.on('data', (d: string) => (stderr += d));
      },
    });
    run.catch(() => undefined);
    const want = Object.fromEntries(SOURCES.map((s) => [s, expected[s].nodes.length]));
    await waitUntil(`every source up with its followers (${JSON.stringify(want)})\nstdout:\n${stdout.slice(-2000)}\nstderr:\n${stderr}`, 60_000, () =>
      SOURCES.every((s) => new RegExp(`\\[${s}\\] \\S+ up nodes=${want[s]} `).test(stdout)), 200);
    prometheus = await startPrometheus({
      port: await findFreePort(PROM_PORTS[0], PROM_PORTS[1]),
      scrapeTargets: [endpoint],
      ruleFiles: [ALERTING_FILES.rules],
      scrapeIntervalSeconds: 1,
    });
    await prometheus.waitForTargets(30_000);
  });

  after(async () => {
    if (child !== undefined && child.exitCode === null) child.kill('SIGTERM');
    await Promise.allSettled([run, prometheus?.close()]);
  });

  it("exports each source's followers with replication_source, its node ids and the pinned attributes", async () => {
    const text = await (await fetch(`http://${endpoint}/metrics`)).text();
    const lag = series(text, 'replication_lag');
    for (const source of SOURCES) {
      const mine = lag.filter((l) => l.replication_source === source);
      assert.deepEqual(mine.map((l) => l.replication_node_id).sort(), [...expected[source].nodes].sort(), `${source}: its followers`);
      for (const l of mine) {
        for (const [label, value] of Object.entries(expected[source].labels(l.replication_node_id!))) {
          if (value instanceof RegExp) assert.match(l[label] ?? '', value, `${source} ${l.replication_node_id} ${label}`);
          else assert.equal(l[label], value, `${source} ${l.replication_node_id} ${label}`);
        }
      }
    }
    assert.deepEqual(series(text, 'replication_source_up').map((l) => l.replication_source).sort(), [...SOURCES].sort());
    for (const secret of [NATS_PASSWORD, MONITOR_PASSWORD, REDIS_PASSWORD]) assert.ok(!(stdout + stderr + text).includes(secret), 'no password printed or exported');
  });

  it('the shipped rules and dashboard work for them unchanged: labels they match on, recording rules, panels per source', async () => {
    await waitUntil('Prometheus to hold every source', 20_000, async () => new Set((await prometheus.query('replication_lag')).map((s) => s.labels.replication_source)).size === SOURCES.length, 500);
    // Every per-node series names its job, instance, source and node; the rules' (job, instance, source, node) key is unique.
    for (const s of await prometheus.query('replication_lag')) {
      for (const label of ['job', 'instance', 'replication_source', 'replication_node_id', 'replication_system']) assert.ok((s.labels[label] ?? '') !== '', `${label} on ${JSON.stringify(s.labels)}`);
    }
    assert.deepEqual(await prometheus.query('count by (job, instance, replication_source, replication_node_id) (replication_lag) > 1'), []);
    assert.deepEqual(await prometheus.query('count by (job, instance, replication_source, replication_node_id) (replication_severity_ratio) != 4'), [], 'one state set per node');
    // The recording rules see every system (replication_system: zookeeper, nats, galera, redis).
    await waitUntil('the recording rules to be evaluated', 20_000, async () => (await prometheus.query('job_replication_system:replication_delay_seconds:max')).length >= 4, 500);
    const systems = (await prometheus.query('job_replication_system:replication_delay_seconds:max')).map((s) => s.labels.replication_system).sort();
    assert.deepEqual(systems, ['galera', 'nats', 'redis', 'zookeeper']);
    const severities = await prometheus.query('sum(job_replication_severity:replication_nodes:count)');
    assert.equal(severities[0]?.value, Object.values(expected).reduce((n, e) => n + e.nodes.length, 0), 'every follower counted once by severity');
    // The dashboard's per-node panels of the series every source has (lag, severity), with every variable at All:
    // each follower of each source has its series under its source/node legend.
    const dashboard = JSON.parse(readFileSync(ALERTING_FILES.dashboard, 'utf8')) as { panels: { title: string; targets?: { expr: string; legendFormat?: string }[] }[] };
    const perNode = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, ...t }))).filter((t) => /\{\{replication_node_id\}\}/.test(t.legendFormat ?? '') && /replication_(lag|severity_ratio)\{/.test(t.expr));
    assert.ok(perNode.length >= 2, perNode.map((t) => t.title).join(', '));
    for (const target of perNode) {
      const expr = target.expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', '.*').replaceAll('$source', '.*').replaceAll('$replica', '.*');
      const found = new Set((await prometheus.query(expr)).map((s) => `${s.labels.replication_source}/${s.labels.replication_node_id}`));
      for (const source of SOURCES) for (const node of expected[source].nodes) assert.ok(found.has(`${source}/${node}`), `panel "${target.title}": ${source}/${node}`);
    }
  });
});

describe('replag <type> in flags mode, each type once (subprocess)', () => {
  /** Runs `replag <args>` for 4 s (plain output) and returns its stdout; exit status 0. */
  async function flags(args: string[], env: Record<string, string>): Promise<string> {
    const result = await runNode(['src/cli/replag.ts', ...args, '--interval', '500ms', '--duration', '4', '--output', 'plain'], { env, timeoutMs: 60_000 });
    assert.equal(result.code, 0, `replag ${args.join(' ')}\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
  }

  it('zookeeper --servers, nats --url (repeated) --user, galera --node, redis-cluster --node: every follower found from the flags', async () => {
    const [zkOut, natsOut, galeraOut, redisOut] = await Promise.all([
      flags(['zookeeper', '--servers', zk.servers[1]!.address], {}),
      flags(['nats', '--url', nats.servers[0]!.url, '--url', nats.servers[1]!.url, '--user', 'app', '--stream', 'ORDERS'], { NATS_PASSWORD }),
      flags(['galera', '--node', galera.url(2)], { MYSQL_PWD: MONITOR_PASSWORD }),
      flags(['redis-cluster', '--node', `redis://127.0.0.1:${redis.servers[1]!.port}`], { REDISCLI_AUTH: REDIS_PASSWORD }),
    ]);
    assert.match(zkOut, new RegExp(`nodes=${expected['coord-zk'].nodes.length} normal=`));
    assert.match(natsOut, new RegExp(`nodes=${expected['orders-js'].nodes.length} normal=`));
    assert.match(galeraOut, new RegExp(`nodes=${expected['shop-galera'].nodes.length} normal=`));
    assert.match(redisOut, new RegExp(`nodes=${expected.sessions.nodes.length} normal=`));
  });
});
