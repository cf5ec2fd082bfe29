/** The simulation grid the accuracy workloads share: positions sampled every `GRID_SECONDS`. */

/** Grid step, seconds. */
export const GRID_SECONDS = 0.01;

/**
 * First time (s) the continuous leader reached `position`, interpolated on the grid (binary search; the leader is
 * at or past `position` at index k0).
 */
export function firstReached(leader: Float64Array, position: number, k0: number): number {
  let lo = 0;
  let hi = k0;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (leader[mid]! >= position) hi = mid;
    else lo = mid + 1;
  }
  if (lo === 0) return 0;
  const l0 = leader[lo - 1]!;
  const l1 = leader[lo]!;
  return (lo - 1 + (position - l0) / (l1 - l0)) * GRID_SECONDS;
}
