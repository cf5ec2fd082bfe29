import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { DeadlineError, settlesWithin, withDeadline } from '../../../src/sources/kit/deadline.ts';

describe('withDeadline', () => {
  it('resolves with the work’s value when it answers in time, and the signal stays unaborted', async () => {
    let seen: AbortSignal | undefined;
    const value = await withDeadline(async (signal) => {
      seen = signal;
      await sleep(5);
      return 42;
    }, { timeoutMs: 1000, what: 'server A' });
    assert.equal(value, 42);
    assert.equal(seen?.aborted, false);
  });

  it('rejects at the deadline with an error naming what did not answer in how long, and aborts the work’s signal (releasing what it holds)', async () => {
    let released = false;
    const started = performance.now();
    const error = await withDeadline((signal) => new Promise<never>((_, reject) => {
      const held = setInterval(() => {}, 1000); // stands for a socket the work holds
      signal.addEventListener('abort', () => {
        clearInterval(held);
        released = true;
        reject(new Error('the work noticed late')); // ignored: the deadline's rejection came first
      });
    }), { timeoutMs: 50, what: 'Redis redis://127.0.0.1:6379' }).then(() => assert.fail('resolved'), (e: unknown) => e);
    assert.ok(error instanceof DeadlineError);
    assert.equal(error.message, 'Redis redis://127.0.0.1:6379: no answer within 50 ms');
    assert.equal(error.code, 'ETIMEDOUT');
    assert.equal(error.what, 'Redis redis://127.0.0.1:6379');
    assert.equal(error.timeoutMs, 50);
    assert.ok(released, 'the work released what it held on abort');
    assert.ok(performance.now() - started < 1000);
  });

  it('rejects with the work’s own error when it fails first', async () => {
    await assert.rejects(withDeadline(async () => {
      throw new Error('refused');
    }, { timeoutMs: 1000, what: 'x' }), /^Error: refused$/);
    await assert.rejects(withDeadline(() => {
      throw new TypeError('synchronous');
    }, { timeoutMs: 1000, what: 'x' }), TypeError);
  });

  it('rejects at once with the caller’s signal reason when it aborts (a source closing), aborting the work too', async () => {
    const closing = new AbortController();
    let workSignal: AbortSignal | undefined;
    const run = withDeadline((signal) => {
      workSignal = signal;
      return new Promise<never>(() => {});
    }, { timeoutMs: 10_000, what: 'x', signal: closing.signal });
    closing.abort(new Error('the source was closed'));
    await assert.rejects(run, /^Error: the source was closed$/);
    assert.equal(workSignal?.aborted, true);
    await assert.rejects(withDeadline(async () => 1, { timeoutMs: 10, what: 'x', signal: closing.signal }), /the source was closed/);
  });

  it('leaves no unhandled rejection when the work fails after the deadline', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await assert.rejects(withDeadline(async () => {
        await sleep(40);
        throw new Error('late failure');
      }, { timeoutMs: 5, what: 'x' }), DeadlineError);
      await sleep(80);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.deepEqual(unhandled, []);
  });
});

describe('settlesWithin', () => {
  it('says whether a promise settles (resolved or rejected) within the wait, without cancelling it', async () => {
    assert.equal(await settlesWithin(sleep(5), 500), true);
    assert.equal(await settlesWithin(Promise.reject(new Error('x')), 500), true);
    const slow = sleep(100).then(() => 'done');
    assert.equal(await settlesWithin(slow, 10), false);
    assert.equal(await slow, 'done');
  });
});
