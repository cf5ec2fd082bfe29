/**
 * OTLP over gRPC: where it goes, as the OTLP exporter spec says, and the OpenTelemetry gRPC exporters, loaded
 * with a dynamic import on first use only, so the http/protobuf and http/json paths never load `@grpc/grpc-js`.
 * @internal
 */
import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { importOptional } from '../optional-dependency.ts';
import { readEnv } from './env.ts';

type Env = Readonly<Record<string, string | undefined>>;
type Signal = 'METRICS' | 'LOGS';

/** The spec's default gRPC endpoint. */
export const DEFAULT_OTLP_GRPC_ENDPOINT = 'http://localhost:4317';

/** What a gRPC exporter is built from. */
export interface GrpcExporterOptions {
  /** The endpoint, used as-is (no `/v1/...` path): `http://` is plaintext, `https://` TLS, no scheme: see grpcTransport. */
  url: string;
  /** Sent as gRPC metadata, next to OTEL_EXPORTER_OTLP_(signal_)HEADERS. Never logged. */
  headers?: Record<string, string> | undefined;
  /** Export timeout; undefined: OTEL_EXPORTER_OTLP_(signal_)TIMEOUT, else 10000. */
  timeoutMillis?: number | undefined;
}

/**
 * The gRPC endpoint of a signal: the explicit one, else OTEL_EXPORTER_OTLP_<signal>_ENDPOINT, else
 * OTEL_EXPORTER_OTLP_ENDPOINT, else http://localhost:4317. Unlike OTLP/HTTP nothing is appended: gRPC names the
 * service in the call, not in the URL.
 */
export function grpcEndpoint(env: Env, signal: Signal, explicit?: string): string {
  if (explicit !== undefined) return explicit;
  for (const name of [`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`, 'OTEL_EXPORTER_OTLP_ENDPOINT']) {
    const value = readEnv(env, name);
    if (value === undefined) continue;
    // The gRPC exporter would otherwise warn and guess: http(s)://host:port, host:port or unix: only.
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
    if (scheme !== undefined && scheme !== 'http' && scheme !== 'https' && scheme !== 'unix') {
      throw new RangeError(`${name} must be http://host:port, https://host:port or host:port for OTLP/gRPC, got a ${scheme}:// URL`);
    }
    return value;
  }
  return DEFAULT_OTLP_GRPC_ENDPOINT;
}

/**
 * Whether the exporter will speak plaintext or TLS to `endpoint`, by the rule the OpenTelemetry gRPC exporter
 * applies: `http://` plaintext, `https://` TLS (with OTEL_EXPORTER_OTLP_(signal_)CERTIFICATE / CLIENT_KEY /
 * CLIENT_CERTIFICATE when set); without a scheme, OTEL_EXPORTER_OTLP_<signal>_INSECURE, else
 * OTEL_EXPORTER_OTLP_INSECURE, `true` meaning plaintext.
 */
export function grpcTransport(env: Env, signal: Signal, endpoint: string): 'plaintext' | 'tls' {
  const trimmed = endpoint.trim();
  if (/^http:\/\//i.test(trimmed)) return 'plaintext';
  if (/^https:\/\//i.test(trimmed)) return 'tls';
  const insecure = readEnv(env, `OTEL_EXPORTER_OTLP_${signal}_INSECURE`) ?? readEnv(env, 'OTEL_EXPORTER_OTLP_INSECURE');
  return insecure?.toLowerCase() === 'true' ? 'plaintext' : 'tls';
}

/**
 * The endpoint as it will be used, safe to print: the scheme says the transport (`http://` plaintext, `https://`
 * TLS), then host and port; credentials, path, query and fragment are dropped (gRPC ignores the path).
 */
export function grpcDisplayUrl(env: Env, signal: Signal, endpoint: string): string {
  const trimmed = endpoint.trim();
  const scheme = grpcTransport(env, signal, trimmed) === 'plaintext' ? 'http' : 'https';
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed);
  if (/^unix:/i.test(trimmed)) return trimmed.split(/[?#]/)[0]!;
  if (hasScheme && !/^https?:\/\//i.test(trimmed)) return '(invalid URL)';
  const rest = hasScheme ? trimmed.slice(trimmed.indexOf('://') + 3) : trimmed;
  // Everything up to the last `@` is credentials, even when it holds `/`, `?` or `#`.
  const authority = rest.slice(rest.lastIndexOf('@') + 1);
  try {
    return `${scheme}://${new URL(`${scheme}://${authority}`).host}`;
  } catch {
    return '(invalid URL)';
  }
}

/** What OTLP over gRPC needs: optional peer dependencies (they bring `@grpc/grpc-js`). */
const GRPC_PACKAGES = ['@opentelemetry/exporter-metrics-otlp-grpc', '@opentelemetry/exporter-logs-otlp-grpc', '@opentelemetry/otlp-grpc-exporter-base'] as const;
const GRPC_PURPOSE = 'OTLP over gRPC (protocol grpc)';

// Loaded once, on first use; the promises are shared so concurrent starts load each module once.
let metricModule: Promise<typeof import('@opentelemetry/exporter-metrics-otlp-grpc')> | undefined;
let logModule: Promise<typeof import('@opentelemetry/exporter-logs-otlp-grpc')> | undefined;
let baseModule: Promise<typeof import('@opentelemetry/otlp-grpc-exporter-base')> | undefined;

/** The headers as gRPC metadata. @throws TypeError naming the bad header key (never its value). */
async function metadataOf(headers: Record<string, string> | undefined) {
  if (headers === undefined) return undefined;
  baseModule ??= importOptional(() => import('@opentelemetry/otlp-grpc-exporter-base'), GRPC_PACKAGES, GRPC_PURPOSE);
  const metadata = (await baseModule).createEmptyMetadata();
  for (const [key, value] of Object.entries(headers)) {
    try {
      metadata.set(key.toLowerCase(), value);
    } catch {
      throw new TypeError(`otlp.headers: ${JSON.stringify(key)} cannot be sent as gRPC metadata (keys: lowercase letters, digits, "-", "_", "."; values: printable ASCII)`);
    }
  }
  return metadata;
}

/** An OTLP/gRPC metric exporter (OpenTelemetry's `@opentelemetry/exporter-metrics-otlp-grpc`). */
export async function createGrpcMetricExporter(options: GrpcExporterOptions): Promise<PushMetricExporter> {
  metricModule ??= importOptional(() => import('@opentelemetry/exporter-metrics-otlp-grpc'), GRPC_PACKAGES, GRPC_PURPOSE);
  const [{ OTLPMetricExporter }, metadata] = await Promise.all([metricModule, metadataOf(options.headers)]);
  return new OTLPMetricExporter({ url: options.url, metadata, timeoutMillis: options.timeoutMillis });
}

/** An OTLP/gRPC log exporter (OpenTelemetry's `@opentelemetry/exporter-logs-otlp-grpc`). */
export async function createGrpcLogExporter(options: GrpcExporterOptions): Promise<LogRecordExporter> {
  logModule ??= importOptional(() => import('@opentelemetry/exporter-logs-otlp-grpc'), GRPC_PACKAGES, GRPC_PURPOSE);
  const [{ OTLPLogExporter }, metadata] = await Promise.all([logModule, metadataOf(options.headers)]);
  return new OTLPLogExporter({ url: options.url, metadata, timeoutMillis: options.timeoutMillis });
}
