/**
 * Builds the source `replag` polls from its command line. Database sources are loaded on demand, so the demo
 * (and a sidecar watching one system) never loads the other systems' drivers. Passwords come from each
 * client's usual environment variable, never from the command line (where `ps` would show them).
 */
import { readFile } from 'node:fs/promises';
import { redactUrl } from '../sdk/env.ts';
import type { ReplicationSource } from '../sources/source.ts';
import type { SourceTlsOptions } from '../sources/tls.ts';
import type { SourceSpec, TlsFlags } from './args.ts';

/** The environment variable each database source reads its password from. */
export const PASSWORD_VARIABLES = { postgres: 'PGPASSWORD', redis: 'REDISCLI_AUTH', redisSentinel: 'REDIS_SENTINEL_PASSWORD', mysql: 'MYSQL_PWD' } as const;

/** What the source needs beyond its spec. */
export interface SourceContext {
  env: Readonly<Record<string, string | undefined>>;
  timeoutMs: number | undefined;
  /** The `--tls-*` flags, if any. */
  tls?: TlsFlags | undefined;
  /** One replica of a multi-server source could not be read (the others are still reported). */
  onReplicaError: (replica: string, error: Error) => void;
}

function password(env: SourceContext['env'], name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** Reads a `--tls-*` file: PEM text, or a RangeError naming the flag and the path (never the contents). */
async function pemFile(flag: string, path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new RangeError(`--${flag}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (!/-----BEGIN [A-Z0-9 ]+-----/.test(text)) throw new RangeError(`--${flag}: ${path} holds no PEM block (-----BEGIN …-----)`);
  return text;
}

/** The sources' `tls` option from the `--tls-*` flags, files read. */
export async function tlsOptions(flags: TlsFlags): Promise<SourceTlsOptions> {
  return {
    ...(flags.caFile !== undefined ? { ca: await pemFile('tls-ca', flags.caFile) } : {}),
    ...(flags.certFile !== undefined ? { cert: await pemFile('tls-cert', flags.certFile) } : {}),
    ...(flags.keyFile !== undefined ? { key: await pemFile('tls-key', flags.keyFile) } : {}),
    ...(flags.serverName !== undefined ? { servername: flags.serverName } : {}),
    ...(flags.insecure ? { rejectUnauthorized: false } : {}),
  };
}

/** The source for `spec`. @throws RangeError / TypeError naming the bad option (from the source's validation). */
export async function createSource(spec: SourceSpec, context: SourceContext): Promise<ReplicationSource> {
  const timeout = context.timeoutMs === undefined ? {} : { timeoutMs: context.timeoutMs };
  const tls = context.tls === undefined ? {} : { tls: await tlsOptions(context.tls) };
  switch (spec.kind) {
    case 'demo': {
      const { SimulatedClusterSource } = await import('../sources/simulated.ts');
      return new SimulatedClusterSource({ followers: spec.nodes });
    }
    case 'postgres': {
      const { PostgresSource } = await import('../sources/postgresql.ts');
      return new PostgresSource({
        url: spec.url,
        password: password(context.env, PASSWORD_VARIABLES.postgres),
        ...(spec.subscribers !== undefined ? { subscribers: spec.subscribers, onReplicaError: context.onReplicaError } : {}),
        ...timeout,
        ...tls,
      });
    }
    case 'redis': {
      const { RedisSource } = await import('../sources/redis.ts');
      const credentials = { password: password(context.env, PASSWORD_VARIABLES.redis), ...timeout, ...tls };
      if ('url' in spec) return new RedisSource({ url: spec.url, ...credentials });
      return new RedisSource({
        sentinels: spec.sentinels,
        masterName: spec.masterName,
        sentinelPassword: password(context.env, PASSWORD_VARIABLES.redisSentinel),
        ...credentials,
      });
    }
    case 'etcd': {
      const { EtcdSource } = await import('../sources/etcd.ts');
      return new EtcdSource({ endpoints: spec.endpoints, ...timeout, ...tls });
    }
    case 'mysql': {
      const { MySqlSource } = await import('../sources/mysql.ts');
      return new MySqlSource({
        primary: spec.primary,
        replicas: spec.replicas,
        ...(spec.replicaTimeoutMs !== undefined ? { replicaTimeoutMs: spec.replicaTimeoutMs } : {}),
        password: password(context.env, PASSWORD_VARIABLES.mysql),
        onReplicaError: context.onReplicaError,
        ...timeout,
        ...tls,
      });
    }
  }
}

/** One line saying what is watched, safe to print: URLs without credentials or query. */
export function describeSource(spec: SourceSpec): string {
  switch (spec.kind) {
    case 'demo':
      return `simulated cluster with ${spec.nodes} followers`;
    case 'postgres':
      return `PostgreSQL primary ${redactUrl(spec.url)}${spec.subscribers !== undefined ? ` with subscribers ${spec.subscribers.map(redactUrl).join(', ')}` : ''}`;
    case 'redis':
      if ('url' in spec) return `Redis master ${redactUrl(spec.url)}`;
      return `Redis master ${spec.masterName} via Sentinel ${spec.sentinels.map(redactUrl).join(', ')}`;
    case 'etcd':
      return `etcd cluster ${spec.endpoints.map(redactUrl).join(', ')}`;
    case 'mysql':
      return `MySQL/MariaDB primary ${redactUrl(spec.primary)} with replicas ${spec.replicas.map(redactUrl).join(', ')}`;
  }
}
