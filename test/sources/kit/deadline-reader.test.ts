/** DeadlineReader: one read in flight at most, a deadline per poll, late answers kept for the next poll. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeadlineReader } from '../../../src/sources/kit/deadline-reader.ts';

/** A read the test settles by hand. */
function manual<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('an answer within the deadline is fresh once, then kept as the last known value', async () => {
  const reader = new DeadlineReader<number>();
  await reader.wait(async () => 7, 1000);
  assert.deepEqual(reader.take(), { value: 7, fresh: true, error: undefined, late: false });
  assert.deepEqual(reader.take(), { value: 7, fresh: false, error: undefined, late: false });
});

test('a read past its deadline: the poll goes on with the last value, no second read starts, the late answer is fresh at the next poll', async () => {
  const reader = new DeadlineReader<number>();
  await reader.wait(async () => 1, 1000);
  reader.take();
  const slow = manual<number>();
  let reads = 0;
  const read = () => {
    reads++;
    return slow.promise;
  };
  await reader.wait(read, 20);
  assert.deepEqual(reader.take(), { value: 1, fresh: false, error: undefined, late: true });
  await reader.wait(read, 20); // still in flight: not started again, not waited for
  assert.equal(reads, 1);
  assert.deepEqual(reader.take(), { value: 1, fresh: false, error: undefined, late: true });
  slow.resolve(2);
  await tick();
  assert.deepEqual(reader.take(), { value: 2, fresh: true, error: undefined, late: false });
});

test('a server that missed its deadline is not waited for until a read settles within the deadline', async () => {
  const reader = new DeadlineReader<number>();
  const slow = manual<number>();
  await reader.wait(() => slow.promise, 20);
  slow.resolve(1); // late
  await tick();
  assert.equal(reader.take().value, 1);
  // Suspect: this read is started but not waited for, although it would answer within the deadline.
  let settled = false;
  await reader.wait(() => new Promise<number>((resolve) => setTimeout(() => {
    settled = true;
    resolve(2);
  }, 5)), 1000);
  assert.equal(settled, false, 'the poll did not wait');
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepEqual(reader.take(), { value: 2, fresh: true, error: undefined, late: false });
  // It answered within the deadline: waited for again.
  await reader.wait(() => new Promise<number>((resolve) => setTimeout(() => resolve(3), 5)), 1000);
  assert.deepEqual(reader.take(), { value: 3, fresh: true, error: undefined, late: false });
});

test('a failure keeps the last value and is reported until a read succeeds; a fast failure does not make the server suspect', async () => {
  const reader = new DeadlineReader<number>();
  await reader.wait(async () => 5, 1000);
  reader.take();
  await reader.wait(() => Promise.reject(new Error('refused')), 1000);
  assert.deepEqual(reader.take(), { value: 5, fresh: false, error: new Error('refused'), late: false });
  await reader.wait(() => new Promise<number>((resolve) => setTimeout(() => resolve(6), 5)), 1000); // waited for
  assert.deepEqual(reader.take(), { value: 6, fresh: true, error: undefined, late: false });
});
