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

/** Resolution of the history: two consecutive samples are at most this fraction of the newer one's age apart. */
export const HISTORY_RESOLUTION = 0.05;

/**
 * Samples per level of the history's cascade. 21 = 1 / HISTORY_RESOLUTION + 1: with regular updates a level then
 * spans exactly the ages over which its gap may double, so every level halves the samples it passes on (each
 * update costs about three level steps) and the levels hold few more samples than the resolution needs
 * (measured: 156 at 1 Hz and 226 at 10 Hz for an hour, against 166 and 245 with levels of 8).
 */
export const LEVEL_SAMPLES = 21;

/** Raw samples moved into the cascade at a time (at most the raw ring's size − 1). */
const BATCH = 8;

/**
 * The history spanning the retention window in at most `capacity` samples, fine for recent time and coarse for
 * old: the gap between two consecutive samples is at most `HISTORY_RESOLUTION` (5 %) of the newer one's age, or
 * the gap between the two updates themselves when that is wider. A delay interpolated between two samples is off
 * by less than their gap, so by less than max(one update interval, 5 % of the delay), at every age.
 *
 * A cascade of levels, each a ring of `LEVEL_SAMPLES` samples in one Float64Array, fed by the raw ring: its
 * oldest samples, before they are overwritten, enter level 0 (`BATCH` at a time), or are dropped by the same
 * rule as below; when a level is full its oldest sample moves on to the next level, unless the gap it would
 * leave is within the resolution at that moment (the sample after it minus the next level's newest ≤ 5 % of
 * the sample after it's age), in which case it is dropped. Ages only grow, so a gap that is within the resolution once
 * stays within it. Samples cross the levels oldest first, so the series stays in time order: the oldest
 * non-empty level holds the oldest samples and every level below it is full. Each sample is written once per
 * level it reaches, and the samples reaching a level thin out geometrically: O(1) amortised per update.
 *
 * Retention: samples older than the window are dropped, keeping one at or before the window's start as the
 * anchor for interpolation. When the update rate is so high that the window needs more samples than the
 * capacity (above ~20 Hz with the defaults), the last level, when full, drops the sample whose gap would be the
 * smallest relative to its age: the history still spans the window, coarser than 5 % at its old end.
 *
 * The series (what the delay estimate's search past the raw ring and `status.history` read) is the cascade
 * followed by the raw ring's samples, at most `capacity` in all. Storage: at most (capacity − 1) × 32 bytes of
 * samples plus 8 bytes per level, no more than the fixed-slot history it replaced.
 * @internal
 */
export class CoarseHistory implements SampleSeries {
  private readonly recent: SampleRing;
  private readonly retentionMs: number;
  /** Bound on the series' length. */
  private readonly capacity: number;
  /**
   * Level k's ring is samples k × levelSize … (k + 1) × levelSize − 1 (4 numbers each); after the last level, one
   * number per level: the ring slot of its oldest sample (no second typed array: each costs ~200 bytes of
   * object headers per node).
   */
  private readonly data: Float64Array;
  /** Samples per level. */
  private readonly levelSize: number;
  private readonly levels: number;
  /** The oldest non-empty level (-1: empty) and how many samples it holds; the levels below it are full. */
  private top = -1;
  private topCount = 0;
  /** Time of stored sample 1 (the pruning test), cached; +∞ with fewer than two stored samples. */
  private secondTime = Number.POSITIVE_INFINITY;
  /** Oldest raw samples already moved into the cascade (in batches), not listed twice. */
  private rawMoved = 0;

  /**
   * `capacity`: the series holds at most `capacity` samples; the cascade at most `capacity − 1` (rounded down to
   * whole levels), besides the raw ring's.
   */
  constructor(capacity: number, recent: SampleRing, retentionMs: number) {
    const samples = Math.max(2, capacity - 1);
    let size = LEVEL_SAMPLES;
    while (size > 2 && size * 32 + 8 > samples * 32) size = Math.ceil(size / 2);
    this.levelSize = size;
    // Whole levels whose samples and ring heads take no more bytes than `samples` samples would.
    this.levels = Math.max(1, Math.floor((samples * 32) / (size * 32 + 8)));
    this.data = new Float64Array((size * 4 + 1) * this.levels);
    this.recent = recent;
    this.retentionMs = retentionMs;
    this.capacity = capacity;
  }

  /** Bytes of sample storage (typed-array contents), for the memory tests: at most (capacity − 1) × 32. */
  get storageBytes(): number {
    return this.data.byteLength;
  }

  /** Stored samples, then the raw ring's samples (those before the anchor hidden). */
  get size(): number {
    return this.stored() + this.recent.size - this.hidden();
  }
  time(i: number): number {
    const n = this.stored();
    return i < n ? this.data[this.offset(i)]! : this.recent.time(i - n + this.hidden());
  }
  leader(i: number): number {
    const n = this.stored();
    return i < n ? this.data[this.offset(i) + 1]! : this.recent.leader(i - n + this.hidden());
  }
  follower(i: number): number {
    const n = this.stored();
    return i < n ? this.data[this.offset(i) + 2]! : this.recent.follower(i - n + this.hidden());
  }
  lagSeconds(i: number): number {
    const n = this.stored();
    return i < n ? this.data[this.offset(i) + 3]! : this.recent.lagSeconds(i - n + this.hidden());
  }

  /** Index of the newest sample whose leader offset is ≤ `offset`, or -1: the raw ring first, then the cascade (gallop back from its newest, bisect). */
  latestAtOrBelow(offset: number): number {
    const n = this.stored();
    const r = this.recent.latestAtOrBelow(offset);
    if (r >= 0) {
      const hidden = this.hidden();
      return r >= hidden ? n + r - hidden : n - 1; // hidden raw samples are newer than every stored one
    }
    const last = n - 1;
    if (last < 0) return -1;
    const data = this.data;
    if (data[this.offset(last) + 1]! <= offset) return last;
    let hi = last;
    let step = 1;
    let lo = last - step;
    while (lo >= 0 && data[this.offset(lo) + 1]! > offset) {
      hi = lo;
      step *= 2;
      lo = last - step;
    }
    if (lo < 0) {
      if (data[this.offset(0) + 1]! > offset) return -1;
      lo = 0;
    }
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (data[this.offset(mid) + 1]! <= offset) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Makes room for the observation at `now`, which the caller then pushes to `recent`: prunes what left the
   * window (keeping the anchor) and, when `recent` is full, moves its oldest sample (about to be overwritten)
   * into the cascade.
   */
  advance(now: number): void {
    const r = this.recent;
    const cutoff = now - this.retentionMs;
    let n = this.stored();
    if (this.secondTime <= cutoff) {
      while (n >= 2 && this.data[this.offset(1)]! <= cutoff) {
        this.dropOldest();
        n--;
      }
      this.refreshSecond();
    }
    // With one stored sample, the second sample of the series is the raw ring's oldest not yet moved.
    if (n === 1 && r.size > this.rawMoved && r.time(this.rawMoved) <= cutoff) this.dropOldest();
    if (r.size < r.capacity) return;
    // The raw ring's oldest is about to be overwritten. Raw samples move into the cascade BATCH at a time, so
    // that a node's cascade is touched once per BATCH updates (with many nodes, each touch is a cache miss).
    if (this.rawMoved > 0) {
      this.rawMoved--;
      return;
    }
    let deepest = -1;
    const batch = BATCH < r.capacity ? BATCH : r.capacity - 1;
    for (let i = 0; i < batch; i++) {
      // A raw sample is kept unless it is older than the anchor (slow updates: the next one is also at or
      // before the window's start).
      if (r.time(i + 1) > cutoff) {
        const k = this.insert(r.time(i), r.leader(i), r.follower(i), r.lagSeconds(i), r.time(i + 1), now);
        if (k > deepest) deepest = k;
      }
    }
    this.rawMoved = batch - 1; // the oldest leaves the raw ring with the push that follows
    // Stored sample 1 is in the top level or the one below it: only a change there can move it.
    if (deepest >= this.top - 1) this.refreshSecond();
  }

  private refreshSecond(): void {
    this.secondTime = this.stored() >= 2 ? this.data[this.offset(1)]! : Number.POSITIVE_INFINITY;
  }

  /** Call with `recent.clear()`. */
  clear(): void {
    this.top = -1;
    this.topCount = 0;
    this.secondTime = Number.POSITIVE_INFINITY;
    this.rawMoved = 0;
  }

  /**
   * Oldest raw samples left out of the series: those already moved into the cascade, those before the anchor
   * (slow updates, whose raw ring reaches back beyond the window; only when the cascade is empty), and those
   * beyond the capacity while the cascade is nearly full (the series, which `status.history` lists, holds at
   * most `capacity` samples). The delay estimate reads the raw ring itself, so it still sees them.
   */
  private hidden(): number {
    const r = this.recent;
    let h = this.rawMoved;
    if (this.top < 0) {
      // The window's start at the last `advance`, which the newest raw sample's push followed.
      const cutoff = r.size > 0 ? r.time(r.size - 1) - this.retentionMs : Number.NEGATIVE_INFINITY;
      while (h + 1 < r.size && r.time(h + 1) <= cutoff) h++;
    }
    const over = this.stored() + r.size - this.capacity;
    return over > h ? over : h;
  }

  /** Samples in the cascade (the series also lists the raw ring's). */
  private stored(): number {
    return this.top < 0 ? 0 : this.topCount + this.top * this.levelSize;
  }

  /** Offset in `data` of the i-th stored sample, oldest first. */
  private offset(i: number): number {
    if (i < this.topCount) return this.slot(this.top, i);
    const j = i - this.topCount;
    const below = (j / this.levelSize) | 0; // full levels between it and the top
    return this.slot(this.top - 1 - below, j - below * this.levelSize);
  }

  /** Offset in `data` of the i-th oldest sample of `level`. */
  private slot(level: number, i: number): number {
    let s = this.data[this.data.length - this.levels + level]! + i;
    if (s >= this.levelSize) s -= this.levelSize;
    return (level * this.levelSize + s) << 2;
  }

  /**
   * Offers the raw ring's oldest sample (about to be overwritten) to level 0; a level that is full passes its
   * oldest on to the next. A sample is dropped instead when the gap it would leave — from the newest sample of
   * the level it enters to the sample after it — is within the resolution at `now`. Returns the deepest level
   * it changed.
   */
  private insert(time: number, leader: number, follower: number, lagSeconds: number, nextTime: number, now: number): number {
    const data = this.data;
    const heads = data.length - this.levels; // index of level 0's head
    const size = this.levelSize;
    let t = time;
    let l = leader;
    let f = follower;
    let g = lagSeconds;
    let after = nextTime; // the sample after the one placed: the next raw sample, then level k − 1's oldest
    for (let k = 0; k < this.levels; k++) {
      if (k > this.top) {
        this.top = k;
        this.topCount = 0;
        data[heads + k] = 0;
      }
      const base = k * size;
      const head = data[heads + k]!;
      const count = k === this.top ? this.topCount : size;
      let newest = head + count - 1;
      if (newest >= size) newest -= size;
      if (count > 0 && after - data[(base + newest) << 2]! <= HISTORY_RESOLUTION * (now - after)) return k;
      if (count === size && k === this.levels - 1) this.thinTop(after, now);
      if (k === this.top && this.topCount < size) {
        let free = head + this.topCount++;
        if (free >= size) free -= size;
        const o = (base + free) << 2;
        data[o] = t;
        data[o + 1] = l;
        data[o + 2] = f;
        data[o + 3] = g;
        return k;
      }
      // Level k is full: the sample takes the slot of its oldest, which moves on.
      const o = (base + head) << 2;
      const ot = data[o]!;
      const ol = data[o + 1]!;
      const of = data[o + 2]!;
      const og = data[o + 3]!;
      data[o] = t;
      data[o + 1] = l;
      data[o + 2] = f;
      data[o + 3] = g;
      const next = head + 1 === size ? 0 : head + 1;
      data[heads + k] = next;
      after = data[(base + next) << 2]!;
      t = ot;
      l = ol;
      f = of;
      g = og;
    }
    return this.levels - 1;
  }

  /**
   * The last level is full with samples inside the window: drops the one sample whose removal leaves the gap
   * smallest relative to the age of the sample after it (`nextTime`: the sample after the level's newest).
   * The oldest stays, as the anchor. O(level size), only while over capacity.
   */
  private thinTop(nextTime: number, now: number): void {
    const k = this.top;
    const n = this.topCount;
    const data = this.data;
    let drop = n - 1;
    let best = Number.POSITIVE_INFINITY;
    for (let i = 1; i < n; i++) {
      const after = i + 1 < n ? data[this.slot(k, i + 1)]! : nextTime;
      const score = (after - data[this.slot(k, i - 1)]!) / Math.max(now - after, 1);
      if (score < best) {
        best = score;
        drop = i;
      }
    }
    for (let i = drop; i + 1 < n; i++) data.copyWithin(this.slot(k, i), this.slot(k, i + 1), this.slot(k, i + 1) + 4);
    this.topCount = n - 1;
  }

  /** Drops the oldest stored sample. */
  private dropOldest(): void {
    const k = this.top;
    const at = this.data.length - this.levels + k;
    const h = this.data[at]!;
    this.data[at] = h + 1 === this.levelSize ? 0 : h + 1;
    if (--this.topCount === 0) {
      this.top--;
      this.topCount = this.top >= 0 ? this.levelSize : 0;
    }
  }
}
