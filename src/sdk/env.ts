/** Reads the standard OpenTelemetry environment variables that startTelemetry honours itself. @internal */

/** OTLP transports this package ships (`grpc` loads the gRPC exporters only when chosen). */
export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';

type Env = Readonly<Record<string, string | undefined>>;

/** A variable's trimmed value; undefined when unset or blank. */
export function readEnv(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** The OTLP protocol for a signal: per-signal variable, then the general one, then the spec's default. */
export function otlpProtocol(env: Env, signal: 'METRICS' | 'LOGS', explicit?: string): OtlpProtocol {
  const source = explicit !== undefined ? 'otlp.protocol' : readEnv(env, `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`) !== undefined ? `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL` : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const value = explicit ?? readEnv(env, `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`) ?? readEnv(env, 'OTEL_EXPORTER_OTLP_PROTOCOL') ?? 'http/protobuf';
  if (value === 'http/protobuf' || value === 'http/json' || value === 'grpc') return value;
  throw new RangeError(`${source} must be http/protobuf, http/json or grpc, got ${JSON.stringify(value)}`);
}

/** Whether any OTLP endpoint is configured for the signal in the environment. */
export function otlpEndpointConfigured(env: Env, signal: 'METRICS' | 'LOGS'): boolean {
  return readEnv(env, 'OTEL_EXPORTER_OTLP_ENDPOINT') !== undefined || readEnv(env, `OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`) !== undefined;
}

/** The export interval: explicit option, then OTEL_METRIC_EXPORT_INTERVAL, then 60000 ms (the spec's default). */
export function metricExportInterval(env: Env, explicit?: number): number {
  if (explicit !== undefined) {
    if (!Number.isFinite(explicit) || explicit <= 0) throw new RangeError(`metricExportIntervalMillis must be a number > 0, got ${explicit}`);
    return explicit;
  }
  const raw = readEnv(env, 'OTEL_METRIC_EXPORT_INTERVAL');
  if (raw === undefined) return 60_000;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`OTEL_METRIC_EXPORT_INTERVAL must be a number of milliseconds > 0, got ${JSON.stringify(raw)}`);
  return value;
}

/**
 * A URL safe to print: no credentials, query or fragment. Everything up to the last `@` of the authority is
 * dropped before parsing, so a password holding an unencoded `/`, `?` or `#` cannot end up in the host or path.
 */
export function redactUrl(url: string): string {
  const at = url.lastIndexOf('@');
  const scheme = url.indexOf('://');
  const stripped = at > scheme && scheme >= 0 ? `${url.slice(0, scheme + 3)}${url.slice(at + 1)}` : url;
  try {
    const u = new URL(stripped);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    // libpq multi-host URLs (postgres://h1:5432,h2:5432/db) are not WHATWG URLs: keep scheme, hosts and path.
    const multiHost = /^([a-z][a-z0-9+.-]*:\/\/)([\w.\-[\]:]+(?:,[\w.\-[\]:]+)+)(\/[^?#\s]*)?/i.exec(stripped);
    if (multiHost) return `${multiHost[1]}${multiHost[2]}${multiHost[3] === '/' || multiHost[3] === undefined ? '' : multiHost[3]}`;
    return '(invalid URL)';
  }
}

/** The signal URL for a base endpoint, as the OTLP spec builds it: base + `/v1/metrics` or `/v1/logs`. */
export function signalUrl(base: string, signal: 'METRICS' | 'LOGS'): string {
  const path = `/v1/${signal === 'METRICS' ? 'metrics' : 'logs'}`;
  try {
    // Append to the path, not after a query string the base may carry.
    const u = new URL(base);
    u.pathname = `${u.pathname.replace(/\/+$/, '')}${path}`;
    return u.toString();
  } catch {
    return `${base.replace(/\/+$/, '')}${path}`;
  }
}
