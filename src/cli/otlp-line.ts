/** replag's startup line saying where OTLP goes (or that it does not), shared by the flags and --config modes. */
import type { Telemetry } from '../sdk/index.ts';

/** One line, without a trailing newline; `hint` names how to configure an endpoint. */
export function otlpStartupLine(otlp: Telemetry['otlp'], hint: string): string {
  if (otlp === undefined) return `replag: no OTLP endpoint configured (set OTEL_EXPORTER_OTLP_ENDPOINT or ${hint}); running locally without export`;
  const where =
    otlp.metricsProtocol === otlp.logsProtocol
      ? `(${otlp.metricsProtocol}) metrics to ${otlp.metricsUrl} and alert events to ${otlp.logsUrl}`
      : `metrics (${otlp.metricsProtocol}) to ${otlp.metricsUrl} and alert events (${otlp.logsProtocol}) to ${otlp.logsUrl}`;
  return `replag: exporting OTLP ${where}`;
}
