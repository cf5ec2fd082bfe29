/**
 * A configuration (the file's mapping, or the one flags mode builds) checked against the schema and turned into
 * the fleet replag runs: every problem collected, each with its path and, for a file, its position. Shared by
 * `--config`, flags mode and `replag validate`. Reads the TLS files the sources name; opens no connection.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { otlpProtocol, readEnv, type OtlpProtocol } from '../sdk/env.ts';
import { otlpEndpointProblem } from '../sdk/otlp-endpoint.ts';
import type { AnySourceDescriptor } from '../sources/descriptor.ts';
import { findSource, SOURCE_TYPES } from '../sources/registry.ts';
import { COMMON_SOURCE_KEYS, commonSourceSchema, fileSchema, OTLP_PROTOCOLS, OTLP_PROTOCOLS as OTLP_PROTOCOL_NAMES } from './fleet-schema.ts';
import { optionSpecs } from './option-specs.ts';
import { got, nearest, unknownKeyMessage, type PathSegment, type Problem } from './problems.ts';

/** Alert thresholds of one source's monitor, in seconds; undefined: the monitor's default. */
export interface FleetThresholds {
  warningSeconds?: number;
  criticalSeconds?: number;
  stallSeconds?: number;
}

/** One source, defaults applied. Its options may hold secrets: never print them. */
export interface FleetSourceConfig {
  /** Unique; exported as `replication.source`. */
  readonly name: string;
  /** The registry's `type`. */
  readonly type: string;
  /** The descriptor's options, parsed; TLS files read (PEM text); secrets filled from `secretEnv`. */
  readonly options: Readonly<Record<string, unknown>>;
  readonly intervalMs: number;
  /** Bound on each poll; undefined: the source's default (5000 ms). */
  readonly timeoutMs: number | undefined;
  readonly thresholds: FleetThresholds;
  /** Added to every point of the source's nodes and to its `replication.source.up`. */
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  /** Nodes the source will report, when its options say (the monitor's bound is raised to fit). */
  readonly nodeCount: number | undefined;
  /** Equal for equal configurations: what a reload compares to decide whether to restart the source. */
  readonly fingerprint: string;
  /** Where the entry stands in its file (for messages about it). */
  readonly position?: { readonly line: number; readonly col: number } | undefined;
}

/** A configuration replag can run. */
export interface FleetConfig {
  /** `service.name`; undefined: OTEL_SERVICE_NAME, else `replag`. */
  readonly serviceName: string | undefined;
  readonly prometheus: { readonly port: number; readonly host: string } | undefined;
  /** OTLP settings; undefined: from the OTEL_* environment only. */
  readonly otlp: { readonly endpoint?: string; readonly protocol?: (typeof OTLP_PROTOCOLS)[number] } | undefined;
  /** replag's HTTP endpoints (`export.http`, `--http-port`); host default 127.0.0.1. */
  readonly http: { readonly port: number; readonly host: string } | undefined;
  readonly exportIntervalMs: number | undefined;
  readonly sources: readonly FleetSourceConfig[];
}

type Env = Readonly<Record<string, string | undefined>>;

/** What checking needs besides the mapping. */
export interface CheckContext {
  env: Env;
  /** Folder relative TLS file paths are resolved against (the config file's). Default: the working directory. */
  baseDir?: string | undefined;
  /** Paths whose value came from `${env:…}` (never quoted), as `JSON.stringify(path)`. */
  secretPaths?: ReadonlySet<string>;
  /** Paths already reported (a missing variable): no second problem there. */
  failedPaths?: ReadonlySet<string>;
}

/** A checked configuration, or its problems. `names`: each source's name by index, for paths. */
export interface CheckResult {
  config: FleetConfig | undefined;
  problems: Problem[];
  names: Map<number, string>;
}

type Mapping = Record<string, unknown>;
const isMapping = (v: unknown): v is Mapping => v !== null && typeof v === 'object' && !Array.isArray(v);
const key = (path: readonly PathSegment[]) => JSON.stringify(path);

/** Plain words for zod's checks that carry no message of their own. */
function plainError(issue: { code: string; expected?: string; minimum?: unknown; origin?: string; values?: unknown[] }): string | undefined {
  const words: Record<string, string> = { string: 'a string', number: 'a number', boolean: 'true or false', array: 'a list', object: 'a mapping', record: 'a mapping' };
  if (issue.code === 'invalid_type') return `expected ${words[issue.expected ?? ''] ?? issue.expected}`;
  if (issue.code === 'too_small') return issue.origin === 'array' ? `expected at least ${String(issue.minimum)} items` : `expected at least ${String(issue.minimum)}`;
  if (issue.code === 'invalid_value') return `expected one of ${(issue.values ?? []).join(', ')}`;
  return undefined;
}

/** The value at `path` in `raw`. */
function valueAt(raw: unknown, path: readonly PathSegment[]): unknown {
  let v = raw;
  for (const s of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[s];
  }
  return v;
}

/** Keys a strict object accepts at `path` inside `schema` (looking through wrappers, lists and records). */
function keysAt(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  let s: z.ZodType | undefined = schema;
  const def = (x: z.ZodType) => (x as unknown as { _zod: { def: { type: string; innerType?: z.ZodType; in?: z.ZodType; shape?: Record<string, z.ZodType>; element?: z.ZodType; valueType?: z.ZodType } } })._zod.def;
  const unwrap = (x: z.ZodType): z.ZodType => {
    for (let i = 0; i < 8; i++) {
      const d = def(x);
      const inner = d.innerType ?? (d.type === 'pipe' ? d.in : undefined);
      if (inner === undefined) return x;
      x = inner;
    }
    return x;
  };
  for (const segment of path) {
    if (s === undefined) return [];
    const d = def(unwrap(s));
    s = d.type === 'object' ? d.shape?.[String(segment)] : d.type === 'array' ? d.element : d.type === 'record' ? d.valueType : undefined;
  }
  if (s === undefined) return [];
  const d = def(unwrap(s));
  return d.type === 'object' ? Object.keys(d.shape ?? {}) : [];
}

/** Checks a configuration. Never throws; every problem is in the result. */
export function checkFleet(raw: unknown, context: CheckContext): CheckResult {
  const problems: Problem[] = [];
  const names = new Map<number, string>();
  const secretPaths = context.secretPaths ?? new Set<string>();
  const failed = context.failedPaths ?? new Set<string>();
  const isFailed = (path: readonly PathSegment[]) => [...Array(path.length + 1).keys()].some((n) => failed.has(key(path.slice(0, n))));
  const add = (path: readonly PathSegment[], message: string, atKey = false, gotText = '') => {
    if (!isFailed(path)) problems.push({ path, message, got: gotText, ...(atKey ? { atKey } : {}) });
  };

  /** Problems of a zod result, under `base`; `secret(path)` says whether a value may not be quoted. */
  const report = (result: z.ZodSafeParseResult<unknown>, base: readonly PathSegment[], value: unknown, schema: z.ZodType, secret: (path: readonly PathSegment[]) => boolean, extraKeys: readonly string[] = [], context = '') => {
    if (result.success) return;
    for (const issue of result.error.issues) {
      const path = [...base, ...(issue.path as PathSegment[])];
      if (issue.code === 'unrecognized_keys') {
        const known = [...keysAt(schema, issue.path as PathSegment[]), ...(issue.path.length === 0 ? extraKeys : [])];
        for (const k of issue.keys) add([...path, k], unknownKeyMessage(k, known, context), true);
        continue;
      }
      const v = valueAt(value, issue.path as PathSegment[]);
      const message = issue.message;
      // A rule across options (a refinement of the mapping) is about the combination, not this value: not quoted.
      const input = (issue as { input?: unknown }).input;
      const acrossOptions = issue.code === 'custom' && input !== null && typeof input === 'object';
      if (v === undefined && issue.code === 'invalid_type') add(path, `required: ${message.replace(/^expected /, '')}`, true);
      else add(path, message, false, acrossOptions ? '' : got(v, secret(path) || secretPaths.has(key(path))));
    }
  };
  const parse = <T extends z.ZodType>(schema: T, value: unknown) => schema.safeParse(value, { reportInput: true, error: (issue) => plainError(issue as Parameters<typeof plainError>[0]) });

  const top = parse(fileSchema, raw ?? {});
  report(top, [], raw ?? {}, fileSchema, () => false);
  const topRaw = isMapping(raw) ? raw : {};
  const file = top.success ? top.data : undefined;
  const defaults = file?.defaults ?? (isMapping(topRaw.defaults) ? {} : {});
  const sourcesRaw = Array.isArray(topRaw.sources) ? topRaw.sources : [];
  // Duplicate names, whatever else is wrong with the entries.
  const firstOf = new Map<string, number>();
  const duplicates = new Set<number>();
  sourcesRaw.forEach((entry, i) => {
    if (!isMapping(entry) || typeof entry.name !== 'string') return;
    names.set(i, entry.name);
    const first = firstOf.get(entry.name);
    if (first === undefined) firstOf.set(entry.name, i);
    else {
      duplicates.add(i);
      add(['sources', i, 'name'], `duplicate name: sources[${first}] has the same name (names must be unique)`);
    }
  });

  const sources: FleetSourceConfig[] = [];
  sourcesRaw.forEach((entry, i) => {
    const at: PathSegment[] = ['sources', i];
    if (!isMapping(entry)) {
      add(at, 'expected a mapping with name and type', false, got(entry, false));
      return;
    }
    const common: Mapping = {};
    const own: Mapping = {};
    for (const [k, v] of Object.entries(entry)) (COMMON_SOURCE_KEYS.includes(k) ? common : own)[k] = v;
    const commonResult = parse(commonSourceSchema, common);
    report(commonResult, at, common, commonSourceSchema, () => false);
    const type = typeof entry.type === 'string' ? entry.type : undefined;
    const descriptor = type === undefined ? undefined : findSource(type);
    if (type !== undefined && descriptor === undefined) {
      const near = nearest(type, SOURCE_TYPES);
      add([...at, 'type'], `expected one of ${SOURCE_TYPES.join(', ')}`, false, `${got(type, false)}${near !== undefined ? `; did you mean ${JSON.stringify(near)}?` : ''}`);
    }
    let options: Mapping | undefined;
    if (descriptor !== undefined) {
      const specs = optionSpecs(descriptor);
      const secretKeys = specs.filter((s) => s.meta.secret).map((s) => key([...at, ...s.keyPath]));
      const result = parse(descriptor.options, own);
      report(result, at, own, descriptor.options, (path) => secretKeys.includes(key(path)), COMMON_SOURCE_KEYS, ` for type ${descriptor.type}`);
      // The files are read even when other options are wrong: every problem in one run.
      const files = readFiles(descriptor, own, at, context.baseDir, add);
      if (result.success && files !== undefined) options = fillSecrets(descriptor, withFiles(result.data as Mapping, files), context.env);
    }
    if (!commonResult.success || options === undefined || descriptor === undefined || file === undefined) return;
    const c = commonResult.data;
    if (duplicates.has(i)) return;
    const thresholds = { ...secondsOf(defaults.thresholds), ...secondsOf(c.thresholds) };
    if (thresholds.warningSeconds !== undefined && thresholds.criticalSeconds !== undefined && thresholds.warningSeconds > thresholds.criticalSeconds) {
      add([...at, ...(c.thresholds !== undefined ? ['thresholds'] : [])], `expected warning not above critical (after defaults.thresholds), got warning ${thresholds.warningSeconds}s and critical ${thresholds.criticalSeconds}s`);
      return;
    }
    const config = {
      name: c.name,
      type: descriptor.type,
      options,
      intervalMs: c.interval ?? defaults.interval ?? 1000,
      timeoutMs: c.timeout ?? defaults.timeout,
      thresholds,
      attributes: c.attributes ?? {},
      nodeCount: descriptor.nodeCount?.(options),
    };
    sources.push({ ...config, fingerprint: JSON.stringify(config) });
  });

  // Judged even when other parts of the file are wrong (when the otlp section itself reads right).
  const exportRaw = isMapping(topRaw.export) ? topRaw.export : {};
  const otlpRaw = isMapping(exportRaw.otlp) ? exportRaw.otlp : {};
  const protocolRaw = otlpRaw.protocol === undefined || (typeof otlpRaw.protocol === 'string' && (OTLP_PROTOCOL_NAMES as readonly string[]).includes(otlpRaw.protocol)) ? (otlpRaw.protocol as OtlpProtocol | undefined) : null;
  if (protocolRaw !== null && (otlpRaw.endpoint === undefined || typeof otlpRaw.endpoint === 'string')) {
    problems.push(...otlpProblems({ endpoint: otlpRaw.endpoint as string | undefined, protocol: protocolRaw }, context.env));
  }
  if (problems.length > 0 || file === undefined) return { config: undefined, problems, names };
  const exp = file.export;
  return {
    config: {
      serviceName: file.service?.name,
      prometheus: exp?.prometheus,
      otlp: exp?.otlp,
      http: exp?.http,
      exportIntervalMs: exp?.interval,
      sources,
    },
    problems,
    names,
  };
}

/**
 * The OTLP endpoint each signal will use (the configuration's, else the environment's) judged by the one check
 * startTelemetry applies, for the protocol it will use; each problem names where the endpoint came from.
 */
export function otlpProblems(otlp: { endpoint?: string | undefined; protocol?: OtlpProtocol | undefined } | undefined, env: Env): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  for (const signal of ['METRICS', 'LOGS'] as const) {
    let protocol: OtlpProtocol;
    try {
      protocol = otlpProtocol(env, signal, otlp?.protocol);
    } catch (error) {
      const [origin, ...rest] = (error as Error).message.split(' must be ');
      if (!seen.has(origin!)) out.push({ path: [], origin: origin!, message: `expected ${rest.join(' must be ').replace(/, got .*$/, '')}`, got: got(readEnv(env, origin!), false) });
      seen.add(origin!);
      continue;
    }
    const fromEnv = [`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`, 'OTEL_EXPORTER_OTLP_ENDPOINT'].find((name) => readEnv(env, name) !== undefined);
    const endpoint = otlp?.endpoint ?? (fromEnv === undefined ? undefined : readEnv(env, fromEnv));
    if (endpoint === undefined) continue;
    const problem = otlpEndpointProblem(endpoint, protocol);
    const where = otlp?.endpoint !== undefined ? 'export.otlp.endpoint' : fromEnv!;
    if (problem === undefined || seen.has(where)) continue;
    seen.add(where);
    out.push(otlp?.endpoint !== undefined ? { path: ['export', 'otlp', 'endpoint'], message: problem, got: got(endpoint, false) } : { path: [], origin: where, message: problem, got: got(endpoint, false) });
  }
  return out;
}

function secondsOf(t: { warning?: number | undefined; critical?: number | undefined; stall?: number | undefined } | undefined): FleetThresholds {
  const out: FleetThresholds = {};
  if (t?.warning !== undefined) out.warningSeconds = t.warning / 1000;
  if (t?.critical !== undefined) out.criticalSeconds = t.critical / 1000;
  if (t?.stall !== undefined) out.stallSeconds = t.stall / 1000;
  return out;
}

/** Why a file cannot be read, in words: `no such file`, `permission denied`. */
export function readFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'a directory, not a file' : (code ?? (error as Error).message);
}

/** `options` with the PEM text of each file read (by key path). */
function withFiles(options: Mapping, files: ReadonlyMap<readonly string[], string>): Mapping {
  const out: Mapping = structuredClone(options);
  for (const [keyPath, pem] of files) {
    const parent = valueAt(out, keyPath.slice(0, -1)) as Mapping | undefined;
    if (parent !== undefined) parent[keyPath.at(-1)!] = pem;
  }
  return out;
}

/** The PEM text of each file option given in `raw` (by key path); undefined when one cannot be used (a problem). */
function readFiles(descriptor: AnySourceDescriptor, raw: Mapping, at: readonly PathSegment[], baseDir: string | undefined, add: (path: readonly PathSegment[], message: string) => void): Map<readonly string[], string> | undefined {
  let ok = true;
  const out = new Map<readonly string[], string>();
  for (const spec of optionSpecs(descriptor).filter((s) => s.meta.pemFile)) {
    const file = valueAt(raw, spec.keyPath);
    if (typeof file !== 'string' || file.trim() === '') continue;
    const path = [...at, ...spec.keyPath];
    let pem: string;
    try {
      pem = readFileSync(baseDir === undefined ? file : resolve(baseDir, file), 'utf8');
    } catch (error) {
      add(path, `cannot read ${file}: ${readFailure(error)}`);
      ok = false;
      continue;
    }
    if (!/-----BEGIN [A-Z0-9 ]+-----/.test(pem)) {
      add(path, `${file} holds no PEM block (-----BEGIN …-----)`);
      ok = false;
      continue;
    }
    out.set(spec.keyPath, pem);
  }
  return ok ? out : undefined;
}

/** Secrets absent from the options, from the descriptor's environment variables (an empty variable is unset). */
function fillSecrets(descriptor: AnySourceDescriptor, options: Mapping, env: Env): Mapping {
  const out = { ...options };
  for (const [option, variable] of Object.entries(descriptor.secretEnv ?? {})) {
    const value = env[variable];
    if (out[option] === undefined && value !== undefined && value !== '') out[option] = value;
  }
  return out;
}
