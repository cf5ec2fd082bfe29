/**
 * Workload: the /check throttle under load. `replag --config` (a subprocess, run from src/) polls 50 simulated
 * sources of 4 replicas every 1 s, with its status endpoints on a port of their own; this process sends 200
 * concurrent `GET /check` requests every second for 10 s (a batch fleet asking before each chunk). Measured: how
 * far each source's poll-to-poll gap strays from its 1 s setting (from replag's own plain-output line per poll,
 * stamped when the poll ends), against the same run without requests (the baseline, in the same bench run); and
 * the answers' latency. Goal (issue 22): every gap within 10 % of the interval under load.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { findFreePort } from '../../test/harness/wait.ts';
import { runNode } from '../lib/child.ts';
import { quantile, round } from '../lib/stats.ts';
import { row, type WorkloadOptions, type WorkloadResult } from '../lib/types.ts';

const INTERVAL_MS = 1000;
const GOAL_PERCENT = 10;

interface RunMeasure {
  /** Poll-to-poll gaps seen during the load window, ms. */
  gaps: number[];
  requests: number;
  answered: Record<string, number>;
  latenciesMs: number[];
}

async function runOnce(sources: number, loadSeconds: number, requestsPerSecond: number, log: (l: string) => void): Promise<RunMeasure> {
  const dir = mkdtempSync(join(tmpdir(), 'replag-bench-http-'));
  const port = await findFreePort();
  const file = join(dir, 'replag.yaml');
  const lines = [`export: { http: { port: ${port} } }`, `defaults: { interval: ${INTERVAL_MS}ms }`, 'sources:'];
  for (let i = 0; i < sources; i++) lines.push(`  - { name: s${i}, type: demo, nodes: 4 }`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  const warmS = 3;
  let child: ChildProcess | undefined;
  let stdout = '';
  const run = runNode(['src/cli/replag.ts', '--config', file, '--output', 'plain', '--duration', String(warmS + loadSeconds + 2)], {
    timeoutMs: (warmS + loadSeconds + 40) * 1000,
    onSpawn: (c) => {
      child = c;
      c.stdout!.on('data', (d: string) => (stdout += d));
    },
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`${base}/readyz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, warmS * 1000));
  const from = Date.now();
  const measure: RunMeasure = { gaps: [], requests: 0, answered: {}, latenciesMs: [] };
  const inFlight: Promise<void>[] = [];
  for (let s = 0; s < loadSeconds; s++) {
    const tick = from + s * 1000;
    await new Promise((r) => setTimeout(r, Math.max(0, tick - Date.now())));
    for (let i = 0; i < requestsPerSecond; i++) {
      measure.requests++;
      const t0 = performance.now();
      inFlight.push(
        fetch(`${base}/check?maxDelay=1m`).then(
          async (r) => {
            await r.arrayBuffer();
            measure.latenciesMs.push(performance.now() - t0);
            measure.answered[r.status] = (measure.answered[r.status] ?? 0) + 1;
          },
          () => void (measure.answered.error = (measure.answered.error ?? 0) + 1),
        ),
      );
    }
  }
  await new Promise((r) => setTimeout(r, Math.max(0, from + loadSeconds * 1000 - Date.now())));
  const to = Date.now();
  await Promise.all(inFlight);
  const result = await run;
  void child;
  rmSync(dir, { recursive: true, force: true });
  if (result.code !== 0) throw new Error(`replag exited with ${result.code ?? result.signal}\n${result.stderr.slice(-2000)}`);
  // `2026-…Z [sN] demo up …`: one line per poll of each source, stamped at its end.
  const last = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    const m = /^(\S+Z) \[(s\d+)\] /.exec(line);
    if (m === null) continue;
    const t = Date.parse(m[1]!);
    const before = last.get(m[2]!);
    if (before !== undefined && before >= from && t <= to) measure.gaps.push(t - before);
    last.set(m[2]!, t);
  }
  log(`http-check: ${requestsPerSecond} req/s: ${measure.gaps.length} gaps, answers ${JSON.stringify(measure.answered)}`);
  return measure;
}

const deviationPercent = (gaps: number[], q: number) => round(quantile(gaps.map((g) => (100 * Math.abs(g - INTERVAL_MS)) / INTERVAL_MS), q / 100));

export async function httpCheck(options: WorkloadOptions): Promise<WorkloadResult> {
  const started = performance.now();
  const sources = options.quick ? 5 : 50;
  const seconds = options.quick ? 2 : 10;
  const rate = options.quick ? 20 : 200;
  const baseline = await runOnce(sources, seconds, 0, options.log);
  const loaded = await runOnce(sources, seconds, rate, options.log);
  if (loaded.gaps.length === 0 || baseline.gaps.length === 0) throw new Error('http-check: no poll gap measured');
  const worst = deviationPercent(loaded.gaps, 100);
  const met = worst <= GOAL_PERCENT;
  const ok = loaded.answered['200'] ?? 0;
  return {
    name: 'http-check',
    title: '/check under load',
    goal: `${rate} concurrent /check requests per second for ${seconds} s while polling ${sources} sources: every poll gap within ${GOAL_PERCENT} % of the ${INTERVAL_MS} ms interval`,
    met,
    rows: [
      row({ metric: `worst poll-gap deviation, ${rate} /check per s (${sources} sources)`, ours: worst, baseline: deviationPercent(baseline.gaps, 100), unit: '%', goal: `≤ ${GOAL_PERCENT} %`, met }),
      row({ metric: 'p99 poll-gap deviation', ours: deviationPercent(loaded.gaps, 99), baseline: deviationPercent(baseline.gaps, 99), unit: '%' }),
      row({ metric: '/check latency p50', ours: round(quantile(loaded.latenciesMs, 0.5)), unit: 'ms' }),
      row({ metric: '/check latency p99', ours: round(quantile(loaded.latenciesMs, 0.99)), unit: 'ms' }),
      row({ metric: '/check answered 200 (of requests sent)', ours: ok, baseline: loaded.requests, unit: 'requests' }),
    ],
    details: { sources, nodesPerSource: 4, intervalMs: INTERVAL_MS, seconds, requestsPerSecond: rate, gapsLoaded: loaded.gaps.length, gapsBaseline: baseline.gaps.length, answered: loaded.answered },
    durationSeconds: round((performance.now() - started) / 1000, 3),
  };
}
