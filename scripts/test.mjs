// `npm test`: every test file, in two lanes that run at the same time, each lane one file at a time.
// Lane 1 holds the database-source suites (PostgreSQL, MariaDB, Redis, etcd servers: mostly waiting on them),
// lane 2 everything else. They never share a port: lane 1's servers take theirs from fixed ranges below 30700,
// lane 2's from other fixed ranges or at random in [30700, 32700) (findFreePort's default, the OTLP receiver). Lane 1 streams its output; lane 2's is
// printed when it ends. Exit status: 0 only when both lanes pass.
//   node scripts/test.mjs [--serial]     --serial: one lane, every file in turn (as before)
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
const isSourceSuite = (f) => f.startsWith('test/sources/') || f === 'test/cli/replag-first-poll.test.ts' || f === 'test/cli/replag-config-clusters.test.ts' || f === 'test/cli/sources.test.ts';
const lanes = process.argv.includes('--serial') ? [files] : [files.filter(isSourceSuite), files.filter((f) => !isSourceSuite(f))];

function run(lane, stream) {
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
