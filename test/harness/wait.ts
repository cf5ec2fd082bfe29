/** Waiting helpers shared by the real-server harnesses and tests: bounded polling and free loopback ports. */
import { createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `check` every `intervalMs` until it returns true; throws naming `what` after `timeoutMs`.
 * Errors thrown by `check` count as "not yet" (the last one is reported on timeout).
 */
export async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean, intervalMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let attempt = 0; attempt < Math.ceil(timeoutMs / intervalMs) + 1; attempt++) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(intervalMs);
  }
  const cause = lastError instanceof Error ? `: ${lastError.message}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
}

/** A port on 127.0.0.1 in [min, max) that was free a moment ago (below 32768 by default). */
export async function findFreePort(min = 30_700, max = 32_700): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = min + Math.floor(Math.random() * (max - min));
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port on 127.0.0.1 in [${min}, ${max}) after 50 tries`);
}


/**
 * Makes `server` (net, http or https) listen on 127.0.0.1 at a free port in [min, max); resolves to the port.
 * Retries a port taken between the probe and the listen, up to 10 times.
 */
export async function listenOnFreePort(server: Server, min: number, max: number): Promise<number> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const port = await findFreePort(min, max);
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (ok) return port;
  }
  throw new Error('could not listen on a free port');
}
