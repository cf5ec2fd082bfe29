/**
 * A replicated system as `replag` and the registry know it: its `type` name, its options schema (from which the
 * config file's validation, the flags, `--help`, the JSON Schema and the docs' options tables are derived), the
 * environment variables its secrets come from, how to create the source and how to describe it without secrets.
 * Each system's folder exports one descriptor from `descriptor.ts`; `registry.ts` lists them once.
 * A descriptor module must not load a driver: `create` imports the source lazily.
 */
import type { z } from 'zod';
import type { ReplicationSource } from './source.ts';

/** What `create` gets besides the options. */
export interface SourceCreateContext {
  /** The source's name, unique in the fleet (flags mode: its type). Exported as `replication.source`. */
  readonly sourceName: string;
  /** Bound on each poll, ms; undefined: the source's default. */
  readonly timeoutMs: number | undefined;
  /** One follower of a multi-server source could not be read (the others are still reported). */
  readonly onReplicaError: (replica: string, error: Error) => void;
  /** Where secrets missing from the options are looked up (the descriptor's `secretEnv`). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** One system. `Schema` holds its own options only (not name/type/interval/timeout/thresholds/attributes). */
export interface SourceDescriptor<Schema extends z.ZodObject = z.ZodObject> {
  /** `type:` in the file, the command in flags mode (`replag <type>`). Pinned once published. */
  readonly type: string;
  /** One line for `replag --help` and the docs. */
  readonly summary: string;
  /** The options as file keys (camelCase); each flag is the kebab-case of its key path unless its meta names one. */
  readonly options: Schema;
  /** Option key → environment variable it falls back to (e.g. `{ password: 'PGPASSWORD' }`). */
  readonly secretEnv?: Readonly<Record<string, string>>;
  /** Builds the source (not started); imports its driver lazily. @throws an error naming the option, never a secret. */
  create(options: z.output<Schema>, context: SourceCreateContext): Promise<ReplicationSource>;
  /** One line saying what is watched, safe to print: URLs without credentials or query. */
  describe(options: z.output<Schema>): string;
}
