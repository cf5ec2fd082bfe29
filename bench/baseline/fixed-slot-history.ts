/**
 * REFERENCE ONLY — DO NOT USE. Not part of the package; imported by the benchmarks alone.
 *
 * The fixed-slot history that `src/history.ts` held before the multi-resolution one (commit 482603e), kept so
 * that `npm run bench` can compare the delay error of both on the same samples, in the same run: one sample
 * per slot of `retentionWindowSeconds / (maxSamplesPerNode − 2)` (14.2 s with the defaults), whatever the age.
 * Node state built it as `new FixedSlotHistory(maxSamplesPerNode, recent, retentionMs, retentionMs / (maxSamplesPerNode − 2))`.
 */
import { SampleRing, type SampleSeries } from '../../src/history.ts';

/**
 * The history spanning the retention window, at most `capacity` samples: one per slot of time (the newest
 * observation of the slot), plus one sample at or before the window's start as the anchor for interpolation.
 * The newest observation is always the newest sample of `recent`, so it is not stored here: `committed` holds
 * the older samples and the series reads the last one from `recent`. Coalescing an update into the current
 * slot thus writes nothing here; a sample is committed once per slot, when an update lands in a new one.
 * @internal
 */
export class FixedSlotHistory implements SampleSeries {
  private readonly committed: SampleRing;
  private readonly recent: SampleRing;
  private readonly retentionMs: number;
  private readonly slotMs: number;
  /** Time of committed sample 1 (the pruning test), cached; +∞ with fewer than two committed samples. */
  private secondTime = Number.POSITIVE_INFINITY;

  constructor(capacity: number, recent: SampleRing, retentionMs: number, slotMs: number) {
    this.committed = new SampleRing(capacity - 1);
    this.recent = recent;
    this.retentionMs = retentionMs;
    this.slotMs = slotMs;
  }

  get size(): number {
    return this.recent.size > 0 ? this.committed.size + 1 : 0;
  }
  time(i: number): number {
    return i < this.committed.size ? this.committed.time(i) : this.recent.time(this.recent.size - 1);
  }
  leader(i: number): number {
    return i < this.committed.size ? this.committed.leader(i) : this.recent.leader(this.recent.size - 1);
  }
  follower(i: number): number {
    return i < this.committed.size ? this.committed.follower(i) : this.recent.follower(this.recent.size - 1);
  }
  lagSeconds(i: number): number {
    return i < this.committed.size ? this.committed.lagSeconds(i) : this.recent.lagSeconds(this.recent.size - 1);
  }
  latestAtOrBelow(offset: number): number {
    const r = this.recent;
    if (r.size === 0) return -1;
    if (r.leader(r.size - 1) <= offset) return this.committed.size;
    return this.committed.latestAtOrBelow(offset);
  }

  /**
   * Makes room for the observation at `now`, which the caller then pushes to `recent`: prunes what left the
   * window (keeping the anchor) and, when `now` falls in a new slot, commits the previous observation.
   */
  advance(now: number): void {
    const r = this.recent;
    if (r.size === 0) return;
    const c = this.committed;
    const last = r.size - 1;
    const previousTime = r.time(last);
    const cutoff = now - this.retentionMs;
    if (this.secondTime <= cutoff) {
      while (c.size > 1 && c.time(1) <= cutoff) c.dropOldest();
      this.secondTime = c.size > 1 ? c.time(1) : Number.POSITIVE_INFINITY;
    }
    // With one committed sample, the second sample of the series is the previous observation.
    if (c.size === 1 && previousTime <= cutoff) c.dropOldest();
    if (Math.floor(now / this.slotMs) !== Math.floor(previousTime / this.slotMs)) {
      c.push(previousTime, r.leader(last), r.follower(last), r.lagSeconds(last));
      this.secondTime = c.size > 1 ? c.time(1) : Number.POSITIVE_INFINITY;
    }
  }

  /** Call with `recent.clear()`. */
  clear(): void {
    this.committed.clear();
    this.secondTime = Number.POSITIVE_INFINITY;
  }
}
