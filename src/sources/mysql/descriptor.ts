/** `type: mysql`: a MySQL / MariaDB primary and its replicas (no driver loaded here). */
import { z } from 'zod';
import { redactUrl } from '../../sdk/env.ts';
import { defineSource } from '../descriptor.ts';
import { duration, list, sourceHeartbeat, sqlHeartbeat, text, tls, url, urlSchema, sourceTls } from '../options.ts';

const EXAMPLE = 'mysql://monitor@db:3306';

/** The `mysql` source's options. */
export const mysqlOptions = z.strictObject({
  primary: url(['mysql'], EXAMPLE, { description: 'the primary' }),
  replicas: list(urlSchema(['mysql'], EXAMPLE), { description: 'the replicas to watch, at least one', flag: 'replica', placeholder: 'URL' }),
  password: text({ description: 'password for URLs without one', secret: true }).optional(),
  tls: tls(),
  replicaTimeout: duration({ description: 'how long a poll waits for each replica (at most timeout)', defaultText: '1s' }).optional(),
  heartbeat: sqlHeartbeat(),
});

export const descriptor = defineSource({
  type: 'mysql',
  summary: 'a MySQL / MariaDB primary and its replicas',
  options: mysqlOptions,
  secretEnv: { password: 'MYSQL_PWD' },
  async create(o, context) {
    const { MySqlSource } = await import('./index.ts');
    return new MySqlSource({
      primary: o.primary,
      replicas: o.replicas,
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.replicaTimeout !== undefined ? { replicaTimeoutMs: o.replicaTimeout } : {}),
      onReplicaError: context.onReplicaError,
      ...(o.heartbeat !== undefined ? { heartbeat: sourceHeartbeat(o.heartbeat, context.sourceName) } : {}),
      ...(context.timeoutMs !== undefined ? { timeoutMs: context.timeoutMs } : {}),
      ...(o.tls !== undefined ? { tls: sourceTls(o.tls) } : {}),
    });
  },
  describe: (o) => `MySQL/MariaDB primary ${redactUrl(o.primary)} with replicas ${o.replicas.map(redactUrl).join(', ')}`,
});
