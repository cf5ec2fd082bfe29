/**
 * The gRPC receiver itself: if it decoded wrongly, every gRPC test would assert on garbage. A plain
 * `@grpc/grpc-js` client sends hand-built OTLP Export requests (metrics and logs), plaintext and over TLS, and
 * the test checks what comes out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, credentials, Metadata, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { EXPORT_METHODS, startOtlpGrpcReceiver, type OtlpGrpcReceiver } from './otlp-grpc-receiver.ts';
import { PROTOBUF_TYPES } from './otlp-receiver.ts';
import { makeTestCertificates, type TestCertificates } from './tls.ts';

const metricsRequest = {
  resourceMetrics: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }, { key: 'process.pid', value: { intValue: '42' } }] },
      scopeMetrics: [
        {
          scope: { name: 'scope-a', version: '1.2.3' },
          metrics: [
            { name: 'g', unit: 's', gauge: { dataPoints: [{ attributes: [{ key: 'node', value: { stringValue: 'n1' } }], timeUnixNano: '1700000000000000000', asDouble: 1.5 }] } },
            { name: 'c', unit: '{alert}', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ timeUnixNano: '1700000000000000000', asInt: '7' }] } },
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
              attributes: [{ key: 'replication.lag', value: { intValue: '12' } }],
              traceId: Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex').toString('base64'),
              spanId: Buffer.from('b7ad6b7169203331', 'hex').toString('base64'),
            },
          ],
        },
      ],
    },
  ],
};

function encode(signal: 'metrics' | 'logs', json: object): Buffer {
  const type = PROTOBUF_TYPES[signal];
  return Buffer.from(type.encode(type.fromObject(json)).finish());
}

/** One unary Export call with raw bytes; resolves with the status code (0 = OK). */
function exportCall(client: Client, signal: 'metrics' | 'logs', body: Buffer, metadata = new Metadata()): Promise<{ code: number; details: string }> {
  const identity = (b: Buffer): Buffer => b;
  return new Promise((resolve) => {
    client.makeUnaryRequest(EXPORT_METHODS[signal], identity, identity, body, metadata, { deadline: Date.now() + 10_000 }, (error: ServiceError | null) =>
      resolve(error ? { code: error.code, details: error.details } : { code: status.OK, details: '' }),
    );
  });
}

describe('OTLP gRPC test receiver', () => {
  let receiver: OtlpGrpcReceiver;
  let client: Client;
  before(async () => {
    receiver = await startOtlpGrpcReceiver({ ports: [20_000, 20_500] });
    client = new Client(`127.0.0.1:${receiver.port}`, credentials.createInsecure());
  });
  after(async () => {
    client.close();
    await receiver.close();
  });

  it('listens on 127.0.0.1 in the given port range, plaintext', () => {
    const url = new URL(receiver.url);
    assert.equal(url.protocol, 'http:');
    assert.equal(url.hostname, '127.0.0.1');
    assert.ok(receiver.port >= 20_000 && receiver.port < 20_500, String(receiver.port));
  });

  it('decodes a known metrics and logs Export request into the normalised form, with the call metadata', async () => {
    const metadata = new Metadata();
    metadata.set('x-api-key', 's3cr3t');
    assert.deepEqual(await exportCall(client, 'metrics', encode('metrics', metricsRequest), metadata), { code: status.OK, details: '' });
    assert.deepEqual(await exportCall(client, 'logs', encode('logs', logsRequest)), { code: status.OK, details: '' });

    const points = receiver.points();
    assert.deepEqual(
      points.map((p) => ({ metric: p.metric, unit: p.unit, kind: p.kind, temporality: p.temporality, monotonic: p.monotonic, value: p.value, attributes: p.attributes })),
      [
        { metric: 'g', unit: 's', kind: 'gauge', temporality: undefined, monotonic: undefined, value: 1.5, attributes: { node: 'n1' } },
        { metric: 'c', unit: '{alert}', kind: 'sum', temporality: 'cumulative', monotonic: true, value: 7, attributes: {} },
      ],
    );
    assert.deepEqual(points[0]?.resource, { 'service.name': 'svc', 'process.pid': 42 });
    assert.deepEqual(points[0]?.scope, { name: 'scope-a', version: '1.2.3' });
    assert.equal(points[0]?.timeUnixNano, '1700000000000000000');
    assert.equal(receiver.requests[0]?.headers['x-api-key'], 's3cr3t');

    const records = receiver.logRecords();
    assert.equal(records.length, 1);
    assert.deepEqual(
      { ...records[0], resource: undefined, scope: undefined, request: undefined },
      {
        eventName: 'replication.alert',
        severityNumber: 17,
        severityText: 'ERROR',
        body: 'boom',
        attributes: { 'replication.lag': 12 },
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        timeUnixNano: '1700000000000000000',
        encoding: 'protobuf',
        resource: undefined,
        scope: undefined,
        request: undefined,
      },
    );
  });

  it('answers INVALID_ARGUMENT to bytes it cannot decode and records why', async () => {
    const before = receiver.rejected.length;
    const result = await exportCall(client, 'logs', Buffer.from([0x0a, 0xff, 0xff]));
    assert.equal(result.code, status.INVALID_ARGUMENT);
    assert.equal(receiver.rejected.length, before + 1);
    assert.equal(receiver.rejected[before]?.method, EXPORT_METHODS.logs);
  });

  it('waitFor resolves with the first truthy value and times out naming what it waited for', async () => {
    assert.equal(await receiver.waitFor('a number', () => 7), 7);
    await assert.rejects(receiver.waitFor('never', () => undefined, 100), /waiting for never/);
  });
});

describe('OTLP gRPC test receiver over TLS', () => {
  let certs: TestCertificates;
  let receiver: OtlpGrpcReceiver;
  before(async () => {
    certs = makeTestCertificates();
    receiver = await startOtlpGrpcReceiver({ tls: { cert: certs.server.cert, key: certs.server.key }, ports: [20_000, 20_500] });
  });
  after(async () => {
    await receiver.close();
    certs.dispose();
  });

  const call = async (creds: ChannelCredentials) => {
    const client = new Client(`127.0.0.1:${receiver.port}`, creds);
    try {
      return await exportCall(client, 'metrics', encode('metrics', metricsRequest));
    } finally {
      client.close();
    }
  };

  it('serves https:// and accepts a client that trusts its CA, and only that', async () => {
    assert.match(receiver.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await call(credentials.createSsl(Buffer.from(certs.ca.cert)))).code, status.OK);
    assert.equal(receiver.points('g').length, 1);
    assert.equal((await call(credentials.createSsl(Buffer.from(certs.otherCa.cert)))).code, status.UNAVAILABLE, 'a client with the wrong CA must fail');
    assert.equal((await call(credentials.createInsecure())).code, status.UNAVAILABLE, 'a plaintext client must fail');
    assert.equal(receiver.points('g').length, 1);
  });
});
