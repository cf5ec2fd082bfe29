/**
 * OTLP/gRPC is as robust as OTLP/HTTP: retryable status codes (UNAVAILABLE…) are retried with backoff within the
 * export timeout, and failure causes are stable across attempts and readable. Against a real gRPC receiver.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { describeGrpcError } from '../../src/sdk/grpc.ts';
import { startTelemetry } from '../../src/sdk/index.ts';
import { startOtlpGrpcReceiver } from '../harness/otlp-grpc-receiver.ts';

function captureDiag(): string[] {
  const lines: string[] = [];
  const push = (message: string, ...args: unknown[]) => lines.push([message, ...args.map(String)].join(' '));
  diag.setLogger({ error: push, warn: push, info: () => {}, debug: () => {}, verbose: () => {} }, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  return lines;
}

describe('OTLP/gRPC retries like OTLP/HTTP', () => {
  afterEach(() => diag.disable());

  it('an endpoint refusing for 3 s then accepting: every alert event delivered; one failure line and one recovery line', { timeout: 60_000 }, async () => {
    const receiver = await startOtlpGrpcReceiver();
    const lines = captureDiag();
    const t = await startTelemetry({
      otlp: { endpoint: receiver.url, protocol: 'grpc', timeoutMillis: 10_000 },
      metricExportIntervalMillis: 60_000,
      instrumentation: { alertCooldownSeconds: 0 },
      alertQueue: { scheduledDelayMillis: 200 },
    });
    try {
      await receiver.setFault({ mode: 'refuse' });
      for (let i = 0; i < 2000; i++) {
        const id = `db-${i % 10}`;
        if (Math.floor(i / 10) % 2 === 0) t.monitor.updateLag(id, 500, 400, 45);
        else t.monitor.updateLag(id, 500, 500, 0);
      }
      await new Promise((r) => setTimeout(r, 3000));
      await receiver.setFault({ mode: 'none' });
      await receiver.waitFor('every alert event', () => receiver.logRecords().length >= 2000, 30_000);
    } finally {
      await t.shutdown();
      await receiver.close();
    }
    const delivery = t.alertDelivery()!;
    assert.deepEqual({ emitted: delivery.emitted, delivered: delivery.delivered, lost: delivery.lost }, { emitted: 2000, delivered: 2000, lost: 0 });
    assert.equal(receiver.logRecords().length, 2000);
    const failures = lines.filter((l) => /logs export failed/.test(l));
    const recoveries = lines.filter((l) => /logs export succeeded again/.test(l));
    assert.equal(failures.length, 1, lines.join('\n'));
    assert.match(failures[0]!, /: connection refused \(gRPC UNAVAILABLE\)( \(retrying\))?$/);
    assert.equal(recoveries.length, 1, lines.join('\n'));
    assert.ok(lines.every((l) => !/Resolution note|Last error|\n/.test(l)), lines.join('\n'));
  });

  it('a hanging endpoint is reported once with a stable cause (no timings)', { timeout: 60_000 }, async () => {
    const receiver = await startOtlpGrpcReceiver();
    const lines = captureDiag();
    const t = await startTelemetry({ otlp: { endpoint: receiver.url, protocol: 'grpc', timeoutMillis: 500 }, metricExportIntervalMillis: 300 });
    try {
      await receiver.setFault({ mode: 'hang' });
      t.monitor.updateLag('a', 100, 50, 1);
      await new Promise((r) => setTimeout(r, 3000));
    } finally {
      await receiver.setFault({ mode: 'none' });
      await t.shutdown({ timeoutMillis: 1000 });
      await receiver.close();
    }
    const failures = lines.filter((l) => /metrics export failed/.test(l));
    assert.equal(failures.length, 1, lines.join('\n'));
    assert.match(failures[0]!, /: deadline exceeded \(gRPC DEADLINE_EXCEEDED\)$/);
  });

  it('names gRPC causes readably and the same at every attempt', () => {
    const refused = { code: 14, details: 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:4317 (2025-01-01T00:00:00.000Z). Resolution note: ' };
    assert.equal(describeGrpcError(refused).text, 'connection refused (gRPC UNAVAILABLE)');
    const deadline = (s: string) => ({ code: 4, details: `Deadline exceeded after ${s}s,LB pick: 0.001s,remote_addr=127.0.0.1:4317` });
    assert.equal(describeGrpcError(deadline('10.002')).text, 'deadline exceeded (gRPC DEADLINE_EXCEEDED)');
    assert.equal(describeGrpcError(deadline('10.002')).text, describeGrpcError(deadline('10.517')).text);
    assert.equal(describeGrpcError({ code: 14, details: 'Connection dropped' }).text, 'unavailable (gRPC UNAVAILABLE)');
    assert.equal(describeGrpcError({ code: 16, details: 'bad token' }).text, 'gRPC UNAUTHENTICATED: bad token');
  });
});
