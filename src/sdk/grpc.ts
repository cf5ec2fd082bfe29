/**
 * OTLP over gRPC: where it goes, as the OTLP exporter spec says, and the OpenTelemetry gRPC exporters, loaded
 * with a dynamic import on first use only, so the http/protobuf and http/json paths never load `@grpc/grpc-js`.
 * @internal
 */
import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { importOptional } from '../optional-dependency.ts';
import { readEnv } from './env.ts';
import { otlpExportTimeoutMillis } from './export-health.ts';

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
  /** Called with the error of each failed attempt that is retried. Must not throw. */
  onRetry?: ((error: unknown) => void) | undefined;
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
  const exporter = new OTLPMetricExporter({ url: options.url, metadata, timeoutMillis: options.timeoutMillis });
  return withGrpcRetry(exporter, otlpExportTimeoutMillis(process.env, 'METRICS', options.timeoutMillis), options.onRetry);
}

/** An OTLP/gRPC log exporter (OpenTelemetry's `@opentelemetry/exporter-logs-otlp-grpc`). */
export async function createGrpcLogExporter(options: GrpcExporterOptions): Promise<LogRecordExporter> {
  logModule ??= importOptional(() => import('@opentelemetry/exporter-logs-otlp-grpc'), GRPC_PACKAGES, GRPC_PURPOSE);
  const [{ OTLPLogExporter }, metadata] = await Promise.all([logModule, metadataOf(options.headers)]);
  const exporter = new OTLPLogExporter({ url: options.url, metadata, timeoutMillis: options.timeoutMillis });
  return withGrpcRetry(exporter, otlpExportTimeoutMillis(process.env, 'LOGS', options.timeoutMillis), options.onRetry);
}

/** gRPC status names by code (grpc-js `status`), to name causes without loading grpc-js. */
const GRPC_STATUS = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
] as const;

/** A gRPC call's error (grpc-js ServiceError): a status code and details. */
export interface GrpcError {
  code: number;
  details?: string;
  metadata?: { get(key: string): unknown[] };
}

/** Whether `error` is a gRPC call's error. */
export function isGrpcError(error: unknown): error is GrpcError {
  const e = error as { code?: unknown; details?: unknown; metadata?: unknown } | undefined;
  return typeof e === 'object' && e !== null && typeof e.code === 'number' && e.code >= 0 && e.code < GRPC_STATUS.length && (typeof e.details === 'string' || typeof e.metadata === 'object');
}

/** The status name of a gRPC code, e.g. `UNAVAILABLE`. */
export function grpcStatusName(code: number): string {
  return GRPC_STATUS[code] ?? `status ${code}`;
}

/**
 * A gRPC failure in one stable, readable line: the same cause gives the same text at every attempt (no timings,
 * no addresses of the moment): `connection refused`, `deadline exceeded`, `unavailable`, else `gRPC <STATUS>`.
 */
export function describeGrpcError(error: GrpcError): { kind: 'refused' | 'timeout' | 'network' | 'other'; text: string } {
  const name = grpcStatusName(error.code);
  const details = typeof error.details === 'string' ? error.details : '';
  if (error.code === 14 && /ECONNREFUSED|connection refused/i.test(details)) return { kind: 'refused', text: 'connection refused (gRPC UNAVAILABLE)' };
  if (error.code === 4) return { kind: 'timeout', text: 'deadline exceeded (gRPC DEADLINE_EXCEEDED)' };
  if (error.code === 14) return { kind: 'network', text: 'unavailable (gRPC UNAVAILABLE)' };
  // Details without numbers (timings, addresses, ports) so that a repeated cause reads the same.
  const stable = details.split(/[.\n]/)[0]!.replace(/[\d.:]+(ms|s)?/g, '').replace(/\s+/g, ' ').trim().slice(0, 120);
  return { kind: 'other', text: `gRPC ${name}${stable !== '' ? `: ${stable}` : ''}` };
}

/** Retryable gRPC status codes of the OTLP specification (RESOURCE_EXHAUSTED only when the server sent retry info). */
function retryable(error: unknown): boolean {
  if (!isGrpcError(error)) return false;
  switch (error.code) {
    case 1: // CANCELLED
    case 4: // DEADLINE_EXCEEDED
    case 10: // ABORTED
    case 11: // OUT_OF_RANGE
    case 14: // UNAVAILABLE
    case 15: // DATA_LOSS
      return true;
    case 8: // RESOURCE_EXHAUSTED
      return (error.metadata?.get('grpc-status-details-bin')?.length ?? 0) > 0;
    default:
      return false;
  }
}

/** Backoff of the OTLP/HTTP exporters' retrying transport: 1 s, ×1.5, at most 5 s, ±20 % jitter, 5 retries. */
const RETRY = { attempts: 5, initialMillis: 1000, multiplier: 1.5, maxMillis: 5000, jitter: 0.2 };

interface Exporter<T> {
  export(items: T, done: (result: { code: number; error?: Error }) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}

/**
 * Wraps a gRPC exporter so that retryable failures are retried with backoff within the export timeout, as the
 * OTLP/HTTP exporters do (the OpenTelemetry gRPC exporters make one attempt). After shutdown nothing is retried.
 */
export function withGrpcRetry<E extends Exporter<never>>(inner: E, timeoutMillis: number, onRetry?: (error: unknown) => void): E {
  let stopped = false;
  /** Pending retries: each one's timer and what ends it at once. */
  const pending = new Map<NodeJS.Timeout, () => void>();
  const exportWithRetry = (items: never, done: (result: { code: number; error?: Error }) => void) => {
    const deadline = Date.now() + timeoutMillis;
    let backoff = RETRY.initialMillis;
    let left = RETRY.attempts;
    const attempt = () => {
      inner.export(items, (result) => {
        if (result.code === 0 || stopped || left <= 0 || !retryable(result.error)) {
          done(result);
          return;
        }
        const wait = Math.min(backoff * (1 + (Math.random() * 2 - 1) * RETRY.jitter), RETRY.maxMillis);
        backoff *= RETRY.multiplier;
        left--;
        if (Date.now() + wait >= deadline) {
          done(result);
          return;
        }
        try {
          onRetry?.(result.error);
        } catch {
          // A reporter that throws must not break the export.
        }
        const timer = setTimeout(() => {
          pending.delete(timer);
          if (stopped) done(result);
          else attempt();
        }, wait);
        pending.set(timer, () => done(result));
      });
    };
    attempt();
  };
  const shutdown = async () => {
    stopped = true;
    // Retries waiting for their turn end now, with the failure they would have retried.
    for (const [timer, end] of pending) {
      clearTimeout(timer);
      end();
    }
    pending.clear();
    await inner.shutdown();
  };
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'export') return exportWithRetry;
      if (property === 'shutdown') return shutdown;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
