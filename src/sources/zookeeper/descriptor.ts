/** The ZooKeeper source as `replag` and the registry know it (`type: zookeeper`). Loads no source code until `create`. */
import { z } from 'zod';
import type { SourceDescriptor } from '../descriptor.ts';
import { readTlsFiles, tlsFilesSchema } from '../tls-files.ts';

/** The `zookeeper` source's options. */
export const zookeeperOptions = z.strictObject({
  servers: z
    .array(z.string().regex(/^(\[[^\]]+\]|[^:/@\s[\]]+):\d{1,5}$/, 'expected a client address host:port such as zk-1:2181'))
    .min(1)
    .describe('client addresses host:port of one or more servers; the others are found with conf'),
  tls: tlsFilesSchema.optional().describe('TLS to the servers\' secureClientPort'),
});

/** `type: zookeeper`: followers and observers of a ZooKeeper ensemble, from every member's last processed zxid. */
export const descriptor: SourceDescriptor<typeof zookeeperOptions> = {
  type: 'zookeeper',
  summary: 'ZooKeeper ensemble: each follower\'s and observer\'s last processed zxid (four-letter words srvr and conf)',
  options: zookeeperOptions,
  async create(o, context) {
    const { ZooKeeperSource } = await import('./source.ts');
    return new ZooKeeperSource({
      servers: o.servers,
      ...(context.timeoutMs !== undefined ? { timeoutMs: context.timeoutMs } : {}),
      ...(o.tls !== undefined ? { tls: await readTlsFiles(o.tls, 'tls') } : {}),
      onReplicaError: context.onReplicaError,
    });
  },
  describe: (o) => `ZooKeeper ensemble ${o.servers.join(', ')}${o.tls !== undefined ? ' (TLS)' : ''}`,
};
