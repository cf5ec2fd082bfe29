import assert from 'node:assert/strict';
import { it } from 'node:test';
import { LastKnownPositions } from '../../../src/sources/kit/last-known.ts';

const at = (seq: bigint, host = 'h') => ({ followerSeq: seq, attributes: { 'server.address': host } });

it('keeps a follower that cannot be read at its last recorded position, and forgets one neither recorded nor kept', () => {
  const known = new LastKnownPositions();
  known.record('a', at(10n));
  known.record('b', at(20n));
  known.endPoll();
  assert.deepEqual(Object.fromEntries(known.readability()), { a: true, b: true });

  // Next poll: a is read further on, b cannot be read.
  known.record('a', at(15n));
  assert.deepEqual(known.keep('b'), at(20n));
  assert.equal(known.keep('never-seen'), undefined);
  known.endPoll();
  assert.deepEqual(known.get('a'), at(15n));
  assert.deepEqual(known.get('b'), at(20n), 'b stays where it was last read (it will stall)');
  assert.deepEqual(Object.fromEntries(known.readability()), { a: true, b: false });
  assert.equal(known.get('never-seen'), undefined);

  // b is kept again (still unreadable): still its last read position, not lost.
  assert.deepEqual(known.keep('b'), at(20n));
  known.endPoll();
  assert.deepEqual(known.get('b'), at(20n));
  assert.equal(known.get('a'), undefined, 'a was neither recorded nor kept: forgotten');
  assert.deepEqual(Object.fromEntries(known.readability()), { b: false });
});

it('lists the followers known before the poll, filtered (e.g. those of one server)', () => {
  const known = new LastKnownPositions();
  known.record('s1:5432/x', at(1n));
  known.record('s1:5432/y', at(2n));
  known.record('s2:5432/x', at(3n));
  assert.deepEqual(known.knownIds(), [], 'nothing known before the first poll ends');
  known.endPoll();
  assert.deepEqual(known.knownIds((id) => id.startsWith('s1:5432/')), ['s1:5432/x', 's1:5432/y']);
  assert.equal(known.knownIds().length, 3);
});
