/** Samples oldest first, leader offsets non-decreasing: what the estimators read. @internal */
export interface SampleSeries {
  readonly size: number;
  /** Time (ms) of the i-th sample, oldest first. */
  time(i: number): number;
  leader(i: number): number;
  follower(i: number): number;
  lagSeconds(i: number): number;
  /** Index of the newest sample whose leader offset is ≤ `offset`, or -1 when none is. */
  latestAtOrBelow(offset: number): number;
}

/**
 * Fixed-capacity ring of samples in one Float64Array: time (ms), leader and follower offsets, lag seconds.
 * Offsets are positions relative to the node's base (exact numbers even for 64-bit positions).
 * Leader offsets in a ring never decrease: the monitor clears it when a position goes backwards,
 * which is what lets `latestAtOrBelow` binary-search.
 * @internal
 */
export class SampleRing implements SampleSeries {
  readonly capacity: number;
  private readonly data: Float64Array;
  private head = 0; // slot of the oldest sample
  private count = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.data = new Float64Array(capacity * 4);
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  /** Appends a sample, overwriting the oldest when full. */
  push(time: number, leader: number, follower: number, lagSeconds: number): void {
    let slot: number;
    if (this.count < this.capacity) {
      slot = this.head + this.count;
      if (slot >= this.capacity) slot -= this.capacity;
      this.count++;
    } else {
      slot = this.head;
      this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    }
    this.write(slot, time, leader, follower, lagSeconds);
  }

  /** Drops the oldest sample. */
  dropOldest(): void {
    if (this.count === 0) return;
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    this.count--;
  }

  /** Time (ms) of the i-th sample, oldest first. */
  time(i: number): number {
    return this.data[this.slot(i) * 4]!;
  }
  leader(i: number): number {
    return this.data[this.slot(i) * 4 + 1]!;
  }
  follower(i: number): number {
    return this.data[this.slot(i) * 4 + 2]!;
  }
  lagSeconds(i: number): number {
    return this.data[this.slot(i) * 4 + 3]!;
  }

  /**
   * Index of the newest sample whose leader offset is ≤ `offset`, or -1 when none is. O(log n).
   * Gallops back from the newest sample before bisecting: a follower usually trails by a few samples, so this
   * reads a few neighbouring slots instead of probing across the whole ring.
   */
  latestAtOrBelow(offset: number): number {
    const last = this.count - 1;
    if (last < 0) return -1;
    if (this.leader(last) <= offset) return last;
    // Invariant: leader(hi) > offset; find lo with leader(lo) <= offset, doubling the step.
    let hi = last;
    let step = 1;
    let lo = last - step;
    while (lo >= 0 && this.leader(lo) > offset) {
      hi = lo;
      step *= 2;
      lo = last - step;
    }
    if (lo < 0) {
      if (this.leader(0) > offset) return -1;
      lo = 0;
    }
    // leader(lo) <= offset < leader(hi): bisect.
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (this.leader(mid) <= offset) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  private slot(i: number): number {
    const s = this.head + i;
    return s >= this.capacity ? s - this.capacity : s;
  }

  private write(slot: number, time: number, leader: number, follower: number, lagSeconds: number): void {
    const o = slot * 4;
    this.data[o] = time;
    this.data[o + 1] = leader;
    this.data[o + 2] = follower;
    this.data[o + 3] = lagSeconds;
  }
}

/**
 * The history spanning the retention window, at most `capacity` samples: one per slot of time (the newest
 * observation of the slot), plus one sample at or before the window's start as the anchor for interpolation.
 * The newest observation is always the newest sample of `recent`, so it is not stored here: `committed` holds
 * the older samples and the series reads the last one from `recent`. Coalescing an update into the current
 * slot thus writes nothing here; a sample is committed once per slot, when an update lands in a new one.
 * @internal
 */
export class CoarseHistory implements SampleSeries {
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
