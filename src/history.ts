/**
 * Fixed-capacity ring of samples in one Float64Array: time (ms), leader and follower offsets, lag seconds.
 * Offsets are positions relative to the node's base (exact numbers even for 64-bit positions).
 * Leader offsets in a ring never decrease: the monitor clears it when a position goes backwards,
 * which is what lets `latestAtOrBelow` binary-search.
 * @internal
 */
export class SampleRing {
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

  /** Overwrites the newest sample (used to coalesce samples closer together than the ring's resolution). */
  replaceNewest(time: number, leader: number, follower: number, lagSeconds: number): void {
    this.write(this.slot(this.count - 1), time, leader, follower, lagSeconds);
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

  /** Index of the newest sample whose leader offset is ≤ `offset`, or -1 when none is. O(log n). */
  latestAtOrBelow(offset: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.leader(mid) <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
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
