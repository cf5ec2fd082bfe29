/**
 * What every real-server harness needs: the unprivileged OS user a server runs as, and stopping its
 * processes for sure (resumed first, since a SIGSTOPped process cannot act on SIGTERM; killed when the test
 * process exits with servers still running).
 */
import { spawnSync, type ChildProcess } from 'node:child_process';

/** Creates the system user `name` when missing (no home, no shell) and returns its uid and gid. */
export function ensureServiceUser(name: string): { uid: number; gid: number } {
  const id = (flag: '-u' | '-g') => spawnSync('id', [flag, name], { encoding: 'utf8' });
  if (id('-u').status !== 0) {
    const r = spawnSync('useradd', ['--system', '--home', '/nonexistent', '--shell', '/usr/sbin/nologin', name], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`could not create the system user ${name}: ${r.stderr.trim()}`);
  }
  const uid = Number(id('-u').stdout.trim());
  const gid = Number(id('-g').stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`cannot resolve the uid/gid of ${name}`);
  return { uid, gid };
}

/** SIGCONT then SIGTERM, SIGKILL after `timeoutMs`; resolves once the child has exited. */
export async function stopChild(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGCONT');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** Servers still running when the test process exits are resumed and killed, so none outlive a crashed test. */
export const killOnExit = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of killOnExit) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
});
