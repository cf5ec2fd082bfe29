/**
 * Which node ids are live, over every monitor a telemetry pipeline exports: its own, plus one per polled source
 * of `replag --config` (points of those carry `replication.source` = the source's name). Used to bound the
 * cumulative counters (`CumulativeSums`) to the live nodes. @internal
 */
import type { Attributes } from '@opentelemetry/api';
import type { ReplicationLagMonitor } from '../monitor.ts';
import { ATTR_REPLICATION_SOURCE } from '../semconv.ts';

type Lookup = Pick<ReplicationLagMonitor, 'getStatus'>;

export class LiveNodes {
  private readonly _bySource = new Map<string, Lookup>();
  private readonly _main: Lookup;

  constructor(main: Lookup) {
    this._main = main;
  }

  /** Counts `monitor`'s nodes as live for points whose `replication.source` is `source`; returns the undo. */
  add(source: string, monitor: Lookup): () => void {
    this._bySource.set(source, monitor);
    return () => {
      if (this._bySource.get(source) === monitor) this._bySource.delete(source);
    };
  }

  /** Whether the node of a point (its id and attributes) is still monitored. */
  readonly isLive = (nodeId: string, attributes: Attributes): boolean => {
    const source = attributes[ATTR_REPLICATION_SOURCE];
    const monitor = typeof source === 'string' ? this._bySource.get(source) : undefined;
    return (monitor ?? this._main).getStatus(nodeId) !== undefined;
  };
}
