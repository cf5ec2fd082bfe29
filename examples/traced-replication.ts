// Feeding the monitor from your own replication code inside a traced operation: the alert event is emitted
// in the active context, so the backend links it to the span (and, with spanEvents, it is on the span too).
// Run: OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 npm run example:traced   (without it: runs locally, says so)
import { NodeSDK } from '@opentelemetry/sdk-node';
import { trace } from '@opentelemetry/api';
import { ReplicationLagInstrumentation } from 'otel-replication-lag';

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

exportersFromEnv();
const lag = new ReplicationLagInstrumentation({ spanEvents: true });
const sdk = new NodeSDK({ serviceName: 'raft-leader', instrumentations: [lag] });
sdk.start();
const tracer = trace.getTracer('raft');

/** Your code: sends a batch to a follower, then reports where the follower is. */
async function replicateBatch(follower: string, leaderIndex: number, followerIndex: number, delaySeconds: number): Promise<void> {
  await tracer.startActiveSpan('raft.append_entries', async (span) => {
    span.setAttribute('replication.node.id', follower);
    lag.monitor.updateLag(follower, leaderIndex, followerIndex, delaySeconds); // alerts land in this span's context
    console.log(`trace_id=${span.spanContext().traceId} span_id=${span.spanContext().spanId}`);
    span.end();
  });
}

await replicateBatch('follower-2', 5000, 1000, 42); // critical: an alert event correlated with the span
await sdk.shutdown().catch((error: Error) => console.error(`export failed: ${error.message}`));
console.log('done');
