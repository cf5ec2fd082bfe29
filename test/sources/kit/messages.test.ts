import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { errorFacts, hostsForMessage, originForMessage, urlForMessage, urlTextForMessage } from '../../../src/sources/kit/messages.ts';

describe('urlForMessage and hostsForMessage', () => {
  it('show scheme://host:port/path only: never user, password, query or fragment', () => {
    assert.equal(urlForMessage(new URL('postgres://postgres:postgres@127.0.0.1:5432/postgres?sslmode=require&password=postgres#x')), 'postgres://127.0.0.1:5432/postgres');
    assert.equal(urlForMessage(new URL('redis://:a@127.0.0.1')), 'redis://127.0.0.1');
    assert.equal(urlForMessage(new URL('redis://:a@127.0.0.1'), 6379), 'redis://127.0.0.1:6379', 'a default port shown when asked');
    assert.equal(urlForMessage(new URL('https://root:pw@[::1]:2379/')), 'https://[::1]:2379/');
    assert.equal(originForMessage(new URL('https://root:pw@[::1]:2379/x?token=pw')), 'https://[::1]:2379');
    assert.equal(urlForMessage(new URL('mysql://monitor:monitor@db:3306')), 'mysql://db:3306');
    const hosts = ['postgres://u:a@db1:5432/app?x=a', 'postgres://u:a@db2:5433/app?x=a'].map((u) => new URL(u));
    assert.equal(hostsForMessage(hosts), 'postgres://db1:5432,db2:5433/app');
  });

  it('a password that is also a word of the message is left alone: the message is built without it, not masked', () => {
    // The defect this replaces: masking every "a" gave "no prim***ry ***mong the 2 hosts".
    const shown = urlForMessage(new URL('postgres://a:a@127.0.0.1:5432/a'));
    assert.equal(`no primary among the 2 hosts: ${shown}`, 'no primary among the 2 hosts: postgres://127.0.0.1:5432/a');
    assert.doesNotMatch(shown, /\*\*\*/);
  });
});

describe('urlTextForMessage', () => {
  it('a URL: its safe parts; text that does not parse: without anything up to its last "@", query or fragment', () => {
    assert.equal(urlTextForMessage('ftp://u:secret@host:2121/x?y=secret'), 'ftp://host:2121/x');
    assert.equal(urlTextForMessage('mysql://u:secret@db:notaport'), 'mysql://db:notaport');
    assert.equal(urlTextForMessage('mysql://u:se/cr#et@db:3306'), 'mysql://db:3306', 'a password with / and # in it');
    assert.equal(urlTextForMessage('http://root:s3cret@bad host:2379'), 'http://bad host:2379');
    assert.equal(urlTextForMessage('u:secret@db:5432?password=secret'), 'db:5432');
    assert.equal(urlTextForMessage('x'.repeat(100)), `${'x'.repeat(80)}…`);
    for (const text of ['postgres://u:a@h:1/a', 'u:a@b', 'mysql://u:monitor@h:x']) assert.doesNotMatch(urlTextForMessage(text), /\*\*\*|:a@|monitor/);
  });
});

describe('errorFacts', () => {
  it('a system error: its code and Node’s own parts (syscall, code, address:port)', async () => {
    // A real refused connection: port 1 on 127.0.0.1 has no listener for an unprivileged test.
    const error = await new Promise<Error>((resolve) => connect({ host: '127.0.0.1', port: 1 }).once('error', resolve));
    assert.deepEqual(errorFacts(error), { code: 'ECONNREFUSED', reason: 'connect ECONNREFUSED 127.0.0.1:1' });
  });

  it('a MySQL server error: its code and the server’s sqlMessage; anything else: the first line of its message, bounded', () => {
    const mysql = Object.assign(new Error('Access denied for user …'), { code: 'ER_ACCESS_DENIED_ERROR', sqlMessage: "Access denied for user 'replag'@'127.0.0.1' (using password: YES)" });
    assert.deepEqual(errorFacts(mysql), { code: 'ER_ACCESS_DENIED_ERROR', reason: "Access denied for user 'replag'@'127.0.0.1' (using password: YES)" });
    assert.deepEqual(errorFacts(Object.assign(new Error('password authentication failed for user "watcher"\n  detail'), { code: '28P01' })), { code: '28P01', reason: 'password authentication failed for user "watcher"' });
    assert.deepEqual(errorFacts('plain text'), { code: undefined, reason: 'plain text' });
    assert.equal(errorFacts(new Error('y'.repeat(400))).reason.length, 301);
  });
});
