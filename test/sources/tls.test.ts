/** The shared TLS options of the sources: validation, Node options, and errors from real handshakes. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect, createServer, type Server } from 'node:tls';
import { describeTlsError, isClientCertificateAlert, nodeTlsOptions, validateTlsOptions } from '../../src/sources/tls.ts';
import { makeTestCertificates, type TestCertificates } from '../harness/tls.ts';

let certs: TestCertificates;
let server: Server;
let port: number;
let clientCertSeen: (string | undefined)[] = [];

before(async () => {
  certs = makeTestCertificates();
  // A real TLS server with the test certificate, asking for (not requiring) a client certificate.
  server = createServer({ cert: certs.server.cert, key: certs.server.key, ca: certs.ca.cert, requestCert: true, rejectUnauthorized: false }, (socket) => {
    const peer = socket.getPeerCertificate();
    clientCertSeen.push(socket.authorized ? String(peer.subject?.CN) : undefined);
    socket.end('hello');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

after(() => {
  server?.close();
  certs?.dispose();
});

/** Connects to the test server to `host` with `options`; resolves with what it read, or the error. */
function handshake(host: string, options: Parameters<typeof nodeTlsOptions>[0]): Promise<{ data?: string; error?: Error }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ...nodeTlsOptions(options, host) });
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (data += d));
    socket.on('end', () => resolve({ data }));
    socket.on('error', (error) => resolve({ error }));
    socket.setTimeout(5000, () => socket.destroy(new Error('timeout')));
  });
}

describe('validateTlsOptions', () => {
  test('accepts PEM text and the documented fields; undefined stays undefined', () => {
    assert.equal(validateTlsOptions(undefined, 'X.tls'), undefined);
    const v = validateTlsOptions({ ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key, servername: 'db.internal', rejectUnauthorized: false }, 'X.tls');
    assert.deepEqual({ ...v }, { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key, servername: 'db.internal', rejectUnauthorized: false });
    assert.ok(Object.isFrozen(v));
    assert.deepEqual({ ...validateTlsOptions({}, 'X.tls') }, {}, 'an empty object means TLS with the default roots');
  });

  test('rejects bad fields naming the option, and never quotes a key', () => {
    const cases: [unknown, RegExp, typeof TypeError | typeof RangeError][] = [
      [null, /^X\.tls must be an object/, TypeError],
      ['yes', /^X\.tls must be an object/, TypeError],
      [{ ca: 5 }, /^X\.tls\.ca must be PEM text \(a string\), got number/, TypeError],
      [{ ca: '/etc/ssl/ca.pem' }, /^X\.tls\.ca is not PEM text .*not its path/, RangeError],
      [{ cert: certs.client.cert }, /^X\.tls: cert and key go together/, RangeError],
      [{ key: certs.client.key }, /^X\.tls: cert and key go together/, RangeError],
      [{ servername: '' }, /^X\.tls\.servername must be a non-empty string/, TypeError],
      [{ rejectUnauthorized: 'no' }, /^X\.tls\.rejectUnauthorized must be a boolean/, TypeError],
      [{ verify: false }, /^X\.tls\.verify is not a TLS option/, RangeError],
    ];
    for (const [value, message, type] of cases) assert.throws(() => validateTlsOptions(value, 'X.tls'), (e: Error) => e instanceof type && message.test(e.message), JSON.stringify(value));
    const secretKey = `-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n`;
    assert.throws(() => validateTlsOptions({ key: secretKey }, 'X.tls'), (e: Error) => !e.message.includes('c2VjcmV0'));
  });
});

describe('nodeTlsOptions against a real TLS server', () => {
  test('with the CA: the certificate is verified for 127.0.0.1 and localhost', async () => {
    assert.deepEqual(await handshake('127.0.0.1', { ca: certs.ca.cert }), { data: 'hello' });
    assert.deepEqual(await handshake('localhost', { ca: certs.ca.cert }), { data: 'hello' });
  });

  test('without the CA, or with another one: refused, and the error says to pass the CA', async () => {
    for (const options of [{}, { ca: certs.otherCa.cert }]) {
      const { error } = await handshake('127.0.0.1', options);
      assert.ok(error, 'the handshake must fail');
      assert.match(describeTlsError(error) ?? '', /not signed by a trusted CA .*\(tls\.ca\)$/);
    }
  });

  test('a name the certificate does not list is refused unless servername names one it does', async () => {
    const { error } = await handshake('db.example', { ca: certs.ca.cert });
    assert.ok(error);
    assert.match(describeTlsError(error) ?? '', /not valid for this host name .*set tls\.servername$/);
    assert.deepEqual(await handshake('db.example', { ca: certs.ca.cert, servername: 'localhost' }), { data: 'hello' });
  });

  test('rejectUnauthorized false connects without verification', async () => {
    assert.deepEqual(await handshake('db.example', { rejectUnauthorized: false }), { data: 'hello' });
  });

  test('a client certificate is presented when given', async () => {
    clientCertSeen = [];
    await handshake('127.0.0.1', { ca: certs.ca.cert });
    await handshake('127.0.0.1', { ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key });
    assert.deepEqual(clientCertSeen, [undefined, 'replag']);
  });

  test('isClientCertificateAlert: the alert of a server that requires a client certificate, and nothing else', async () => {
    const strict = createServer({ cert: certs.server.cert, key: certs.server.key, ca: certs.ca.cert, requestCert: true, rejectUnauthorized: true }, (socket) => socket.end('hello'));
    strict.listen(0, '127.0.0.1');
    await once(strict, 'listening');
    const strictPort = (strict.address() as AddressInfo).port;
    try {
      const attempt = (options: Parameters<typeof nodeTlsOptions>[0]) =>
        new Promise<Error | undefined>((resolve) => {
          const socket = connect({ host: '127.0.0.1', port: strictPort, ...nodeTlsOptions(options, '127.0.0.1') });
          socket.on('data', () => undefined);
          socket.on('end', () => resolve(undefined));
          socket.on('error', resolve);
        });
      const refused = await attempt({ ca: certs.ca.cert });
      assert.ok(isClientCertificateAlert((refused as { code?: unknown } | undefined)?.code), `without a client certificate: ${(refused as { code?: unknown } | undefined)?.code}`);
      assert.equal(await attempt({ ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key }), undefined, 'with one it connects');
    } finally {
      strict.close();
    }
    for (const code of ['ECONNRESET', 'ERR_SSL_WRONG_VERSION_NUMBER', 'DEPTH_ZERO_SELF_SIGNED_CERT', undefined, 42]) assert.equal(isClientCertificateAlert(code), false, String(code));
  });

  test('describeTlsError leaves other errors alone', () => {
    assert.equal(describeTlsError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), undefined);
    assert.equal(describeTlsError(new Error('x')), undefined);
    assert.equal(describeTlsError(undefined), undefined);
  });
});
