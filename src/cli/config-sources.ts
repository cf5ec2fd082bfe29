/**
 * The source a config file entry describes. Database sources are loaded on demand, as for the flags; the options
 * are passed under their own names, with TLS files read by `tlsOptions` (the `--tls-*` flags' reader).
 */
import { redactUrl } from '../sdk/env.ts';
import type { ReplicationSource } from '../sources/source.ts';
import type { FleetSourceConfig, FleetSourceOptions } from './config.ts';
import { tlsOptions } from './sources.ts';

/** Hooks a configured source reports through. */
export interface ConfiguredSourceHooks {
  /** One replica of a multi-server source (mysql replicas, postgres subscribers) could not be read. */
  onReplicaError?: (replica: string, error: Error) => void;
}

/** Builds the source of `config` (not started). @throws RangeError / TypeError from the source's validation. */
export async function createConfiguredSource(config: FleetSourceConfig, hooks: ConfiguredSourceHooks = {}): Promise<ReplicationSource> {
  const timeout = config.timeoutMs === undefined ? {} : { timeoutMs: config.timeoutMs };
  const tls = config.tls === undefined ? {} : { tls: await tlsOptions(config.tls) };
  const o = config.options;
  switch (o.type) {
    case 'demo': {
      const { SimulatedClusterSource } = await import('../sources/simulated.ts');
      return new SimulatedClusterSource({ followers: o.nodes, ...(o.leaderRate !== undefined ? { leaderRate: o.leaderRate } : {}) });
    }
    case 'postgres': {
      const { PostgresSource } = await import('../sources/postgresql.ts');
      return new PostgresSource({ url: o.url, password: o.password, logicalSlots: o.logicalSlots, subscribers: o.subscribers, onReplicaError: hooks.onReplicaError, ...timeout, ...tls });
    }
    case 'redis': {
      const { RedisSource } = await import('../sources/redis.ts');
      const { type: _type, ...options } = o;
      return new RedisSource({ ...options, ...timeout, ...tls });
    }
    case 'etcd': {
      const { EtcdSource } = await import('../sources/etcd.ts');
      return new EtcdSource({ endpoints: o.endpoints, ...timeout, ...tls });
    }
    case 'mysql': {
      const { MySqlSource } = await import('../sources/mysql.ts');
      return new MySqlSource({ primary: o.primary, replicas: o.replicas, password: o.password, replicaTimeoutMs: o.replicaTimeoutMs, onReplicaError: hooks.onReplicaError, ...timeout, ...tls });
    }
  }
}

/** What a configured source watches, safe to print: URLs without credentials or query. */
export function describeConfiguredSource(options: FleetSourceOptions): string {
  switch (options.type) {
    case 'demo':
      return `simulated cluster with ${options.nodes} followers`;
    case 'postgres':
      return `PostgreSQL primary ${redactUrl(options.url)}${options.subscribers !== undefined ? ` with subscribers ${options.subscribers.map(redactUrl).join(', ')}` : ''}`;
    case 'redis':
      if (options.url !== undefined) return `Redis master ${redactUrl(options.url)}`;
      return `Redis master ${options.masterName} via Sentinel ${(options.sentinels ?? []).map(redactUrl).join(', ')}`;
    case 'etcd':
      return `etcd cluster ${options.endpoints.map(redactUrl).join(', ')}`;
    case 'mysql':
      return `MySQL/MariaDB primary ${redactUrl(options.primary)} with replicas ${options.replicas.map(redactUrl).join(', ')}`;
  }
}
