/**
 * `replag` watching a real database: the `redis` command against a real Redis master and replica (the
 * quickest of the database servers to start), run as a subprocess exporting to a real OTLP/HTTP receiver.
 * Covers what the CLI adds to a source (built from its descriptor): the source built from the command line, the password read from the
 * environment and never printed or exported, failures printed once rather than every interval, bad source
 * options refused with exit status 2 before anything starts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseCliArgs } from '../../src/cli/args.ts';
import { ConfigError } from '../../src/cli/problems.ts';
import { sourceTls, type TlsOption } from '../../src/sources/options.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../harness/otlp-receiver.ts';
import { startRedisCluster, type RedisCluster } from '../harness/redis.ts';
import { ensureServiceUser } from '../harness/service-user.ts';
import { makeTestCertificates, type TestCertificates } from '../harness/tls.ts';
import { findFreePort } from '../harness/wait.ts';
import { runNode } from '../helpers/run-node.ts';

const CLI = 'src/cli/replag.ts';
const PASSWORD = 'replag-cli-pw-5c1f0e';

describe('replag redis', () => {
  let cluster: RedisCluster;
  let receiver: OtlpReceiver;
  before(async () => {
    const masterPort = await findFreePort(22_000, 23_000);
    let replicaPort = await findFreePort(22_000, 23_000);
    while (replicaPort === masterPort) replicaPort = await findFreePort(22_000, 23_000);
    cluster = await startRedisCluster({ masterPort, replicaPort, password: PASSWORD });
    receiver = await startOtlpReceiver();
  });
  after(async () => {
    await cluster?.close();
    await receiver?.close();
  });

  it('watches the master, exports the replica over OTLP, and alerts when the replica stalls', { timeout: 60_000 }, async () => {
    const master = `redis://127.0.0.1:${cluster.master.port}`;
    const replicaId = `127.0.0.1:${cluster.replica.port}`;
    const start = receiver.requests.length;
    // Writes keep the master's offset moving; the replica is paused for a while in the middle of the run.
    let stop = false;
    const load = (async () => {
      for (let i = 0; i < 200 && !stop; i++) {
        await cluster.write(5);
        await sleep(50);
      }
    })();
    let paused = false;
    const run = runNode([CLI, 'redis', '--url', master, '--interval', '200', '--stall', '1', '--export-interval', '300', '--duration', '7', '--output', 'plain'], {
      env: { REDISCLI_AUTH: PASSWORD, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
      timeoutMs: 40_000,
      onSpawn: (child) => {
        child.stdout?.on('data', (d: Buffer | string) => {
          // Once the replica has been seen caught up a few times, stop it (SIGSTOP) for ~3 s.
          if (!paused && String(d).includes('nodes=1 normal=1')) {
            paused = true;
            setTimeout(() => {
              cluster.replica.pause();
              setTimeout(() => cluster.replica.resume(), 3000);
            }, 600);
          }
        });
      },
    });
    let result;
    try {
      result = await run;
    } finally {
      stop = true;
      cluster.replica.resume();
      await load;
    }
    assert.equal(result.code, 0, result.stderr);
    assert.ok(paused, `never saw the replica normal:\n${result.stdout}`);
    assert.match(result.stderr, new RegExp(`watching Redis master ${master.replace(/\./g, '\\.')}, polling every 200 ms`));
    assert.match(result.stdout, new RegExp(`^ALERT STALLED replica ${replicaId} is stalled`, 'm'));
    assert.match(result.stdout, new RegExp(`^ALERT NORMAL replica ${replicaId} recovered from stalled`, 'm'), 'the replica catches up after SIGCONT');
    assert.doesNotMatch(result.stderr, /failed/, 'no poll failed');

    const points = receiver.points('replication.lag').filter((p) => p.request >= start);
    const ours = points.filter((p) => p.attributes['replication.node.id'] === replicaId);
    assert.ok(ours.length > 0, `no replication.lag point for ${replicaId}`);
    assert.equal(ours[0]?.attributes['replication.system'], 'redis');
    assert.equal(ours[0]?.attributes['server.port'], cluster.replica.port);
    assert.ok(ours.some((p) => p.value > 0), 'the stalled replica was exported with a lag');
    const events = receiver.logRecords().filter((r) => r.request >= start && r.attributes['replication.node.id'] === replicaId);
    assert.ok(events.some((e) => e.attributes['replication.severity'] === 'stalled'), 'the stalled alert event was exported');
    const up = receiver.points('replication.source.up').filter((p) => p.request >= start);
    assert.ok(up.length > 0 && up.every((p) => p.value === 1 && p.attributes['replication.source'] === 'redis'), 'a stalled replica is not a down source');

    const exported = JSON.stringify(receiver.requests.slice(start).map((r) => r.body));
    assert.ok(!exported.includes(PASSWORD), 'the password reached an export');
    assert.ok(!(result.stdout + result.stderr).includes(PASSWORD), 'the password was printed');
  });

  it('prints a failing poll once, not every interval, without the password', { timeout: 30_000 }, async () => {
    const wrong = 'not-the-pw-77a3';
    const start = receiver.requests.length;
    const result = await runNode([CLI, 'redis', '--url', `redis://127.0.0.1:${cluster.master.port}`, '--interval', '100', '--duration', '1.5', '--export-interval', '300', '--output', 'plain'], {
      env: { REDISCLI_AUTH: wrong, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
      timeoutMs: 20_000,
    });
    assert.equal(result.code, 0, result.stderr);
    const failures = result.stderr.split('\n').filter((l) => l.startsWith('replag: poll failed:'));
    assert.equal(failures.length, 1, `expected the failure once, got:\n${result.stderr}`);
    assert.match(failures[0]!, /authentication failed/);
    assert.ok(!(result.stdout + result.stderr).includes(wrong), 'the wrong password was printed');
    assert.match(result.stderr, /replag: stopped; nodes=0 /, 'it keeps running until told to stop while the source fails');
    // The backend sees that the source cannot be read (ReplicationSourceDown), not just an absence of replicas.
    const up = receiver.points().filter((p) => p.request >= start && p.metric === 'replication.source.up');
    assert.ok(up.length >= 2, `replication.source.up exported ${up.length} times`);
    assert.ok(up.every((p) => p.value === 0 && p.attributes['replication.source'] === 'redis'), JSON.stringify(up));
  });

  it('follows the master through Redis Sentinel (--sentinel, --master-name, REDIS_SENTINEL_PASSWORD)', { timeout: 60_000 }, async () => {
    const sentinelPassword = 'sentinel-pw-4e2d';
    const sentinel = await cluster.addSentinel({ port: await findFreePort(22_000, 23_000), masterName: 'cache', password: sentinelPassword });
    const start = receiver.requests.length;
    const args = [CLI, 'redis', '--sentinel', `redis://127.0.0.1:${sentinel.port}`, '--master-name', 'cache', '--interval', '200', '--export-interval', '300', '--duration', '1.5', '--output', 'plain'];
    const result = await runNode(args, {
      env: { REDISCLI_AUTH: PASSWORD, REDIS_SENTINEL_PASSWORD: sentinelPassword, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
      timeoutMs: 30_000,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`watching Redis master cache via Sentinel redis://127\\.0\\.0\\.1:${sentinel.port}`));
    assert.doesNotMatch(result.stderr, /failed/, 'no poll failed');
    const lag = receiver.points('replication.lag').filter((p) => p.request >= start && p.attributes['replication.node.id'] === `127.0.0.1:${cluster.replica.port}`);
    assert.ok(lag.length > 0, 'the replica found through Sentinel was exported');
    assert.equal(lag[0]?.attributes['redis.sentinel.master'], 'cache');
    assert.ok(!(result.stdout + result.stderr).includes(sentinelPassword), 'the Sentinel password was printed');

    // Without the Sentinel's password: the poll fails, and says it is the Sentinel that refused.
    const denied = await runNode(args.map((a) => (a === '1.5' ? '1' : a)), { env: { REDISCLI_AUTH: PASSWORD }, timeoutMs: 30_000 });
    assert.equal(denied.code, 0, denied.stderr);
    assert.match(denied.stderr, /replag: poll failed: .*Sentinel/);
  });

  it('refuses bad source options with status 2 before starting, without echoing credentials', { timeout: 30_000 }, async () => {
    const start = receiver.requests.length;
    const result = await runNode([CLI, 'redis', '--url', 'http://admin:hunter2-x9@127.0.0.1:6379'], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /^replag: --url: expected a redis:\/\/ URL such as redis:\/\/db:6379$/m, 'a URL with credentials is not quoted');
    assert.doesNotMatch(result.stderr, /hunter2/);
    const missing = await runNode([CLI, 'postgres']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^replag: --url: required: a postgres:\/\/ URL such as postgres:\/\/monitor@db:5432\/postgres$/m);
    assert.equal(receiver.requests.length, start, 'a refused start exports nothing');
  });
});

describe('replag --tls-* files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'replag-tls-flags-'));
  const pem = (label: string, body: string) => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
  const caFile = join(dir, 'ca.pem');
  const certFile = join(dir, 'client.pem');
  const keyFile = join(dir, 'client.key');
  const notPem = join(dir, 'not-pem.txt');
  writeFileSync(caFile, pem('CERTIFICATE', 'Y2EtYm9keQ=='));
  writeFileSync(certFile, pem('CERTIFICATE', 'Y2xpZW50'));
  writeFileSync(keyFile, pem('PRIVATE KEY', 'a2V5LW1hdGVyaWFsLTk5'));
  writeFileSync(notPem, 'key-material-that-must-not-be-printed-77');
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The `tls` option flags mode hands the source, files read. */
  const tlsOf = (flags: string[]) => {
    const invocation = parseCliArgs(['redis', '--url', 'rediss://127.0.0.1:6390', ...flags]);
    assert.ok('mode' in invocation && invocation.mode === 'flags');
    return sourceTls(invocation.config.sources[0]!.options.tls as TlsOption | undefined);
  };
  const refusal = (flags: string[]) => {
    try {
      tlsOf(flags);
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.lines().join('\n');
    }
    assert.fail('accepted');
  };

  it('reads each file into the sources\' tls option; --tls-insecure turns verification off', () => {
    assert.deepEqual(tlsOf(['--tls-ca', caFile, '--tls-cert', certFile, '--tls-key', keyFile, '--tls-server-name', 'db.internal']), {
      ca: pem('CERTIFICATE', 'Y2EtYm9keQ=='),
      cert: pem('CERTIFICATE', 'Y2xpZW50'),
      key: pem('PRIVATE KEY', 'a2V5LW1hdGVyaWFsLTk5'),
      servername: 'db.internal',
    });
    assert.deepEqual(tlsOf(['--tls-insecure']), { rejectUnauthorized: false });
    assert.equal(tlsOf([]), undefined);
  });

  it('a missing or non-PEM file is an error naming the flag and the path, never the contents', () => {
    assert.match(refusal(['--tls-ca', join(dir, 'missing.pem')]), /^--tls-ca: cannot read .*missing\.pem: no such file$/);
    const notPemRefusal = refusal(['--tls-cert', certFile, '--tls-key', notPem]);
    assert.match(notPemRefusal, /^--tls-key: .*not-pem\.txt holds no PEM block/);
    assert.ok(!notPemRefusal.includes('key-material'));
  });

  it('replag exits 2 before starting when a --tls-* file cannot be used', { timeout: 30_000 }, async () => {
    const result = await runNode([CLI, 'redis', '--url', 'rediss://127.0.0.1:6390', '--tls-ca', notPem]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /replag: --tls-ca: .*not-pem\.txt holds no PEM block/);
    assert.doesNotMatch(result.stderr, /key-material/);
  });
});

describe('replag redis over TLS (--tls-ca, --tls-cert, --tls-key)', () => {
  let certs: TestCertificates;
  let cluster: RedisCluster;
  let receiver: OtlpReceiver;
  before(async () => {
    certs = makeTestCertificates(process.getuid?.() === 0 ? { owner: ensureServiceUser('redis') } : {});
    const masterPort = await findFreePort(22_000, 23_000);
    let replicaPort = await findFreePort(22_000, 23_000);
    while (replicaPort === masterPort) replicaPort = await findFreePort(22_000, 23_000);
    // TLS only, and clients must present a certificate signed by the CA.
    cluster = await startRedisCluster({
      masterPort,
      replicaPort,
      password: PASSWORD,
      tls: { certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.ca.certFile, authClients: 'yes', clientCertFile: certs.client.certFile, clientKeyFile: certs.client.keyFile },
    });
    receiver = await startOtlpReceiver();
  });
  after(async () => {
    await cluster?.close();
    await receiver?.close();
    certs?.dispose();
  });

  it('reads the files, connects with the client certificate and exports the replica; without the CA it says what to pass', { timeout: 60_000 }, async () => {
    const url = `rediss://127.0.0.1:${cluster.master.port}`;
    const start = receiver.requests.length;
    const tlsFlags = ['--tls-ca', certs.ca.certFile, '--tls-cert', certs.client.certFile, '--tls-key', certs.client.keyFile];
    const result = await runNode([CLI, 'redis', '--url', url, ...tlsFlags, '--interval', '200', '--export-interval', '300', '--duration', '2', '--output', 'plain'], {
      env: { REDISCLI_AUTH: PASSWORD, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
      timeoutMs: 30_000,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /failed/, 'no poll failed');
    assert.match(result.stdout, /nodes=1 normal=1/);
    const lag = receiver.points('replication.lag').filter((p) => p.request >= start);
    assert.ok(lag.some((p) => p.attributes['replication.node.id'] === `127.0.0.1:${cluster.replica.port}`), 'the replica was exported');
    const output = result.stdout + result.stderr;
    assert.ok(!output.includes('PRIVATE KEY') && !output.includes(PASSWORD), 'a key or the password was printed');

    // Public roots instead of our CA: the poll fails, printed once, with the flag to use.
    const noCa = await runNode([CLI, 'redis', '--url', url, '--interval', '200', '--duration', '1', '--output', 'plain'], { env: { REDISCLI_AUTH: PASSWORD }, timeoutMs: 30_000 });
    assert.equal(noCa.code, 0, noCa.stderr);
    const failures = noCa.stderr.split('\n').filter((l) => l.startsWith('replag: poll failed:'));
    assert.equal(failures.length, 1, noCa.stderr);
    // The library names its option (tls.ca), never a flag; flags mode says the flag (from the registry).
    assert.match(failures[0]!, /not signed by a trusted CA .*pass the CA that signed it \(--tls-ca\)$/);

    // Our CA but no client certificate: the server refuses, and the error asks for one.
    const noCert = await runNode([CLI, 'redis', '--url', url, '--tls-ca', certs.ca.certFile, '--interval', '200', '--duration', '1', '--output', 'plain'], { env: { REDISCLI_AUTH: PASSWORD }, timeoutMs: 30_000 });
    assert.equal(noCert.code, 0, noCert.stderr);
    assert.match(noCert.stderr, /replag: poll failed: .*it requires a client certificate: pass --tls-cert and --tls-key/);
  });
});
