/** The NATS JetStream source as `replag` and the registry know it (`type: nats`). Loads no source code until `create`. */
import { z } from 'zod';
import type { SourceDescriptor } from '../descriptor.ts';
import { readTlsFiles, tlsFilesSchema } from '../tls-files.ts';

const natsUrl = z.string().regex(/^(nats|tls):\/\/[^/@\s?#]+$/, 'expected a nats:// URL such as nats://nats-1:4222 (tls:// for TLS), without credentials (give user and password, or token)');

/** The `nats` source's options. */
export const natsOptions = z
  .strictObject({
    url: z.union([natsUrl, z.array(natsUrl).min(1)]).describe('nats://host:port of one or more servers (tls:// for TLS always)'),
    user: z.string().min(1).optional().describe('user (with password)'),
    password: z.string().optional().describe('password of user; default NATS_PASSWORD'),
    token: z.string().optional().describe('token, instead of user and password; default NATS_TOKEN'),
    streams: z.array(z.string().regex(/^[^\s.*>]+$/, 'expected a stream name (no spaces, ".", "*" or ">")')).min(1).optional().describe('streams to watch; default every stream of the account'),
    consumers: z.boolean().optional().describe('watch every durable consumer of the watched streams (default true)'),
    tls: tlsFilesSchema.optional().describe('TLS to the servers'),
  })
  .refine((o) => o.token === undefined || (o.user === undefined && o.password === undefined), { message: 'expected token or user and password, not both', path: ['token'] });

/** `type: nats`: the replicas of JetStream streams, from each stream leader's view, and their durable consumers. */
export const descriptor: SourceDescriptor<typeof natsOptions> = {
  type: 'nats',
  summary: 'NATS JetStream: each stream replica (from the stream leader\'s view) and each durable consumer\'s ack floor',
  options: natsOptions,
  secretEnv: { password: 'NATS_PASSWORD', token: 'NATS_TOKEN' },
  async create(o, context) {
    const { NatsSource } = await import('./source.ts');
    const password = o.password ?? (o.user !== undefined ? context.env.NATS_PASSWORD : undefined);
    const token = o.token ?? (o.user === undefined ? context.env.NATS_TOKEN : undefined);
    return new NatsSource({
      url: o.url,
      ...(o.user !== undefined ? { user: o.user } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(token !== undefined && token !== '' ? { token } : {}),
      ...(o.streams !== undefined ? { streams: o.streams } : {}),
      ...(o.consumers !== undefined ? { consumers: o.consumers } : {}),
      ...(context.timeoutMs !== undefined ? { timeoutMs: context.timeoutMs } : {}),
      ...(o.tls !== undefined ? { tls: await readTlsFiles(o.tls, 'tls') } : {}),
      onReplicaError: context.onReplicaError,
    });
  },
  describe(o) {
    const urls = typeof o.url === 'string' ? [o.url] : o.url;
    const streams = o.streams === undefined ? 'every stream' : `streams ${o.streams.join(', ')}`;
    return `NATS JetStream ${urls.join(', ')} (${streams}${o.consumers === false ? '' : ' and their durable consumers'})`;
  },
};
