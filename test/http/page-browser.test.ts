/**
 * The status page in a real browser: headless Chromium from Debian (/usr/bin/chromium) driven by playwright-core,
 * against `replag --config` (subprocess) with demo fleets on `export.http`. Every node of the fleet is listed, a
 * stalled node shows as stalled (word and colour), the page updates without a reload, the large group is collapsed,
 * and the console stays free of errors. Screenshots are kept in test-artifacts/ (path printed).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ensureDebianPackages } from '../harness/debian-packages.ts';
import { findFreePort, waitUntil } from '../harness/wait.ts';
import { REPO_ROOT, runNode, type RunResult } from '../helpers/run-node.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'status-page');
const FLEET_IDS = ['frozen-1', 'frozen-2', 'healthy-1', 'healthy-2', 'lagging-1', 'lagging-2', 'slow-1', 'slow-2'];

describe('the status page in headless Chromium', () => {
  let child: ChildProcess;
  let run: Promise<RunResult>;
  let browser: Browser;
  let page: Page;
  let url: string;
  let dir: string;
  const consoleErrors: string[] = [];

  before(async () => {
    ensureDebianPackages(['chromium'], [CHROMIUM]);
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'replag-page-'));
    const port = await findFreePort();
    url = `http://127.0.0.1:${port}/`;
    const file = join(dir, 'replag.yaml');
    writeFileSync(
      file,
      [
        `export: { http: { port: ${port} } }`,
        'sources:',
        '  - { name: fleet, type: demo, nodes: 8, interval: 250ms, thresholds: { stall: 2s } }',
        '  - { name: big, type: demo, nodes: 2500, interval: 2s }',
        '',
      ].join('\n'),
    );
    run = runNode(['src/cli/replag.ts', '--config', file, '--output', 'quiet'], { timeoutMs: 150_000, onSpawn: (c) => (child = c) });
    run.catch(() => undefined);
    await waitUntil('replag ready', 20_000, async () => (await fetch(`${url}readyz`).catch(() => undefined))?.status === 200);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.goto(url);
  });

  after(async () => {
    await browser?.close();
    if (child !== undefined && child.exitCode === null) child.kill('SIGTERM');
    await Promise.allSettled([run]);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const shot = async (name: string) => {
    const path = join(ARTIFACTS, `${name}.png`);
    await page.screenshot({ path, fullPage: true });
    console.log(`screenshot: ${path}`);
  };

  it('lists every node of the fleet, and the large group collapsed with its count', async () => {
    await page.waitForSelector('details[data-source="fleet"] tr[data-node]', { timeout: 20_000 });
    const ids = await page.$$eval('details[data-source="fleet"] tr[data-node]', (rows) => rows.map((r) => r.getAttribute('data-node')).sort());
    assert.deepEqual(ids, FLEET_IDS);
    assert.equal(await page.$eval('details[data-source="big"]', (d) => (d as unknown as { open: boolean }).open), false);
    assert.match(await page.$eval('details[data-source="big"] summary', (s) => s.textContent ?? ''), /2500 nodes/);
    assert.equal(await page.$$eval('details[data-source="big"] tr[data-node]', (rows) => rows.length), 0);
    // Each row shows a delay and a chart of its history.
    assert.ok(await page.$$eval('details[data-source="fleet"] svg.spark polyline', (l) => l.length) >= 1);
    await shot('1-fleet');
  });

  it('updates without a reload', async () => {
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));
    const before = Number(await page.getAttribute('body', 'data-refreshes'));
    const text = await page.textContent('details[data-source="fleet"] tbody');
    await waitUntil('two more refreshes', 20_000, async () => Number(await page.getAttribute('body', 'data-refreshes')) >= before + 2);
    assert.equal(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker), 42, 'the page was reloaded');
    assert.notEqual(await page.textContent('details[data-source="fleet"] tbody'), text, 'the figures did not change');
  });

  it('shows a stalled node as stalled, in words and colour', async () => {
    // frozen-2 stops applying 13 s into the simulation; stalled 2 s later.
    await page.waitForSelector('tr[data-node="frozen-2"] td[data-severity="stalled"]', { timeout: 60_000 });
    const cell = await page.$eval('tr[data-node="frozen-2"] td.sev', (td) => ({ text: td.textContent ?? '', bg: (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(td).backgroundColor }));
    assert.match(cell.text, /stalled/);
    assert.notEqual(cell.bg, 'rgba(0, 0, 0, 0)');
    assert.match(await page.$eval('details[data-source="fleet"] summary', (s) => s.textContent ?? ''), /stalled/);
    await shot('2-stalled');
  });

  it('opens the 2,500-node group on demand, worst first, and finds a node by filter', async () => {
    await page.click('details[data-source="big"] summary');
    await page.waitForSelector('details[data-source="big"] tr[data-node]', { timeout: 30_000 });
    assert.equal(await page.$$eval('details[data-source="big"] tr[data-node]', (rows) => rows.length), 500);
    assert.match(await page.$eval('details[data-source="big"] .more', (d) => d.textContent ?? ''), /2000 more nodes/);
    const ranks = await page.$$eval('details[data-source="big"] td.sev', (cells) => cells.map((c) => c.getAttribute('data-severity')));
    const order = ['stalled', 'critical', 'warning', 'normal'];
    assert.deepEqual(ranks, [...ranks].sort((a, b) => order.indexOf(a!) - order.indexOf(b!)), 'worst first');
    await shot('3-big-open');
    await page.fill('#filter', 'healthy-617');
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('details[data-source="big"] tr[data-node]').length === 1, undefined, { timeout: 20_000 });
    assert.equal(await page.getAttribute('details[data-source="big"] tr[data-node]', 'data-node'), 'healthy-617');
    await shot('4-filtered');
  });

  it('logs no console error', () => {
    assert.deepEqual(consoleErrors, []);
  });
});
