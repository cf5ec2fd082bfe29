/** `type: etcd`: an etcd cluster, read over its client URLs (no client loaded here). */
import { z } from 'zod';
import { redactUrl } from '../../sdk/env.ts';
import { defineSource } from '../descriptor.ts';
import { list, tls, urlSchema, sourceTls } from '../options.ts';

/** The `etcd` source's options. */
export const etcdOptions = z.strictObject({
  endpoints: list(urlSchema(['http', 'https'], 'http://etcd1:2379', 'an http:// or https:// URL'), {
    description: 'client URLs of one or more members, all http:// or all https://',
    placeholder: 'URLS',
    commaSeparated: true,
  }),
  tls: tls(),
});

export const descriptor = defineSource({
  type: 'etcd',
  summary: 'an etcd cluster: every member against the leader',
  options: etcdOptions,
  async create(o, context) {
    const { EtcdSource } = await import('./index.ts');
    return new EtcdSource({
      endpoints: o.endpoints,
      ...(context.timeoutMs !== undefined ? { timeoutMs: context.timeoutMs } : {}),
      ...(o.tls !== undefined ? { tls: sourceTls(o.tls) } : {}),
    });
  },
  describe: (o) => `etcd cluster ${o.endpoints.map(redactUrl).join(', ')}`,
});
