/** `type: redis`: a Redis master, given by URL or found through Redis Sentinel (no client loaded here). */
import { z } from 'zod';
import { redactUrl } from '../../sdk/env.ts';
import { defineSource } from '../descriptor.ts';
import { acrossOptions, list, redisHeartbeat, sourceHeartbeat, text, tls, url, urlSchema, sourceTls } from '../options.ts';

const SCHEMES = ['redis', 'rediss'];

/** The `redis` source's options: `url`, or `sentinels` with `masterName`. */
export const redisOptions = z
  .strictObject({
    url: url(SCHEMES, 'redis://db:6379', { description: 'the master: redis://[user@]host:6379 (rediss:// for TLS)' }).optional(),
    sentinels: list(urlSchema(SCHEMES, 'redis://sentinel:26379'), {
      description: 'instead of url: Redis Sentinels asked for the master masterName, followed across failovers',
      flag: 'sentinel',
      placeholder: 'URL',
    }).optional(),
    masterName: text({ description: 'the name the Sentinels monitor the master under (with sentinels)', placeholder: 'NAME' }).optional(),
    username: text({ description: "the master's ACL user when not in the URL", placeholder: 'NAME' }).optional(),
    password: text({ description: "the master's password when not in the URL", secret: true }).optional(),
    sentinelPassword: text({ description: "the Sentinels' own password (their requirepass)", secret: true }).optional(),
    tls: tls(),
    heartbeat: redisHeartbeat(),
  })
  .superRefine((o, ctx) => {
    const viaSentinel = o.sentinels !== undefined || o.masterName !== undefined;
    if (o.url !== undefined && viaSentinel) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'expected either url or sentinels with masterName, not both' });
    } else if (o.url === undefined && !viaSentinel) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'required: a redis:// URL of the master (or sentinels with masterName)' });
    } else if (o.url === undefined && o.sentinels === undefined) {
      ctx.addIssue({ code: 'custom', path: ['sentinels'], message: 'required with masterName: a list of redis:// Sentinel URLs' });
    } else if (o.url === undefined && o.masterName === undefined) {
      ctx.addIssue({ code: 'custom', path: ['masterName'], message: 'required with sentinels: the name the Sentinels monitor the master under' });
    }
  }, { when: acrossOptions });

export const descriptor = defineSource({
  type: 'redis',
  summary: 'a Redis master and its replicas, by URL or through Redis Sentinel',
  options: redisOptions,
  secretEnv: { password: 'REDISCLI_AUTH', sentinelPassword: 'REDIS_SENTINEL_PASSWORD' },
  async create(o, context) {
    const { RedisSource } = await import('./index.ts');
    const common = {
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(context.timeoutMs !== undefined ? { timeoutMs: context.timeoutMs } : {}),
      ...(o.tls !== undefined ? { tls: sourceTls(o.tls) } : {}),
      ...(o.heartbeat !== undefined ? { heartbeat: sourceHeartbeat(o.heartbeat, context.sourceName) } : {}),
    };
    if (o.url !== undefined) return new RedisSource({ url: o.url, ...common });
    return new RedisSource({ sentinels: o.sentinels, masterName: o.masterName, ...(o.sentinelPassword !== undefined ? { sentinelPassword: o.sentinelPassword } : {}), ...common });
  },
  describe: (o) => (o.url !== undefined ? `Redis master ${redactUrl(o.url)}` : `Redis master ${o.masterName} via Sentinel ${(o.sentinels ?? []).map(redactUrl).join(', ')}`),
});
