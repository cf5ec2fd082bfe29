/**
 * The one check of an OTLP endpoint, whichever way it is given (startTelemetry's `otlp.endpoint`, replag's
 * `--otlp-endpoint` and `export.otlp.endpoint`, the OTEL_EXPORTER_OTLP_(signal_)ENDPOINT variables): an
 * http:// or https:// URL for every protocol; for grpc also `host:port` without a scheme (TLS unless
 * OTEL_EXPORTER_OTLP_INSECURE=true) and `unix:` sockets. A scheme-less endpoint can never work over OTLP/HTTP.
 * @internal
 */
import type { OtlpProtocol } from './env.ts';

/** A host (name, IPv4, or IPv6 in brackets) and a port. */
const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):\d{1,5}$/;

/** What is wrong with `endpoint` for `protocol` (what is expected, without the value), or undefined when it can work. */
export function otlpEndpointProblem(endpoint: string, protocol: OtlpProtocol): string | undefined {
  const trimmed = endpoint.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(trimmed)?.[1]?.toLowerCase();
  const url = 'an http:// or https:// URL such as http://collector:4318';
  if (scheme === 'http' || scheme === 'https') {
    try {
      const u = new URL(trimmed);
      return u.hostname === '' ? `expected ${url}` : undefined;
    } catch {
      return `expected ${url}`;
    }
  }
  if (protocol === 'grpc') {
    if (/^unix:/i.test(trimmed) || (scheme === undefined && HOST_PORT.test(trimmed.replace(/^[^@]*@/, '')))) return undefined;
    return 'expected an http:// or https:// URL, host:port (TLS) or a unix: socket for grpc, such as http://collector:4317';
  }
  if (scheme === undefined) return `expected ${url} for ${protocol} (host:port without a scheme works only with grpc)`;
  return `expected ${url} for ${protocol}`;
}
