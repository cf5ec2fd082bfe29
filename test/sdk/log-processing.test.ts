import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createServer } from 'node:net';
import { startTelemetry } from '../../src/sdk/index.ts';
import { alertQueueSettings, DEFAULT_ALERT_QUEUE } from '../../src/sdk/log-processing.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../harness/otlp-receiver.ts';

describe('alert queue settings (alertQueue option, OTEL_BLRP_* variables)', () => {
  it('defaults to a queue that holds an alert storm: 65,536 records, batches of 2,048, 1 s delay, 30 s timeout', () => {
    assert.deepEqual(alertQueueSettings({}, undefined, 60_000), { maxQueueSize: 65_536, maxExportBatchSize: 2048, scheduledDelayMillis: 1000, exportTimeoutMillis: 30_000 });
    assert.deepEqual({ ...DEFAULT_ALERT_QUEUE }, alertQueueSettings({}, {}, 60_000));
  });

  it('caps the default schedule delay at the metric export interval', () => {
    assert.equal(alertQueueSettings({}, undefined, 250).scheduledDelayMillis, 250);
    assert.equal(alertQueueSettings({ OTEL_BLRP_SCHEDULE_DELAY: '5000' }, undefined, 250).scheduledDelayMillis, 5000);
  });

  it('reads the four OTEL_BLRP_* variables', () => {
    const env = { OTEL_BLRP_MAX_QUEUE_SIZE: '1000', OTEL_BLRP_SCHEDULE_DELAY: ' 0 ', OTEL_BLRP_EXPORT_TIMEOUT: '2500', OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: '100' };
    assert.deepEqual(alertQueueSettings(env, undefined, 60_000), { maxQueueSize: 1000, scheduledDelayMillis: 0, exportTimeoutMillis: 2500, maxExportBatchSize: 100 });
  });

  it('lets each option beat its variable, field by field', () => {
    const env = { OTEL_BLRP_MAX_QUEUE_SIZE: '1000', OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: '100' };
    assert.deepEqual(alertQueueSettings(env, { maxQueueSize: 5000, exportTimeoutMillis: 700 }, 60_000), {
      maxQueueSize: 5000,
      scheduledDelayMillis: 1000,
      exportTimeoutMillis: 700,
      maxExportBatchSize: 100,
    });
  });

  it('treats empty variables as unset', () => {
    assert.deepEqual(alertQueueSettings({ OTEL_BLRP_MAX_QUEUE_SIZE: '', OTEL_BLRP_EXPORT_TIMEOUT: '  ' }, undefined, 60_000), { ...DEFAULT_ALERT_QUEUE });
  });

  it('lets the default batch size follow a smaller queue', () => {
    assert.deepEqual(alertQueueSettings({ OTEL_BLRP_MAX_QUEUE_SIZE: '100' }, undefined, 60_000).maxExportBatchSize, 100);
    assert.deepEqual(alertQueueSettings({}, { maxQueueSize: 10 }, 60_000).maxExportBatchSize, 10);
  });

  it('refuses bad variables, naming the variable and the value', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ OTEL_BLRP_MAX_QUEUE_SIZE: 'lots' }, /OTEL_BLRP_MAX_QUEUE_SIZE must be an integer in \[1, 2147483647\], got "lots"/],
      [{ OTEL_BLRP_MAX_QUEUE_SIZE: '0' }, /OTEL_BLRP_MAX_QUEUE_SIZE .*got "0"/],
      [{ OTEL_BLRP_MAX_QUEUE_SIZE: '-5' }, /OTEL_BLRP_MAX_QUEUE_SIZE .*got "-5"/],
      [{ OTEL_BLRP_SCHEDULE_DELAY: '1.5' }, /OTEL_BLRP_SCHEDULE_DELAY must be an integer in \[0, /],
      [{ OTEL_BLRP_EXPORT_TIMEOUT: '0' }, /OTEL_BLRP_EXPORT_TIMEOUT .*got "0"/],
      [{ OTEL_BLRP_EXPORT_TIMEOUT: '1e3' }, /OTEL_BLRP_EXPORT_TIMEOUT .*got "1e3"/],
      [{ OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: '99999999999' }, /OTEL_BLRP_MAX_EXPORT_BATCH_SIZE .*got "99999999999"/],
      [{ OTEL_BLRP_MAX_QUEUE_SIZE: '100', OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: '200' }, /OTEL_BLRP_MAX_EXPORT_BATCH_SIZE \(200\) must not exceed OTEL_BLRP_MAX_QUEUE_SIZE \(100\)/],
      [{ OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: '70000' }, /OTEL_BLRP_MAX_EXPORT_BATCH_SIZE \(70000\) must not exceed the default queue size \(65536\)/],
    ];
    for (const [env, message] of cases) assert.throws(() => alertQueueSettings(env, undefined, 60_000), (e: unknown) => e instanceof RangeError && message.test(e.message), JSON.stringify(env));
  });

  it('refuses bad options, naming the option and the value', () => {
    const cases: [object, RegExp][] = [
      [{ maxQueueSize: 0 }, /alertQueue\.maxQueueSize must be an integer in \[1, 2147483647\], got 0/],
      [{ maxQueueSize: 1.5 }, /alertQueue\.maxQueueSize .*got 1\.5/],
      [{ scheduledDelayMillis: -1 }, /alertQueue\.scheduledDelayMillis .*got -1/],
      [{ exportTimeoutMillis: Number.NaN }, /alertQueue\.exportTimeoutMillis .*got null/],
      [{ maxExportBatchSize: '512' }, /alertQueue\.maxExportBatchSize .*got "512"/],
      [{ maxQueueSize: 10, maxExportBatchSize: 20 }, /alertQueue\.maxExportBatchSize \(20\) must not exceed alertQueue\.maxQueueSize \(10\)/],
    ];
    for (const [options, message] of cases) assert.throws(() => alertQueueSettings({}, options, 60_000), (e: unknown) => e instanceof RangeError && message.test(e.message), JSON.stringify(options));
    assert.throws(() => alertQueueSettings({}, 5 as never, 60_000), /alertQueue must be an object/);
  });
});

describe('startTelemetry with alert queue settings', () => {
  let receiver: OtlpReceiver;
  const saved = { ...process.env };
  before(async () => {
    receiver = await startOtlpReceiver();
  });
  after(async () => {
    process.env = saved;
    await receiver.close();
  });

  it('refuses a bad variable or option before starting anything (the Prometheus port stays free)', async () => {
    const port = await freePort();
    process.env.OTEL_BLRP_MAX_QUEUE_SIZE = 'many';
    try {
      await assert.rejects(startTelemetry({ otlp: { endpoint: receiver.url }, prometheus: { port, host: '127.0.0.1' } }), /OTEL_BLRP_MAX_QUEUE_SIZE must be an integer/);
    } finally {
      delete process.env.OTEL_BLRP_MAX_QUEUE_SIZE;
    }
    await assert.rejects(startTelemetry({ otlp: { endpoint: receiver.url }, prometheus: { port, host: '127.0.0.1' }, alertQueue: { exportTimeoutMillis: 0 } }), /alertQueue\.exportTimeoutMillis/);
    await assertPortFree(port);
    assert.equal(receiver.requests.length, 0);
  });

  it('hands the variables to the SDK processor: capacity exported, the queue holds exactly that many', async () => {
    const start = receiver.requests.length;
    await receiver.setFault({ mode: 'hang' });
    process.env.OTEL_BLRP_MAX_QUEUE_SIZE = '40';
    process.env.OTEL_BLRP_MAX_EXPORT_BATCH_SIZE = '10';
    process.env.OTEL_BLRP_SCHEDULE_DELAY = '60000';
    let t;
    try {
      t = await startTelemetry({ otlp: { endpoint: receiver.url, timeoutMillis: 300 }, metricExportIntervalMillis: 60_000, instrumentation: { alertCooldownSeconds: 0 } });
    } finally {
      delete process.env.OTEL_BLRP_MAX_QUEUE_SIZE;
      delete process.env.OTEL_BLRP_MAX_EXPORT_BATCH_SIZE;
      delete process.env.OTEL_BLRP_SCHEDULE_DELAY;
    }
    // 60 alerts into a queue of 40 while the endpoint hangs: the first batch of 10 goes out (and hangs), the next
    // 40 fill the queue, the last 10 are dropped as queue_full.
    for (let i = 0; i < 30; i++) {
      t.monitor.updateLag('db-1', 500, 400, 45);
      t.monitor.updateLag('db-1', 500, 500, 0);
    }
    const during = t.alertDelivery()!;
    assert.equal(during.emitted, 60);
    assert.equal(during.lostBy.queue_full, 10);
    await receiver.setFault({ mode: 'none' });
    await t.shutdown();
    const final = t.alertDelivery()!;
    assert.equal(final.pending, 0);
    assert.equal(final.delivered + final.lost, 60);
    const capacity = receiver.points('otel.sdk.processor.log.queue.capacity').filter((p) => p.request >= start);
    assert.equal(capacity.at(-1)?.value, 40);
  });
});

async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20_500 + Math.floor(Math.random() * 500);
    try {
      await assertPortFree(port);
      return port;
    } catch {
      // taken: try another
    }
  }
  throw new Error('no free port in 20500-20999');
}

function assertPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}
