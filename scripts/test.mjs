// `npm test`: every test file, in three lanes that run at the same time, each lane one file at a time.
// Lane 1 holds the first four database systems' suites (PostgreSQL, MariaDB, Redis, etcd servers: mostly waiting on
// them), lane 2 the systems added later and the heartbeat / slot suites (ZooKeeper, NATS, Galera, Redis Cluster; their
// servers on 18000-21999), lane 3 everything else. They never share a port: lane 1's servers take theirs from fixed
// ranges in 22000-30700, lane 2's from 18000-21999, lane 3's from other fixed ranges or at random in [30700, 32700)
// (findFreePort's default, the OTLP receiver). Lane 1 streams its output; the others' is printed when they end.
// Exit status: 0 only when every lane passes.
//   node scripts/test.mjs [--serial]     --serial: one lane, every file in turn
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const testRoot = join(root, 'test');

/** Every *.test.ts under test/, sorted. */
function testFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...testFiles(path));
    else if (name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out;
}

const files = testFiles(testRoot);
/** Suites whose servers use 18000-21999: the later systems, the heartbeat and the PostgreSQL slot suites. */
const LATER_SYSTEMS = ['test/sources/zookeeper/', 'test/sources/nats/', 'test/sources/galera/', 'test/sources/redis-cluster/', 'test/sources/heartbeat', 'test/sources/postgresql-slots', 'test/sources/postgresql-subscription-health', 'test/cli/replag-systems'];
const isLaterSystem = (f) => LATER_SYSTEMS.some((prefix) => f.startsWith(prefix));
const isSourceSuite = (f) => !isLaterSystem(f) && (f.startsWith('test/sources/') || f === 'test/cli/replag-first-poll.test.ts' || f === 'test/cli/sources.test.ts');
const lanes = process.argv.includes('--serial') ? [files] : [files.filter(isSourceSuite), files.filter(isLaterSystem), files.filter((f) => !isSourceSuite(f) && !isLaterSystem(f))];

function run(lane, stream) {
  // An empty lane runs nothing (node --test without files would look for tests everywhere).
  if (lane.length === 0) return Promise.resolve({ code: 0, signal: null, output: '' });
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', '--test-concurrency=1', ...lane], { cwd: root, stdio: ['ignore', stream ? 'inherit' : 'pipe', stream ? 'inherit' : 'pipe'] });
    let buffered = '';
    if (!stream) {
      child.stdout.setEncoding('utf8').on('data', (d) => (buffered += d));
      child.stderr.setEncoding('utf8').on('data', (d) => (buffered += d));
    }
    child.on('close', (code, signal) => resolve({ code: code ?? 1, signal, output: buffered }));
  });
}

const started = Date.now();
const results = await Promise.all(lanes.map((lane, i) => run(lane, i === 0)));
for (const [i, r] of results.entries()) {
  if (i > 0) process.stdout.write(r.output);
}
for (const [i, r] of results.entries()) {
  process.stdout.write(`lane ${i + 1} (${lanes[i].length} files): ${r.code === 0 ? 'passed' : `FAILED (exit ${r.code}${r.signal ? `, ${r.signal}` : ''})`}\n`);
}
process.stdout.write(`all tests: ${Math.round((Date.now() - started) / 1000)} s\n`);
process.exit(results.every((r) => r.code === 0) ? 0 : 1);
