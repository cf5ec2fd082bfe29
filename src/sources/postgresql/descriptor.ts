/** `type: postgres`: a PostgreSQL primary, its standbys, logical slots and subscribers (no driver loaded here). */
import { z } from 'zod';
import { redactUrl } from '../../sdk/env.ts';
import { defineSource } from '../descriptor.ts';
import { boolean, list, sourceHeartbeat, sqlHeartbeat, text, tls, url, urlSchema, sourceTls } from '../options.ts';

const SCHEMES = ['postgres', 'postgresql'];
const EXAMPLE = 'postgres://monitor@db:5432/postgres';

/** The `postgres` source's options. */
export const postgresOptions = z.strictObject({
  url: url(SCHEMES, EXAMPLE, {
    description: 'the primary (or every host that may be it, libpq multi-host: postgres://monitor@db1:5432,db2:5432/postgres)',
  }),
  password: text({ description: 'password when not in the URL', secret: true }).optional(),
  tls: tls(),
  logicalSlots: boolean({ description: 'report every logical replication slot as a follower too', defaultText: 'true' }).optional(),
  subscribers: list(urlSchema(SCHEMES, EXAMPLE), {
    description: 'logical replication subscribers whose subscriptions to report (one host each)',
    flag: 'subscriber',
    placeholder: 'URL',
  }).optional(),
  heartbeat: sqlHeartbeat(),
  standbys: list(urlSchema(SCHEMES, 'postgres://monitor@standby1:5432/postgres'), {
    description: 'standbys read for their heartbeat (with heartbeat), each reported under its pg_stat_replication node id',
    flag: 'standby',
    placeholder: 'URL',
  }).optional(),
});

export const descriptor = defineSource({
  type: 'postgres',
  summary: 'a PostgreSQL primary: its standbys, logical slots and subscribers',
  options: postgresOptions,
  secretEnv: { password: 'PGPASSWORD' },
  async create(o, context) {
    const { PostgresSource } = await import('./index.ts');
    return new PostgresSource({
      url: o.url,
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.logicalSlots !== undefined ? { logicalSlots: o.logicalSlots } : {}),
      ...(o.subscribers !== undefined || o.standbys !== undefined ? { onReplicaError: context.onReplicaError } : {}),
      ...(o.subscribers !== undefined ? { subscribers: o.subscribers } : {}),
      ...(o.heartbeat !== undefined ? { heartbeat: sourceHeartbeat(o.heartbeat, context.sourceName) } : {}),
      ...(o.standbys !== undefined ? { standbys: o.standbys } : {}),
      ...(context.timeoutMs !== undefined ? { timeoutMs: context.timeoutMs } : {}),
      ...(o.tls !== undefined ? { tls: sourceTls(o.tls) } : {}),
    });
  },
  describe: (o) => `PostgreSQL primary ${redactUrl(o.url)}${o.subscribers !== undefined ? ` with subscribers ${o.subscribers.map(redactUrl).join(', ')}` : ''}`,
});
