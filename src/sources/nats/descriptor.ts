/** `type: nats`: the replicas of JetStream streams, from each stream leader's view, and their durable consumers (no source code loaded here). */
import { z } from 'zod';
import { defineSource, option } from '../descriptor.ts';
import { acrossOptions, boolean, list, text, tls, sourceTls } from '../options.ts';

const URL_EXPECTED = 'expected a nats:// URL such as nats://nats-1:4222 (tls:// for TLS), without credentials (give user and password, or token)';
const natsUrl = z.string({ error: URL_EXPECTED }).trim().regex(/^(nats|tls):\/\/[^/@\s?#,]+$/i, { error: URL_EXPECTED });
const STREAM_EXPECTED = 'expected a stream name (no spaces, ".", "*" or ">")';

/** The `nats` source's options. */
export const natsOptions = z
  .strictObject({
    url: option(z.union([natsUrl, z.array(natsUrl, { error: 'expected a list' }).min(1, { error: 'expected a non-empty list' })], { error: URL_EXPECTED }), {
      description: 'nats://host:port of one or more servers, one URL or a list (tls:// for TLS always); the others are learnt from the servers',
      placeholder: 'URL',
      commaSeparated: true,
    }),
    user: text({ description: 'user (with password)', placeholder: 'NAME' }).optional(),
    password: text({ description: 'password of user', secret: true }).optional(),
    token: text({ description: 'token, instead of user and password', secret: true }).optional(),
    streams: list(z.string({ error: STREAM_EXPECTED }).regex(/^[^\s.*>]+$/, { error: STREAM_EXPECTED }), {
      description: 'streams to watch (default: every stream of the account)',
      flag: 'stream',
      placeholder: 'NAME',
    }).optional(),
    consumers: boolean({ description: 'also watch every durable consumer of the watched streams (--no-consumers: replicas only)', defaultText: 'true' }).optional(),
    tls: tls(),
  })
  .superRefine((o, ctx) => {
    if (o.token !== undefined && (o.user !== undefined || o.password !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['token'], message: 'expected token or user and password, not both' });
    } else if (o.password !== undefined && o.user === undefined) {
      ctx.addIssue({ code: 'custom', path: ['user'], message: 'required with password: the user the password belongs to' });
    }
  }, { when: acrossOptions });

export const descriptor = defineSource({
  type: 'nats',
  summary: "NATS JetStream: each stream replica (from the stream leader's view) and each durable consumer's ack floor",
  options: natsOptions,
  secretEnv: { password: 'NATS_PASSWORD', token: 'NATS_TOKEN' },
  async create(o, context) {
    const { NatsSource } = await import('./source.ts');
    // Secrets from the environment are filled into both keys: a user takes the password, no user the token.
    const credentials = o.user !== undefined ? { user: o.user, ...(o.password !== undefined ? { password: o.password } : {}) } : o.token !== undefined ? { token: o.token } : {};
    return new NatsSource({
      url: o.url,
      ...credentials,
      ...(o.streams !== undefined ? { streams: o.streams } : {}),
      ...(o.consumers !== undefined ? { consumers: o.consumers } : {}),
      ...(context.timeoutMs !== undefined ? { timeoutMs: context.timeoutMs } : {}),
      ...(o.tls !== undefined ? { tls: sourceTls(o.tls) } : {}),
      onReplicaError: context.onReplicaError,
    });
  },
  describe(o) {
    const urls = typeof o.url === 'string' ? [o.url] : o.url;
    const streams = o.streams === undefined ? 'every stream' : `streams ${o.streams.join(', ')}`;
    return `NATS JetStream ${urls.join(', ')} (${streams}${o.consumers === false ? '' : ' and their durable consumers'})`;
  },
});
