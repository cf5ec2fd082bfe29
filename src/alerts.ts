/** Alert policy and the bounded alert log. @internal */
import type { LagAlert, LagSeverity } from './types.ts';
import { severityRank } from './severity.ts';

/**
 * Decides whether a node whose last alert was `lastAlerted` (at `lastAlertAt` ms) alerts now that it is `current`.
 * - an escalation above the last alerted level is always emitted;
 * - a return to normal resolves the episode, and is emitted only when the episode alerted (`lastAlerted` ≠ normal);
 * - a fall to another non-normal level waits for the cooldown, so a flapping node does not page repeatedly.
 */
export function shouldAlert(
  lastAlerted: LagSeverity,
  lastAlertAt: number,
  current: LagSeverity,
  now: number,
  cooldownMs: number,
): boolean {
  if (current === lastAlerted) return false;
  if (severityRank(current) > severityRank(lastAlerted)) return true;
  if (current === 'normal') return true;
  return now - lastAlertAt >= cooldownMs;
}

/** The human-readable text of an alert; `logLost`: the leader removed log the follower needs (a lost slot). */
export function alertMessage(
  nodeId: string,
  severity: LagSeverity,
  previous: LagSeverity,
  lagEntries: number,
  lagSeconds: number,
  options: { readonly logLost?: boolean } = {},
): string {
  const where = `${lagEntries} entries, ${lagSeconds.toFixed(1)}s behind`;
  if (severity === 'normal') return `replica ${nodeId} recovered from ${previous} (${where})`;
  if (severity === 'stalled' && options.logLost === true) {
    return `replica ${nodeId} is stalled: its replication slot is lost (the leader removed log it still needed, ${where}); the consumer must be resynchronised (rebuild the standby, or recreate the subscription or slot)`;
  }
  if (severity === 'stalled') return `replica ${nodeId} is stalled: not applying while ${where} (was ${previous})`;
  return `replica ${nodeId} lag is ${severity}: ${where} (was ${previous})`;
}

/** Keeps the newest `capacity` alerts, oldest first. */
export class AlertLog {
  private readonly capacity: number;
  private items: LagAlert[] = [];
  private head = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  add(alert: LagAlert): void {
    if (this.capacity === 0) return;
    if (this.items.length < this.capacity) {
      this.items.push(alert);
    } else {
      this.items[this.head] = alert;
      this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    }
  }

  /** A copy, oldest first. */
  toArray(): LagAlert[] {
    return this.items.slice(this.head).concat(this.items.slice(0, this.head));
  }

  /** Removes every alert for which `drop` returns true. */
  remove(drop: (alert: LagAlert) => boolean): void {
    this.items = this.toArray().filter((a) => !drop(a));
    this.head = 0;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
