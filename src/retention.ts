/**
 * The log a leader keeps for one follower (a PostgreSQL replication slot) and the time until it is lost: the
 * source reports the facts (`LogRetention`), this model turns them into `RetentionStatus.lossSeconds`. O(1) per
 * update, 9 numbers per node.
 *
 * The safe size (how much more log the leader may write before the follower's part may be removed) shrinks as fast
 * as the retained log grows: at the leader's write rate minus the follower's progress — the leader's own rate when
 * the consumer is gone. That growth is averaged exponentially over irregular intervals with the forecast's gain time
 * constant (weight `1 − e^(−Δt/T)`, T = 5 s), starting from its first measurement, and used only when it stands 3
 * standard errors above 0 (the forecast's hard threshold for a gain): a consumer that keeps up, whose retained log
 * swings around a constant, has no loss time. @internal
 */
import { GAIN_TIME_CONSTANT_SECONDS } from './forecast.ts';
import type { LogRetention, RetentionState, RetentionStatus } from './types.ts';

/** Every `RetentionState`, best first. */
export const RETENTION_STATES: readonly RetentionState[] = Object.freeze(['reserved', 'extended', 'unreserved', 'lost']);

/** Standard errors of the mean the growth must stand above 0 by to give a loss time. */
const GROWTH_SIGNIFICANCE = 3;
/** Growth measurements (intervals) before a loss time is given. */
const MIN_INTERVALS = 2;

/** The per-node model of a follower's retained log. @internal */
export class RetentionModel {
  /** Smoothed growth of the retained log, units per second: mean, variance, and the variance share of the mean. */
  private mean = 0;
  private variance = 0;
  private meanShare = 1;
  private intervals = 0;
  private lastTime = Number.NaN;
  private lastRetained = 0;

  /** Takes one report at `now` (ms) and returns it with its loss time; undefined (and forgets) when there is none. */
  observe(now: number, retention: LogRetention | undefined): RetentionStatus | undefined {
    if (retention === undefined) {
      this.reset();
      return undefined;
    }
    const { retained } = retention;
    const dt = (now - this.lastTime) / 1000;
    if (dt > 0) {
      this.add((retained - this.lastRetained) / dt, -Math.expm1(-dt / GAIN_TIME_CONSTANT_SECONDS));
      this.lastTime = now;
      this.lastRetained = retained;
    } else if (Number.isNaN(this.lastTime)) {
      this.lastTime = now;
      this.lastRetained = retained;
    }
    return { ...retention, lossSeconds: this.lossSeconds(retention) };
  }

  /** Forgets the growth (no retention reported, or the node is new). */
  reset(): void {
    this.mean = 0;
    this.variance = 0;
    this.meanShare = 1;
    this.intervals = 0;
    this.lastTime = Number.NaN;
    this.lastRetained = 0;
  }

  /** The smoothed growth when it stands out of its noise above 0, else 0. */
  growth(): number {
    if (this.intervals < MIN_INTERVALS) return 0;
    const m = this.mean;
    return m > GROWTH_SIGNIFICANCE * Math.sqrt(this.variance * this.meanShare) && Number.isFinite(m) ? m : 0;
  }

  private lossSeconds(r: LogRetention): number | undefined {
    if (r.state === 'unreserved' || r.state === 'lost') return 0;
    if (r.safeSize === undefined) return undefined;
    if (r.safeSize <= 0) return 0;
    const growth = this.growth();
    if (!(growth > 0)) return undefined;
    const s = r.safeSize / growth;
    return Number.isFinite(s) ? s : undefined;
  }

  /** An exponentially weighted mean and variance that starts at its first observation (no bias towards 0). */
  private add(x: number, alpha: number): void {
    if (!Number.isFinite(x) || !(alpha > 0)) return;
    if (this.intervals === 0) {
      this.mean = x;
      this.variance = 0;
      this.meanShare = 1;
    } else {
      const diff = x - this.mean;
      const incr = alpha * diff;
      this.mean += incr;
      this.variance = (1 - alpha) * (this.variance + diff * incr);
      this.meanShare = (1 - alpha) * (1 - alpha) * this.meanShare + alpha * alpha;
    }
    this.intervals++;
  }
}
