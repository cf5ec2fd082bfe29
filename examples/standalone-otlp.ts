// Standalone: no OpenTelemetry setup of your own; startTelemetry exports over OTLP/HTTP.
// Run: OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 npm run example:standalone   (without it: runs locally, says so)
import { startTelemetry } from 'otel-replication-lag/sdk';

const telemetry = await startTelemetry({
  serviceName: 'replication-watcher',
  instrumentation: { warningThresholdSeconds: 2, criticalThresholdSeconds: 10 },
  metricExportIntervalMillis: 1000,
});
console.log(telemetry.otlp ? `exporting to ${telemetry.otlp.metricsUrl}` : 'no OTLP endpoint configured (set OTEL_EXPORTER_OTLP_ENDPOINT): running locally without export');

const { monitor } = telemetry;
monitor.registerNode('replica-1', { 'server.address': '10.0.0.11', 'replication.system': 'raft' });
monitor.registerNode('replica-2', { 'server.address': '10.0.0.12', 'replication.system': 'raft' });
monitor.onAlert((alert) => console.log(`alert: ${alert.message}`));
monitor.updateLag('replica-1', 1200, 1100, 0.4);
monitor.updateLag('replica-2', 1200, 200, 12); // critical
await new Promise((resolve) => setTimeout(resolve, 1500));
await telemetry.shutdown(); // flushes metrics and pending alert events
console.log('done');
