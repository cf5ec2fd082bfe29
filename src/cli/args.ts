/** Command-line parsing for `replag`. Errors name the bad flag. */
import { parseArgs } from 'node:util';
import type { OtlpProtocol } from '../sdk/env.ts';

/** The system `replag` watches, with where to find it (passwords come from the environment, see USAGE). */
export type SourceSpec =
  | { kind: 'demo'; nodes: number }
  | { kind: 'postgres'; url: string; subscribers?: string[] }
  | { kind: 'redis'; url: string }
  | { kind: 'redis'; sentinels: string[]; masterName: string }
  | { kind: 'etcd'; endpoints: string[] }
  | { kind: 'mysql'; primary: string; replicas: string[]; replicaTimeoutMs?: number };

/** The `--tls-*` flags: files are read when the source is created. */
export interface TlsFlags {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  serverName?: string;
  /** `--tls-insecure`: encrypt without verifying the server's certificate. */
  insecure: boolean;
}

/** What `replag` was asked to do. */
export interface CliOptions {
  command: 'run' | 'help' | 'version';
  source: SourceSpec;
  /** TLS to the database, when any `--tls-*` flag is given. */
  tls: TlsFlags | undefined;
  intervalMs: number;
  /** Bound on each poll of a database source, ms; undefined: the source's default (5000). */
  timeoutMs: number | undefined;
  /** Seconds to run; 0 runs until SIGINT/SIGTERM. */
  durationSeconds: number;
  otlpEndpoint: string | undefined;
  otlpProtocol: OtlpProtocol | undefined;
  prometheusPort: number | undefined;
  prometheusHost: string;
  /** The status endpoints on a port of their own (`--http-port`); undefined: on the Prometheus port, if any. */
  http: { port: number; host: string } | undefined;
  serviceName: string | undefined;
  warningSeconds: number | undefined;
  criticalSeconds: number | undefined;
  stallSeconds: number | undefined;
  exportIntervalMs: number | undefined;
  /** 'auto' draws a live table on a TTY and prints lines otherwise. */
  output: 'auto' | 'table' | 'plain' | 'quiet';
  /** Bound on stopping after SIGTERM/SIGINT (final flush included), ms. */
  shutdownTimeoutMs: number;
}

export const USAGE = `Usage: replag [demo | postgres | redis | etcd | mysql] [options]
       replag --config FILE      many sources from a YAML file (also REPLAG_CONFIG=FILE); SIGHUP reloads it

Watches the replication lag of each follower and exports it through OpenTelemetry.

Commands:
  demo                     a simulated Raft cluster: healthy, slow, lagging and frozen followers (default)
    --nodes N              followers in the simulated cluster (default 4)
  postgres --url URL [--subscriber URL ...]
                           a PostgreSQL primary: postgres://user@host:5432/db (password: PGPASSWORD);
                           --subscriber: a logical replication subscriber whose subscriptions to report
  redis --url URL          a Redis master: redis://[user@]host:6379 (password: REDISCLI_AUTH)
  redis --sentinel URL [--sentinel URL ...] --master-name NAME
                           the master Redis Sentinel monitors as NAME, followed across failovers
                           (Sentinel's own password: REDIS_SENTINEL_PASSWORD)
  etcd --endpoints URLS    an etcd cluster: comma-separated client URLs, e.g. http://host:2379
  mysql --primary URL --replica URL [--replica URL ...] [--replica-timeout MS]
                           a MySQL / MariaDB primary and its replicas: mysql://user@host:3306 (password: MYSQL_PWD);
                           --replica-timeout: how long a poll waits for each replica (default 1000, at most --timeout)

TLS to the database (postgres, redis, etcd, mysql; also on with rediss:// and https:// URLs):
  --tls-ca FILE            PEM CA certificate(s) that sign the server's certificate (default: Node's public roots)
  --tls-cert FILE          PEM client certificate, for servers that require one (with --tls-key)
  --tls-key FILE           its PEM private key
  --tls-server-name NAME   name to verify the server's certificate against (default: the host in the URL)
  --tls-insecure           encrypt without verifying the server's certificate (testing only)

Options:
  --interval MS            milliseconds between polls (default 1000)
  --timeout MS             bound on each poll of a database (default 5000)
  --duration S             stop after S seconds (default: run until Ctrl-C / SIGTERM)
  --otlp-endpoint URL      OTLP base URL, e.g. http://collector:4318, or http://collector:4317 for grpc
                           (https:// for TLS) (default: OTEL_EXPORTER_OTLP_ENDPOINT; none: no export)
  --otlp-protocol P        http/protobuf (default), http/json or grpc (default: OTEL_EXPORTER_OTLP_PROTOCOL)
  --export-interval MS     metric export interval (default: OTEL_METRIC_EXPORT_INTERVAL, else 60000)
  --prometheus-port N      also serve Prometheus metrics on this port
  --prometheus-host H      interface for the Prometheus endpoint (default 0.0.0.0)
  --http-port N            serve /status, /check, /healthz, /readyz and the page at / on this port
                           (without it they share the Prometheus port, when there is one)
  --http-host H            interface for --http-port (default 127.0.0.1)
  --service-name NAME      service.name (default: OTEL_SERVICE_NAME, else replag)
  --warning S              warning threshold in seconds (default 5)
  --critical S             critical threshold in seconds (default 30)
  --stall S                stall timeout in seconds (default 10)
  --output MODE            auto (table on a terminal, lines otherwise), table, plain or quiet
  --shutdown-timeout T     bound on stopping at SIGTERM/SIGINT, final export included: 10s, 2500ms or
                           seconds (default 10s, inside Kubernetes' 30 s grace); a second signal exits at once
  -h, --help               this text
  --version                the version
`;

function number(flag: string, raw: string | undefined, check: (n: number) => boolean, what: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || !check(n)) throw new RangeError(`--${flag} must be ${what}, got ${JSON.stringify(raw)}`);
  return n;
}

const positiveInt = (n: number) => Number.isInteger(n) && n > 0;
const positive = (n: number) => n > 0;

/** Parses argv (without node and script). @throws RangeError naming the flag. */
export function parseCliArgs(argv: readonly string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        nodes: { type: 'string' },
        url: { type: 'string' },
        endpoints: { type: 'string' },
        primary: { type: 'string' },
        replica: { type: 'string', multiple: true },
        subscriber: { type: 'string', multiple: true },
        'replica-timeout': { type: 'string' },
        sentinel: { type: 'string', multiple: true },
        'master-name': { type: 'string' },
        interval: { type: 'string' },
        timeout: { type: 'string' },
        duration: { type: 'string' },
        'otlp-endpoint': { type: 'string' },
        'otlp-protocol': { type: 'string' },
        'export-interval': { type: 'string' },
        'prometheus-port': { type: 'string' },
        'prometheus-host': { type: 'string' },
        'http-port': { type: 'string' },
        'http-host': { type: 'string' },
        'service-name': { type: 'string' },
        warning: { type: 'string' },
        critical: { type: 'string' },
        stall: { type: 'string' },
        output: { type: 'string' },
        'shutdown-timeout': { type: 'string' },
        'tls-ca': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-server-name': { type: 'string' },
        'tls-insecure': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new RangeError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new RangeError(`unexpected argument ${JSON.stringify(positionals[1])}`);
  // --help and --version answer whatever else is on the line.
  const source: SourceSpec = values.help || values.version ? { kind: 'demo', nodes: 4 } : sourceSpec(positionals[0] ?? 'demo', values);
  const protocol = values['otlp-protocol'];
  if (protocol !== undefined && protocol !== 'http/protobuf' && protocol !== 'http/json' && protocol !== 'grpc') {
    throw new RangeError(`--otlp-protocol must be http/protobuf, http/json or grpc, got ${JSON.stringify(protocol)}`);
  }
  const output = values.output ?? 'auto';
  if (output !== 'auto' && output !== 'table' && output !== 'plain' && output !== 'quiet') {
    throw new RangeError(`--output must be auto, table, plain or quiet, got ${JSON.stringify(output)}`);
  }
  const tls = tlsFlags(values, source.kind);
  const port = number('prometheus-port', values['prometheus-port'], (n) => Number.isInteger(n) && n > 0 && n < 65536, 'a port number');
  const httpPort = number('http-port', values['http-port'], (n) => Number.isInteger(n) && n > 0 && n < 65536, 'a port number');
  if (httpPort === undefined && values['http-host'] !== undefined) throw new RangeError('--http-host needs --http-port');
  return {
    command: values.help ? 'help' : values.version ? 'version' : 'run',
    source,
    tls,
    intervalMs: number('interval', values.interval, positive, 'a number of milliseconds > 0') ?? 1000,
    timeoutMs: number('timeout', values.timeout, positive, 'a number of milliseconds > 0'),
    durationSeconds: number('duration', values.duration, (n) => n >= 0, 'a number of seconds >= 0') ?? 0,
    otlpEndpoint: values['otlp-endpoint'],
    otlpProtocol: protocol,
    prometheusPort: port,
    prometheusHost: values['prometheus-host'] ?? '0.0.0.0',
    http: httpPort === undefined ? undefined : { port: httpPort, host: values['http-host'] ?? '127.0.0.1' },
    serviceName: values['service-name'],
    warningSeconds: number('warning', values.warning, positive, 'a number of seconds > 0'),
    criticalSeconds: number('critical', values.critical, positive, 'a number of seconds > 0'),
    stallSeconds: number('stall', values.stall, positive, 'a number of seconds > 0'),
    exportIntervalMs: number('export-interval', values['export-interval'], positive, 'a number of milliseconds > 0'),
    output,
    shutdownTimeoutMs: shutdownTimeout(values['shutdown-timeout']) ?? DEFAULT_SHUTDOWN_TIMEOUT_MS,
  };
}

export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;
const MAX_SHUTDOWN_TIMEOUT_MS = 3_600_000;

/** `--shutdown-timeout`: `10s`, `2500ms` or a plain number of seconds, > 0 and at most an hour. */
export function shutdownTimeout(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$/.exec(raw);
  const ms = m === null ? Number.NaN : Number(m[1]) * (m[2] === 'ms' ? 1 : 1000);
  if (!(ms > 0 && ms <= MAX_SHUTDOWN_TIMEOUT_MS)) {
    throw new RangeError(`--shutdown-timeout must be a duration > 0 and at most 3600s, like 10s, 2500ms or 5 (seconds), got ${JSON.stringify(raw)}`);
  }
  return Math.round(ms);
}

interface TlsFlagValues {
  'tls-ca'?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
  'tls-server-name'?: string;
  'tls-insecure'?: boolean;
}

function tlsFlags(values: TlsFlagValues, kind: SourceSpec['kind']): TlsFlags | undefined {
  const given = (['tls-ca', 'tls-cert', 'tls-key', 'tls-server-name', 'tls-insecure'] as const).filter((f) => values[f] !== undefined);
  if (given.length === 0) return undefined;
  if (kind === 'demo') throw new RangeError(`--${given[0]} applies to postgres, redis, etcd and mysql, not to demo`);
  for (const flag of ['tls-ca', 'tls-cert', 'tls-key', 'tls-server-name'] as const) {
    if (values[flag] !== undefined && values[flag].trim() === '') throw new RangeError(`--${flag} needs a value`);
  }
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
    throw new RangeError('--tls-cert and --tls-key go together (a client certificate needs its private key)');
  }
  return {
    ...(values['tls-ca'] !== undefined ? { caFile: values['tls-ca'] } : {}),
    ...(values['tls-cert'] !== undefined ? { certFile: values['tls-cert'], keyFile: values['tls-key'] } : {}),
    ...(values['tls-server-name'] !== undefined ? { serverName: values['tls-server-name'] } : {}),
    insecure: values['tls-insecure'] === true,
  };
}

const COMMANDS = ['demo', 'postgres', 'redis', 'etcd', 'mysql'] as const;

/** Which flags locate each command's system. */
const SOURCE_FLAGS: Record<(typeof COMMANDS)[number], readonly string[]> = {
  demo: ['nodes'],
  postgres: ['url', 'subscriber'],
  redis: ['url', 'sentinel', 'master-name'],
  etcd: ['endpoints'],
  mysql: ['primary', 'replica', 'replica-timeout'],
};

interface SourceFlags {
  nodes?: string;
  url?: string;
  endpoints?: string;
  primary?: string;
  replica?: string[];
  subscriber?: string[];
  'replica-timeout'?: string;
  sentinel?: string[];
  'master-name'?: string;
}

function sourceSpec(command: string, values: SourceFlags): SourceSpec {
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new RangeError(`unknown command ${JSON.stringify(command)} (commands: ${COMMANDS.join(', ')})`);
  }
  const kind = command as (typeof COMMANDS)[number];
  for (const flag of ['nodes', 'url', 'endpoints', 'primary', 'replica', 'subscriber', 'replica-timeout', 'sentinel', 'master-name'] as const) {
    if (values[flag] !== undefined && !SOURCE_FLAGS[kind].includes(flag)) {
      const users = COMMANDS.filter((c) => SOURCE_FLAGS[c].includes(flag));
      throw new RangeError(`--${flag} applies to ${users.join(' and ')}, not to ${kind}`);
    }
  }
  const required = (flag: 'url' | 'primary' | 'endpoints'): string => {
    const value = values[flag]?.trim();
    if (value === undefined || value === '') throw new RangeError(`${kind} needs --${flag}`);
    return value;
  };
  switch (kind) {
    case 'demo':
      return { kind, nodes: number('nodes', values.nodes, positiveInt, 'a positive integer') ?? 4 };
    case 'postgres': {
      const url = required('url');
      if (values.subscriber === undefined) return { kind, url };
      const subscribers = values.subscriber.map((s) => s.trim());
      if (subscribers.some((s) => s === '')) throw new RangeError('--subscriber needs a postgres:// URL');
      return { kind, url, subscribers };
    }
    case 'redis': {
      if (values.sentinel === undefined && values['master-name'] === undefined) return { kind, url: required('url') };
      if (values.url !== undefined) throw new RangeError('redis takes either --url or --sentinel with --master-name, not both');
      const sentinels = (values.sentinel ?? []).map((s) => s.trim());
      if (sentinels.length === 0 || sentinels.some((s) => s === '')) throw new RangeError('redis --master-name needs at least one --sentinel URL');
      const masterName = values['master-name']?.trim();
      if (masterName === undefined || masterName === '') throw new RangeError('redis --sentinel needs --master-name (the name in the Sentinels\' "sentinel monitor" line)');
      return { kind, sentinels, masterName };
    }
    case 'etcd': {
      const endpoints = required('endpoints').split(',').map((e) => e.trim());
      if (endpoints.some((e) => e === '')) throw new RangeError('--endpoints must be a comma-separated list of URLs without empty entries');
      return { kind, endpoints };
    }
    case 'mysql': {
      const primary = required('primary');
      const replicas = (values.replica ?? []).map((r) => r.trim());
      if (replicas.length === 0 || replicas.some((r) => r === '')) throw new RangeError('mysql needs at least one --replica URL');
      const replicaTimeoutMs = number('replica-timeout', values['replica-timeout'], positive, 'a number of milliseconds > 0');
      return { kind, primary, replicas, ...(replicaTimeoutMs !== undefined ? { replicaTimeoutMs } : {}) };
    }
  }
}
