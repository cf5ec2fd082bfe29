/**
 * Whether the live nodes fit in an instrument's cardinality limit, said once per change: a warning when they stop
 * fitting, a note when they fit again. Pure TypeScript, no OpenTelemetry import: the drop-in instrumentation and the
 * SDK's node-points MetricProducer each keep one watch and pass what it says to diag.
 */
import { SERIES_PER_NODE } from './node-points.ts';
import { PACKAGE_NAME } from './version.ts';

/**
 * Nodes exported under their own id by an instrument allowed `cardinalityLimit` series: the SDK keeps one of
 * them for the overflow series.
 */
export function nodesWithinCardinalityLimit(cardinalityLimit: number): number {
  return Math.floor((cardinalityLimit - 1) / SERIES_PER_NODE);
}

/** What to log when the fit changes: `warn` when the live nodes stop fitting, `info` when they fit again. */
export interface CardinalityChange {
  readonly level: 'warn' | 'info';
  readonly message: string;
}

/** Remembers whether the live nodes last fitted; `check` once per collection. */
export class CardinalityWatch {
  /** True from the collection where live nodes first exceeded the limit until one where they fit. */
  #overLimit = false;

  /** The change to log when `live` nodes under `limit` series per instrument changes the fit, else undefined. */
  check(live: number, limit: number): CardinalityChange | undefined {
    const fit = nodesWithinCardinalityLimit(limit);
    if (live > fit && !this.#overLimit) {
      this.#overLimit = true;
      return {
        level: 'warn',
        message:
          `${PACKAGE_NAME}: ${live} live nodes need up to ${live * SERIES_PER_NODE} series per instrument, past the cardinality limit ` +
          `(${limit}): only ${fit} nodes are exported under their own id, the others are folded into the overflow series ` +
          `(otel.metric.overflow=true). Raise the cardinality limit (cardinalityLimit), lower maxNodes, or shard the monitor across processes.`,
      };
    }
    if (live <= fit && this.#overLimit) {
      this.#overLimit = false;
      return { level: 'info', message: `${PACKAGE_NAME}: ${live} live nodes fit in the cardinality limit (${limit}) again; every node is exported under its own id` };
    }
    return undefined;
  }
}
