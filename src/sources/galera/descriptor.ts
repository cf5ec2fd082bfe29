/** `type: galera`: every node of a MariaDB Galera / Percona XtraDB cluster, found from one address (no driver loaded here). */
import { z } from 'zod';
import { defineSource } from '../descriptor.ts';
import { urlTextForMessage } from '../kit/messages.ts';
import { list, sourceHeartbeat, sqlHeartbeat, text, tls, urlSchema, sourceTls } from '../options.ts';

/** The `galera` source's options. */
export const galeraOptions = z.strictObject({
  nodes: list(urlSchema(['mysql', 'mariadb'], 'mysql://monitor@db1:3306'), {
    description: 'nodes of the cluster; one is enough, the others are discovered (wsrep_incoming_addresses)',
    flag: 'node',
    placeholder: 'URL',
  }),
  password: text({ description: 'password for URLs without one (also for discovered nodes)', secret: true }).optional(),
  tls: tls(),
  heartbeat: sqlHeartbeat(),
});

export const descriptor = defineSource({
  type: 'galera',
  summary: 'a Galera cluster (MariaDB, Percona XtraDB): every node at its wsrep_last_committed',
  options: galeraOptions,
  secretEnv: { password: 'MYSQL_PWD' },
  async create(o, context) {
    const { GaleraSource } = await import('./index.ts');
    return new GaleraSource({
      nodes: o.nodes,
      ...(o.password !== undefined ? { password: o.password } : {}),
      onReplicaError: context.onReplicaError,
      ...(o.heartbeat !== undefined ? { heartbeat: sourceHeartbeat(o.heartbeat, context.sourceName) } : {}),
      ...(context.timeoutMs !== undefined ? { timeoutMs: context.timeoutMs } : {}),
      ...(o.tls !== undefined ? { tls: sourceTls(o.tls) } : {}),
    });
  },
  describe: (o) => `Galera cluster from ${o.nodes.map(urlTextForMessage).join(', ')}`,
});
