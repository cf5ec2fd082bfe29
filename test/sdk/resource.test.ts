/**
 * The resource's asynchronous attributes (host.id, read from /etc/machine-id) are settled before the first scrape:
 * without that, every Prometheus scrape logs "Accessing resource attributes before async attributes settled"
 * twice on stderr and target_info lacks host_id.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { findFreePort } from '../harness/wait.ts';
import { runNode } from '../helpers/run-node.ts';

/** The machine id the SDK's host detector reads (Linux); the test needs one to expect host_id. */
function machineId(): string {
  for (const file of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = readFileSync(file, 'utf8').trim();
      if (id !== '') return id;
    } catch {
      // next
    }
  }
  throw new Error('no /etc/machine-id on this machine: the host detector has no host.id to settle (systemd-machine-id-setup creates one)');
}

describe('resource attributes settled before export', () => {
  it('a scrape loop against replag leaves stderr free of SDK noise, and target_info carries host_id', async () => {
    const hostId = machineId();
    const port = await findFreePort();
    const url = `http://127.0.0.1:${port}/metrics`;
    const bodies: string[] = [];
    let scraping: Promise<void> = Promise.resolve();
    const result = await runNode(['src/cli/replag.ts', 'demo', '--prometheus-port', String(port), '--prometheus-host', '127.0.0.1', '--interval', '100', '--duration', '5', '--output', 'quiet'], {
      timeoutMs: 30_000,
      onSpawn: () => {
        scraping = (async () => {
          const deadline = Date.now() + 4_500;
          while (Date.now() < deadline && bodies.length < 30) {
            try {
              const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
              if (response.ok) bodies.push(await response.text());
            } catch {
              // not listening yet
            }
            await new Promise((r) => setTimeout(r, 100));
          }
        })();
      },
    });
    await scraping;
    assert.equal(result.code, 0, result.stderr);
    assert.ok(bodies.length >= 10, `only ${bodies.length} scrapes answered`);
    const foreign = result.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('replag: '));
    assert.deepEqual(foreign, [], `stderr has lines that are not replag's own:\n${result.stderr}`);
    for (const body of bodies) {
      const info = body.split('\n').find((line) => line.startsWith('target_info{'));
      assert.ok(info?.includes(`host_id="${hostId}"`), `target_info without host_id: ${info}`);
      assert.match(body, /^replication_lag\{/m);
    }
  });
});
