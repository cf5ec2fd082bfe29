/** The four-letter words' parsing and the zxid epoch line, on answers as ZooKeeper 3.8 prints them. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConf, parseSrvr, splitZxid, ZxidLine } from '../../../src/sources/zookeeper.ts';

describe('ZooKeeper answers', () => {
  test('srvr: mode and last processed zxid', () => {
    const text = 'Zookeeper version: 3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC\nLatency min/avg/max: 0/0.0/0\nReceived: 3\nSent: 2\nConnections: 1\nOutstanding: 0\nZxid: 0x10000000d\nMode: observer\nNode count: 6\n';
    assert.deepEqual(parseSrvr(text), { mode: 'observer', zxid: 0x10000000dn });
    assert.throws(() => parseSrvr('This ZooKeeper instance is not currently serving requests\n'), /srvr answer has no "Zxid:" or "Mode:" line: "This ZooKeeper instance/);
  });

  test('conf: dynamic membership lines, observers, a wildcard client host, a static configuration', () => {
    const dynamic = 'clientPort=20005\nsecureClientPort=-1\nserverId=1\nmembership: \nserver.2=127.0.0.1:20315:20474:participant;127.0.0.1:20029\nserver.1=127.0.0.1:20487:20250:participant;127.0.0.1:20005\nserver.4=127.0.0.1:20069:20364:observer;127.0.0.1:20218\nversion=0\n';
    assert.deepEqual(parseConf(dynamic), [
      { sid: 1, role: 'participant', host: '127.0.0.1', port: 20005 },
      { sid: 2, role: 'participant', host: '127.0.0.1', port: 20029 },
      { sid: 4, role: 'observer', host: '127.0.0.1', port: 20218 },
    ]);
    const wildcard = 'clientPort=2181\nserver.1=zk-1.internal:2888:3888:participant;0.0.0.0:2181\nserver.2=zk-2.internal:2888:3888;2181\n';
    assert.deepEqual(parseConf(wildcard), [
      { sid: 1, role: 'participant', host: 'zk-1.internal', port: 2181 },
      { sid: 2, role: 'participant', host: 'zk-2.internal', port: 2181 },
    ]);
    const staticConf = 'clientPort=2181\nserver.1=10.0.0.1:2888:3888\nserver.2=[fd00::2]:2888:3888\n';
    assert.deepEqual(parseConf(staticConf), [
      { sid: 1, role: 'participant', host: '10.0.0.1', port: 2181 },
      { sid: 2, role: 'participant', host: 'fd00::2', port: 2181 },
    ]);
    assert.throws(() => parseConf('clientPort=2181\ndataDir=/var/lib/zookeeper\n'), /conf lists no server\.N member \(a standalone server has no followers\)/);
    assert.throws(() => parseConf('server.1=10.0.0.1:2888:3888\n'), /server\.1=10\.0\.0\.1:2888:3888 names no client address/);
  });
});

describe('ZxidLine', () => {
  const zxid = (epoch: number, counter: number) => (BigInt(epoch) << 32n) | BigInt(counter);

  test('a fresh ensemble: followers at 0x0 are in sync with a leader at 0x100000000', () => {
    assert.deepEqual(splitZxid(zxid(1, 0)), { epoch: 1n, counter: 0n });
    const line = new ZxidLine();
    assert.equal(line.leader(zxid(1, 0)), 0n);
    assert.equal(line.follower(0n), 0n);
  });

  test('a new epoch continues the line where the old leader was last seen; a follower still in the old epoch counts as its start', () => {
    const line = new ZxidLine();
    assert.equal(line.leader(zxid(3, 500)), 500n);
    assert.equal(line.follower(zxid(3, 480)), 480n);
    // Restart of the leader: epoch 4, a few transactions in.
    assert.equal(line.leader(zxid(4, 7)), 507n);
    assert.equal(line.follower(zxid(3, 500)), 500n, 'synced at election, nothing processed in epoch 4 yet: 7 behind, not 2^32');
    assert.equal(line.follower(zxid(4, 7)), 507n);
    assert.equal(line.follower(zxid(5, 1)), undefined, 'a newer epoch than the leader read: unknown');
    // Raw subtraction would have said ~4.3 billion.
    assert.ok(zxid(4, 7) - zxid(3, 500) > 4_000_000_000n);
    // A rebuilt ensemble (lower epoch) moves the line forward too, never back.
    assert.equal(line.leader(zxid(1, 3)), 510n);
  });
});
