/** `type: redis-cluster`: every replica of every shard of a Redis Cluster, found from one seed (no client loaded here). */
import { z } from 'zod';
import { defineSource } from '../descriptor.ts';
import { urlTextForMessage } from '../kit/messages.ts';
import { list, redisHeartbeat, sourceHeartbeat, text, tls, urlSchema, sourceTls } from '../options.ts';

/** The `redis-cluster` source's options. */
export const redisClusterOptions = z.strictObject({
  nodes: list(urlSchema(['redis', 'rediss'], 'redis://node1:6379'), {
    description: 'cluster nodes, any role; one is enough, the others are discovered (CLUSTER NODES) at every poll (rediss:// for TLS)',
    flag: 'node',
    placeholder: 'URL',
  }),
  username: text({ description: 'ACL user when not in the URL', placeholder: 'NAME' }).optional(),
  password: text({ description: 'password when not in the URL', secret: true }).optional(),
  tls: tls(),
  heartbeat: redisHeartbeat(),
});

export const descriptor = defineSource({
  type: 'redis-cluster',
  summary: 'a Redis Cluster: every replica of every shard against its master',
  options: redisClusterOptions,
  secretEnv: { password: 'REDISCLI_AUTH' },
  async create(o, context) {
    const { RedisClusterSource } = await import('./index.ts');
    return new RedisClusterSource({
      nodes: o.nodes,
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      onReplicaError: context.onReplicaError,
      ...(o.heartbeat !== undefined ? { heartbeat: sourceHeartbeat(o.heartbeat, context.sourceName) } : {}),
      ...(context.timeoutMs !== undefined ? { timeoutMs: context.timeoutMs } : {}),
      ...(o.tls !== undefined ? { tls: sourceTls(o.tls) } : {}),
    });
  },
  describe: (o) => `Redis Cluster from ${o.nodes.map(urlTextForMessage).join(', ')}`,
});
