/**
 * Exponentially weighted averages over irregular intervals, the building blocks of the forecast model: each keeps
 * its mean and the variance of one observation, O(1) per observation, a few numbers.
 * @internal
 */

/** The weight of an observation after `dtSeconds` in an average of time constant `timeConstantSeconds`: `1 − e^(−Δt/T)`. */
export function weight(dtSeconds: number, timeConstantSeconds: number): number {
  return -Math.expm1(-dtSeconds / timeConstantSeconds);
}

/**
 * An exponentially weighted mean and variance that starts at 0 and is used only where it stands out of its own
 * noise (the slow, always-on averages of the forecast: their pull towards 0 at the start is deliberate caution).
 */
export class SmoothedRate {
  private mean = 0;
  private variance = 0;
  /** Σ of squared weights' share: the variance of the mean relative to one sample's, `α/(2−α)` in steady state. */
  private meanShare = 1;

  /** Adds one observation `x` with weight `alpha` = `1 − e^(−Δt/T)` (see `weight`). */
  add(x: number, alpha: number): void {
    if (!(alpha > 0) || !Number.isFinite(x)) return;
    const diff = x - this.mean;
    const incr = alpha * diff;
    this.mean += incr;
    this.variance = (1 - alpha) * (this.variance + diff * incr);
    this.meanShare = (1 - alpha) * (1 - alpha) * this.meanShare + alpha * alpha;
  }

  /** The mean shrunk towards 0 by `k` standard errors of the mean (soft threshold): what stands out of the noise. */
  shrunk(k: number): number {
    const se = k * Math.sqrt(this.variance * this.meanShare);
    const m = this.mean;
    const shrunk = m > 0 ? Math.max(0, m - se) : Math.min(0, m + se);
    return Number.isFinite(shrunk) ? shrunk : 0;
  }

  /** The mean when it stands `k` standard errors of the mean away from 0 (hard threshold), else 0. */
  significant(k: number): number {
    const m = this.mean;
    return Math.abs(m) > k * Math.sqrt(this.variance * this.meanShare) && Number.isFinite(m) ? m : 0;
  }

  reset(): void {
    this.mean = 0;
    this.variance = 0;
    this.meanShare = 1;
  }
}

/**
 * An exponentially weighted mean seeded by its first observation: no pull towards 0, so that an average restarted
 * when a regime begins says what the regime does from its first observation on.
 */
export class SeededAverage {
  private mean = 0;
  private seeded = false;

  /** Adds one observation `x` with weight `alpha`; the first observation after a reset is taken as the mean. */
  add(x: number, alpha: number): void {
    if (!Number.isFinite(x)) return;
    if (!this.seeded) {
      this.mean = x;
      this.seeded = true;
    } else if (alpha > 0) {
      this.mean += alpha * (x - this.mean);
    }
  }

  /** The mean; 0 before any observation. */
  value(): number {
    return this.mean;
  }

  reset(): void {
    this.mean = 0;
    this.seeded = false;
  }
}

/**
 * The jitter of a series: the exponentially weighted root mean square of its successive differences, divided by √2
 * (the standard deviation of white noise). Unlike a deviation around a moving mean, a change of level (a ramp that
 * starts) adds one difference, not a long excursion; a series that saws up and down adds one at every tooth.
 */
export class Jitter {
  private last = Number.NaN;
  private meanSquare = 0;
  /** `1 − Π(1 − α)` over the differences: the weight they have accumulated (so a young estimate is not pulled to 0). */
  private accumulated = 0;

  /** Adds one observation with weight `alpha`. */
  add(x: number, alpha: number): void {
    if (!Number.isFinite(x)) return;
    const d = x - this.last;
    this.last = x;
    if (!Number.isFinite(d) || !(alpha > 0)) return;
    this.meanSquare += alpha * ((d * d) / 2 - this.meanSquare);
    this.accumulated = alpha + (1 - alpha) * this.accumulated;
  }

  /** Whether |x| is within `k` standard deviations of the jitter (no square root: cheap enough for every update). */
  covers(x: number, k: number): boolean {
    return x * x * this.accumulated <= k * k * this.meanSquare;
  }

  /** The jitter's standard deviation (0 before two observations). */
  deviation(): number {
    const a = this.accumulated;
    const d = a > 0 ? Math.sqrt(this.meanSquare / a) : 0;
    return Number.isFinite(d) ? d : 0;
  }

  reset(): void {
    this.last = Number.NaN;
    this.meanSquare = 0;
    this.accumulated = 0;
  }
}
