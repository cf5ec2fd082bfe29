/**
 * Estimators over a node's sample rings: delay from leader positions, follower apply rate (the forecast model
 * is in `forecast.ts`). Every function returns a finite number: never NaN, never negative.
 * @internal
 */
import type { SampleRing, SampleSeries } from './history.ts';

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
