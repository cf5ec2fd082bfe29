/**
 * Estimators over a node's sample rings: delay from leader positions, follower apply rate, lag forecast.
 * Every function returns a finite number (or undefined where documented): never NaN, never negative.
 * @internal
 */
import type { SampleRing, SampleSeries } from './history.ts';

/** Minimum number of samples before a forecast is made. */
export const MIN_PREDICTION_SAMPLES = 5;

/**
 * How long the follower's oldest unapplied entry has waited, in seconds: `now − t`, where `t` is when the
 * leader's position passed `follower`, interpolated between the two samples that bracket it.
 * The rings hold past samples only; the current observation is (`now`, `leader`).
 * The recent ring (fine-grained) is searched first, then the coarse ring (whole retention window);
 * when the follower is older than all history, `t` is extrapolated from the two oldest samples at their
 * leader rate, never further back than `maxExtrapolationMs` before the oldest sample.
 */
export function estimateDelaySeconds(
  recent: SampleRing,
  coarse: SampleSeries,
  follower: number,
  leader: number,
  now: number,
  maxExtrapolationMs: number,
): number {
  if (follower >= leader) return 0;
  let t: number;
  const i = recent.latestAtOrBelow(follower);
  if (i >= 0) {
    t = i + 1 < recent.size
      ? interpolate(recent.time(i), recent.leader(i), recent.time(i + 1), recent.leader(i + 1), follower)
      : interpolate(recent.time(i), recent.leader(i), now, leader, follower);
  } else {
    const j = coarse.latestAtOrBelow(follower);
    if (j >= 0) {
      // The leader passed the follower between coarse sample j and the first later sample we know of:
      // coarse j+1, the oldest recent sample or the current observation, whichever is earliest.
      let upperTime = now;
      let upperLeader = leader;
      if (j + 1 < coarse.size) {
        upperTime = coarse.time(j + 1);
        upperLeader = coarse.leader(j + 1);
      }
      if (recent.size > 0 && recent.time(0) < upperTime) {
        upperTime = recent.time(0);
        upperLeader = recent.leader(0);
      }
      t = interpolate(coarse.time(j), coarse.leader(j), upperTime, upperLeader, follower);
    } else {
      t = extrapolate(coarse, follower, leader, now, maxExtrapolationMs);
    }
  }
  const delay = (now - t) / 1000;
  return delay > 0 && Number.isFinite(delay) ? delay : 0;
}

/** Time at which a leader moving linearly from (t0, l0) to (t1, l1) was at `position` (l0 ≤ position < l1). */
function interpolate(t0: number, l0: number, t1: number, l1: number, position: number): number {
  const span = l1 - l0;
  if (span <= 0) return t0;
  return t0 + ((position - l0) / span) * (t1 - t0);
}

function extrapolate(ring: SampleSeries, follower: number, leader: number, now: number, maxExtrapolationMs: number): number {
  if (ring.size === 0) return now;
  const t0 = ring.time(0);
  const l0 = ring.leader(0);
  const t1 = ring.size > 1 ? ring.time(1) : now;
  const l1 = ring.size > 1 ? ring.leader(1) : leader;
  const rate = (l1 - l0) / (t1 - t0); // entries per ms
  if (!(rate > 0) || !Number.isFinite(rate)) return t0;
  return Math.max(t0 - (l0 - follower) / rate, t0 - maxExtrapolationMs);
}

/** Follower apply rate over the recent ring, in entries per second; 0 with fewer than two samples or no elapsed time. */
export function applyRate(recent: SampleRing): number {
  const n = recent.size;
  if (n < 2) return 0;
  const elapsedMs = recent.time(n - 1) - recent.time(0);
  if (!(elapsedMs > 0)) return 0;
  const rate = ((recent.follower(n - 1) - recent.follower(0)) * 1000) / elapsedMs;
  return rate > 0 && Number.isFinite(rate) ? rate : 0;
}

/** Least-squares sums over a ring, x = (time − newest time) / 1000: small and ≤ 0, so well conditioned. */
interface FitSums {
  origin: number;
  sx: number;
  sy: number;
  sxx: number;
  sxy: number;
}

function fitSums(ring: SampleRing): FitSums {
  const n = ring.size;
  const origin = n > 0 ? ring.time(n - 1) : 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const x = (ring.time(i) - origin) / 1000;
    const y = ring.lagSeconds(i);
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  return { origin, sx, sy, sxx, sxy };
}

/**
 * Least-squares line of lag seconds against time (in seconds, like Prometheus `predict_linear`) over the
 * recent ring, evaluated `horizonSeconds` after the newest sample and clamped at 0.
 * Undefined with fewer than `MIN_PREDICTION_SAMPLES` samples. All samples at one instant: their mean.
 * O(ring size): the reference computation, which `TrendFit` falls back to in degenerate cases.
 */
export function predictLagSeconds(recent: SampleRing, horizonSeconds: number): number | undefined {
  const n = recent.size;
  if (n < MIN_PREDICTION_SAMPLES) return undefined;
  const { sx, sy, sxx, sxy } = fitSums(recent);
  const meanY = sy / n;
  const varX = sxx - (sx * sx) / n;
  let predicted: number;
  if (varX > 1e-12) {
    const slope = (sxy - (sx * sy) / n) / varX;
    const intercept = meanY - (slope * sx) / n;
    predicted = intercept + slope * horizonSeconds;
  } else {
    predicted = meanY;
  }
  return predicted > 0 && Number.isFinite(predicted) ? predicted : 0;
}

/**
 * The sums of `predictLagSeconds` kept up to date as samples enter and leave the recent ring, so that the
 * forecast costs O(1) per update instead of a pass over the ring (the pass was most of an update's cost).
 * x = (time − origin) / 1000, with `origin` moved to the newest sample whenever the sums are rebuilt from the
 * ring, every `capacity` pushes: x stays small and rounding never accumulates over more than `capacity` steps.
 * Removing a sample leaves a rounding residue proportional to the x² of everything added and removed since
 * the rebuild (`xxMass`), not to what remains: when the spread of the times is not far above that residue
 * (times nearly equal, e.g. a burst of updates at one instant after a clock jump), the forecast falls back to
 * the exact pass, which also keeps the "all samples at one instant: their mean" rule exact.
 */
export class TrendFit {
  private origin = 0;
  private n = 0;
  private sx = 0;
  private sy = 0;
  private sxx = 0;
  private sxy = 0;
  /** Σ x² of every sample added or removed since the last rebuild: bounds the rounding residue of `sxx`. */
  private xxMass = 0;
  private pushes = 0;

  /** Call before `ring.push` when the ring is full: the oldest sample is about to be overwritten. */
  evict(time: number, lagSeconds: number): void {
    const x = (time - this.origin) / 1000;
    const xx = x * x;
    this.n--;
    this.sx -= x;
    this.sy -= lagSeconds;
    this.sxx -= xx;
    this.sxy -= x * lagSeconds;
    this.xxMass += xx;
  }

  /** Call after `ring.push(time, …, lagSeconds)`. */
  pushed(ring: SampleRing, time: number, lagSeconds: number): void {
    if (++this.pushes >= ring.capacity) {
      this.rebuild(ring);
      return;
    }
    const x = (time - this.origin) / 1000;
    const xx = x * x;
    this.n++;
    this.sx += x;
    this.sy += lagSeconds;
    this.sxx += xx;
    this.sxy += x * lagSeconds;
    this.xxMass += xx;
  }

  /** Call when the ring is cleared. */
  reset(): void {
    this.n = 0;
    this.sx = 0;
    this.sy = 0;
    this.sxx = 0;
    this.sxy = 0;
    this.xxMass = 0;
    this.pushes = 0;
  }

  /** `predictLagSeconds(ring, horizonSeconds)`, in O(1) (same result up to rounding). */
  predict(ring: SampleRing, horizonSeconds: number): number | undefined {
    const n = this.n;
    if (n < MIN_PREDICTION_SAMPLES) return undefined;
    const meanX = this.sx / n;
    const meanY = this.sy / n;
    const varX = this.sxx - this.sx * meanX;
    // Spread of the times not far above the rounding residue: exact pass.
    if (!(varX > 1e-6 * this.xxMass) || !(varX > 1e-9)) return predictLagSeconds(ring, horizonSeconds);
    const slope = (this.sxy - this.sx * meanY) / varX;
    const newestX = (ring.time(ring.size - 1) - this.origin) / 1000;
    const predicted = meanY + slope * (newestX + horizonSeconds - meanX);
    return predicted > 0 && Number.isFinite(predicted) ? predicted : 0;
  }

  private rebuild(ring: SampleRing): void {
    const sums = fitSums(ring);
    this.origin = sums.origin;
    this.n = ring.size;
    this.sx = sums.sx;
    this.sy = sums.sy;
    this.sxx = sums.sxx;
    this.sxy = sums.sxy;
    this.xxMass = sums.sxx;
    this.pushes = 0;
  }
}
