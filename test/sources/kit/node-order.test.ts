import assert from 'node:assert/strict';
import { it } from 'node:test';
import { byNodeId, compareNodeIds } from '../../../src/sources/kit/node-order.ts';

it('orders followers by node id, code unit by code unit (not by locale), in place', () => {
  const positions = [{ nodeId: 'b' }, { nodeId: 'B' }, { nodeId: 'a#2' }, { nodeId: 'a' }, { nodeId: 'é' }, { nodeId: '10' }, { nodeId: '9' }];
  const sorted = byNodeId(positions);
  assert.equal(sorted, positions);
  assert.deepEqual(sorted.map((p) => p.nodeId), ['10', '9', 'B', 'a', 'a#2', 'b', 'é']);
  assert.equal(compareNodeIds('x', 'x'), 0);
  assert.equal(compareNodeIds('x', 'y'), -1);
  assert.equal(compareNodeIds('y', 'x'), 1);
});
