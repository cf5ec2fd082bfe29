/** The endpoints' handlers as pure functions of a view: shapes, edge values and routing, without a server. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMaxDelay } from '../../src/http/check.ts';
import { delayPoints } from '../../src/http/history.ts';
import { route, type StatusView } from '../../src/http/index.ts';
import { ReplicationLagMonitor } from '../../src/monitor.ts';

function viewOf(monitor: ReplicationLagMonitor): StatusView {
  return { sources: () => [{ name: 'big', type: 'postgres', monitor, timeoutMs: 5000 }] };
}

const body = (view: StatusView, url: string) => JSON.parse(route(view, 'GET', url, Date.now())!.body);

describe('status handlers', () => {
  it('a 64-bit lag above 2^53 is an exact decimal string; figures not known are absent, never null', () => {
    const monitor = new ReplicationLagMonitor();
    const leader = 2n ** 60n;
    const follower = 7n;
    monitor.updateLag('r1', leader, follower);
    monitor.updateLag('r2', 1000, 990);
    const nodes = body(viewOf(monitor), '/status').sources[0].nodes;
    assert.equal(nodes[0].id, 'r1');
    assert.equal(nodes[0].lag, (leader - follower).toString());
    assert.equal(nodes[1].lag, 10);
    for (const n of nodes) {
      assert.equal(n.predictedDelaySeconds, undefined, 'no forecast before 3 updates: absent');
      assert.ok(!Object.values(n).includes(null));
    }
  });

  it('a heartbeat delay measures a first observation: /status shows it and is not provisional; /check judges it as a delay, not an unknown one', () => {
    const monitor = new ReplicationLagMonitor();
    monitor.updateLag('hb', 1000, 400, { heartbeatDelaySeconds: 6.5 });
    monitor.updateLag('blind', 1000, 400);
    const nodes = body(viewOf(monitor), '/status').sources[0].nodes;
    assert.deepEqual(nodes.map((n: Record<string, unknown>) => [n.id, n.provisional, n.delaySeconds, n.heartbeatDelaySeconds]), [['blind', true, undefined, undefined], ['hb', false, 6.5, 6.5]]);
    const check = (node: string) => route(viewOf(monitor), 'GET', `/check?node=${node}&maxDelay=10s`, Date.now())!.status;
    assert.equal(check('hb'), 200, 'a measured 6.5 s (a warning) is within 10 s');
    assert.notEqual(check('blind'), 200, 'an unknown delay is not within anything');
  });

  it('parses maxDelay durations and refuses others', () => {
    assert.equal(parseMaxDelay('5s'), 5);
    assert.equal(parseMaxDelay('500ms'), 0.5);
    assert.equal(parseMaxDelay('2m'), 120);
    assert.equal(parseMaxDelay('1h'), 3600);
    assert.equal(parseMaxDelay('7.5'), 7.5);
    for (const bad of ['', 'soon', '-1s', '5 s', '5d']) assert.equal(parseMaxDelay(bad), undefined, bad);
  });

  it('thins a history to at most 60 points in the window, keeping the newest', () => {
    const now = 1_000_000;
    const history = Array.from({ length: 500 }, (_, i) => ({ timestamp: now - 900_000 + i * 1800, lagSeconds: i }));
    const points = delayPoints(history, now);
    assert.equal(points.length, 60);
    assert.ok(points[0]![0] >= -600);
    assert.deepEqual(points.at(-1), [Math.round((history.at(-1)!.timestamp - now) / 100) / 10, 499]);
    assert.deepEqual(delayPoints([], now), []);
  });

  it('routes: read-only methods only, unknown paths left to the caller, a monitor without poller is ready', () => {
    const view = viewOf(new ReplicationLagMonitor());
    assert.equal(route(view, 'POST', '/check', 0)!.status, 405);
    assert.equal(route(view, 'DELETE', '/status', 0)!.headers.allow, 'GET, HEAD');
    assert.equal(route(view, 'GET', '/metrics', 0), undefined);
    assert.equal(route(view, 'GET', '/readyz', 0)!.status, 200);
    assert.equal(route({ ...view, stopping: () => true }, 'GET', '/readyz', 0)!.status, 503);
    assert.equal(route(view, 'GET', '/history', 0)!.status, 400);
    assert.match(route(view, 'GET', '/', 0)!.headers['content-security-policy']!, /default-src 'none'/);
  });
});
