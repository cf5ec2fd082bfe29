/**
 * Every system replag knows, listed once. The config file's validation, the flags, `--help`, the JSON Schema of
 * the file and the docs' options tables are derived from this list. Adding a system: its folder with a
 * `descriptor.ts`, one line here, its tests and its `docs/sources/<system>.md`.
 * Loads no driver: each descriptor imports its source only in `create`.
 */
import type { AnySourceDescriptor } from './descriptor.ts';
import { descriptor as postgres } from './postgresql/descriptor.ts';
import { descriptor as mysql } from './mysql/descriptor.ts';
import { descriptor as redis } from './redis/descriptor.ts';
import { descriptor as etcd } from './etcd/descriptor.ts';
import { descriptor as demo } from './simulated/descriptor.ts';
import { descriptor as zookeeper } from './zookeeper/descriptor.ts';
import { descriptor as nats } from './nats/descriptor.ts';
import { descriptor as galera } from './galera/descriptor.ts';
import { descriptor as redisCluster } from './redis-cluster/descriptor.ts';

/** The descriptors, in the order `--help` and the docs list them. */
export const SOURCE_DESCRIPTORS: readonly AnySourceDescriptor[] = [demo, postgres, redis, etcd, mysql, zookeeper, nats, galera, redisCluster];

/** The `type` names. */
export const SOURCE_TYPES: readonly string[] = SOURCE_DESCRIPTORS.map((d) => d.type);

/** The descriptor of `type`, or undefined. */
export function findSource(type: string): AnySourceDescriptor | undefined {
  return SOURCE_DESCRIPTORS.find((d) => d.type === type);
}
