/**
 * A descriptor's options as flags see them: each option (a nested mapping such as `tls` gives one per key) with
 * its file key path, its flag, its kind and its meta. The flags, `--help`, the docs' tables and the parity test
 * all read this list; nothing here names a particular system's option.
 */
import type { z } from 'zod';
import { innerOf, metaOf, type AnySourceDescriptor, type OptionMeta } from '../sources/descriptor.ts';

/** How a flag takes its value. */
export type OptionKind = 'string' | 'number' | 'boolean' | 'list' | 'duration';

/** One option of a system. */
export interface OptionSpec {
  /** File keys from the source entry: `['url']`, `['tls', 'ca']`. */
  readonly keyPath: readonly string[];
  /** The flag without `--`; undefined for a secret (file or environment only). */
  readonly flag: string | undefined;
  readonly kind: OptionKind;
  readonly meta: OptionMeta;
  /** Whether the source needs it (no default). */
  readonly required: boolean;
  /** Default shown in `--help` and the docs. */
  readonly defaultText: string | undefined;
  /** The option's schema (as in the descriptor). */
  readonly schema: z.ZodType;
}

/** `replicaTimeout` → `replica-timeout`. */
export function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  options?: readonly z.ZodType[];
  defaultValue?: unknown;
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The schema under its wrappers (optional, default, pipes). */
function base(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let i = 0; i < 8; i++) {
    const inner = innerOf(s);
    if (inner === undefined) return s;
    s = inner;
  }
  return s;
}

function defaultOf(schema: z.ZodType): unknown {
  let s: z.ZodType | undefined = schema;
  for (let i = 0; i < 8 && s !== undefined; i++) {
    const def = defOf(s);
    if (def.type === 'default') return typeof def.defaultValue === 'function' ? (def.defaultValue as () => unknown)() : def.defaultValue;
    s = innerOf(s);
  }
  return undefined;
}

/** The options of `descriptor`, in schema order, nested mappings flattened. */
export function optionSpecs(descriptor: AnySourceDescriptor): OptionSpec[] {
  return specsOf(descriptor.options as z.ZodObject, []);
}

function specsOf(object: z.ZodObject, prefix: readonly string[]): OptionSpec[] {
  const out: OptionSpec[] = [];
  for (const [key, schema] of Object.entries(object.shape as Record<string, z.ZodType>)) {
    const keyPath = [...prefix, key];
    const meta = metaOf(schema);
    if (meta === undefined) throw new TypeError(`option ${keyPath.join('.')} has no description: wrap it in option() (src/sources/descriptor.ts)`);
    const inner = base(schema);
    const type = defOf(inner).type;
    if (type === 'object') {
      out.push(...specsOf(inner as z.ZodObject, keyPath));
      continue;
    }
    // A value or a list of values (NATS `url`): a list for flags (repeatable), either in the file.
    const list = type === 'array' || (type === 'union' && (defOf(inner).options ?? []).some((o) => defOf(base(o)).type === 'array'));
    const kind: OptionKind = meta.duration ? 'duration' : list ? 'list' : type === 'boolean' ? 'boolean' : type === 'number' ? 'number' : 'string';
    const fallback = defaultOf(schema);
    out.push({
      keyPath,
      flag: meta.secret ? undefined : (meta.flag ?? keyPath.map(kebab).join('-')),
      kind,
      meta,
      required: !schema.safeParse(undefined).success,
      defaultText: meta.defaultText ?? (fallback === undefined ? undefined : String(fallback)),
      schema,
    });
  }
  return out;
}

/**
 * Rewrites the nested option names a source's messages use (`tls.ca`, `heartbeat.table`: the library names its
 * options, never CLI flags) as the flags that set them (`--tls-ca`), for flags mode. Top-level keys (`url`) are
 * left alone: they read as ordinary words.
 */
export function optionsAsFlags(descriptor: AnySourceDescriptor): (message: string) => string {
  const nested = optionSpecs(descriptor).filter((s) => s.flag !== undefined && s.keyPath.length > 1);
  if (nested.length === 0) return (message) => message;
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const byPath = new Map(nested.map((s) => [s.keyPath.join('.'), `--${s.flag}`]));
  const pattern = new RegExp(`(?<![\\w.-])(${[...byPath.keys()].map(escape).join('|')})(?![\\w])`, 'g');
  return (message) => message.replace(pattern, (path) => byPath.get(path) ?? path);
}
