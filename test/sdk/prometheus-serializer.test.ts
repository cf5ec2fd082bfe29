// The Prometheus endpoint's lean serialization (label text kept per reused attribute object) writes exactly what the
// SDK's PrometheusSerializer writes, escaping included, at the first scrape and at the next ones.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { StandardNamePrometheusExporter } from '../../src/sdk/prometheus.ts';

describe('Prometheus endpoint: lean serialization', () => {
  it('is byte for byte the SDK serializer, with odd label values and names, at every scrape', async () => {
    const exporter = new StandardNamePrometheusExporter({ cardinalityLimit: 100, port: 1, host: '127.0.0.1' });
    const provider = new MeterProvider({ readers: [exporter] });
    const meter = provider.getMeter('scope-a', '1.2.3');
    const gauge = meter.createGauge('replication.lag', { unit: '{entry}', description: 'Entries "behind"\nline' });
    const counter = meter.createCounter('replication.alerts', { unit: '{alert}' });
    const odd = { 'replication.node.id': 'a"b\\c\nd', 'weird-key.x': 'v', n: 3, flag: true, 'ünï': 'é' };
    const plain = { 'replication.node.id': 'plain' };
    const lean = (exporter as unknown as { _serializer: PrometheusSerializer })._serializer;
    assert.ok(Object.hasOwn(lean, '_serializeSingularDataPoint'), 'the lean serialization is in place');
    for (let scrape = 0; scrape < 3; scrape++) {
      gauge.record(1.5 + scrape, odd);
      gauge.record(Infinity, plain);
      gauge.record(-Infinity, {});
      counter.add(2, odd);
      const { resourceMetrics } = await exporter.collect();
      const ours = lean.serialize(resourceMetrics);
      assert.match(ours, /replication_lag\{replication_node_id="a\\"b\\\\c\\nd"/);
      assert.equal(ours, new PrometheusSerializer().serialize(resourceMetrics), `scrape ${scrape}`);
    }
    await provider.shutdown();
  });
});
