/** `type: demo`: the simulated Raft cluster, healthy, slow, lagging and frozen followers. */
import { z } from 'zod';
import { defineSource } from '../descriptor.ts';
import { integer, positiveNumber } from '../options.ts';

/** The `demo` source's options. */
export const demoOptions = z.strictObject({
  nodes: integer(1, 10_000, { description: 'followers in the simulated cluster' }).default(4),
  leaderRate: positiveNumber({ description: 'entries the leader appends per second', defaultText: '500' }).optional(),
});

export const descriptor = defineSource({
  type: 'demo',
  summary: 'a simulated Raft cluster: healthy, slow, lagging and frozen followers',
  options: demoOptions,
  async create(o) {
    const { SimulatedClusterSource } = await import('./index.ts');
    return new SimulatedClusterSource({ followers: o.nodes, ...(o.leaderRate !== undefined ? { leaderRate: o.leaderRate } : {}) });
  },
  describe: (o) => `simulated cluster with ${o.nodes} followers`,
  nodeCount: (o) => o.nodes,
});
