/**
 * `npm run bench`: runs the workloads, prints a Markdown table and writes bench/results.json.
 *
 *   node bench/run.ts [--quick] [--only name,...] [--out file]
 *
 * --quick   tiny sizes, a few seconds per workload (the smoke test's mode; the figures mean nothing).
 *           Writes bench/results.quick.json unless --out is given.
 * --only    some workloads: throughput, collection, collection-path, memory, accuracy, forecast-accuracy, alert-latency, sidecar, shutdown, alert-loss, http-check. Their results
 *           replace those of the same name in the output file; the others are kept.
 * --out     where to write the JSON (default bench/results.json).
 *
 * Benchmarks assert nothing about speed: the exit code is 0 whether goals are met or not, 1 if a workload
 * failed to run, 2 on bad usage. Progress goes to stderr, the table to stdout.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machineInfo } from './lib/stats.ts';
import { renderTable } from './lib/table.ts';
import type { Results, WorkloadOptions, WorkloadResult } from './lib/types.ts';
import { accuracy } from './workloads/accuracy.ts';
import { alertLatency } from './workloads/alert-latency.ts';
import { alertLoss } from './workloads/alert-loss.ts';
import { collection } from './workloads/collection.ts';
import { collectionPath } from './workloads/collection-path.ts';
import { forecastAccuracy } from './workloads/forecast-accuracy.ts';
import { httpCheck } from './workloads/http-check.ts';
import { memory } from './workloads/memory.ts';
import { shutdownTime } from './workloads/shutdown.ts';
import { sidecar } from './workloads/sidecar.ts';
import { throughput } from './workloads/throughput.ts';

export const WORKLOADS: Record<string, (options: WorkloadOptions) => Promise<WorkloadResult>> = {
  throughput,
  collection,
  'collection-path': collectionPath,
  memory,
  accuracy,
  'forecast-accuracy': forecastAccuracy,
  'alert-latency': alertLatency,
  sidecar,
  shutdown: shutdownTime,
  'alert-loss': alertLoss,
  'http-check': httpCheck,
};

const HERE = dirname(fileURLToPath(import.meta.url));

function usage(message: string): never {
  process.stderr.write(`bench: ${message}\nusage: node bench/run.ts [--quick] [--only ${Object.keys(WORKLOADS).join(',')}] [--out file]\n`);
  process.exit(2);
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ options: { quick: { type: 'boolean' }, only: { type: 'string' }, out: { type: 'string' } } }));
  } catch (error) {
    usage((error as Error).message);
  }
  const quick = values.quick === true;
  const names = values.only === undefined ? Object.keys(WORKLOADS) : values.only.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const name of names) if (!(name in WORKLOADS)) usage(`unknown workload ${JSON.stringify(name)}`);
  if (names.length === 0) usage('--only needs at least one workload');
  const out = resolve(values.out ?? `${HERE}/${quick ? 'results.quick.json' : 'results.json'}`);

  const log = (line: string) => process.stderr.write(`${line}\n`);
  const machine = machineInfo();
  log(`bench${quick ? ' --quick' : ''}: ${names.join(', ')} on ${machine.cpuModel} (${machine.cores} cores), Node ${machine.node}`);
  const results: WorkloadResult[] = [];
  let failed = false;
  for (const name of names) {
    const started = performance.now();
    try {
      results.push(await WORKLOADS[name]!({ quick, log }));
    } catch (error) {
      failed = true;
      log(`bench: workload ${name} failed: ${(error as Error).stack ?? String(error)}`);
    }
    log(`bench: ${name} done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }

  // With --only, keep the other workloads of an existing file of the same mode.
  let workloads = results;
  if (values.only !== undefined && existsSync(out)) {
    try {
      const previous = JSON.parse(readFileSync(out, 'utf8')) as Results;
      if (previous.quick === quick) {
        const fresh = new Set(results.map((r) => r.name));
        workloads = Object.keys(WORKLOADS)
          .map((n) => (fresh.has(n) ? results.find((r) => r.name === n) : previous.workloads.find((w) => w.name === n)))
          .filter((w): w is WorkloadResult => w !== undefined);
      }
    } catch {
      // An unreadable previous file is simply replaced.
    }
  }
  const date = new Date().toISOString();
  for (const w of results) w.measuredAt = date;
  const report: Results = {
    date,
    quick,
    machine,
    command: `node bench/run.ts${process.argv.slice(2).length > 0 ? ' ' + process.argv.slice(2).join(' ') : ''}`,
    workloads,
    allGoalsMet: workloads.length > 0 && workloads.every((w) => w.met),
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(renderTable(report));
  log(`bench: wrote ${out}`);
  return failed ? 1 : 0;
}

process.exitCode = await main();
