/**
 * A replicated system as `replag` and the registry know it: its `type` name, its options schema (from which the
 * config file's validation, the flags, `--help`, the JSON Schema and the docs' options tables are derived), the
 * environment variables its secrets come from, how to create the source and how to describe it without secrets.
 * Each system's folder exports one descriptor from `descriptor.ts`; `registry.ts` lists them once.
 * A descriptor module must not load a driver: `create` imports the source lazily.
 *
 * Writing one (see `postgresql/descriptor.ts`):
 * - `options` is a `z.strictObject` of the system's own options, each wrapped in `option(schema, meta)` for its
 *   description (docs, `--help`, JSON Schema) and what flags need (`meta.flag`, `meta.secret`, …). Building blocks
 *   that already speak replag's units and messages are in `options.ts` (URLs, durations, lists, TLS, integers).
 * - Every check says what is expected (`expected a postgres:// URL such as …`); replag appends `got "…"` itself,
 *   unless the value is a secret. Rules across fields go in a `.superRefine` on the object, with the issue's `path`
 *   naming the option.
 */
import { z } from 'zod';
import type { ReplicationSource } from './source.ts';

/** What `create` gets besides the options. */
export interface SourceCreateContext {
  /** The source's name, unique in the fleet (flags mode: its type). Exported as `replication.source`. */
  readonly sourceName: string;
  /** Bound on each poll, ms; undefined: the source's default. */
  readonly timeoutMs: number | undefined;
  /** One follower of a multi-server source could not be read (the others are still reported). */
  readonly onReplicaError: (replica: string, error: Error) => void;
  /** The process environment (secrets named by `secretEnv` are already filled into the options). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Per-option facts beyond the schema: for flags, `--help`, docs and messages. Registered with `option()`. */
export interface OptionMeta {
  /** What the option is, one line (docs, `--help`, JSON Schema `description`). */
  readonly description: string;
  /** Flag name without `--` when it is not the kebab-case of the key path (e.g. `replica` for `replicas`). */
  readonly flag?: string;
  /** A secret: no flag (it comes from the file or `secretEnv`), never quoted in a message. */
  readonly secret?: boolean;
  /** Placeholder after the flag in `--help`: `URL`, `N`, `NAME`. Default: `VALUE` (nothing for a boolean). */
  readonly placeholder?: string;
  /** A list whose flag also takes comma-separated values (etcd `--endpoints a,b`). */
  readonly commaSeparated?: boolean;
  /** A path to a PEM file; replag reads it (relative to the config file) and hands `create` the PEM text. */
  readonly pemFile?: boolean;
  /** A duration: `500ms`, `1s`, `2m` in the file and flags (a bare number in a flag: milliseconds); parsed to ms. */
  readonly duration?: boolean;
  /** Default shown in `--help` and the docs, when the schema's own default does not say it. */
  readonly defaultText?: string;
}

/** Where `option()` keeps each option's meta (a registry of its own: nothing of it leaks into the JSON Schema). */
export const optionMeta = z.registry<OptionMeta>();

/** `schema` with its description and meta. Wrap the schema first, then add `.optional()` / `.default()`. */
export function option<T extends z.ZodType>(schema: T, meta: OptionMeta): T {
  const described = schema.describe(meta.description) as T;
  optionMeta.add(described, meta);
  return described;
}

/** The meta of an option schema, looking through `.optional()`, `.default()` and transforms. */
export function metaOf(schema: z.ZodType): OptionMeta | undefined {
  let s: z.ZodType | undefined = schema;
  for (let i = 0; i < 8 && s !== undefined; i++) {
    const meta = optionMeta.get(s);
    if (meta !== undefined) return meta;
    s = innerOf(s);
  }
  return undefined;
}

/** The schema inside a wrapper (optional, default, nullable, pipe's input), or undefined. */
export function innerOf(schema: z.ZodType): z.ZodType | undefined {
  const def = (schema as { _zod: { def: { type: string; innerType?: z.ZodType; in?: z.ZodType; out?: z.ZodType } } })._zod.def;
  if (def.innerType !== undefined) return def.innerType;
  // A pipe: its input side, unless that is a preprocessing function (then what it feeds).
  if (def.type === 'pipe') return (def.in as { _zod: { def: { type: string } } } | undefined)?._zod.def.type === 'transform' ? def.out : def.in;
  return undefined;
}

/** One system. `Schema` holds its own options only (not name/type/interval/timeout/thresholds/attributes). */
export interface SourceDescriptor<Schema extends z.ZodObject = z.ZodObject> {
  /** `type:` in the file, the command in flags mode (`replag <type>`). Pinned once published. */
  readonly type: string;
  /** One line for `replag --help` and the docs. */
  readonly summary: string;
  /** The options as file keys (camelCase), a `z.strictObject`; each flag is the kebab-case of its key path unless its meta names one. */
  readonly options: Schema;
  /** Option key → environment variable it falls back to when absent (e.g. `{ password: 'PGPASSWORD' }`). */
  readonly secretEnv?: Readonly<Record<string, string>>;
  /** Builds the source (not started); imports its driver lazily. @throws an error naming the option, never a secret. */
  create(options: z.output<Schema>, context: SourceCreateContext): Promise<ReplicationSource>;
  /** One line saying what is watched, safe to print: URLs without credentials or query. */
  describe(options: z.output<Schema>): string;
  /** How many nodes the source will report, when its options say (the monitor's bound on nodes is raised to fit). */
  nodeCount?(options: z.output<Schema>): number | undefined;
}

/** A descriptor of any system, as the registry holds them. */
export type AnySourceDescriptor = SourceDescriptor<any>;

/** Checks the descriptor's types at its definition: `export const descriptor = defineSource({ … })`. */
export function defineSource<Schema extends z.ZodObject>(descriptor: SourceDescriptor<Schema>): SourceDescriptor<Schema> {
  return descriptor;
}
