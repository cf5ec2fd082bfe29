/**
 * Makes sure Debian packages (and the binaries they provide) are present, installing what is missing.
 *
 * Tests that need a real server call this first: it never skips, it either leaves the machine with the
 * packages installed or throws an Error naming what could not be had. `apt-get update` runs at most once
 * per process; dpkg's lock is waited for, so concurrent test files do not fail on each other.
 */
import { spawnSync } from 'node:child_process';

const APT_TIMEOUT_MS = 10 * 60_000;
const LOCK_WAIT = ['-o', 'DPkg::Lock::Timeout=300'];

let aptUpdated = false;

/** Whether dpkg reports `name` as installed (not merely known, or left with config files). */
export function isDebianPackageInstalled(name: string): boolean {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() === 'install ok installed';
}

/** Whether `binary` is found on PATH (`command -v`). */
export function hasBinary(binary: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1" >/dev/null 2>&1', 'sh', binary]).status === 0;
}

/**
 * Installs the packages of `names` that are missing, then checks that every binary of `binaries` is on PATH.
 * Throws an Error naming the package (or binary) when it cannot be installed or found.
 */
export function ensureDebianPackages(names: string[], binaries: string[] = []): void {
  const missing = names.filter((n) => !isDebianPackageInstalled(n));
  if (missing.length > 0) install(missing);
  const stillMissing = names.filter((n) => !isDebianPackageInstalled(n));
  if (stillMissing.length > 0) {
    throw new Error(`Debian package(s) ${stillMissing.join(', ')} still not installed after apt-get install`);
  }
  const absent = binaries.filter((b) => !hasBinary(b));
  if (absent.length > 0) {
    throw new Error(`binary ${absent.join(', ')} not on PATH although package(s) ${names.join(', ')} are installed`);
  }
}

function install(packages: string[]): void {
  const what = `Debian package(s) ${packages.join(', ')}`;
  if (process.platform !== 'linux' || !hasBinary('apt-get')) {
    throw new Error(`${what} missing and apt-get is not available here: install them by hand`);
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(`${what} missing and installing needs root: run \`apt-get install ${packages.join(' ')}\` as root`);
  }
  if (!aptUpdated) {
    run(['update', ...LOCK_WAIT], `apt-get update (needed to install ${what})`);
    aptUpdated = true;
  }
  run(['install', '-y', '-q', '--no-install-recommends', ...LOCK_WAIT, ...packages], `apt-get install of ${what}`);
}

function run(args: string[], what: string): void {
  const r = spawnSync('apt-get', args, {
    encoding: 'utf8',
    timeout: APT_TIMEOUT_MS,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0) {
    const tail = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').slice(-15).join('\n');
    const why = r.error ? r.error.message : `exit ${r.status ?? r.signal}`;
    throw new Error(`${what} failed (${why}):\n${tail}`);
  }
}
