/**
 * `replag --config FILE`: the YAML file that lists many sources, parsed and validated into the same source options
 * the flags produce. Every problem is collected (not just the first), each naming its path (`sources[1].interval`)
 * and what is expected. Values are never printed back: a password, a URL with credentials or a `${env:NAME}`
 * substitution cannot leak through a validation error.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { OtlpProtocol } from '../sdk/env.ts';
import type { TlsFlags } from './args.ts';

/** The `type` of a configured source. */
export type FleetSourceType = 'postgres' | 'redis' | 'etcd' | 'mysql' | 'demo';

export const FLEET_SOURCE_TYPES: readonly FleetSourceType[] = ['postgres', 'redis', 'etcd', 'mysql', 'demo'];

/** What locates a source and signs in to it: the source's own options, under their names (passwords included). */
export type FleetSourceOptions =
  | { type: 'demo'; nodes: number; leaderRate?: number }
  | { type: 'postgres'; url: string; password?: string; logicalSlots?: boolean; subscribers?: string[] }
  | { type: 'redis'; url?: string; sentinels?: string[]; masterName?: string; sentinelPassword?: string; username?: string; password?: string }
  | { type: 'etcd'; endpoints: string[] }
  | { type: 'mysql'; primary: string; replicas: string[]; password?: string; replicaTimeoutMs?: number };

/** Alert thresholds of one source's monitor, in seconds; undefined: the monitor's default. */
export interface FleetThresholds {
  warningSeconds?: number;
  criticalSeconds?: number;
  stallSeconds?: number;
}

/** One entry of `sources`, defaults applied. May hold secrets: never print it. */
export interface FleetSourceConfig {
  /** Unique; exported as `replication.source`. */
  readonly name: string;
  readonly options: FleetSourceOptions;
  /** TLS files (paths resolved against the config file's folder), read when the source is created. */
  readonly tls: TlsFlags | undefined;
  readonly intervalMs: number;
  /** Bound on each poll; undefined: the source's default (5000 ms). */
  readonly timeoutMs: number | undefined;
  readonly thresholds: FleetThresholds;
  /** Added to every point of the source's nodes and to its `replication.source.up`. */
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  /** Equal for equal configurations: what a reload compares to decide whether to restart the source. */
  readonly fingerprint: string;
}

/** The whole file. */
export interface FleetConfig {
  /** `service.name`; undefined: OTEL_SERVICE_NAME, else `replag`. */
  readonly serviceName: string | undefined;
  readonly prometheus: { readonly port: number; readonly host: string } | undefined;
  /** `export.http`: the status endpoints on a port of their own (host default 127.0.0.1). */
  readonly http: { readonly port: number; readonly host: string } | undefined;
  /** OTLP settings from the file; undefined: from the OTEL_* environment only. */
  readonly otlp: { readonly endpoint?: string; readonly protocol?: OtlpProtocol } | undefined;
  readonly exportIntervalMs: number | undefined;
  readonly sources: readonly FleetSourceConfig[];
}

/** A file that cannot run: one message per problem, each starting with its path. Never holds a value from the file. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Options of `parseFleetConfig`. */
export interface ParseFleetConfigOptions {
  /** Where `${env:NAME}` is looked up. */
  env: Readonly<Record<string, string | undefined>>;
  /** Folder that relative TLS file paths are resolved against (the config file's). Default: the working directory. */
  baseDir?: string;
}

/** Reads and parses `file`. @throws ConfigError (also when the file cannot be read). */
export async function loadFleetConfig(file: string, env: ParseFleetConfigOptions['env']): Promise<FleetConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`]);
  }
  return parseFleetConfig(text, { env, baseDir: dirname(resolve(file)) });
}

/** Parses and validates the YAML text. @throws ConfigError listing every problem. */
export function parseFleetConfig(text: string, options: ParseFleetConfigOptions): FleetConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, strict: true });
  if (doc.errors.length > 0) {
    // Only the first line of the parser's message: the rest quotes the file, which may hold a secret.
    throw new ConfigError(doc.errors.map((e) => `YAML: ${e.message.split('\n')[0]!.replace(/:$/, '')}`));
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError([`YAML: ${(error as Error).message.split('\n')[0]}`]);
  }
  const check = new Checker(options.env, options.baseDir);
  const config = check.file(raw ?? {});
  if (check.problems.length > 0) throw new ConfigError(check.problems);
  return config;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m)$/;
const DURATION_EXPECTED = 'a duration > 0 such as 500ms, 1s or 2m';
const NAME = /^[A-Za-z0-9][\w.:/-]{0,127}$/;
const RESERVED_ATTRIBUTES = new Set(['replication.source', 'replication.node.id', 'replication.severity', 'replication.severity.previous']);
const ENV_REFERENCE = /\$\{env:([^}]*)\}/g;

const COMMON_SOURCE_KEYS = ['name', 'type', 'interval', 'timeout', 'thresholds', 'attributes'];
const SOURCE_KEYS: Record<FleetSourceType, readonly string[]> = {
  demo: ['nodes', 'leaderRate'],
  postgres: ['url', 'password', 'tls', 'logicalSlots', 'subscribers'],
  redis: ['url', 'sentinels', 'masterName', 'sentinelPassword', 'username', 'password', 'tls'],
  etcd: ['endpoints', 'tls'],
  mysql: ['primary', 'replicas', 'password', 'tls', 'replicaTimeout'],
};

type Mapping = Record<string, unknown>;

/** Walks the parsed file, collecting problems. */
class Checker {
  readonly problems: string[] = [];
  private readonly env: ParseFleetConfigOptions['env'];
  private readonly baseDir: string | undefined;

  constructor(env: ParseFleetConfigOptions['env'], baseDir: string | undefined) {
    this.env = env;
    this.baseDir = baseDir;
  }

  private problem(path: string, message: string): undefined {
    this.problems.push(`${path}: ${message}`);
    return undefined;
  }

  file(raw: unknown): FleetConfig {
    const top = this.mapping('(top level)', raw, ['service', 'export', 'defaults', 'sources']) ?? {};
    const service = this.mapping('service', top.service, ['name']);
    const serviceName = service === undefined ? undefined : this.string('service.name', service.name);
    const exp = this.mapping('export', top.export, ['prometheus', 'otlp', 'interval', 'http']);
    const prom = exp === undefined ? undefined : this.mapping('export.prometheus', exp.prometheus, ['port', 'host']);
    let prometheus: FleetConfig['prometheus'];
    if (prom !== undefined) {
      const port = this.required('export.prometheus.port', prom.port, () => this.port('export.prometheus.port', prom.port));
      const host = this.string('export.prometheus.host', prom.host) ?? '0.0.0.0';
      if (port !== undefined) prometheus = { port, host };
    }
    const httpRaw = exp === undefined ? undefined : this.mapping('export.http', exp.http, ['port', 'host']);
    let http: FleetConfig['http'];
    if (httpRaw !== undefined) {
      const port = this.required('export.http.port', httpRaw.port, () => this.port('export.http.port', httpRaw.port));
      if (port !== undefined) http = { port, host: this.string('export.http.host', httpRaw.host) ?? '127.0.0.1' };
    }
    const otlpRaw = exp === undefined ? undefined : this.mapping('export.otlp', exp.otlp, ['endpoint', 'protocol']);
    let otlp: FleetConfig['otlp'];
    if (otlpRaw !== undefined) {
      const endpoint = this.string('export.otlp.endpoint', otlpRaw.endpoint);
      const protocol = this.oneOf('export.otlp.protocol', otlpRaw.protocol, ['http/protobuf', 'http/json', 'grpc'] as const);
      otlp = { ...(endpoint !== undefined ? { endpoint } : {}), ...(protocol !== undefined ? { protocol } : {}) };
    }
    const exportIntervalMs = exp === undefined ? undefined : this.duration('export.interval', exp.interval);

    const defaults = this.mapping('defaults', top.defaults, ['interval', 'timeout', 'thresholds']) ?? {};
    const defaultInterval = this.duration('defaults.interval', defaults.interval) ?? 1000;
    const defaultTimeout = this.duration('defaults.timeout', defaults.timeout);
    const defaultThresholds = this.thresholds('defaults.thresholds', defaults.thresholds) ?? {};

    const sources: FleetSourceConfig[] = [];
    if (top.sources === undefined) this.problem('sources', 'required: a list of sources (each with name and type)');
    else if (!Array.isArray(top.sources)) this.problem('sources', `expected a list of sources, got ${kindOf(top.sources)}`);
    else if (top.sources.length === 0) this.problem('sources', 'expected at least one source');
    else {
      const seen = new Map<string, number>();
      top.sources.forEach((entry, i) => {
        const source = this.source(`sources[${i}]`, entry, { intervalMs: defaultInterval, timeoutMs: defaultTimeout, thresholds: defaultThresholds });
        const name = source?.name ?? (isMapping(entry) && typeof entry.name === 'string' ? entry.name.trim() : undefined);
        if (name !== undefined) {
          const first = seen.get(name);
          if (first !== undefined) this.problem(`sources[${i}].name`, `duplicate name: sources[${first}] has the same name (names must be unique)`);
          else seen.set(name, i);
        }
        if (source !== undefined) sources.push(source);
      });
    }
    return { serviceName, prometheus, http, otlp, exportIntervalMs, sources };
  }

  private source(path: string, raw: unknown, defaults: { intervalMs: number; timeoutMs: number | undefined; thresholds: FleetThresholds }): FleetSourceConfig | undefined {
    if (!isMapping(raw)) return this.problem(path, `expected a mapping with name and type, got ${kindOf(raw)}`);
    const type = this.required(`${path}.type`, raw.type, () => this.oneOf(`${path}.type`, raw.type, FLEET_SOURCE_TYPES));
    const allowed = [...COMMON_SOURCE_KEYS, ...(type === undefined ? Object.values(SOURCE_KEYS).flat() : SOURCE_KEYS[type])];
    this.mapping(path, raw, allowed, type === undefined ? undefined : `for type ${type}`);
    const name = this.required(`${path}.name`, raw.name, () => {
      const n = this.string(`${path}.name`, raw.name);
      if (n !== undefined && !NAME.test(n)) return this.problem(`${path}.name`, 'expected a name of letters, digits, ".", "_", "-", ":" or "/" (at most 128, starting with a letter or digit)');
      return n;
    });
    const intervalMs = this.duration(`${path}.interval`, raw.interval) ?? defaults.intervalMs;
    const timeoutMs = this.duration(`${path}.timeout`, raw.timeout) ?? defaults.timeoutMs;
    const own = this.thresholds(`${path}.thresholds`, raw.thresholds) ?? {};
    const thresholds = { ...defaults.thresholds, ...own };
    if (thresholds.warningSeconds !== undefined && thresholds.criticalSeconds !== undefined && thresholds.warningSeconds > thresholds.criticalSeconds) {
      this.problem(`${path}.thresholds`, 'expected warning not above critical (after defaults.thresholds)');
    }
    const attributes = this.attributes(`${path}.attributes`, raw.attributes);
    const tls = type === 'demo' || type === undefined ? undefined : this.tls(`${path}.tls`, raw.tls);
    const options = type === undefined ? undefined : this.sourceOptions(path, type, raw);
    if (name === undefined || options === undefined) return undefined;
    const config = { name, options, tls, intervalMs, timeoutMs, thresholds, attributes };
    return { ...config, fingerprint: JSON.stringify(config) };
  }

  private sourceOptions(path: string, type: FleetSourceType, raw: Mapping): FleetSourceOptions | undefined {
    const str = (key: string) => this.string(`${path}.${key}`, raw[key]);
    const need = (key: string) => this.required(`${path}.${key}`, raw[key], () => str(key));
    const list = (key: string) => this.stringList(`${path}.${key}`, raw[key]);
    switch (type) {
      case 'demo': {
        const nodes = raw.nodes === undefined ? 4 : this.integer(`${path}.nodes`, raw.nodes, 1, 10_000);
        const leaderRate = raw.leaderRate === undefined ? undefined : this.positiveNumber(`${path}.leaderRate`, raw.leaderRate);
        if (nodes === undefined || (raw.leaderRate !== undefined && leaderRate === undefined)) return undefined;
        return { type, nodes, ...(leaderRate !== undefined ? { leaderRate } : {}) };
      }
      case 'postgres': {
        const url = need('url');
        const password = str('password');
        const logicalSlots = this.boolean(`${path}.logicalSlots`, raw.logicalSlots);
        const subscribers = list('subscribers');
        if (url === undefined || (raw.subscribers !== undefined && raw.subscribers !== null && subscribers === undefined)) return undefined;
        return { type, url, ...(password !== undefined ? { password } : {}), ...(logicalSlots !== undefined ? { logicalSlots } : {}), ...(subscribers !== undefined ? { subscribers } : {}) };
      }
      case 'redis': {
        const url = str('url');
        const sentinels = list('sentinels');
        const masterName = str('masterName');
        const extra = { sentinelPassword: str('sentinelPassword'), username: str('username'), password: str('password') };
        const defined = Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined));
        if (raw.url !== undefined && (raw.sentinels !== undefined || raw.masterName !== undefined)) {
          return this.problem(path, 'expected either url or sentinels with masterName, not both');
        }
        if (raw.url === undefined && raw.sentinels === undefined && raw.masterName === undefined) {
          return this.problem(`${path}.url`, 'required: a redis:// URL of the master (or sentinels with masterName)');
        }
        if (raw.url === undefined) {
          if (raw.sentinels === undefined) return this.problem(`${path}.sentinels`, 'required with masterName: a list of redis:// Sentinel URLs');
          if (raw.masterName === undefined) return this.problem(`${path}.masterName`, 'required with sentinels: the name the Sentinels monitor the master under');
          if (sentinels === undefined || masterName === undefined) return undefined;
          return { type, sentinels, masterName, ...defined };
        }
        return url === undefined ? undefined : { type, url, ...defined };
      }
      case 'etcd': {
        const endpoints = this.required(`${path}.endpoints`, raw.endpoints, () => list('endpoints'));
        return endpoints === undefined ? undefined : { type, endpoints };
      }
      case 'mysql': {
        const primary = need('primary');
        const replicas = this.required(`${path}.replicas`, raw.replicas, () => list('replicas'));
        const password = str('password');
        const replicaTimeoutMs = raw.replicaTimeout === undefined ? undefined : this.duration(`${path}.replicaTimeout`, raw.replicaTimeout);
        if (primary === undefined || replicas === undefined || (raw.replicaTimeout !== undefined && replicaTimeoutMs === undefined)) return undefined;
        return { type, primary, replicas, ...(password !== undefined ? { password } : {}), ...(replicaTimeoutMs !== undefined ? { replicaTimeoutMs } : {}) };
      }
    }
  }

  private tls(path: string, raw: unknown): TlsFlags | undefined {
    const m = this.mapping(path, raw, ['ca', 'cert', 'key', 'servername', 'insecure']);
    if (m === undefined) return undefined;
    const file = (key: string) => {
      const p = this.string(`${path}.${key}`, m[key]);
      return p === undefined ? undefined : this.baseDir === undefined ? p : resolve(this.baseDir, p);
    };
    const caFile = file('ca');
    const certFile = file('cert');
    const keyFile = file('key');
    const serverName = this.string(`${path}.servername`, m.servername);
    let insecure = false;
    if (m.insecure !== undefined) {
      if (typeof m.insecure !== 'boolean') this.problem(`${path}.insecure`, `expected true or false, got ${kindOf(m.insecure)}`);
      else insecure = m.insecure;
    }
    if ((m.cert === undefined) !== (m.key === undefined)) this.problem(path, 'expected cert and key together (a client certificate needs its private key)');
    return {
      ...(caFile !== undefined ? { caFile } : {}),
      ...(certFile !== undefined ? { certFile } : {}),
      ...(keyFile !== undefined ? { keyFile } : {}),
      ...(serverName !== undefined ? { serverName } : {}),
      insecure,
    };
  }

  private thresholds(path: string, raw: unknown): FleetThresholds | undefined {
    const m = this.mapping(path, raw, ['warning', 'critical', 'stall']);
    if (m === undefined) return undefined;
    const seconds = (key: string) => {
      const ms = this.duration(`${path}.${key}`, m[key]);
      return ms === undefined ? undefined : ms / 1000;
    };
    const out: FleetThresholds = {};
    const warning = seconds('warning');
    const critical = seconds('critical');
    const stall = seconds('stall');
    if (warning !== undefined) out.warningSeconds = warning;
    if (critical !== undefined) out.criticalSeconds = critical;
    if (stall !== undefined) out.stallSeconds = stall;
    return out;
  }

  private attributes(path: string, raw: unknown): Record<string, string | number | boolean> {
    if (raw === undefined) return {};
    if (!isMapping(raw)) {
      this.problem(path, `expected a mapping of attribute names to strings, numbers or booleans, got ${kindOf(raw)}`);
      return {};
    }
    const out: Record<string, string | number | boolean> = {};
    for (const [key, value] of Object.entries(raw)) {
      if (RESERVED_ATTRIBUTES.has(key)) {
        this.problem(`${path}.${key}`, 'reserved: replag sets this attribute itself (replication.source is the source\'s name)');
        continue;
      }
      const v = this.substitute(`${path}.${key}`, value);
      if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) out[key] = v;
      else if (v !== undefined) this.problem(`${path}.${key}`, `expected a string, number or boolean, got ${kindOf(v)}`);
    }
    return out;
  }

  /** `raw` as a mapping with only `allowed` keys; undefined when absent (or not a mapping: a problem). */
  private mapping(path: string, raw: unknown, allowed: readonly string[], context?: string): Mapping | undefined {
    if (raw === undefined || raw === null) return undefined;
    if (!isMapping(raw)) return this.problem(path, `expected a mapping, got ${kindOf(raw)}`);
    for (const key of Object.keys(raw)) {
      if (!allowed.includes(key)) {
        const where = path === '(top level)' ? key : `${path}.${key}`;
        this.problem(where, `unknown key${context ? ` ${context}` : ''}; expected one of ${allowed.join(', ')}`);
      }
    }
    return raw;
  }

  private required<T>(path: string, raw: unknown, parse: () => T | undefined): T | undefined {
    if (raw === undefined || raw === null) return this.problem(path, 'required');
    return parse();
  }

  /** Replaces `${env:NAME}` in a string; a missing variable is a problem naming it. Other values pass unchanged. */
  private substitute(path: string, raw: unknown): unknown {
    if (typeof raw !== 'string') return raw;
    let missing = false;
    const out = raw.replace(ENV_REFERENCE, (_, name: string) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        missing = true;
        this.problem(path, 'expected ${env:NAME} with NAME made of letters, digits and _');
        return '';
      }
      const value = this.env[name];
      if (value === undefined) {
        missing = true;
        this.problem(path, `environment variable ${name} is not set (referenced as \${env:${name}})`);
        return '';
      }
      return value;
    });
    return missing ? undefined : out;
  }

  private string(path: string, raw: unknown): string | undefined {
    if (raw === undefined || raw === null) return undefined;
    const v = this.substitute(path, raw);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') return this.problem(path, `expected a string, got ${kindOf(v)}`);
    if (v.trim() === '') return this.problem(path, 'expected a non-empty string');
    // Not trimmed: a password may begin or end with a space.
    return v;
  }

  private boolean(path: string, raw: unknown): boolean | undefined {
    if (raw === undefined) return undefined;
    if (typeof raw !== 'boolean') return this.problem(path, `expected true or false, got ${kindOf(raw)}`);
    return raw;
  }

  private stringList(path: string, raw: unknown): string[] | undefined {
    if (raw === undefined || raw === null) return undefined;
    if (!Array.isArray(raw) || raw.length === 0) return this.problem(path, `expected a non-empty list of strings, got ${Array.isArray(raw) ? 'an empty list' : kindOf(raw)}`);
    const out: string[] = [];
    raw.forEach((item, i) => {
      const s = this.string(`${path}[${i}]`, item);
      if (s !== undefined) out.push(s);
    });
    return out.length === raw.length ? out : undefined;
  }

  private oneOf<T extends string>(path: string, raw: unknown, values: readonly T[]): T | undefined {
    if (raw === undefined || raw === null) return undefined;
    const v = this.substitute(path, raw);
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
    if (v === undefined) return undefined;
    return this.problem(path, `expected one of ${values.join(', ')}`);
  }

  private duration(path: string, raw: unknown): number | undefined {
    if (raw === undefined || raw === null) return undefined;
    const v = this.substitute(path, raw);
    if (v === undefined) return undefined;
    const m = typeof v === 'string' ? DURATION.exec(v.trim()) : null;
    if (m === null) return this.problem(path, `expected ${DURATION_EXPECTED}${typeof v === 'number' ? ' (a unit is required)' : ''}`);
    const ms = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
    if (!(ms > 0) || ms > 86_400_000) return this.problem(path, `expected ${DURATION_EXPECTED}, at most 24 hours`);
    return ms;
  }

  private integer(path: string, raw: unknown, min: number, max: number): number | undefined {
    const v = this.substitute(path, raw);
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) return this.problem(path, `expected an integer from ${min} to ${max}`);
    return n;
  }

  private port(path: string, raw: unknown): number | undefined {
    return this.integer(path, raw, 1, 65535);
  }

  private positiveNumber(path: string, raw: unknown): number | undefined {
    const v = this.substitute(path, raw);
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) return this.problem(path, 'expected a number > 0');
    return v;
  }
}

function isMapping(value: unknown): value is Mapping {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** What a value is, for messages, without the value itself. */
function kindOf(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  return typeof value;
}
