/**
 * Messages without secrets, by construction: real PostgreSQL, MariaDB and Redis servers refuse the passwords
 * `postgres`, `a` and `monitor` — words that also occur in the messages (the scheme postgres://, user names, "a",
 * "among"). Each message a source produces (poll errors, replica errors) is compared whole with the one expected
 * from its safe parts, so it stays readable and holds no password, and it contains no `***`: nothing is masked.
 * (Masking every occurrence of the password gave `PostgreSQL primary ***://127.0.0.1:27544/***: …` and
 * `no prim***ry ***mong the 2 hosts`, which tell the password away.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MySqlSource } from '../../src/sources/mysql.ts';
import { PostgresSource } from '../../src/sources/postgresql.ts';
import { RedisSource } from '../../src/sources/redis.ts';
import { startMariaDbCluster, type MariaDbCluster } from '../harness/mariadb.ts';
import { startPostgresCluster, type PostgresCluster } from '../harness/postgresql.ts';
import { startRedisCluster, type RedisCluster } from '../harness/redis.ts';
import { findFreePort } from '../harness/wait.ts';

const PASSWORDS = ['postgres', 'a', 'monitor'];
/** The servers' real passwords (never given to the sources below). */
const RIGHT = 'the-Right-0ne';
const PORTS: [number, number] = [26_000, 26_900];

async function rejection(promise: Promise<unknown>): Promise<string> {
  return promise.then(() => assert.fail('expected a rejection'), (e: unknown) => (e as Error).message);
}

function assertClean(message: string, expected: string | RegExp): void {
  assert.doesNotMatch(message, /\*\*\*/, message);
  if (typeof expected === 'string') assert.equal(message, expected);
  else assert.match(message, expected);
}

describe('PostgreSQL refusing postgres, a, monitor', () => {
  let cluster: PostgresCluster;
  before(async () => {
    cluster = await startPostgresCluster({ standbys: [], portRange: PORTS });
    await cluster.createRole('watcher', RIGHT);
    await cluster.createRole('monitor', RIGHT);
    await cluster.primary.query('GRANT pg_monitor TO watcher');
  });
  after(async () => cluster?.close());

  it('poll errors, one host and several, name the server and user and say what to check', async () => {
    const port = cluster.primary.port;
    const dead = await findFreePort(...PORTS);
    const at = `PostgreSQL primary postgres://127.0.0.1:${port}/postgres`;
    const refused = (user: string) => `password authentication failed for user "${user}": check the password (PostgresSourceOptions.password, PGPASSWORD, or the URL)`;
    for (const password of PASSWORDS) {
      for (const user of ['watcher', 'monitor']) {
        const inOption = new PostgresSource({ url: `postgres://${user}@127.0.0.1:${port}/postgres`, password, timeoutMs: 5000, logicalSlots: false });
        const inUrl = new PostgresSource({ url: `postgres://${user}:${password}@127.0.0.1:${port}/postgres?sslmode=disable`, timeoutMs: 5000 });
        try {
          assertClean(await rejection(inOption.poll()), `${at}: ${refused(user)}`);
          assertClean(await rejection(inUrl.poll()), `${at}: ${refused(user)}`);
        } finally {
          await inOption.close();
          await inUrl.close();
        }
      }
      const hosts = new PostgresSource({ url: `postgres://watcher@127.0.0.1:${port},127.0.0.1:${dead}/postgres`, password, timeoutMs: 5000 });
      try {
        assertClean(await rejection(hosts.poll()),
          `PostgreSQL primary postgres://127.0.0.1:${port},127.0.0.1:${dead}/postgres: no primary among the 2 hosts (tried in order within timeoutMs 5000 ms): ` +
          `postgres://127.0.0.1:${port}/postgres: ${refused('watcher')}; postgres://127.0.0.1:${dead}/postgres: connection refused: no server listens there; check the host and port`);
      } finally {
        await hosts.close();
      }
    }
  });

  it('a subscriber that refuses the password: the replica error names it without the password', async () => {
    const port = cluster.primary.port;
    for (const password of PASSWORDS) {
      const failures: [string, string][] = [];
      const source = new PostgresSource({
        url: `postgres://watcher@127.0.0.1:${port}/postgres`, password: RIGHT, subscribers: [`postgres://monitor:${password}@127.0.0.1:${port}/postgres`],
        onReplicaError: (replica, error) => failures.push([replica, error.message]),
      });
      try {
        assert.deepEqual(await source.poll(), [], 'no standby, no subscription read');
        assert.equal(failures.length, 1, JSON.stringify(failures));
        const [replica, message] = failures[0]!;
        assert.equal(replica, `postgres://127.0.0.1:${port}/postgres`);
        assertClean(message, `PostgreSQL subscriber postgres://127.0.0.1:${port}/postgres: password authentication failed for user "monitor": check the password (PostgresSourceOptions.password, PGPASSWORD, or the URL)`);
      } finally {
        await source.close();
      }
    }
  });
});

describe('MariaDB refusing postgres, a, monitor', () => {
  let cluster: MariaDbCluster;
  before(async () => {
    cluster = await startMariaDbCluster({ minPort: PORTS[0], maxPort: PORTS[1] });
    await cluster.sql('primary', `CREATE USER 'monitor'@'%' IDENTIFIED BY '${RIGHT}'; GRANT REPLICA MONITOR ON *.* TO 'monitor'@'%';`);
    await cluster.waitCaughtUp();
  });
  after(async () => cluster?.close());

  it('the primary’s poll error and a replica’s error quote the server, never the password', async () => {
    const primary = `127.0.0.1:${cluster.port('primary')}`;
    const replica = `127.0.0.1:${cluster.port('replica')}`;
    const denied = (role: string, address: string) => new RegExp(
      `^MySqlSource: ${role} ${address.replaceAll('.', '\\.')}: authentication failed for user 'monitor': check the user name and password ` +
      `\\(server said: Access denied for user 'monitor'@'127\\.0\\.0\\.1' \\(using password: YES\\)\\)(; or, if the account requires TLS \\(REQUIRE SSL\\), enable it: the tls option)?$`);
    for (const password of PASSWORDS) {
      const wrongPrimary = new MySqlSource({ primary: `mysql://monitor:${password}@${primary}`, replicas: [`mysql://monitor:${RIGHT}@${replica}`], timeoutMs: 5000 });
      const errors: [string, string][] = [];
      const wrongReplica = new MySqlSource({ primary: `mysql://monitor:${RIGHT}@${primary}`, replicas: [`mysql://monitor@${replica}`], password, timeoutMs: 5000, replicaTimeoutMs: 5000, onReplicaError: (r, e) => errors.push([r, e.message]) });
      try {
        assertClean(await rejection(wrongPrimary.poll()), denied('primary', primary));
        assert.deepEqual(await wrongReplica.poll(), [], 'a replica never read is left out');
        assert.equal(errors.length, 1, JSON.stringify(errors));
        assert.equal(errors[0]![0], replica);
        assertClean(errors[0]![1], denied('replica', replica));
      } finally {
        await wrongPrimary.close();
        await wrongReplica.close();
      }
    }
  });
});

describe('Redis refusing postgres, a, monitor', () => {
  let cluster: RedisCluster;
  before(async () => {
    cluster = await startRedisCluster({ masterPort: await findFreePort(...PORTS), replicaPort: await findFreePort(...PORTS), password: RIGHT });
  });
  after(async () => cluster?.close());

  it('AUTH refused, as the default user and as an ACL user: the server’s reply, no password', async () => {
    const at = `Redis redis://127.0.0.1:${cluster.master.port}`;
    const wrongPass = '(WRONGPASS invalid username-password pair or user is disabled.): check the password and that the ACL user exists and is "on"';
    for (const password of PASSWORDS) {
      const cases: [RedisSource, string][] = [
        [new RedisSource({ url: `redis://127.0.0.1:${cluster.master.port}`, password, timeoutMs: 5000 }), `${at}: authentication failed for user "default" ${wrongPass}`],
        [new RedisSource({ url: `redis://monitor:${password}@127.0.0.1:${cluster.master.port}`, timeoutMs: 5000 }), `${at}: authentication failed for user "monitor" ${wrongPass}`],
        [new RedisSource({ url: `redis://:${password}@127.0.0.1:${cluster.master.port}/0`, timeoutMs: 5000 }), `Redis redis://127.0.0.1:${cluster.master.port}/0: authentication failed for user "default" ${wrongPass}`],
      ];
      for (const [source, expected] of cases) {
        try {
          assertClean(await rejection(source.poll()), expected);
        } finally {
          await source.close();
        }
      }
    }
  });
});
