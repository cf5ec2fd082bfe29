/**
 * The systemd unit starts as documented: the install steps in its header, replayed in a scratch root (paths under
 * /usr and /etc moved into it, `npm install -g` into its /usr prefix, the packed package for otel-replication-lag),
 * leave a unit that `systemd-analyze verify --root` finds clean, and the unit's ExecStart command line, run as the
 * unit's user with the unit's environment, reads the configuration and the secrets, polls, and stops on SIGTERM.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, symlinkSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureDebianPackages } from '../harness/debian-packages.ts';
import { REPO_ROOT } from '../helpers/run-node.ts';

const UNIT = join(REPO_ROOT, 'deploy/systemd/replag.service');
const unitText = readFileSync(UNIT, 'utf8');
const devDependencies = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies;

/** The unit's `[Service]` settings (the last value of each key). */
function serviceSettings(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  let inService = false;
  for (const line of text.split('\n')) {
    if (/^\[\w+\]$/.test(line)) inService = line === '[Service]';
    else if (inService && /^\w+=/.test(line)) settings.set(line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1));
  }
  return settings;
}

/** The install steps of the unit's header: its comment lines indented by three spaces. */
function installSteps(text: string): string[] {
  return text.split('\n').flatMap((line) => /^#   (\S.*)$/.exec(line)?.[1] ?? []);
}

/** This run's Node (≥ 22.15) first on PATH: on a real host it is /usr/bin/node (here Debian's is older). */
const PATH = `${dirname(process.execPath)}:/usr/sbin:/usr/bin:/sbin:/bin`;

const service = serviceSettings(unitText);
const user = service.get('User') ?? '';
const group = service.get('Group') ?? '';

describe('the systemd unit, installed as its header says', { timeout: 600_000 }, () => {
  let work: string;
  let root: string;
  let tarball: string;
  const steps = installSteps(unitText);

  /** `path` (absolute on the host) inside the scratch root. */
  const inRoot = (path: string): string => join(root, path);
  /** A step's command with its /etc and /usr paths moved into the scratch root. */
  const rooted = (command: string): string => command.replace(/(^|\s)\/(etc|usr)\//g, `$1${root}/$2/`);

  before(() => {
    ensureDebianPackages(['systemd', 'passwd', 'util-linux'], ['systemd-analyze', 'useradd', 'setpriv']);
    work = mkdtempSync(join(tmpdir(), 'replag-systemd-'));
    // The unit's user must traverse to the files, as on a real root.
    chmodSync(work, 0o755);
    root = join(work, 'root');
    for (const dir of ['etc/systemd/system', 'usr/bin', 'usr/lib/systemd']) mkdirSync(join(root, dir), { recursive: true });
    // The host's own part of the root that the unit relies on: systemd's units (multi-user.target, …) and
    // /bin/kill (ExecReload), /bin being /usr/bin as on a merged-/usr system.
    cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
    cpSync('/usr/bin/kill', join(root, 'usr/bin/kill'));
    symlinkSync('usr/bin', join(root, 'bin'));
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
    tarball = join(work, (JSON.parse(out) as { filename: string }[])[0]!.filename);
    // The files the steps install, in the directory they are run from: a demo source whose attribute comes from
    // the environment file (so replag starts only if systemd's environment reaches it), the unit itself.
    writeFileSync(join(work, 'replag.yaml'), ['sources:', '  - name: sim', '    type: demo', '    nodes: 2', '    attributes:', '      replication.cluster: ${env:REPLAG_TEST_CLUSTER}', ''].join('\n'));
    writeFileSync(join(work, 'replag.env'), 'REPLAG_TEST_CLUSTER=from-the-env-file\n');
    writeFileSync(join(work, 'replag.service'), unitText);
  });
  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('documents the steps: npm install -g, the user, the files, the unit', () => {
    assert.equal(steps.length, 7, steps.join('\n'));
    assert.match(steps[0]!, /^npm install -g otel-replication-lag( \S+)*$/);
    assert.match(steps[1]!, new RegExp(`^useradd --system .*\\b${user}$`));
    assert.match(steps.at(-1)!, /^systemctl daemon-reload && systemctl enable --now replag$/);
    assert.notEqual(user, '', 'the unit names its user');
    assert.notEqual(user, 'root');
    assert.equal(service.get('DynamicUser'), undefined, 'a static user, so the files can be given to its group');
  });

  it('npm installs replag where ExecStart looks for it (prefix /usr, as npm with Debian\'s or NodeSource\'s Node)', () => {
    // npm as the machine has it (Debian's or NodeSource's Node in /usr/bin), not as `npm test` runs: outside npm run's
    // environment (npm_* variables) and with the system's node first on PATH (npm run puts the node package's first).
    const systemEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_')));
    assert.equal(execFileSync('/usr/bin/npm', ['config', 'get', 'prefix'], { encoding: 'utf8', env: { ...systemEnv, PATH: `/usr/bin:/bin:${process.env.PATH ?? ''}` } }).trim(), '/usr');
    const packages = steps[0]!.split(/\s+/).slice(3).map((name) => (name === 'otel-replication-lag' ? tarball : `${name}@${devDependencies[name]}`));
    const r = spawnSync('npm', ['install', '-g', '--prefix', inRoot('/usr'), '--no-audit', '--no-fund', '--loglevel=error', ...packages], {
      cwd: work,
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, PATH },
    });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    const exec = service.get('ExecStart')!.split(/\s+/)[0]!;
    assert.equal(exec, '/usr/bin/replag');
    assert.ok(existsSync(inRoot(exec)), `${exec} installed`);
    assert.equal(realpathSync(inRoot(exec)), inRoot('/usr/lib/node_modules/otel-replication-lag/dist/esm/cli/replag.js'));
  });

  it('the user and file steps run as written, and systemd-analyze verify --root finds the unit clean', () => {
    for (const step of steps.slice(1, -1)) {
      if (step.startsWith('useradd ') && spawnSync('getent', ['passwd', user]).status === 0) continue; // already there
      const r = spawnSync('sh', ['-ec', rooted(step)], { cwd: work, encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, `${step}\n${r.stdout}${r.stderr}`);
    }
    const r = spawnSync('systemd-analyze', ['verify', `--root=${root}`, '/etc/systemd/system/replag.service'], { encoding: 'utf8', timeout: 60_000 });
    const output = `${r.stdout}${r.stderr}`;
    assert.doesNotMatch(output, /Unknown (key|section)|Invalid|Failed to parse|not executable|replag\.service/, output);
    assert.equal(r.status, 0, output);
  });

  it('the configuration is readable by the unit\'s user only through its group, the environment file by root only', () => {
    const asUser = (who: string, file: string) => spawnSync('setpriv', [`--reuid=${who}`, `--regid=${who}`, '--init-groups', 'cat', file], { encoding: 'utf8' });
    assert.equal(asUser(user, inRoot('/etc/replag/replag.yaml')).status, 0, 'the unit\'s user reads the configuration');
    assert.notEqual(asUser('nobody', inRoot('/etc/replag/replag.yaml')).status, 0, 'another user does not');
    assert.notEqual(asUser(user, inRoot('/etc/replag/replag.env')).status, 0, 'the secrets are systemd\'s (EnvironmentFile), not the process\'s');
  });

  it('ExecStart, run as the unit\'s user with the unit\'s environment, reads the file and secrets, polls, and stops on SIGTERM', async () => {
    const argv = service.get('ExecStart')!.split(/\s+/).map((arg) => (arg.startsWith('/usr/') || arg.startsWith('/etc/') ? inRoot(arg) : arg));
    const envFile = service.get('EnvironmentFile')!.replace(/^-/, '');
    const env: NodeJS.ProcessEnv = { PATH, LANG: 'C.UTF-8' };
    for (const line of readFileSync(inRoot(envFile), 'utf8').split('\n')) {
      const m = /^([A-Za-z_]\w*)=(.*)$/.exec(line);
      if (m) env[m[1]!] = m[2]!;
    }
    for (const assignment of [service.get('Environment') ?? '']) {
      const m = /^([A-Za-z_]\w*)=(.*)$/.exec(assignment);
      if (m) env[m[1]!] = m[2]!;
    }
    const child = spawn('setpriv', [`--reuid=${user}`, `--regid=${group}`, '--init-groups', '--', ...argv], { cwd: '/', env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!/\[sim\] demo up nodes=2 /.test(stdout) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.match(stdout, /\[sim\] demo up nodes=2 /, `replag polls its source as ${user}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
    assert.doesNotMatch(stderr, /EACCES|cannot read/, stderr);
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), 30_000))]);
    if (code === 'still running') child.kill('SIGKILL');
    assert.equal(code, 0, `exit on SIGTERM\n${stderr}`);
  });
});
