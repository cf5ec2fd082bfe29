/** The NATS server-side protocol parser on byte streams split anywhere, and the PUB encoding. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodePub, ServerOpParser, type ServerOp } from '../../../src/sources/nats/protocol.ts';

const wire = Buffer.from([
  'INFO {"server_name":"n1","tls_required":false,"connect_urls":["127.0.0.1:4223"]}\r\n',
  'PING\r\n',
  'MSG _INBOX.x.1 1 5\r\nhé\r\n\r\n',
  'HMSG _INBOX.x.2 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n',
  'MSG _INBOX.x.3 1 reply.to 2\r\n{}\r\n',
  "-ERR 'Authorization Violation'\r\n",
].join(''));

describe('ServerOpParser', () => {
  test('INFO, PING, MSG with a multi-byte payload, HMSG no-responders status, -ERR: the same whatever the chunking', () => {
    const expected: ServerOp[] = [
      { op: 'INFO', info: { server_name: 'n1', tls_required: false, connect_urls: ['127.0.0.1:4223'] } },
      { op: 'PING' },
      { op: 'MSG', subject: '_INBOX.x.1', sid: '1', payload: Buffer.from('hé\r\n'), status: undefined, description: '' },
      { op: 'MSG', subject: '_INBOX.x.2', sid: '1', payload: Buffer.alloc(0), status: 503, description: '' },
      { op: 'MSG', subject: '_INBOX.x.3', sid: '1', payload: Buffer.from('{}'), status: undefined, description: '' },
      { op: 'ERR', message: 'Authorization Violation' },
    ];
    for (const size of [1, 2, 3, 7, 64, wire.length]) {
      const parser = new ServerOpParser();
      const ops: ServerOp[] = [];
      for (let i = 0; i < wire.length; i += size) ops.push(...parser.push(wire.subarray(i, i + size)));
      assert.deepEqual(ops, expected, `chunks of ${size}`);
    }
  });

  test('what is not NATS is refused with a clear error', () => {
    assert.throws(() => new ServerOpParser().push(Buffer.from('HTTP/1.1 400 Bad Request\r\n')), /unexpected line from the server: "HTTP\/1\.1 400 Bad Request" \(not a NATS client port\?\)/);
    assert.throws(() => new ServerOpParser().push(Buffer.from('MSG a 1 -5\r\n')), /unreadable MSG line/);
  });

  test('PUB counts the payload in bytes', () => {
    assert.equal(encodePub('$JS.API.STREAM.NAMES', '_INBOX.x.1', '{"offset":0}é').toString(), 'PUB $JS.API.STREAM.NAMES _INBOX.x.1 14\r\n{"offset":0}é\r\n');
  });
});
