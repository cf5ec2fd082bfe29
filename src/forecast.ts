/**
 * The forecast model over one node: where the delay will be if the follower keeps its recent progress and the
 * leader keeps its rate. O(1) per update, a few dozen numbers per node.
 *
 * The delay is `now − τ`, where τ is when the leader wrote the follower's position. The follower moves τ forward
 * by `τ'` seconds of the leader's history per second: 0 when it stops applying (the delay then ages 1 s/s),
 * 1 when it applies at the pace the leader wrote (the delay holds), more when it catches up. So the delay grows
 * at `g = 1 − τ'` (at most 1 s/s), measured here as the smoothed slope of the delay itself, which measures τ'
 * against the leader's actual history rather than against its current rate (a follower replaying a burst at
 * the pace it was written keeps its delay even while the leader's current rate differs).
 * In positions, the follower gains on the leader at `r_follower − r_leader` entries per second: when it gains,
 * it reaches the leader's position after `lag / gain` seconds and its delay is 0 from then on (this is what
 * ends the delay of a follower draining a backlog after the leader went idle).
 *
 * Both rates are exponentially weighted moving averages over irregular intervals (weight `1 − e^(−Δt/T)`): the
 * growth with T = 3 s, so that a finished ramp stops being extrapolated within a few seconds; the gain with
 * T = 5 s, because a follower keeping pace with a bursty leader swings in entries without gaining anything.
 * Each average keeps its variance too, and is used only where it stands out of its own noise: the growth for
 * the part beyond one standard error (soft threshold: the sawtooth of a healthy follower's delay is not projected
 * 60 s ahead), the gain only when it is 3 standard errors away from 0 (hard threshold: a false "gaining" would
 * end the forecast at 0). A leader that wrote nothing for two updates in a row is idle: the follower then gains
 * at its own apply rate.
 *
 * Smoothed rates need seconds to believe a new regime; the two that matter most for an alert are recognised from
 * single intervals instead (`regime.ts`): a follower known frozen has a pace of exactly 0 (growth 1 s/s: the
 * forecast is `delay + horizon`, the time to critical `critical − delay`), and a follower known to be catching
 * up gains on the leader at the rate measured since its catch-up began (a seeded average, no pull towards the
 * rates of the regime before). Otherwise the smoothed rates above decide.
 * @internal
 */

import { JITTER_TIME_CONSTANT_SECONDS, RegimeTracker, type Interval } from './regime.ts';
import { SmoothedRate, weight } from './smoothed-rate.ts';

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

type MutableInterval = { -readonly [K in keyof Interval]: Interval[K] };

/** What the model says at one instant. */
export interface ForecastFigures {
  /** Delay forecast at now + horizon; undefined before `MIN_FORECAST_UPDATES` updates. */
  readonly predicted: number | undefined;
  readonly catchUpSeconds: number | undefined;
  readonly secondsToCritical: number | undefined;
}

/** The per-node forecast model. @internal */
export class DelayForecast implements ForecastFigures {
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
  /** Frozen or catching up, from single intervals. */
  private readonly regime = new RegimeTracker();
  /** The interval handed to the regime tracker, reused (nothing allocated per update). */
  private readonly interval: MutableInterval = {
    dt: 0,
    leaderAdvance: 0,
    followerAdvance: 0,
    lagBefore: 0,
    lagAfter: 0,
    growth: 0,
    ownDelay: false,
    jitterWeight: 0,
  };
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
  private jitterWeight = 0;

  /**
   * Takes one observation: offsets of leader and follower (from a fresh history: `reset` first when positions
   * went backwards), its delay, whether the delay is an estimate (a bound does not feed the growth), and whether it
   * is the monitor's own (estimated or bounded) rather than a figure the caller gave.
   */
  observe(now: number, leader: number, follower: number, delay: number, delayEstimated: boolean, ownDelay: boolean): void {
    if (this.updates > 0) {
      const dt = (now - this.lastTime) / 1000;
      // Several updates at one instant: keep the first as the interval's start, so its progress is not lost.
      if (!(dt > 0)) return;
      if (dt !== this.weightsDt) {
        this.weightsDt = dt;
        this.growthWeight = weight(dt, GROWTH_TIME_CONSTANT_SECONDS);
        this.gainWeight = weight(dt, GAIN_TIME_CONSTANT_SECONDS);
        this.jitterWeight = weight(dt, JITTER_TIME_CONSTANT_SECONDS);
      }
      const leaderAdvance = leader - this.lastLeader;
      const followerAdvance = follower - this.lastFollower;
      this.gain.add((followerAdvance - leaderAdvance) / dt, this.gainWeight);
      this.apply.add(followerAdvance / dt, this.gainWeight);
      this.leaderIdle = leaderAdvance === 0 ? this.leaderIdle + 1 : 0;
      // The growth compares like with like: two estimates, or two bounds (a follower older than the history),
      // never the first observation of a history (its delay is a bare bound) nor a switch between the two.
      // The delay cannot age faster than the clock: a steeper rise is an estimation step, not a rate.
      const growth = delayEstimated === this.lastEstimated && this.updates > 1 ? Math.min(1, (delay - this.lastDelay) / dt) : Number.NaN;
      this.growth.add(growth, this.growthWeight);
      const iv = this.interval;
      iv.dt = dt;
      iv.leaderAdvance = leaderAdvance;
      iv.followerAdvance = followerAdvance;
      iv.lagBefore = this.lastLeader - this.lastFollower;
      iv.lagAfter = leader - follower;
      iv.growth = growth;
      iv.ownDelay = ownDelay;
      iv.jitterWeight = this.jitterWeight;
      this.regime.observe(iv);
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
    this.regime.reset();
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
    const regime = this.regime;
    let gain: number;
    let growth: number;
    if (!ready) {
      gain = 0;
      growth = 0;
    } else if (regime.frozen) {
      // Known frozen: it applies nothing, so it gains nothing and its delay ages exactly with the clock.
      gain = 0;
      growth = 1;
    } else if (regime.catchingUp) {
      gain = regime.gainRate();
      growth = regime.growthRate();
    } else {
      // An idle leader adds nothing: the follower gains at its own apply rate.
      gain = this.leaderIdle >= IDLE_UPDATES ? this.apply.significant(GAIN_SIGNIFICANCE) : this.gain.significant(GAIN_SIGNIFICANCE);
      growth = this.growth.shrunk(GROWTH_SIGNIFICANCE);
      if (growth !== 0 && regime.withinJitter(growth)) growth = 0;
    }
    if (lagEntries === 0) gain = 0;
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

/** `x` when finite and ≥ 0 (negative clamps to 0), else undefined. */
function finite(x: number): number | undefined {
  if (!Number.isFinite(x)) return undefined;
  return x > 0 ? x : 0;
}
