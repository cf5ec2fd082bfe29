/**
 * The receiver itself: if it decoded wrongly, every over-the-wire test would assert on garbage. These feed it
 * hand-built OTLP requests (metrics, logs, traces) in both encodings, gzip included, and check what comes out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { PROTOBUF_TYPES, startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.ts';

const metricsRequest = {
  resourceMetrics: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }, { key: 'process.pid', value: { intValue: '42' } }] },
      scopeMetrics: [
        {
          scope: { name: 'scope-a', version: '1.2.3' },
          metrics: [
            {
              name: 'g',
              unit: 's',
              gauge: { dataPoints: [{ attributes: [{ key: 'node', value: { stringValue: 'n1' } }, { key: 'ok', value: { boolValue: true } }], timeUnixNano: '1700000000000000000', asDouble: 1.5 }] },
            },
            {
              name: 'c',
              unit: '{alert}',
              sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ attributes: [], timeUnixNano: '1700000000000000000', asInt: '7' }] },
            },
          ],
        },
      ],
    },
  ],
};

const logsRequest = {
  resourceLogs: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
      scopeLogs: [
        {
          scope: { name: 'scope-a', version: '1.2.3' },
          logRecords: [
            {
              timeUnixNano: '1700000000000000000',
              severityNumber: 17,
              severityText: 'ERROR',
              eventName: 'replication.alert',
              body: { stringValue: 'boom' },
              attributes: [{ key: 'replication.lag', value: { intValue: '12' } }, { key: 'replication.delay', value: { doubleValue: 3.25 } }],
              traceId: '0af7651916cd43dd8448eb211c80319c',
              spanId: 'b7ad6b7169203331',
            },
          ],
        },
      ],
    },
  ],
};

const tracesRequest = {
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
      scopeSpans: [
        {
          scope: { name: 'raft' },
          spans: [
            {
              traceId: '0af7651916cd43dd8448eb211c80319c',
              spanId: 'b7ad6b7169203331',
              name: 'raft.append_entries',
              kind: 1,
              startTimeUnixNano: '1700000000000000000',
              endTimeUnixNano: '1700000000100000000',
              attributes: [{ key: 'replication.node.id', value: { stringValue: 'f2' } }],
              events: [{ timeUnixNano: '1700000000050000000', name: 'replication.alert', attributes: [{ key: 'replication.severity', value: { stringValue: 'critical' } }] }],
            },
          ],
        },
      ],
    },
  ],
};

function protobufBody(signal: 'metrics' | 'logs' | 'traces', json: object): Uint8Array {
  const type = PROTOBUF_TYPES[signal];
  // fromObject reads bytes fields from base64; OTLP JSON has trace ids in hex.
  const withBase64 = JSON.parse(JSON.stringify(json), (key, value: unknown) =>
    (key === 'traceId' || key === 'spanId') && typeof value === 'string' ? Buffer.from(value, 'hex').toString('base64') : value,
  ) as Record<string, unknown>;
  return type.encode(type.fromObject(withBase64)).finish();
}

async function post(url: string, contentType: string, body: Uint8Array | string, gzip = false): Promise<number> {
  const payload = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(gzip ? { 'content-encoding': 'gzip' } : {}) },
    body: gzip ? gzipSync(payload) : payload,
  });
  await res.arrayBuffer();
  return res.status;
}

describe('OTLP test receiver', () => {
  let receiver: OtlpReceiver;
  before(async () => {
    receiver = await startOtlpReceiver();
  });
  after(async () => {
    await receiver.close();
  });

  it('listens on 127.0.0.1 below 32768', () => {
    const url = new URL(receiver.url);
    assert.equal(url.hostname, '127.0.0.1');
    assert.ok(Number(url.port) > 0 && Number(url.port) < 32768, url.port);
  });

  for (const [encoding, gzip] of [['protobuf', false], ['protobuf', true], ['json', false], ['json', true]] as const) {
    it(`decodes metrics and logs sent as ${encoding}${gzip ? ' (gzip)' : ''} to the same normalised form`, async () => {
      const before = receiver.requests.length;
      const type = encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json';
      const m = encoding === 'protobuf' ? protobufBody('metrics', metricsRequest) : JSON.stringify(metricsRequest);
      const l = encoding === 'protobuf' ? protobufBody('logs', logsRequest) : JSON.stringify(logsRequest);
      assert.equal(await post(`${receiver.url}/v1/metrics`, type, m, gzip), 200);
      assert.equal(await post(`${receiver.url}/v1/logs`, type, l, gzip), 200);

      const points = receiver.points().filter((p) => p.request >= before);
      assert.deepEqual(
        points.map((p) => ({ metric: p.metric, unit: p.unit, kind: p.kind, temporality: p.temporality, monotonic: p.monotonic, value: p.value, attributes: p.attributes })),
        [
          { metric: 'g', unit: 's', kind: 'gauge', temporality: undefined, monotonic: undefined, value: 1.5, attributes: { node: 'n1', ok: true } },
          { metric: 'c', unit: '{alert}', kind: 'sum', temporality: 'cumulative', monotonic: true, value: 7, attributes: {} },
        ],
      );
      assert.deepEqual(points[0]?.resource, { 'service.name': 'svc', 'process.pid': 42 });
      assert.deepEqual(points[0]?.scope, { name: 'scope-a', version: '1.2.3' });
      assert.equal(points[0]?.timeUnixNano, '1700000000000000000');
      assert.equal(points[0]?.encoding, encoding);

      const records = receiver.logRecords().filter((r) => r.request >= before);
      assert.equal(records.length, 1);
      assert.deepEqual(
        { ...records[0], resource: undefined, scope: undefined, request: undefined },
        {
          eventName: 'replication.alert',
          severityNumber: 17,
          severityText: 'ERROR',
          body: 'boom',
          attributes: { 'replication.lag': 12, 'replication.delay': 3.25 },
          traceId: '0af7651916cd43dd8448eb211c80319c',
          spanId: 'b7ad6b7169203331',
          timeUnixNano: '1700000000000000000',
          encoding,
          resource: undefined,
          scope: undefined,
          request: undefined,
        },
      );
      assert.equal(receiver.requests.at(-1)?.gzip, gzip);

      const t = encoding === 'protobuf' ? protobufBody('traces', tracesRequest) : JSON.stringify(tracesRequest);
      assert.equal(await post(`${receiver.url}/v1/traces`, type, t, gzip), 200);
      const spans = receiver.spans().filter((sp) => sp.request >= before);
      assert.deepEqual(
        spans.map((sp) => ({ ...sp, resource: undefined, request: undefined })),
        [
          {
            name: 'raft.append_entries',
            traceId: '0af7651916cd43dd8448eb211c80319c',
            spanId: 'b7ad6b7169203331',
            attributes: { 'replication.node.id': 'f2' },
            events: [{ name: 'replication.alert', attributes: { 'replication.severity': 'critical' } }],
            resource: undefined,
            request: undefined,
          },
        ],
      );
    });
  }

  it('rejects what it cannot decode with 400 and records why; unknown paths get 404', async () => {
    const rejectedBefore = receiver.rejected.length;
    assert.equal(await post(`${receiver.url}/v1/metrics`, 'text/plain', 'hello'), 400);
    assert.equal(await post(`${receiver.url}/v1/logs`, 'application/json', '{not json'), 400);
    assert.equal(await post(`${receiver.url}/v1/logs`, 'application/x-protobuf', new Uint8Array([0x0a, 0xff, 0xff])), 400);
    assert.equal(await post(`${receiver.url}/v2/metrics`, 'application/json', '{}'), 404);
    assert.equal(receiver.rejected.length, rejectedBefore + 3);
    assert.match(receiver.rejected[rejectedBefore]?.reason ?? '', /content-type/);
  });

  it('fails the next requests on demand, then accepts again', async () => {
    receiver.failNext(2, 503);
    assert.equal(await post(`${receiver.url}/v1/metrics`, 'application/json', '{}'), 503);
    assert.equal(await post(`${receiver.url}/v1/metrics`, 'application/json', '{}'), 503);
    assert.equal(await post(`${receiver.url}/v1/metrics`, 'application/json', '{}'), 200);
  });

  it('injects faults switchable at runtime: refuse, status with Retry-After, hang, slow, then recovers', async () => {
    const url = `${receiver.url}/v1/logs`;
    const before = receiver.attempts('logs');
    try {
      await receiver.setFault({ mode: 'refuse' });
      const { port } = new URL(receiver.url);
      const refused = await new Promise<string | undefined>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1');
        socket.once('connect', () => (socket.destroy(), resolve(undefined)));
        socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code));
      });
      assert.equal(refused, 'ECONNREFUSED');
      assert.equal(receiver.attempts('logs'), before, 'a refused connection never reaches the receiver');

      await receiver.setFault({ mode: 'status', status: 503, retryAfterSeconds: 7 });
      const unavailable = await fetch(url, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      assert.equal(unavailable.status, 503);
      assert.equal(unavailable.headers.get('retry-after'), '7');
      await receiver.setFault({ mode: 'status', status: 429 });
      const limited = await fetch(url, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), null);

      await receiver.setFault({ mode: 'hang' });
      await assert.rejects(fetch(url, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(300) }), /TimeoutError|aborted/);

      await receiver.setFault({ mode: 'slow', delayMs: 300 });
      const started = Date.now();
      assert.equal(await post(url, 'application/json', '{}'), 200);
      assert.ok(Date.now() - started >= 250, 'a slow answer comes after its delay');
      assert.equal(receiver.attempts('logs'), before + 4);
    } finally {
      await receiver.setFault({ mode: 'none' });
    }
    assert.equal(await post(url, 'application/json', '{}'), 200);
  });

  it('waitFor resolves with the first truthy value and times out naming what it waited for', async () => {
    let n = 0;
    assert.equal(await receiver.waitFor('n to reach 3', () => (++n >= 3 ? n : undefined), 2000), 3);
    await assert.rejects(receiver.waitFor('the impossible', () => false, 100), /timed out after 100 ms waiting for the impossible/);
  });
});
