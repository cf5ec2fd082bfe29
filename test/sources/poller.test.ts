/** startPoller with a small in-test source: feeding, registration, forgetting, errors, stopping. */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplicationLagMonitor, startPoller, type ReplicaPosition, type ReplicationSource } from '../../src/index.ts';

/** A source that answers each poll from a script (poll number → replicas, or an error to reject with). */
class ScriptedSource implements ReplicationSource {
  readonly name = 'scripted';
  polls = 0;
  active = 0;
  maxActive = 0;
  private readonly script: (n: number) => readonly ReplicaPosition[] | Error | Promise<readonly ReplicaPosition[]>;

  constructor(script: (n: number) => readonly ReplicaPosition[] | Error | Promise<readonly ReplicaPosition[]>) {
    this.script = script;
  }

  async poll(): Promise<readonly ReplicaPosition[]> {
    const n = this.polls++;
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      const result = await this.script(n);
      if (result instanceof Error) throw result;
      return result;
    } finally {
      this.active--;
    }
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until `condition` holds, polling every ms, failing after `timeoutMs`. */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(1);
  }
}

/** Pollers started by a test, stopped after it even when an assertion fails (their timers would keep the process alive). */
const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
});

/** A poller whose timer never fires during a test (driven by pollOnce), with a fake-clock monitor. */
function manual(source: ReplicationSource, options: { forgetMissing?: boolean } = {}) {
  let t = 0;
  const monitor = new ReplicationLagMonitor({ now: () => t });
  const errors: Error[] = [];
  const polled: number[] = [];
  const poller = startPoller({
    source,
    monitor,
    intervalMs: 3_600_000,
    onError: (e) => errors.push(e),
    onPoll: (n) => polled.push(n),
    ...options,
  });
  running.push(poller);
  return {
    monitor,
    errors,
    polled,
    poller,
    /** Moves the fake clock and polls once more. */
    async next(ms = 1000) {
      t += ms;
      await poller.pollOnce();
    },
  };
}

const replica = (nodeId: string, leaderSeq: number, followerSeq: number, extra: Partial<ReplicaPosition> = {}): ReplicaPosition => ({ nodeId, leaderSeq, followerSeq, ...extra });

describe('startPoller', () => {
  test('polls at once and feeds the monitor; each later poll updates it', async () => {
    const source = new ScriptedSource((n) => [replica('a', 100 * (n + 1), 100 * n), replica('b', 50, 50, { lagSeconds: 0.25 })]);
    const h = manual(source);
    await h.poller.pollOnce(); // waits for the initial poll, then polls again
    assert.equal(source.polls, 2);
    const a = h.monitor.getStatus('a')!;
    assert.equal(a.leaderSeq, 200);
    assert.equal(a.followerSeq, 100);
    assert.equal(a.lagEntries, 100);
    assert.equal(h.monitor.getStatus('b')!.lagSeconds, 0.25, 'a source-reported delay is passed through');
    await h.next();
    const after = h.monitor.getStatus('a')!;
    assert.equal(after.leaderSeq, 300);
    assert.equal(after.lastUpdate, 1000, 'every poll is an update of the same node');
    assert.equal(after.replicationRate, 200, 'its samples accumulate: follower 0 → 200 between t=0 and t=1s');
    assert.deepEqual(h.polled, [2, 2, 2]);
    assert.deepEqual(h.errors, []);
    await h.poller.stop();
  });

  test('registers nodes with the attributes the source reports', async () => {
    const source = new ScriptedSource(() => [replica('pg-1', 10, 5, { attributes: { 'server.address': '10.0.0.1', 'server.port': 5432 } }), replica('pg-2', 10, 5)]);
    const h = manual(source);
    await h.poller.pollOnce();
    assert.deepEqual({ ...h.monitor.getStatus('pg-1')!.attributes }, { 'server.address': '10.0.0.1', 'server.port': 5432 });
    assert.deepEqual({ ...h.monitor.getStatus('pg-2')!.attributes }, {});
    await h.poller.stop();
  });

  test('unregisters nodes missing from the next successful poll', async () => {
    const source = new ScriptedSource((n) => (n === 0 ? [replica('a', 10, 5), replica('b', 10, 5), replica('c', 10, 5)] : [replica('a', 20, 15), replica('c', 20, 15)]));
    const h = manual(source);
    await h.next(); // polls 0 and 1 done
    assert.deepEqual([...h.monitor.getAllStatuses().keys()], ['a', 'c']);
    assert.equal(h.monitor.getStats().totalNodes, 2);
    assert.equal(h.monitor.getStatus('b'), undefined);
    await h.poller.stop();
  });

  test('a forgotten node that comes back is registered again with its attributes', async () => {
    const attributes = { 'server.address': 'db-3' };
    const source = new ScriptedSource((n) => (n === 1 ? [] : [replica('a', 10 * (n + 1), 10 * n, { attributes })]));
    const h = manual(source);
    await h.next(); // poll 1: a is gone
    assert.equal(h.monitor.getStatus('a'), undefined);
    await h.next(); // poll 2: a is back
    const st = h.monitor.getStatus('a')!;
    assert.deepEqual({ ...st.attributes }, attributes);
    assert.equal(st.history.length, 1, 'a fresh history');
    await h.poller.stop();
  });

  test('forgetMissing false keeps nodes that disappear', async () => {
    const source = new ScriptedSource((n) => (n === 0 ? [replica('a', 10, 5), replica('b', 10, 5)] : [replica('a', 20, 15)]));
    const h = manual(source, { forgetMissing: false });
    await h.next();
    assert.deepEqual([...h.monitor.getAllStatuses().keys()], ['a', 'b']);
    await h.poller.stop();
  });

  test('a rejecting poll goes to onError, forgets nothing, and polling continues', async () => {
    const boom = new Error('connection refused');
    const source = new ScriptedSource((n) => (n === 1 ? boom : n === 2 ? Promise.reject('plain string') : [replica('a', 10 * (n + 1), 10 * n)]));
    const h = manual(source);
    await h.next(); // poll 1 rejects
    assert.deepEqual(h.errors, [boom]);
    assert.equal(h.monitor.getStatus('a')!.leaderSeq, 10, 'the node of the last good poll is kept');
    await h.next(); // poll 2 rejects with a non-Error
    assert.equal(h.errors.length, 2);
    assert.ok(h.errors[1] instanceof Error);
    assert.match(h.errors[1]!.message, /plain string/);
    await h.next(); // poll 3 succeeds
    assert.equal(h.monitor.getStatus('a')!.leaderSeq, 40);
    assert.deepEqual(h.polled, [1, 1], 'onPoll only for successful polls');
    await h.poller.stop();
  });

  test('a bad replica is reported and does not hide the others', async () => {
    const source = new ScriptedSource(() => [
      replica('good-1', 100, 90),
      replica('bad-position', 100, Number.NaN),
      replica('bad-attributes', 100, 90, { attributes: { 'server.port': Number.POSITIVE_INFINITY } }),
      replica('', 100, 90),
      replica('good-2', 100, 80),
    ]);
    const h = manual(source);
    await h.poller.stop(); // the initial poll only
    assert.equal(source.polls, 1);
    assert.equal(h.monitor.getStatus('good-1')!.lagEntries, 10);
    assert.equal(h.monitor.getStatus('good-2')!.lagEntries, 20);
    assert.equal(h.monitor.getStatus('bad-position'), undefined);
    assert.equal(h.monitor.getStatus('bad-attributes'), undefined);
    assert.equal(h.errors.length, 3);
    assert.ok(h.errors.every((e) => e instanceof RangeError || e instanceof TypeError));
    assert.ok(h.errors.some((e) => e.message.includes('bad-position') && e.message.includes('followerSeq')));
    assert.ok(h.errors.some((e) => e.message.includes('bad-attributes')));
    assert.deepEqual(h.polled, [5]);
  });

  test('polls on its interval, never overlapping, and stop() stops polling', async () => {
    const source = new ScriptedSource(async (n) => {
      await sleep(2);
      return [replica('a', n + 1, n)];
    });
    const monitor = new ReplicationLagMonitor();
    const poller = startPoller({ source, monitor, intervalMs: 1 });
    await waitFor(() => source.polls >= 5, '5 polls');
    void poller.pollOnce(); // a manual poll is queued behind the timer's, not run alongside it
    await poller.stop();
    const count = source.polls;
    await sleep(50); // ~15 more polls would happen if it were still running
    assert.equal(source.polls, count, 'no poll after stop()');
    assert.equal(source.maxActive, 1, 'polls overlapped');
    assert.equal(source.active, 0, 'stop() waited for the poll in flight');
  });

  test('stop() waits for the poll in flight', async () => {
    let release: (() => void) | undefined;
    const source = new ScriptedSource(() => new Promise((resolve) => (release = () => resolve([replica('a', 2, 1)]))));
    const monitor = new ReplicationLagMonitor();
    const p = startPoller({ source, monitor, intervalMs: 1 });
    await waitFor(() => release !== undefined, 'the first poll');
    let stopped = false;
    const stopping = p.stop().then(() => (stopped = true));
    await sleep(10);
    assert.equal(stopped, false, 'stop() resolved while a poll was in flight');
    release!();
    await stopping;
    assert.equal(monitor.getStatus('a')!.lagEntries, 1, 'the poll in flight completed');
    await sleep(20);
    assert.equal(source.polls, 1);
  });

  test('rejects a bad intervalMs with a RangeError', () => {
    const source = new ScriptedSource(() => []);
    for (const intervalMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => startPoller({ source, monitor: new ReplicationLagMonitor(), intervalMs }), RangeError);
    }
    assert.equal(source.polls, 0);
  });

  test('health(): unknown until the first poll ends, then up or down with the failures counted', async () => {
    let release: (() => void) | undefined;
    const source = new ScriptedSource((n) =>
      n === 0 ? new Promise((resolve) => (release = () => resolve([replica('a', 10, 5)]))) : n === 1 || n === 2 ? new Error('refused') : [replica('a', 20 * n, 10 * n)],
    );
    const h = manual(source);
    await waitFor(() => release !== undefined, 'the first poll');
    const pending = h.poller.health();
    assert.ok(pending.pollingSince !== undefined && pending.pollingSince <= Date.now(), 'the poll in flight is known, with its start');
    assert.deepEqual({ ...pending, pollingSince: 0 }, { source: 'scripted', up: undefined, consecutiveFailures: 0, lastSuccessAt: undefined, pollingSince: 0 });
    assert.equal(h.poller.intervalMs, 3_600_000);
    const before = Date.now();
    release!();
    await h.poller.pollOnce(); // poll 0 succeeds, poll 1 fails
    await h.next(); // poll 2 fails
    const down = h.poller.health();
    assert.equal(down.up, false);
    assert.equal(down.consecutiveFailures, 2);
    assert.ok(down.lastSuccessAt !== undefined && down.lastSuccessAt >= before && down.lastSuccessAt <= Date.now(), 'the last success is kept');
    assert.equal(h.monitor.getStatus('a')!.leaderSeq, 10, 'a failed poll changes no status: they are stale');
    assert.equal(down.lastError, 'refused');
    assert.ok(down.lastPollAt! >= down.lastSuccessAt! && down.pollingSince === undefined, 'the failed poll ended after the last success');
    await h.next(); // poll 3 succeeds
    const up = h.poller.health();
    assert.equal(up.up, true);
    assert.equal(up.consecutiveFailures, 0);
    assert.ok(up.lastSuccessAt! >= down.lastSuccessAt!);
    assert.equal(up.lastError, undefined, 'a success clears the error');
    assert.equal(up.lastPollAt, up.lastSuccessAt);
    assert.equal(h.errors.length, 2);
  });

  test('a throwing onPoll or onError neither marks the source down nor stops polling', async () => {
    const source = new ScriptedSource((n) => (n % 2 === 1 ? new Error('refused') : [replica('a', n + 1, n)]));
    const monitor = new ReplicationLagMonitor();
    const onPollErrors: Error[] = [];
    let onErrorCalls = 0;
    const poller = startPoller({
      source,
      monitor,
      intervalMs: 3_600_000,
      onPoll: () => {
        throw new Error('onPoll bug');
      },
      onError: (e) => {
        onErrorCalls++;
        if (e.message === 'onPoll bug') onPollErrors.push(e);
        throw new Error('onError bug');
      },
    });
    running.push(poller);
    await poller.pollOnce(); // poll 0 (onPoll throws), poll 1 (fails; onError throws): pollOnce still resolves
    assert.equal(poller.health().up, false);
    await poller.pollOnce(); // poll 2 succeeds
    assert.equal(poller.health().up, true, 'a throwing onPoll is not a failed poll');
    assert.equal(onPollErrors.length, 2, "onPoll's error went to onError");
    assert.equal(onErrorCalls, 3);
    assert.equal(monitor.getStatus('a')!.leaderSeq, 3);
  });

  test('a poll that resolves to something other than an array is a failed poll naming the source', async () => {
    const source = new ScriptedSource((n) => (n === 0 ? (null as unknown as ReplicaPosition[]) : [null as unknown as ReplicaPosition, replica('a', 2, 1)]));
    const h = manual(source);
    await h.poller.pollOnce();
    assert.equal(h.errors.length, 2);
    assert.ok(h.errors[0] instanceof TypeError);
    assert.match(h.errors[0]!.message, /^scripted: poll\(\) must resolve to an array .*got null/);
    assert.ok(h.errors[1] instanceof TypeError, 'a null replica is reported like any bad replica');
    assert.equal(h.monitor.getStatus('a')!.lagEntries, 1, 'and does not hide the others');
    assert.equal(h.poller.health().up, true);
  });
});
