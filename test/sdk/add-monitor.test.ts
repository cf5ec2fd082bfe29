/**
 * `replag --config`'s sources through startTelemetry's MetricProducer (`addMonitor(..., { nodePoints: true })` and
 * instrumentations created with `nodePointsProducedElsewhere`) export exactly what their own instrumentations
 * recorded into SDK instruments: the same replication_* lines on the Prometheus endpoint, per source.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFleetConfig, type FleetSourceConfig } from '../../src/cli/config.ts';
import { SourceSupervisor } from '../../src/cli/supervisor.ts';
import type { ReplicaPosition, ReplicationSource } from '../../src/sources/source.ts';
import { startTelemetry } from '../../src/sdk/index.ts';
import { findFreePort } from '../harness/wait.ts';

function configs(...entries: string[]): FleetSourceConfig[] {
  return [...parseFleetConfig(`sources:\n${entries.map((e) => `  - ${e}`).join('\n')}\n`, { env: {} }).sources];
}

class FixedSource implements ReplicationSource {
  readonly name = 'fixed';
  private readonly replicas: ReplicaPosition[];
  constructor(replicas: ReplicaPosition[]) {
    this.replicas = replicas;
  }
  async poll(): Promise<readonly ReplicaPosition[]> {
    return this.replicas;
  }
  async close(): Promise<void> {}
}

/** The package's lines of a scrape, labels in a stable order, sorted. */
function lines(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => /^(# (HELP|TYPE|UNIT) )?replication_/.test(l))
    .map((l) => {
      const m = /^([^{ ]+)\{(.*)\} (.*)$/.exec(l);
      if (m === null) return l;
      return `${m[1]}{${(m[2]!.match(/[a-z_0-9]+="(?:[^"\\]|\\.)*"/g) ?? []).sort().join(',')}} ${m[3]}`;
    })
    .sort();
}

async function scrapeFleet(produced: boolean): Promise<string[]> {
  const port = await findFreePort(22_000, 22_500);
  const telemetry = await startTelemetry({ otlp: false, prometheus: { port, host: '127.0.0.1' }, nodePoints: produced ? 'producer' : 'instruments' });
  const supervisor = new SourceSupervisor({
    meterProvider: telemetry.meterProvider,
    loggerProvider: telemetry.loggerProvider,
    trackMonitor: (name, monitor, counterAttributes) => telemetry.addMonitor(name, monitor, produced ? { nodePoints: true, counterAttributes } : undefined),
    nodePointsProduced: produced,
    createSource: async (c) =>
      new FixedSource([
        { nodeId: 'replica-1', leaderSeq: 100, followerSeq: 40, lagSeconds: c.name === 'pg-a' ? 100 : 7 },
        { nodeId: 'replica-2', leaderSeq: 100, followerSeq: 100, lagSeconds: 0 },
      ]),
  });
  try {
    await supervisor.apply(configs('{ name: pg-a, type: postgres, url: postgres://a/db }', '{ name: pg-b, type: postgres, url: postgres://b/db }'));
    await Promise.all(supervisor.sources().map((s) => s.poller.pollOnce()));
    await (await fetch(telemetry.prometheusUrl!)).text();
    return lines(await (await fetch(telemetry.prometheusUrl!)).text());
  } finally {
    await supervisor.stop();
    await telemetry.shutdown();
  }
}

describe('replag --config sources on the MetricProducer path', () => {
  it('export the same points as their own instrumentations did, source by source', async () => {
    const produced = await scrapeFleet(true);
    const recorded = await scrapeFleet(false);
    assert.deepEqual(produced, recorded);
    assert.ok(produced.some((l) => /^replication_alerts_total\{.*replication_source="pg-a"/.test(l)), produced.join('\n'));
    assert.ok(produced.some((l) => /^replication_lag\{.*replication_source="pg-b"/.test(l)), produced.join('\n'));
    assert.equal(produced.filter((l) => l.startsWith('replication_source_up{')).length, 2);
  });
});
