/** `type: zookeeper`: followers and observers of a ZooKeeper ensemble, from every member's last processed zxid (no source code loaded here). */
import { z } from 'zod';
import { defineSource } from '../descriptor.ts';
import { list, tls, sourceTls } from '../options.ts';

const ADDRESS_EXPECTED = 'expected a client address host:port such as zk-1:2181';

/** The `zookeeper` source's options. */
export const zookeeperOptions = z.strictObject({
  servers: list(z.string({ error: ADDRESS_EXPECTED }).trim().regex(/^(\[[^\]]+\]|[^:/@\s[\]]+):\d{1,5}$/, { error: ADDRESS_EXPECTED }), {
    description: 'client addresses host:port of one or more servers; one is enough, the others are found with conf',
    placeholder: 'HOST:PORT',
    commaSeparated: true,
  }),
  tls: tls(),
});

export const descriptor = defineSource({
  type: 'zookeeper',
  summary: "a ZooKeeper ensemble: each follower's and observer's last processed zxid (four-letter words srvr and conf)",
  options: zookeeperOptions,
  async create(o, context) {
    const { ZooKeeperSource } = await import('./source.ts');
    return new ZooKeeperSource({
      servers: o.servers,
      ...(context.timeoutMs !== undefined ? { timeoutMs: context.timeoutMs } : {}),
      ...(o.tls !== undefined ? { tls: sourceTls(o.tls) } : {}),
      onReplicaError: context.onReplicaError,
    });
  },
  describe: (o) => `ZooKeeper ensemble ${o.servers.join(', ')}${o.tls !== undefined ? ' (TLS)' : ''}`,
});
