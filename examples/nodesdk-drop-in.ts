// Drop-in: an application that already runs the OpenTelemetry NodeSDK adds one instrumentation.
// Exporters come from the standard environment (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL, ...).
// Run: OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 npm run example:nodesdk   (without it: runs locally, says so)
import { NodeSDK } from '@opentelemetry/sdk-node';
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { ReplicationLagInstrumentation } from 'otel-replication-lag';
import { withDeltaGauges } from 'otel-replication-lag/sdk';

/** Without an OTLP endpoint the example says so and runs locally: no exporter for a signal that has nowhere to go. */
function exportersFromEnv(): boolean {
  const env = process.env;
  let any = false;
  for (const signal of ['TRACES', 'METRICS', 'LOGS']) {
    if (env.OTEL_EXPORTER_OTLP_ENDPOINT || env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`]) any = true;
    else env[`OTEL_${signal}_EXPORTER`] = 'none';
  }
  if (!any) console.log('no OTLP endpoint configured (set OTEL_EXPORTER_OTLP_ENDPOINT): running locally without export');
  return any;
}

const exporting = exportersFromEnv();
const lag = new ReplicationLagInstrumentation({ warningThresholdSeconds: 2, criticalThresholdSeconds: 10 });
const sdk = new NodeSDK({
  serviceName: 'raft-node-1',
  instrumentations: [lag], // ← the one line
  // Optional but recommended: delta gauges, so that removed replicas vanish from the next export, and the alert
  // counter kept cumulative for the replicas the monitor still has (see the README's "Operating notes").
  metricReaders: exporting && process.env.OTEL_METRICS_EXPORTER !== 'none'
    ? [new PeriodicExportingMetricReader({ exporter: withDeltaGauges(new OTLPMetricExporter(), { monitor: lag.monitor }), exportIntervalMillis: 1000 })]
    : [],
});
sdk.start();

// Your replication code reports positions; here, a follower that falls behind and catches up.
let leader = 0;
let follower = 0;
for (let step = 0; step < 6; step++) {
  leader += 1000;
  follower += step < 3 ? 100 : 1500;
  const s = lag.monitor.updateLag('replica-1', leader, Math.min(follower, leader), step < 3 ? 3 + 6 * step : 0);
  console.log(`replica-1 lag=${s.lagEntries} delay=${s.lagSeconds}s severity=${s.severity}`);
  await new Promise((resolve) => setTimeout(resolve, 250));
}
await sdk.shutdown().catch((error: Error) => console.error(`export failed: ${error.message}`)); // flushes metrics and alert events
console.log('done');
