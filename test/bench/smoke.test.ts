// Smoke run of the benchmark harness (`node bench/run.ts --quick`): every workload runs at tiny sizes and
// reports finite figures in the documented shape. Nothing here is about speed.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO_ROOT, runNode } from '../helpers/run-node.ts';

const WORKLOADS = ['throughput', 'collection', 'collection-path', 'memory', 'accuracy', 'forecast-accuracy', 'alert-latency', 'sidecar', 'shutdown', 'alert-loss', 'http-check'];

const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);

describe('bench/run.ts --quick', () => {
  const dir = mkdtempSync(join(tmpdir(), 'replag-bench-'));
  const out = join(dir, 'results.json');
  const full = join(REPO_ROOT, 'bench/results.json');
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every workload and writes finite figures in the documented shape', { timeout: 120_000 }, async () => {
    const fullBefore = existsSync(full) ? { mtime: statSync(full).mtimeMs, text: readFileSync(full, 'utf8') } : undefined;
    const run = await runNode(['bench/run.ts', '--quick', '--out', out], { timeoutMs: 110_000 });
    assert.equal(run.code, 0, `bench/run.ts --quick failed:\n${run.stderr}`);
    assert.match(run.stdout, /\| Workload \| Metric \| Ours \| Baseline \| Ours ÷ baseline \| Goal \| Met \|/);

    const results = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(results.quick, true);
    assert.ok(!Number.isNaN(Date.parse(results.date)), `date ${results.date}`);
    assert.equal(typeof results.machine.cpuModel, 'string');
    assert.ok(results.machine.cores >= 1);
    assert.match(results.machine.node, /^v\d+/);
    assert.equal(typeof results.allGoalsMet, 'boolean');
    assert.deepEqual(results.workloads.map((w: { name: string }) => w.name), WORKLOADS);

    for (const w of results.workloads) {
      assert.equal(typeof w.title, 'string', `${w.name} title`);
      assert.equal(typeof w.goal, 'string', `${w.name} goal`);
      assert.equal(typeof w.met, 'boolean', `${w.name} met`);
      assert.ok(finite(w.durationSeconds), `${w.name} duration`);
      assert.ok(Array.isArray(w.rows) && w.rows.length > 0, `${w.name} has rows`);
      assert.ok(w.rows.some((r: { met?: boolean }) => typeof r.met === 'boolean'), `${w.name} has a row with a goal`);
      for (const r of w.rows) {
        const where = `${w.name} / ${r.metric}`;
        assert.equal(typeof r.metric, 'string', where);
        assert.equal(typeof r.unit, 'string', where);
        assert.ok(finite(r.ours) && r.ours >= 0, `${where}: ours ${r.ours}`);
        if (r.baseline !== undefined) assert.ok(finite(r.baseline) && r.baseline >= 0, `${where}: baseline ${r.baseline}`);
        if (r.ratio !== undefined) assert.ok(finite(r.ratio) && r.ratio >= 0, `${where}: ratio ${r.ratio}`);
        if (r.met !== undefined) assert.equal(typeof r.met, 'boolean', where);
      }
    }
    // Every in-process workload compares with the baseline (or the floor) measured in the same run.
    for (const name of ['throughput', 'collection', 'collection-path', 'memory', 'accuracy', 'forecast-accuracy', 'sidecar', 'shutdown']) {
      const w = results.workloads.find((x: { name: string }) => x.name === name);
      assert.ok(w.rows.some((r: { baseline?: number; ratio?: number }) => r.baseline !== undefined && r.ratio !== undefined), `${name} has a ratio to the baseline`);
    }
    // Figures that must hold whatever the machine: the estimator is never NaN or negative, alerts are delivered in the call.
    const accuracy = results.workloads.find((x: { name: string }) => x.name === 'accuracy');
    for (const [name, s] of Object.entries(accuracy.details) as [string, { ours?: { nan: number; negative: number; samples: number } }][]) {
      if (s?.ours === undefined) continue;
      assert.ok(s.ours.samples > 0, name);
      assert.equal(s.ours.nan, 0, `${name}: NaN estimates`);
      assert.equal(s.ours.negative, 0, `${name}: negative estimates`);
    }
    const forecast = results.workloads.find((x: { name: string }) => x.name === 'forecast-accuracy');
    for (const [name, s] of Object.entries(forecast.details) as [string, { nanOrNegative?: number; ours?: { scored: number } }][]) {
      if (s?.nanOrNegative === undefined) continue;
      assert.ok(s.ours!.scored > 0, `${name}: no forecast scored`);
      assert.equal(s.nanOrNegative, 0, `${name}: NaN or negative forecast figures`);
    }
    const alerts = results.workloads.find((x: { name: string }) => x.name === 'alert-latency');
    assert.equal(alerts.details.sameStackShare, 1, 'every alert record is exported within its updateLag call');

    // The full run's results are left alone.
    if (fullBefore !== undefined) assert.equal(readFileSync(full, 'utf8'), fullBefore.text, 'bench/results.json was modified');
    else assert.ok(!existsSync(full), 'bench/results.json was created by a --quick run');
  });
});
