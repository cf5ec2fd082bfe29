/**
 * Exported totals add up: whatever the endpoint does (slow, refusing, hanging) the last export's cumulative
 * `replication.alerts` and `otel.sdk.processor.log.processed` equal what `alertDelivery()` counts, over OTLP/HTTP
 * and OTLP/gRPC (real receivers). Collections that wait behind a slow export and are replaced by newer ones fold
 * their increments into them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { diag } from '@opentelemetry/api';
import { startTelemetry, type Telemetry } from '../../src/sdk/index.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedPoint } from '../harness/otlp-receiver.ts';
import { startOtlpGrpcReceiver, type OtlpGrpcReceiver } from '../harness/otlp-grpc-receiver.ts';

type Fault = { mode: 'slow'; delayMs: number } | { mode: 'refuse' } | { mode: 'hang' };
const FAULTS: readonly { name: string; fault: Fault }[] = [
  { name: 'slow endpoint (answers in 3 s, export every 1 s)', fault: { mode: 'slow', delayMs: 3000 } },
  { name: 'refusing outage', fault: { mode: 'refuse' } },
  { name: 'hanging outage', fault: { mode: 'hang' } },
];

/** Alerts at a steady pace (cooldown 0: each update toggles a node between critical and normal) for `ms`. */
async function alertStream(t: Telemetry, ms: number): Promise<void> {
  const end = Date.now() + ms;
  let i = 0;
  while (Date.now() < end) {
    for (let k = 0; k < 20; k++, i++) {
      const id = `db-${i % 10}`;
      if (Math.floor(i / 10) % 2 === 0) t.monitor.updateLag(id, 500, 400, 45);
      else t.monitor.updateLag(id, 500, 500, 0);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Receiver {
  points(metric?: string): ReceivedPoint[];
  readonly requests: readonly { signal: string }[];
  setFault(fault: Fault | { mode: 'none' }): Promise<void>;
  waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs?: number): Promise<T>;
}

/** The values of the last metric export: replication.alerts summed, processed summed by error.type ('' = delivered). */
function lastExport(receiver: Receiver): { alerts: number; processed: Map<string, number>; temporalities: Set<string | undefined> } {
  let last = -1;
  receiver.requests.forEach((r, i) => {
    if (r.signal === 'metrics') last = i;
  });
  const points = receiver.points().filter((p) => p.request === last);
  const alerts = points.filter((p) => p.metric === 'replication.alerts');
  const processed = new Map<string, number>();
  for (const p of points.filter((x) => x.metric === 'otel.sdk.processor.log.processed')) {
    const key = String(p.attributes['error.type'] ?? '');
    processed.set(key, (processed.get(key) ?? 0) + p.value);
  }
  return {
    alerts: alerts.reduce((s, p) => s + p.value, 0),
    processed,
    temporalities: new Set([...alerts, ...points.filter((x) => x.metric === 'otel.sdk.processor.log.processed')].map((p) => p.temporality)),
  };
}

for (const protocol of ['http/protobuf', 'grpc'] as const) {
  describe(`exported totals add up over ${protocol}`, () => {
    let receiver: Receiver & { url: string; close(): Promise<void> };
    before(async () => {
      receiver = protocol === 'grpc' ? ((await startOtlpGrpcReceiver()) as OtlpGrpcReceiver as never) : ((await startOtlpReceiver()) as OtlpReceiver as never);
    });
    after(async () => {
      await receiver.close();
    });

    for (const { name, fault } of FAULTS) {
      it(`${name}, then fast: the last export's replication.alerts and processed equal alertDelivery()`, { timeout: 60_000 }, async () => {
        diag.disable();
        const t = await startTelemetry({
          otlp: { endpoint: receiver.url, protocol, timeoutMillis: fault.mode === 'slow' ? 10_000 : 2000 },
          metricExportIntervalMillis: 1000,
          instrumentation: { alertCooldownSeconds: 0 },
          shutdownTimeoutMillis: 20_000,
        });
        try {
          await alertStream(t, 500);
          await receiver.setFault(fault);
          await alertStream(t, 5000);
          await receiver.setFault({ mode: 'none' });
          await alertStream(t, 1500);
        } finally {
          await t.shutdown();
        }
        const delivery = t.alertDelivery()!;
        assert.equal(delivery.pending, 0);
        assert.ok(delivery.emitted > 1000, `a steady stream: ${delivery.emitted} alerts`);
        const last = lastExport(receiver);
        assert.deepEqual([...last.temporalities], ['cumulative']);
        assert.equal(last.alerts, delivery.emitted, 'replication.alerts = emitted');
        assert.equal(last.processed.get('') ?? 0, delivery.delivered, 'processed without error.type = delivered');
        let lost = 0;
        for (const [reason, n] of last.processed) if (reason !== '') lost += n;
        assert.equal(lost, delivery.lost, `processed with error.type = lost (${JSON.stringify(delivery.lostBy)})`);
        assert.equal(delivery.delivered + delivery.lost, delivery.emitted);
      });
    }
  });
}
