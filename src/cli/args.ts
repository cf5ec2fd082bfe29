/**
 * Command-line parsing for `replag`. The flags of each system come from its descriptor (kebab-case of each file key,
 * or the flag its meta names); flags mode builds the same mapping a config file holds (one source, named after its
 * type) and checks it the same way, so the messages name the flag and quote what was typed.
 */
import { parseArgs } from 'node:util';
import type { AnySourceDescriptor } from '../sources/descriptor.ts';
import { SOURCE_DESCRIPTORS, SOURCE_TYPES, findSource } from '../sources/registry.ts';
import { checkFleet, type FleetConfig } from './fleet-config.ts';
import { OUTPUT_MODES } from './fleet-schema.ts';
import { optionSpecs, type OptionKind } from './option-specs.ts';
import { ConfigError, got, nearest, type PathSegment, type Problem } from './problems.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** A flag of replag itself (not of one system). */
export interface GlobalFlag {
  readonly flag: string;
  readonly kind: OptionKind;
  /** Where its value goes in the configuration mapping; undefined: a run setting (output, duration, …). */
  readonly path?: readonly PathSegment[];
  /** A bare number in a duration flag: milliseconds or seconds (as before durations took units). */
  readonly bareUnit?: 'ms' | 's';
  readonly placeholder?: string;
  readonly description: string;
}

/** replag's own flags, in `--help` order. */
export const GLOBAL_FLAGS: readonly GlobalFlag[] = [
  { flag: 'interval', kind: 'duration', path: ['sources', 0, 'interval'], bareUnit: 'ms', placeholder: 'T', description: 'time between polls: 500ms, 1s, 2m or milliseconds (default 1s)' },
  { flag: 'timeout', kind: 'duration', path: ['sources', 0, 'timeout'], bareUnit: 'ms', placeholder: 'T', description: 'bound on each poll of a database (default 5s)' },
  { flag: 'duration', kind: 'duration', bareUnit: 's', placeholder: 'T', description: 'stop after T (a bare number: seconds) (default: run until Ctrl-C / SIGTERM)' },
  { flag: 'otlp-endpoint', kind: 'string', path: ['export', 'otlp', 'endpoint'], placeholder: 'URL', description: 'OTLP base URL, e.g. http://collector:4318; grpc: http://collector:4317, https:// or host:port for TLS (default: OTEL_EXPORTER_OTLP_ENDPOINT; none: no export)' },
  { flag: 'otlp-protocol', kind: 'string', path: ['export', 'otlp', 'protocol'], placeholder: 'P', description: 'http/protobuf (default), http/json or grpc (default: OTEL_EXPORTER_OTLP_PROTOCOL)' },
  { flag: 'export-interval', kind: 'duration', path: ['export', 'interval'], bareUnit: 'ms', placeholder: 'T', description: 'metric export interval (default: OTEL_METRIC_EXPORT_INTERVAL, else 60s)' },
  { flag: 'prometheus-port', kind: 'number', path: ['export', 'prometheus', 'port'], placeholder: 'N', description: 'also serve Prometheus metrics on this port' },
  { flag: 'prometheus-host', kind: 'string', path: ['export', 'prometheus', 'host'], placeholder: 'H', description: 'interface for the Prometheus endpoint (default 0.0.0.0)' },
  { flag: 'http-port', kind: 'number', path: ['export', 'http', 'port'], placeholder: 'N', description: "serve replag's HTTP endpoints on this port" },
  { flag: 'http-host', kind: 'string', path: ['export', 'http', 'host'], placeholder: 'H', description: 'interface for the HTTP endpoints (default 127.0.0.1)' },
  { flag: 'service-name', kind: 'string', path: ['service', 'name'], placeholder: 'NAME', description: 'service.name (default: OTEL_SERVICE_NAME, else replag)' },
  { flag: 'warning', kind: 'duration', path: ['sources', 0, 'thresholds', 'warning'], bareUnit: 's', placeholder: 'T', description: 'warning threshold: 5s, 1m or seconds (default 5s)' },
  { flag: 'critical', kind: 'duration', path: ['sources', 0, 'thresholds', 'critical'], bareUnit: 's', placeholder: 'T', description: 'critical threshold (default 30s)' },
  { flag: 'stall', kind: 'duration', path: ['sources', 0, 'thresholds', 'stall'], bareUnit: 's', placeholder: 'T', description: 'stall timeout (default 10s)' },
  { flag: 'output', kind: 'string', placeholder: 'MODE', description: 'auto (table on a terminal, lines otherwise), table, plain or quiet' },
  { flag: 'shutdown-timeout', kind: 'duration', bareUnit: 's', placeholder: 'T', description: 'bound on stopping at SIGTERM/SIGINT, final export included: 10s, 2500ms or seconds (default 10s); a second signal exits at once' },
];

/** The flags that still apply next to `--config`. */
const CONFIG_MODE_FLAGS = ['config', 'output', 'duration', 'shutdown-timeout', 'help'];

/** How `replag` runs, whatever the mode. */
export interface RunSettings {
  /** 'auto' draws a live table on a TTY and prints lines otherwise. */
  readonly output: (typeof OUTPUT_MODES)[number];
  /** Seconds to run; 0 runs until SIGINT/SIGTERM. */
  readonly durationSeconds: number;
  /** Bound on stopping after SIGTERM/SIGINT (final flush included), ms. */
  readonly shutdownTimeoutMs: number;
}

/** What `replag` was asked to do. */
export type Invocation =
  | { readonly command: 'help'; readonly type: string | undefined; readonly config: boolean }
  | { readonly command: 'version' }
  | { readonly command: 'run' | 'validate'; readonly mode: 'flags'; readonly type: string; readonly config: FleetConfig; readonly run: RunSettings }
  | { readonly command: 'run' | 'validate'; readonly mode: 'file'; readonly file: string; readonly run: RunSettings };

export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;
const MAX_SHUTDOWN_TIMEOUT_MS = 3_600_000;

/** Every flag a system takes: its file key path and kind. */
interface SourceFlag {
  flag: string;
  keyPath: readonly string[];
  /** Its kind per type: a flag may be one value for a system and a list for another (`--url`: NATS takes several). */
  kinds: Map<string, OptionKind>;
  commaSeparated: Map<string, boolean>;
  types: string[];
}

function sourceFlags(): Map<string, SourceFlag> {
  const out = new Map<string, SourceFlag>();
  for (const d of SOURCE_DESCRIPTORS) {
    for (const spec of optionSpecs(d)) {
      if (spec.flag === undefined) continue;
      const known = out.get(spec.flag);
      const boolean = (k: OptionKind) => k === 'boolean';
      if (known === undefined) {
        out.set(spec.flag, { flag: spec.flag, keyPath: spec.keyPath, kinds: new Map([[d.type, spec.kind]]), commaSeparated: new Map([[d.type, spec.meta.commaSeparated === true]]), types: [d.type] });
      } else if (boolean(known.kinds.get(known.types[0]!)!) !== boolean(spec.kind) || known.keyPath.join('.') !== spec.keyPath.join('.')) {
        throw new TypeError(`--${spec.flag} means two things (${known.types[0]} and ${d.type})`);
      } else {
        known.types.push(d.type);
        known.kinds.set(d.type, spec.kind);
        known.commaSeparated.set(d.type, spec.meta.commaSeparated === true);
      }
    }
  }
  return out;
}

/** The flags of `descriptor`. */
export function flagsOf(descriptor: AnySourceDescriptor): string[] {
  return optionSpecs(descriptor).flatMap((s) => (s.flag === undefined ? [] : [s.flag]));
}

/** `a, b and c`. */
const and = (items: readonly string[]) => (items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);

/** Problems of the command line itself (before any value is checked). @throws ConfigError of flag problems. */
function refuse(origin: string, message: string): never {
  throw new ConfigError([{ path: [], origin, message }]);
}

/** A duration flag's milliseconds: `500ms`, `1s`, `2m`, or a bare number in `bareUnit`. Undefined when invalid. */
function flagDuration(raw: string, bareUnit: 'ms' | 's'): string {
  const trimmed = raw.trim();
  return /^\d+(?:\.\d+)?$/.test(trimmed) ? `${trimmed}${bareUnit}` : trimmed;
}

function durationMs(raw: string, bareUnit: 'ms' | 's'): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(flagDuration(raw, bareUnit));
  if (m === null) return undefined;
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
}

/** The command line's value for a number flag: a number when it reads as one, else the text (refused with it quoted). */
function typed(kind: OptionKind, raw: string | boolean | string[], bareUnit: 'ms' | 's' = 'ms', commaSeparated = false): unknown {
  if (kind === 'boolean' || typeof raw === 'boolean') return raw;
  if (kind === 'list') return (Array.isArray(raw) ? raw : [raw]).flatMap((r) => (commaSeparated ? r.split(',') : [r]));
  const text = Array.isArray(raw) ? raw.at(-1)! : raw;
  if (kind === 'number') return /^\s*-?\d+(\.\d+)?\s*$/.test(text) ? Number(text) : text;
  if (kind === 'duration') return flagDuration(text, bareUnit);
  return text;
}

/**
 * Parses argv (without node and script). `env` supplies REPLAG_CONFIG and the sources' secret variables.
 * @throws ConfigError whose problems each name a flag (exit status 2).
 */
export function parseCliArgs(argv: readonly string[], env: Env = {}): Invocation {
  const bySource = sourceFlags();
  const globals = new Map(GLOBAL_FLAGS.map((g) => [g.flag, g]));
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
  };
  for (const g of GLOBAL_FLAGS) options[g.flag] = { type: 'string' };
  for (const s of bySource.values()) {
    const kinds = [...s.kinds.values()];
    options[s.flag] = kinds.includes('boolean') ? { type: 'boolean' } : kinds.includes('list') ? { type: 'string', multiple: true } : { type: 'string' };
  }
  const known = Object.keys(options);
  const booleans = new Set(known.filter((k) => options[k]!.type === 'boolean'));

  // Unknown flags first, each with the nearest known one.
  for (const arg of argv) {
    if (arg === '--') break;
    if (!arg.startsWith('--')) continue;
    const name = arg.slice(2).split('=')[0]!;
    const positive = name.startsWith('no-') && booleans.has(name.slice(3)) ? name.slice(3) : name;
    if (!known.includes(positive)) {
      const near = nearest(name, known);
      refuse(`--${name}`, `unknown flag${near !== undefined ? `; did you mean --${near}?` : ''} (replag --help lists them)`);
    }
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, strict: true, allowNegative: true, options });
  } catch (error) {
    const message = (error as Error).message;
    const flag = /'(-{1,2}[\w-]+)/.exec(message)?.[1] ?? 'replag';
    if (/does not take an argument/.test(message)) refuse(flag, 'takes no value (true when given; --no-… for false)');
    if (/argument missing/.test(message)) refuse(flag, 'expected a value after it');
    refuse(flag, message.replace(/\. To specify.*$/s, ''));
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const positionals = parsed.positionals;
  const validate = positionals[0] === 'validate';
  const rest = validate ? positionals.slice(1) : positionals;
  const given = Object.keys(values).filter((k) => values[k] !== undefined);

  const configFile = typeof values.config === 'string' ? values.config : rest.length === 0 && !values.help && !values.version ? env.REPLAG_CONFIG?.trim() || undefined : undefined;
  if (values.help) return { command: 'help', type: rest[0] !== undefined && findSource(rest[0]) !== undefined ? rest[0] : undefined, config: configFile !== undefined };
  if (values.version) return { command: 'version' };

  const run = runSettings(values);
  if (configFile !== undefined) {
    if (configFile.trim() === '') refuse('--config', 'expected a file name');
    const stray = given.find((k) => !CONFIG_MODE_FLAGS.includes(k));
    if (stray !== undefined) refuse(`--${stray}`, 'not with --config: with a config file the sources and exports are set in the file');
    if (rest.length > 0) refuse(rest[0]!, 'not with --config: with a config file the sources and exports are set in the file');
    return { command: validate ? 'validate' : 'run', mode: 'file', file: configFile, run };
  }

  if (rest.length > 1) refuse(rest[1]!, 'unexpected argument');
  const type = rest[0] ?? 'demo';
  const descriptor = findSource(type);
  if (descriptor === undefined) {
    const near = nearest(type, SOURCE_TYPES);
    refuse(JSON.stringify(type), `unknown command${near !== undefined ? `; did you mean ${near}?` : ''} (commands: ${SOURCE_TYPES.join(', ')}${validate ? '' : ', validate'})`);
  }
  const own = flagsOf(descriptor);
  for (const flag of given) {
    const s = bySource.get(flag);
    if (s !== undefined && !own.includes(flag)) refuse(`--${flag}`, `applies to ${and(s.types)}, not to ${type}`);
  }

  // The mapping a file would hold, and what was typed at each path (quoted in messages).
  const source: Record<string, unknown> = { name: type, type };
  const mapping: Record<string, unknown> = { sources: [source] };
  const typedAt = new Map<string, { flag: string; raw: unknown }>();
  const flagAt: { path: readonly PathSegment[]; flag: string }[] = [];
  const put = (path: readonly PathSegment[], value: unknown) => {
    let node = mapping as Record<string | number, unknown>;
    for (const segment of path.slice(0, -1)) node = (node[segment] ??= {}) as Record<string | number, unknown>;
    node[path.at(-1)!] = value;
  };
  for (const g of GLOBAL_FLAGS) if (g.path !== undefined) flagAt.push({ path: g.path, flag: g.flag });
  for (const spec of optionSpecs(descriptor)) if (spec.flag !== undefined) flagAt.push({ path: ['sources', 0, ...spec.keyPath], flag: spec.flag });
  for (const flag of given) {
    const raw = values[flag]!;
    const g = globals.get(flag);
    if (g?.path !== undefined) {
      put(g.path, typed(g.kind, raw, g.bareUnit));
      typedAt.set(JSON.stringify(g.path), { flag, raw });
      continue;
    }
    const s = bySource.get(flag);
    if (s === undefined) continue;
    const path = ['sources', 0, ...s.keyPath];
    const kind = s.kinds.get(type)!;
    const value = typed(kind, raw, 'ms', s.commaSeparated.get(type));
    put(path, value);
    if (Array.isArray(value)) value.forEach((v, i) => typedAt.set(JSON.stringify([...path, i]), { flag, raw: v }));
    // A one-value flag that is a list for another system (`--url`) arrives as a list: the last one given counts.
    typedAt.set(JSON.stringify(path), { flag, raw: Array.isArray(raw) && kind !== 'list' ? raw.at(-1) : raw });
  }

  const result = checkFleet(mapping, { env });
  if (result.config === undefined) {
    throw new ConfigError(result.problems.map((p) => asFlagProblem(p, flagAt, typedAt)));
  }
  return { command: validate ? 'validate' : 'run', mode: 'flags', type, config: result.config, run };
}

/** A problem of the mapping flags mode built, told in flags: `--url: expected …, got "what was typed"`. */
function asFlagProblem(problem: Problem, flagAt: readonly { path: readonly PathSegment[]; flag: string }[], typedAt: ReadonlyMap<string, { flag: string; raw: unknown }>): Problem {
  if (problem.origin !== undefined) return problem;
  const p = problem.path;
  const startsWith = (a: readonly PathSegment[], b: readonly PathSegment[]) => b.length <= a.length && b.every((s, i) => a[i] === s);
  const owner = [...flagAt].sort((a, b) => b.path.length - a.path.length).find((f) => startsWith(p, f.path)) ?? flagAt.find((f) => startsWith(f.path, p));
  if (owner === undefined) return { ...problem, origin: 'replag' };
  const typedValue = typedAt.get(JSON.stringify(p));
  const shown = problem.got === '' || problem.got === undefined || typedValue === undefined ? problem.got : got(typedValue.raw, false);
  return { ...problem, origin: `--${owner.flag}`, got: shown };
}

function runSettings(values: Record<string, string | boolean | string[] | undefined>): RunSettings {
  const output = (values.output as string | undefined) ?? 'auto';
  if (!(OUTPUT_MODES as readonly string[]).includes(output)) refuse('--output', `expected one of ${OUTPUT_MODES.join(', ')}, got ${JSON.stringify(output)}`);
  const duration = values.duration as string | undefined;
  const durationMsValue = duration === undefined ? 0 : duration.trim() === '0' ? 0 : durationMs(duration, 's');
  if (durationMsValue === undefined) refuse('--duration', `expected a duration >= 0 such as 30s, 2m or seconds, got ${JSON.stringify(duration)}`);
  const shutdown = values['shutdown-timeout'] as string | undefined;
  const shutdownMs = shutdown === undefined ? DEFAULT_SHUTDOWN_TIMEOUT_MS : durationMs(shutdown, 's');
  if (shutdownMs === undefined || !(shutdownMs > 0 && shutdownMs <= MAX_SHUTDOWN_TIMEOUT_MS)) {
    refuse('--shutdown-timeout', `expected a duration > 0 and at most 3600s, like 10s, 2500ms or 5 (seconds), got ${JSON.stringify(shutdown)}`);
  }
  return { output: output as RunSettings['output'], durationSeconds: durationMsValue / 1000, shutdownTimeoutMs: Math.round(shutdownMs) };
}
