/**
 * The live table in a real terminal (tmux from Debian: send-keys / capture-pane): `replag --config` with a source
 * whose server is not there shows that source DOWN with its cause on the line under its heading, and the
 * "no OTLP endpoint" notice in the notices area, both still on screen after several redraws (each redraw clears
 * the screen, which used to erase them); a reload's result joins the notices; once a real Redis answers on that
 * port the cause goes away. The flags mode shows its poll failure under its summary the same way.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureDebianPackages } from '../harness/debian-packages.ts';
import { findFreePort, startRedisCluster, waitUntil, type RedisCluster } from '../harness/redis.ts';
import { REPO_ROOT } from '../helpers/run-node.ts';

const SOCKET = `replag-live-table-${process.pid}`;
const COLUMNS = 150;
const PASSWORD = 'live-table-secret';

function tmux(args: string[]): string {
  const r = spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, `tmux ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** What the terminal of `session` shows now. */
function screen(session: string): string {
  return tmux(['capture-pane', '-p', '-t', session]);
}

/** Starts `argv` in a new detached tmux session of COLUMNS × 50 with `env` set, without an OTLP endpoint. */
function startSession(session: string, argv: string[], env: Record<string, string>): void {
  const vars = { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, TERM: 'xterm-256color', OTEL_EXPORTER_OTLP_ENDPOINT: '', ...env };
  tmux(['new-session', '-d', '-s', session, '-x', String(COLUMNS), '-y', '50', ...Object.entries(vars).flatMap(([k, v]) => ['-e', `${k}=${v}`]), '--', ...argv]);
  tmux(['set-option', '-t', session, 'remain-on-exit', 'on']);
}

/**
 * How the pane's process ended (`status=N signal=` or `status= signal=N`), undefined while it runs. tmux says it once
 * it has reaped the process; a tmux server started from the test runner may not reap it (the process stays a zombie
 * with the pane dead), and then the kernel says it: the last field of /proc/PID/stat is the wait status.
 */
function exitOf(session: string): string | undefined {
  const [pid, dead, status, signal] = tmux(['display-message', '-p', '-t', session, '#{pane_pid} #{pane_dead} #{pane_dead_status} #{pane_dead_signal}']).trim().split(' ');
  if (dead !== '1') return undefined;
  if ((status ?? '') !== '' || (signal ?? '') !== '') return `status=${status ?? ''} signal=${signal ?? ''}`;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  if (!/\) Z /.test(stat)) return undefined;
  const wait = Number(stat.trim().split(' ').at(-1));
  return (wait & 0x7f) === 0 ? `status=${(wait >> 8) & 0xff} signal=` : `status= signal=${wait & 0x7f}`;
}

/** The lines of `text` from the one starting with `heading`. */
function from(text: string, heading: RegExp): string[] {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => heading.test(l));
  return i < 0 ? [] : lines.slice(i);
}

/** Waits until the table has been redrawn `count` more times (its first line, the demo's summary, changes). */
async function redraws(session: string, count: number, timeoutMs = 30_000): Promise<void> {
  let previous = screen(session);
  let seen = 0;
  await waitUntil(`${count} redraws`, timeoutMs, () => {
    const now = screen(session);
    if (now !== previous) seen++;
    previous = now;
    return seen >= count;
  }, 250);
}

describe('the live table in a terminal', { timeout: 240_000 }, () => {
  let dir: string;
  let redis: RedisCluster | undefined;
  let port: number;
  let replicaPort: number;

  before(async () => {
    ensureDebianPackages(['tmux'], ['tmux']);
    dir = mkdtempSync(join(tmpdir(), 'replag-live-table-'));
    port = await findFreePort();
    do replicaPort = await findFreePort();
    while (replicaPort === port);
  });
  after(async () => {
    spawnSync('tmux', ['-L', SOCKET, 'kill-server']);
    await redis?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('replag --config keeps a down source\'s cause under its heading and the notices on screen, until they change', async () => {
    const config = join(dir, 'replag.yaml');
    writeFileSync(config, [
      'defaults: { interval: 500ms, timeout: 1s }',
      'sources:',
      '  - { name: sim, type: demo, nodes: 2 }',
      `  - { name: cache, type: redis, url: "redis://127.0.0.1:${port}", password: "\${env:CACHE_PASSWORD}" }`,
      '',
    ].join('\n'));
    startSession('fleet', [process.execPath, join(REPO_ROOT, 'src/cli/replag.ts'), '--config', config], { CACHE_PASSWORD: PASSWORD });

    await waitUntil('the cache source DOWN with its cause', 30_000, () => /\[cache\] redis DOWN[^\n]*\n {2}! poll failed: /.test(screen('fleet')));
    await redraws('fleet', 3);
    let text = screen('fleet');
    const cache = from(text, /^\[cache\] redis DOWN /);
    assert.match(cache[1] ?? '', /^ {2}! poll failed: .*(connection refused|ECONNREFUSED)/i, `the cause, on the line under the heading:\n${text}`);
    assert.ok((cache[1] ?? '').length <= COLUMNS, 'one line');
    assert.doesNotMatch(text, new RegExp(PASSWORD));
    const notices = from(text, /^Notices:$/);
    assert.ok(notices.length > 0, `a notices area:\n${text}`);
    assert.ok(notices.some((l) => /^ {2}no OTLP endpoint configured/.test(l)), `the OTLP notice stays:\n${text}`);
    assert.match(from(text, /^\[sim\] demo up /)[1] ?? '', /^ {2}healthy-1 /, 'an up source: its nodes right under its heading');

    // A reload: its result joins the notices (and stays), the OTLP notice too.
    const pid = tmux(['display-message', '-p', '-t', 'fleet', '#{pane_pid}']).trim();
    process.kill(Number(pid), 'SIGHUP');
    await waitUntil('the reload notice', 20_000, () => /^ {2}reloaded .*: no source changed/m.test(screen('fleet')));
    await redraws('fleet', 3);
    text = screen('fleet');
    assert.match(text, /^ {2}reloaded .*: no source changed/m, text);
    assert.match(text, /^ {2}no OTLP endpoint configured/m, text);

    // The server comes: the source recovers and its cause leaves the screen.
    redis = await startRedisCluster({ masterPort: port, replicaPort, password: PASSWORD });
    await waitUntil('the cache source up', 30_000, () => /\[cache\] redis up /.test(screen('fleet')));
    await redraws('fleet', 2);
    text = screen('fleet');
    assert.doesNotMatch(text, /! poll failed/, text);
    assert.equal(from(text, /^\[cache\] redis up /).length > 0, true);

    tmux(['send-keys', '-t', 'fleet', 'C-c']);
    await waitUntil('replag to exit', 20_000, () => exitOf('fleet') !== undefined);
    assert.equal(exitOf('fleet'), 'status=0 signal=', 'a clean exit on Ctrl-C');
  });

  it('replag (flags) shows its poll failure under the summary while it lasts, and the OTLP notice', async () => {
    const closed = await findFreePort();
    startSession('flags', [process.execPath, join(REPO_ROOT, 'src/cli/replag.ts'), 'redis', '--url', `redis://127.0.0.1:${closed}`, '--interval', '500'], {});
    await waitUntil('the poll failure', 30_000, () => /^! poll failed: .*(connection refused|ECONNREFUSED)/im.test(screen('flags')));
    // Redrawn at each failed poll (every 500 ms): the same screen, so wait for a few of them.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const text = screen('flags');
    const lines = text.split('\n');
    assert.match(lines[0] ?? '', /^nodes=0 /, text);
    assert.match(lines[1] ?? '', /^! poll failed: .*(connection refused|ECONNREFUSED)/i, text);
    assert.match(text, /^ {2}no OTLP endpoint configured/m, text);
    tmux(['send-keys', '-t', 'flags', 'C-c']);
    await waitUntil('replag to exit', 20_000, () => tmux(['display-message', '-p', '-t', 'flags', '#{pane_dead}']).trim() === '1');
  });
});
