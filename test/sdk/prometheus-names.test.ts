import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prometheusName } from '../../src/sdk/prometheus-names.ts';

describe('prometheusName (standard OTLP → Prometheus translation)', () => {
  it('translates every instrument this package exports', () => {
    assert.equal(prometheusName('replication.lag', '{entry}', 'gauge'), 'replication_lag');
    assert.equal(prometheusName('replication.delay', 's', 'gauge'), 'replication_delay_seconds');
    assert.equal(prometheusName('replication.delay.predicted', 's', 'gauge'), 'replication_delay_predicted_seconds');
    assert.equal(prometheusName('replication.apply.rate', '{entry}/s', 'gauge'), 'replication_apply_rate_per_second');
    assert.equal(prometheusName('replication.severity', '1', 'gauge'), 'replication_severity_ratio');
    assert.equal(prometheusName('replication.alerts', '{alert}', 'counter'), 'replication_alerts_total');
  });

  it('follows the general rules', () => {
    assert.equal(prometheusName('http.server.duration', 'ms', 'other'), 'http_server_duration_milliseconds');
    assert.equal(prometheusName('disk.io', 'By', 'counter'), 'disk_io_bytes_total');
    assert.equal(prometheusName('queue.seconds', 's', 'gauge'), 'queue_seconds', 'no duplicated unit suffix');
    assert.equal(prometheusName('requests_total', '1', 'counter'), 'requests_total', 'no duplicated _total; unit 1 adds nothing to counters');
    assert.equal(prometheusName('throughput', 'By/s', 'gauge'), 'throughput_bytes_per_second');
    assert.equal(prometheusName('weird-name.x', '', 'gauge'), 'weird_name_x');
    assert.equal(prometheusName('2xx.count', '', 'gauge'), '_2xx_count');
  });
});
