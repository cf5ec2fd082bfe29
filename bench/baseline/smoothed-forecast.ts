/**
 * REFERENCE ONLY — DO NOT USE. Not part of the package; imported by the benchmarks alone.
 *
 * The forecast model the package shipped before issue 20 (`src/forecast.ts` at commit 32d31c6), verbatim but for
 * this comment and the names: the smoothed delay growth (time constant 3 s, used beyond one standard error) and
 * the smoothed gain on the leader (5 s, used beyond three), with no regime recognised from single intervals. The
 * benchmarks feed it the same positions and the same delays (our monitor's estimates) as the current model, so
 * the two differ only by the model.
 */

/** Time constant of the smoothed delay growth, in seconds: short, so that a finished ramp stops quickly. */
export const GROWTH_TIME_CONSTANT_SECONDS = 3;
/**
 * Time constant of the smoothed gain on the leader, in seconds: longer, because the lag in entries of a follower
 * that keeps pace swings with every change of the leader's rate (it measures nothing while it swings), and a
 * catch-up takes minutes, not seconds.
 */
export const GAIN_TIME_CONSTANT_SECONDS = 5;
/** Consecutive updates with no leader progress after which the leader is idle: its rate is 0, not a decaying average. */
const IDLE_UPDATES = 2;

/**
 * Standard errors a smoothed rate must stand out of its noise by to be used (soft threshold). The gain is held to
 * a stricter test: a false "gaining" ends the forecast at 0 (caught up), while the leader's rate fluctuates from
 * second to second by far more than a follower's delay does.
 */
const GROWTH_SIGNIFICANCE = 1;
const GAIN_SIGNIFICANCE = 3;

/** Updates (two intervals) before the model forecasts anything. */
export const MIN_FORECAST_UPDATES = 3;

/** An exponentially weighted mean and variance over irregular intervals. @internal */
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

/** What the model says at one instant. */
export interface ForecastFigures {
  /** Delay forecast at now + horizon; undefined before `MIN_FORECAST_UPDATES` updates. */
  readonly predicted: number | undefined;
  readonly catchUpSeconds: number | undefined;
  readonly secondsToCritical: number | undefined;
}

/** The per-node forecast model before issue 20. */
export class PreviousDelayForecast implements ForecastFigures {
  /** Results of the last `figures` call (fields rather than a returned object: nothing allocated per update). */
  predicted: number | undefined = undefined;
  catchUpSeconds: number | undefined = undefined;
  secondsToCritical: number | undefined = undefined;
  /** Delay growth, seconds per second (≤ 1). */
  private readonly growth = new SmoothedRate();
  /** Follower rate minus leader rate, entries per second. */
  private readonly gain = new SmoothedRate();
  /** Follower apply rate, entries per second: the gain while the leader is idle. */
  private readonly apply = new SmoothedRate();
  /** Consecutive intervals in which the leader wrote nothing. */
  private leaderIdle = 0;
  private updates = 0;
  private lastTime = 0;
  private lastLeader = 0;
  private lastFollower = 0;
  private lastDelay = 0;
  private lastEstimated = false;
  /** The weights of the last interval, reused while the interval does not change (a poller's fixed period). */
  private weightsDt = Number.NaN;
  private growthWeight = 0;
  private gainWeight = 0;

  /**
   * Takes one observation: offsets of leader and follower (from a fresh history: `reset` first when positions
   * went backwards), its delay, and whether the delay is the monitor's estimate (a bound does not feed the growth).
   */
  observe(now: number, leader: number, follower: number, delay: number, delayEstimated: boolean): void {
    if (this.updates > 0) {
      const dt = (now - this.lastTime) / 1000;
      // Several updates at one instant: keep the first as the interval's start, so its progress is not lost.
      if (!(dt > 0)) return;
      if (dt !== this.weightsDt) {
        this.weightsDt = dt;
        this.growthWeight = weight(dt, GROWTH_TIME_CONSTANT_SECONDS);
        this.gainWeight = weight(dt, GAIN_TIME_CONSTANT_SECONDS);
      }
      this.gain.add((follower - this.lastFollower - (leader - this.lastLeader)) / dt, this.gainWeight);
      this.apply.add((follower - this.lastFollower) / dt, this.gainWeight);
      this.leaderIdle = leader === this.lastLeader ? this.leaderIdle + 1 : 0;
      // The growth compares like with like: two estimates, or two bounds (a follower older than the history),
      // never the first observation of a history (its delay is a bare bound) nor a switch between the two.
      if (delayEstimated === this.lastEstimated && this.updates > 1) {
        // The delay cannot age faster than the clock: a steeper rise is an estimation step, not a rate.
        this.growth.add(Math.min(1, (delay - this.lastDelay) / dt), this.growthWeight);
      }
    }
    this.updates++;
    this.lastTime = now;
    this.lastLeader = leader;
    this.lastFollower = follower;
    this.lastDelay = delay;
    this.lastEstimated = delayEstimated;
  }

  /** Forgets everything (a position went backwards, or the node is new). */
  reset(): void {
    this.growth.reset();
    this.gain.reset();
    this.apply.reset();
    this.leaderIdle = 0;
    this.updates = 0;
  }

  /**
   * Computes the model's figures into `predicted`, `catchUpSeconds` and `secondsToCritical`, for a follower
   * `lagEntries` behind with delay `delay` (the observation just made). `secondsToCritical` is not limited to the
   * horizon, but to `maxSeconds`. Every number set is finite and ≥ 0.
   */
  figures(lagEntries: number, delay: number, horizonSeconds: number, criticalSeconds: number, maxSeconds: number): void {
    const ready = this.updates >= MIN_FORECAST_UPDATES;
    // An idle leader adds nothing: the follower gains at its own apply rate.
    const gain = !ready || lagEntries === 0 ? 0 : this.leaderIdle >= IDLE_UPDATES ? this.apply.significant(GAIN_SIGNIFICANCE) : this.gain.significant(GAIN_SIGNIFICANCE);
    const growth = ready ? this.growth.shrunk(GROWTH_SIGNIFICANCE) : 0;
    const catchUp = lagEntries === 0 ? 0 : gain > 0 ? finite(lagEntries / gain) : undefined;
    let predicted: number | undefined;
    if (ready) {
      predicted = lagEntries > 0 && catchUp !== undefined && catchUp <= horizonSeconds ? 0 : finite(delay + growth * horizonSeconds);
    }
    let toCritical: number | undefined;
    if (delay >= criticalSeconds) toCritical = 0;
    else if (growth > 0) {
      const s = finite((criticalSeconds - delay) / growth);
      // Caught up first: the delay falls to 0 before it gets there.
      // Beyond `maxSeconds` (the retention window) the smoothed rates say nothing worth extrapolating: a slope
      // that small is the noise left over by the soft threshold, not a trend.
      toCritical = s === undefined || s > maxSeconds || (lagEntries > 0 && catchUp !== undefined && catchUp <= s) ? undefined : s;
    }
    this.predicted = predicted;
    this.catchUpSeconds = catchUp;
    this.secondsToCritical = toCritical;
  }
}

/** The weight of an observation after `dtSeconds` in an average of time constant `timeConstantSeconds`. */
function weight(dtSeconds: number, timeConstantSeconds: number): number {
  return -Math.expm1(-dtSeconds / timeConstantSeconds);
}

/** `x` when finite and ≥ 0 (negative clamps to 0), else undefined. */
function finite(x: number): number | undefined {
  if (!Number.isFinite(x)) return undefined;
  return x > 0 ? x : 0;
}
