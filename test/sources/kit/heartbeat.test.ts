/** The kit's heartbeat: option checks, the delay, and the writer's timer (writes, failures, stop). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { heartbeatDelaySeconds, HeartbeatWriter, redisHeartbeatOption, sqlHeartbeatOption } from '../../../src/sources/kit/heartbeat.ts';
import { waitUntil } from '../../harness/wait.ts';

test('options: defaults, names, and errors naming the field', () => {
  assert.equal(sqlHeartbeatOption(undefined, 'X.heartbeat', 'mysql'), undefined, 'unset: no heartbeat');
  assert.deepEqual(sqlHeartbeatOption({}, 'X.heartbeat', 'mysql'), { target: 'replag_heartbeat', intervalMs: 1000, name: 'mysql' });
  assert.deepEqual(sqlHeartbeatOption({ table: 'ops.hb', intervalMs: 250, name: 'orders' }, 'X.heartbeat', 'mysql'), { target: 'ops.hb', intervalMs: 250, name: 'orders' });
  assert.deepEqual(redisHeartbeatOption({}, 'R.heartbeat', 'redis'), { target: 'replag:heartbeat', intervalMs: 1000, name: 'redis' });
  assert.throws(() => sqlHeartbeatOption('yes', 'X.heartbeat', 'm'), /X\.heartbeat must be an object/);
  assert.throws(() => sqlHeartbeatOption({ table: 'Bad-Name' }, 'X.heartbeat', 'm'), /X\.heartbeat\.table must be/);
  assert.throws(() => sqlHeartbeatOption({ table: 'a.b.c' }, 'X.heartbeat', 'm'), /X\.heartbeat\.table/);
  assert.throws(() => sqlHeartbeatOption({ intervalMs: 0 }, 'X.heartbeat', 'm'), /X\.heartbeat\.intervalMs/);
  assert.throws(() => sqlHeartbeatOption({ name: '' }, 'X.heartbeat', 'm'), /X\.heartbeat\.name/);
  assert.throws(() => sqlHeartbeatOption({ key: 'k' }, 'X.heartbeat', 'm'), /unknown field\(s\) key/);
  assert.throws(() => redisHeartbeatOption({ key: 'a b' }, 'R.heartbeat', 'r'), /R\.heartbeat\.key/);
});

test('the delay: newest written − newest shown, 0 when caught up, unknown without either', () => {
  assert.equal(heartbeatDelaySeconds(10_500, 8_000), 2.5);
  assert.equal(heartbeatDelaySeconds(10_500, 10_500), 0);
  assert.equal(heartbeatDelaySeconds(10_500, 11_000), 0, 'a newer one than the snapshot: caught up');
  assert.equal(heartbeatDelaySeconds(undefined, 8_000), undefined);
  assert.equal(heartbeatDelaySeconds(10_500, undefined), undefined);
});

test('the writer: start() writes once (first: true) and rejects with its error until one succeeds; then the timer writes; stop() ends it', async () => {
  const writes: { nowMs: number; first: boolean }[] = [];
  let fail = true;
  const timerErrors: Error[] = [];
  const writer = new HeartbeatWriter({
    intervalMs: 20,
    write: async (nowMs, first) => {
      if (fail) throw new Error('refused');
      writes.push({ nowMs, first });
    },
    onError: (e) => timerErrors.push(e),
  });
  await assert.rejects(writer.start(), /refused/);
  assert.equal(writer.writtenMs, undefined);
  fail = false;
  await writer.start();
  assert.equal(writes.length, 1);
  assert.equal(writes[0]!.first, true, 'the first successful write may create what is missing');
  assert.equal(writer.writtenMs, writes[0]!.nowMs);
  await waitUntil('timed writes', 5000, () => writes.length >= 3, 5);
  assert.ok(writes.slice(1).every((w) => !w.first));
  // A failing leader: the written value is withheld until a write succeeds again.
  fail = true;
  await waitUntil('a failed timed write', 5000, () => timerErrors.length >= 1, 5);
  assert.equal(writer.writtenMs, undefined);
  fail = false;
  await waitUntil('writing again', 5000, () => writer.writtenMs !== undefined, 5);
  await writer.stop();
  const count = writes.length;
  await sleep(100);
  assert.equal(writes.length, count, 'no write after stop()');
  await assert.rejects(writer.start(), /stopped/);
});
