/**
 * The two regimes of a follower that an alert cares about in its first seconds, recognised from single intervals
 * rather than from smoothed slopes: **frozen** (behind, and it applied nothing over the interval: its delay ages
 * exactly 1 s/s, its pace through the leader's history is exactly 0) and **catching up** (it gains on the leader
 * in entries and its delay falls). The forecast uses them as soon as they are known — a freeze from its first
 * interval without progress, a catch-up from its second interval of gaining (its first, after a known freeze) —
 * and falls back on its smoothed rates otherwise.
 *
 * Crying wolf is avoided by comparing with what the follower usually does: the jitter of its delay's growth per
 * interval (the exponentially weighted RMS of its successive differences, time constant 30 s: a change of level,
 * such as a freeze that begins, adds one difference; a sawtooth adds two at every tooth). A freeze
 * is known only when a growth of 1 s/s stands 3 deviations out of that jitter, a catch-up only when its delay
 * falls by more than 3 deviations: a healthy follower whose delay saws up and down (batch apply, a bursty leader)
 * has a jitter of that size and gets neither. Nothing is known in the first 10 s of a history (the jitter is not
 * measured yet), nor when the caller gives the delay (its figure, not the positions, then says how it moves).
 * O(1) per update.
 * @internal
 */
import { Jitter, SeededAverage, weight } from './smoothed-rate.ts';

/** Time constant of the follower's usual jitter, seconds: long enough to remember a sawtooth between its teeth. */
export const JITTER_TIME_CONSTANT_SECONDS = 30;
/** Seconds of history before any regime is recognised: the jitter needs a few intervals to be measured. */
export const REGIME_WARM_UP_SECONDS = 10;
/** Deviations of the usual jitter a freeze or a catch-up must stand out by. */
const JITTER_SIGNIFICANCE = 3;
/** Floor of that bound, s/s: a delay moving less than this per second is not a regime, whatever the jitter. */
const JITTER_FLOOR = 0.05;
/**
 * Time constant of the catch-up's rates, seconds: half the catch-up's age, within these bounds — the longer a
 * catch-up lasts, the more of it its rates average (a bursty leader's swings cancel out), yet a change of pace
 * still shows within a minute.
 */
const RUN_MIN_TIME_CONSTANT_SECONDS = 5;
const RUN_MAX_TIME_CONSTANT_SECONDS = 60;
/** Consecutive intervals without gaining that end a catch-up (one is a hiccup, not an end). */
const CATCH_UP_EXIT_INTERVALS = 2;
/** A catch-up may start on its first gaining interval when a known freeze ended within this many intervals. */
const AFTER_FREEZE_INTERVALS = 2;

/** One interval between two observations of a node, as the regime tracker reads it. */
export interface Interval {
  /** Seconds. */
  readonly dt: number;
  /** Entries the leader and the follower advanced. */
  readonly leaderAdvance: number;
  readonly followerAdvance: number;
  /** Entries behind at the interval's start and end. */
  readonly lagBefore: number;
  readonly lagAfter: number;
  /** Growth of the delay over the interval, s/s; NaN when the two delays are not comparable. */
  readonly growth: number;
  /** Whether the delay is the monitor's own (estimated or bounded), not a figure given by the caller. */
  readonly ownDelay: boolean;
  /** Weight of the interval in the follower's jitter. */
  readonly jitterWeight: number;
}

/** Recognises a frozen or catching-up follower from single intervals. @internal */
export class RegimeTracker {
  /** Known frozen: behind, no progress over the last interval, and that stands out of the follower's jitter. */
  frozen = false;
  /** Known catching up: see the file comment. */
  catchingUp = false;
  /** The follower's usual growth of its delay per interval (outside the two regimes). */
  private readonly jitter = new Jitter();
  /** The catch-up's gain on the leader (entries/s) and delay growth (s/s), restarted when it starts. */
  private readonly runGain = new SeededAverage();
  private readonly runGrowth = new SeededAverage();
  private observedSeconds = 0;
  private gainingIntervals = 0;
  private losingIntervals = 0;
  private runIntervals = 0;
  /** When the catch-up's rates started, in `observedSeconds`. */
  private runStart = 0;
  /** Intervals since a known freeze ended (large when none did recently). */
  private sinceFreeze = Number.POSITIVE_INFINITY;

  /** Takes one interval. */
  observe(iv: Interval): void {
    this.observedSeconds += iv.dt;
    const ready = iv.ownDelay && this.observedSeconds >= REGIME_WARM_UP_SECONDS;
    const behind = iv.lagBefore > 0;
    const still = behind && iv.lagAfter > 0 && iv.followerAdvance === 0;
    const gained = behind && iv.followerAdvance > iv.leaderAdvance;
    if (this.catchingUp && (!ready || still || iv.lagAfter === 0)) this.endCatchUp();
    // Gaining in entries while the delay falls out of its jitter (with an idle leader the smoothed rates decide).
    // Right after a known freeze, a follower that resumes and gains is catching up if its delay falls at all (or
    // cannot be compared: a bound followed by an estimate): the freeze, not the jitter, is what it recovers from.
    const afterFreeze = this.frozen || this.sinceFreeze < AFTER_FREEZE_INTERVALS;
    const gaining =
      ready && gained && !this.catchingUp && iv.leaderAdvance > 0 && ((afterFreeze && !(iv.growth >= 0)) || this.outOfJitter(-iv.growth));

    const wasFrozen = this.frozen;
    // A follower that applied nothing ages its delay by exactly 1 s/s: known when that is out of its usual jitter.
    this.frozen = ready && still && (wasFrozen || this.outOfJitter(1));
    this.sinceFreeze = this.frozen ? 0 : wasFrozen ? 1 : this.sinceFreeze + 1;

    if (this.catchingUp) {
      // The run's first interval may have begun before the catch-up did (a partial one): not used once a second one is there.
      if (this.runIntervals === 1) this.restartRates();
      this.runIntervals++;
      const alpha = weight(iv.dt, Math.min(RUN_MAX_TIME_CONSTANT_SECONDS, Math.max(RUN_MIN_TIME_CONSTANT_SECONDS, (this.observedSeconds - this.runStart) / 2)));
      this.runGain.add((iv.followerAdvance - iv.leaderAdvance) / iv.dt, alpha);
      this.runGrowth.add(iv.growth, alpha);
      if (gained) this.losingIntervals = 0;
      else if (++this.losingIntervals >= CATCH_UP_EXIT_INTERVALS) this.endCatchUp();
    } else if (gaining) {
      this.gainingIntervals++;
      if (this.gainingIntervals >= 2 || this.sinceFreeze <= AFTER_FREEZE_INTERVALS) {
        this.catchingUp = true;
        this.losingIntervals = 0;
        this.restartRates();
        // (the rates hold this interval only: the run's first is dropped once a second is there)
        this.runIntervals = this.gainingIntervals;
        this.runGain.add((iv.followerAdvance - iv.leaderAdvance) / iv.dt, 1);
        this.runGrowth.add(iv.growth, 1);
      }
    } else this.gainingIntervals = 0;
    // Everything teaches the jitter: a regime's steady growth adds differences of 0, its start and end one each.
    this.jitter.add(iv.growth, iv.jitterWeight);
  }

  /**
   * Whether a growth of the delay of `x` s/s (x > 0) stands out of the follower's usual jitter: beyond
   * 3 deviations plus a floor of 0.05 s/s.
   */
  private outOfJitter(x: number): boolean {
    const beyond = x - JITTER_FLOOR;
    return beyond > 0 && !this.jitter.covers(beyond, JITTER_SIGNIFICANCE);
  }

  /** Whether a growth of the delay (s/s) is within one deviation of the follower's usual jitter. */
  withinJitter(growth: number): boolean {
    return this.jitter.covers(growth, 1);
  }

  /** The catch-up's gain on the leader, entries/s (meaningful while `catchingUp`). */
  gainRate(): number {
    return this.runGain.value();
  }

  /** The catch-up's delay growth, s/s, at most 1 (meaningful while `catchingUp`). */
  growthRate(): number {
    return Math.min(1, this.runGrowth.value());
  }

  /** Forgets everything (a new history). */
  reset(): void {
    this.frozen = false;
    this.catchingUp = false;
    this.jitter.reset();
    this.restartRates();
    this.observedSeconds = 0;
    this.gainingIntervals = 0;
    this.losingIntervals = 0;
    this.runIntervals = 0;
    this.sinceFreeze = Number.POSITIVE_INFINITY;
  }

  private restartRates(): void {
    this.runStart = this.observedSeconds;
    this.runGain.reset();
    this.runGrowth.reset();
  }

  private endCatchUp(): void {
    this.catchingUp = false;
    this.gainingIntervals = 0;
    this.losingIntervals = 0;
    this.runIntervals = 0;
  }
}
