import type { LagSeverity } from './types.ts';

/** All severities in rank order. */
export const SEVERITIES: readonly LagSeverity[] = Object.freeze(['normal', 'warning', 'critical', 'stalled']);

/** Rank of a severity: normal 0 < warning 1 < critical 2 < stalled 3. */
export function severityRank(severity: LagSeverity): number {
  switch (severity) {
    case 'normal':
      return 0;
    case 'warning':
      return 1;
    case 'critical':
      return 2;
    case 'stalled':
      return 3;
  }
}

/** Thresholds that `classifySeverity` needs. */
export interface SeverityThresholds {
  readonly warningThresholdSeconds: number;
  readonly criticalThresholdSeconds: number;
  readonly stallTimeoutSeconds: number;
}

/**
 * Classifies a follower, in this order: caught up (no entries behind, under a second) is normal;
 * entries behind with no follower progress for the stall timeout is stalled; then the delay thresholds.
 */
export function classifySeverity(
  lagEntries: number,
  lagSeconds: number,
  secondsWithoutProgress: number,
  thresholds: SeverityThresholds,
): LagSeverity {
  if (lagEntries === 0 && lagSeconds < 1) return 'normal';
  if (lagEntries > 0 && secondsWithoutProgress >= thresholds.stallTimeoutSeconds) return 'stalled';
  if (lagSeconds >= thresholds.criticalThresholdSeconds) return 'critical';
  if (lagSeconds >= thresholds.warningThresholdSeconds) return 'warning';
  return 'normal';
}
