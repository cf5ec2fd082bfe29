/**
 * The source of a configured entry, built by its descriptor in the registry: replag never spells out a system's
 * options. The descriptor imports its driver only here, so a sidecar watching one system loads no other's.
 */
import { findSource } from '../sources/registry.ts';
import type { ReplicationSource } from '../sources/source.ts';
import type { FleetSourceConfig } from './fleet-config.ts';

/** Hooks a configured source reports through. */
export interface ConfiguredSourceHooks {
  /** One replica of a multi-server source (mysql replicas, postgres subscribers) could not be read. */
  onReplicaError?: (replica: string, error: Error) => void;
  /** The environment (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Builds the source of `config` (not started). @throws the source's own validation error (RangeError / TypeError). */
export async function createConfiguredSource(config: FleetSourceConfig, hooks: ConfiguredSourceHooks = {}): Promise<ReplicationSource> {
  const descriptor = findSource(config.type);
  if (descriptor === undefined) throw new RangeError(`unknown source type ${JSON.stringify(config.type)}`);
  return descriptor.create(config.options, {
    sourceName: config.name,
    timeoutMs: config.timeoutMs,
    onReplicaError: hooks.onReplicaError ?? (() => undefined),
    env: hooks.env ?? process.env,
  });
}

/** What a configured source watches, safe to print: URLs without credentials or query. */
export function describeConfiguredSource(config: FleetSourceConfig): string {
  return findSource(config.type)?.describe(config.options) ?? config.type;
}

/** Whether the source encrypts without verifying the server (the shared `tls.insecure` option). */
export function insecureTls(config: FleetSourceConfig): boolean {
  const tls = config.options.tls as { insecure?: boolean } | undefined;
  return tls?.insecure === true;
}
