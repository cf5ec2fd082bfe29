/** ReplicationLagMonitor: the node table, updates, queries and alert dispatch. No OpenTelemetry import. */
import { alertMessage, AlertLog, shouldAlert } from './alerts.ts';
import { resolveConfig, type ReplicationLagConfig } from './config.ts';
import { NodeState } from './node-state.ts';
import type { LagAlert, LagStatistics, LagUpdateOptions, Position, ReplicationStatus } from './types.ts';
import { checkAttributes, checkLagUpdate, checkNodeId, checkPosition, quoteId } from './validate.ts';

/** Receives every alert, synchronously, from the `updateLag` call that caused it. */
export type AlertListener = (alert: LagAlert) => void;

/**
 * Watches how far each follower lags behind its leader.
 *
 * Feed it positions with `updateLag`; read statuses, statistics and alerts back. Each update is O(1)
 * amortized (O(log n) in the history size for the delay estimate) and memory per node is bounded whatever
 * the update rate. Bad input throws a `TypeError` or `RangeError` naming the node and the field, and changes nothing.
 */
export class ReplicationLagMonitor {
  /** The validated configuration in force. */
  readonly config: Readonly<ReplicationLagConfig>;
  private readonly nodes = new Map<string, NodeState>();
  private sortedIds: string[] | undefined;
  private readonly alertLog: AlertLog;
  private listeners: readonly AlertListener[] = [];
  private totalAlerts = 0;

  /** @throws RangeError / TypeError naming the invalid field of `config`. */
  constructor(config?: Partial<ReplicationLagConfig>) {
    this.config = resolveConfig(config);
    this.alertLog = new AlertLog(this.config.maxAlerts);
  }

  /**
   * Registers a node, with attributes copied onto its exported points. Idempotent: registering a known node
   * keeps its history, and replaces its attributes when `attributes` is given.
   */
  registerNode(nodeId: string, attributes?: Record<string, string | number | boolean>): void {
    checkNodeId('registerNode', nodeId);
    const attrs = attributes === undefined ? undefined : checkAttributes(nodeId, attributes);
    const node = this.nodes.get(nodeId) ?? this.addNode('registerNode', nodeId);
    if (attrs !== undefined) node.setAttributes(attrs);
  }

  /** Forgets a node and its history; its past alerts stay in the alert list. Returns whether it was known. */
  unregisterNode(nodeId: string): boolean {
    const removed = this.nodes.delete(nodeId);
    if (removed) this.sortedIds = undefined;
    return removed;
  }

  /**
   * Records the leader's and the follower's positions for `nodeId` and returns its new status.
   * The fourth argument is `lagSeconds` (a number) or `LagUpdateOptions`. `lagSeconds`, when given, is used as
   * the delay; when omitted it is estimated from the leader positions this node has reported over time, and
   * `reportedDelaySeconds` (the system's own figure) stands in while the monitor has no estimate yet (see
   * `ReplicationStatus.delayEstimated`); `heartbeatDelaySeconds` (a source's heartbeat) is kept in the status and,
   * while the monitor has no estimate, is the delay (preferred to the reported figure). A position going backwards
   * resets the node's history.
   * `retention` and `apply` (a replication slot's and a subscription's facts, from the source) are kept on the status;
   * a retention reported `lost` makes the node `stalled` at once and alerts, saying it must be resynchronised.
   * May emit one alert, synchronously, to the `onAlert` listeners.
   */
  updateLag(nodeId: string, leaderSeq: Position, followerSeq: Position, lagSecondsOrOptions?: number | LagUpdateOptions): ReplicationStatus {
    checkNodeId('updateLag', nodeId);
    checkPosition(nodeId, 'leaderSeq', leaderSeq);
    checkPosition(nodeId, 'followerSeq', followerSeq);
    const update = checkLagUpdate(nodeId, lagSecondsOrOptions);
    let node = this.nodes.get(nodeId);
    if (node === undefined && !this.config.autoRegister) {
      throw new RangeError(`updateLag(${quoteId(nodeId)}): nodeId is not registered and autoRegister is off`);
    }
    const clock = this.config.now();
    node ??= this.addNode('updateLag', nodeId);
    const wasLost = node.status?.retention?.state === 'lost';
    const status = node.observe(leaderSeq, followerSeq, update.lagSeconds, update.reportedDelaySeconds, update.heartbeatDelaySeconds, Number.isFinite(clock) ? clock : 0, this.config, update);
    // A follower whose log was just lost alerts even when it was stalled already: it now needs resynchronising.
    const newlyLost = !wasLost && status.retention?.state === 'lost';
    if (
      newlyLost ||
      (alertable(node, status) &&
        shouldAlert(node.lastAlerted, node.lastAlertAt, status.severity, status.lastUpdate, this.config.alertCooldownSeconds * 1000))
    ) {
      this.emit(node, status);
    }
    return status;
  }

  /** The node's status after its latest update; undefined for an unknown node or one that never reported. */
  getStatus(nodeId: string): ReplicationStatus | undefined {
    return this.nodes.get(nodeId)?.status;
  }

  /** Statuses of all nodes that have reported, in ascending node-id order. */
  getAllStatuses(): Map<string, ReplicationStatus> {
    const out = new Map<string, ReplicationStatus>();
    for (const id of this.ids()) {
      const status = this.nodes.get(id)!.status;
      if (status !== undefined) out.set(id, status);
    }
    return out;
  }

  /**
   * Calls `visit` with the status of every node that has reported, in no particular order, without
   * allocating: the cheapest way to read all nodes (used by the metrics collection callback).
   */
  forEachStatus(visit: (status: ReplicationStatus) => void): void {
    for (const node of this.nodes.values()) {
      if (node.status !== undefined) visit(node.status);
    }
  }

  /** Ids of nodes whose severity is critical or stalled, ascending. */
  getCriticalNodes(): string[] {
    return this.ids().filter((id) => {
      const severity = this.nodes.get(id)!.status?.severity;
      return severity === 'critical' || severity === 'stalled';
    });
  }

  /** The newest `maxAlerts` alerts, oldest first (a copy). */
  getAlerts(): LagAlert[] {
    return this.alertLog.toArray();
  }

  /** Removes the node's alerts from the alert list (its alert state and `totalAlerts` are kept). */
  clearAlerts(nodeId: string): void {
    this.alertLog.remove((alert) => alert.nodeId === nodeId);
  }

  /** Aggregates over all nodes, computed now (O(nodes)). */
  getStats(): LagStatistics {
    let warningNodes = 0;
    let criticalNodes = 0;
    let stalledNodes = 0;
    let reporting = 0;
    let mean = 0;
    let max = 0;
    for (const node of this.nodes.values()) {
      const status = node.status;
      if (status === undefined) continue;
      reporting++;
      // A running mean: a sum of many large delays could overflow to Infinity.
      mean += (status.lagSeconds - mean) / reporting;
      if (status.lagSeconds > max) max = status.lagSeconds;
      if (status.severity === 'warning') warningNodes++;
      else if (status.severity === 'critical') criticalNodes++;
      else if (status.severity === 'stalled') stalledNodes++;
    }
    return {
      totalNodes: this.nodes.size,
      warningNodes,
      criticalNodes,
      stalledNodes,
      avgLagSeconds: mean,
      maxLagSeconds: max,
      totalAlerts: this.totalAlerts,
    };
  }

  /** Back to a fresh monitor: no nodes, no alerts, `totalAlerts` 0. Listeners stay subscribed. */
  clear(): void {
    this.nodes.clear();
    this.sortedIds = undefined;
    this.alertLog.clear();
    this.totalAlerts = 0;
  }

  /** Subscribes to alerts; returns a function that unsubscribes. A throwing listener never breaks `updateLag`. */
  onAlert(listener: AlertListener): () => void {
    if (typeof listener !== 'function') throw new TypeError('onAlert: listener must be a function');
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  private addNode(method: string, nodeId: string): NodeState {
    if (this.nodes.size >= this.config.maxNodes) {
      throw new RangeError(`${method}(${quoteId(nodeId)}): cannot add node, maxNodes (${this.config.maxNodes}) reached`);
    }
    const node = new NodeState(nodeId, this.config);
    this.nodes.set(nodeId, node);
    this.sortedIds = undefined;
    return node;
  }

  private ids(): string[] {
    this.sortedIds ??= [...this.nodes.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return this.sortedIds;
  }

  private emit(node: NodeState, status: ReplicationStatus): void {
    const previous = node.lastAlerted;
    const alert: LagAlert = Object.freeze({
      nodeId: node.nodeId,
      severity: status.severity,
      previousSeverity: previous,
      lagEntries: status.lagEntries,
      lagSeconds: status.lagSeconds,
      message: alertMessage(node.nodeId, status.severity, previous, status.lagEntries, status.lagSeconds, { logLost: status.retention?.state === 'lost' }),
      timestamp: status.lastUpdate,
    });
    node.lastAlerted = status.severity;
    node.lastAlertAt = status.lastUpdate;
    this.alertLog.add(alert);
    this.totalAlerts++;
    for (const listener of this.listeners) {
      try {
        listener(alert);
      } catch (error) {
        try {
          this.config.onListenerError?.(error);
        } catch {
          // An error handler that throws is ignored too: alerts never break updates.
        }
      }
    }
  }
}

/**
 * Whether a status may alert at all. A sample whose delay the monitor has not estimated never resolves an
 * episode (no `normal` alert from a bound); when its severity is only the provisional floor (behind, no estimate,
 * no reported figure: the delay is unknown) it emits nothing either: the next sample, with evidence, decides.
 */
function alertable(node: NodeState, status: ReplicationStatus): boolean {
  if (status.delayEstimated) return true;
  return status.severity !== 'normal' && !node.provisional;
}
