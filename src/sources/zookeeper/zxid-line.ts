/**
 * Zxids on one line that only moves forward. A zxid is `epoch << 32 | counter` and a new leader starts a new epoch
 * at counter 0, so raw zxids cannot be subtracted across epochs (that gives ~4 billion per epoch), and a follower
 * that has processed nothing in the new epoch still shows its old zxid although it is in sync. The line counts
 * transactions: the leader's epoch starts where the previous leader was last seen, and a follower is placed by the
 * counter of the leader's epoch (an older epoch counts as nothing processed in it: counter 0).
 */
import { splitZxid } from './parse.ts';

/** The positions of one ensemble across polls. */
export class ZxidLine {
  /** The leader's epoch at the last poll. */
  #epoch: bigint | undefined;
  /** The line position of counter 0 of `#epoch`. */
  #offset = 0n;
  /** The highest leader position handed out. */
  #top = 0n;

  /** The leader's position; moves to a new epoch when the leader's is not the one seen before. */
  leader(zxid: bigint): bigint {
    const { epoch, counter } = splitZxid(zxid);
    if (this.#epoch === undefined) this.#epoch = epoch;
    else if (epoch !== this.#epoch) {
      // A new leader (or a rebuilt ensemble, epoch lower): its epoch starts where the line is.
      this.#epoch = epoch;
      this.#offset = this.#top;
    }
    const position = this.#offset + counter;
    if (position > this.#top) this.#top = position;
    return position;
  }

  /**
   * A follower's position against the leader read at this poll (`leader()` first): its counter in the leader's
   * epoch, the epoch's start when its zxid is from an older epoch, undefined when it is from a newer one (it follows
   * a leader this poll did not read: an election is under way).
   */
  follower(zxid: bigint): bigint | undefined {
    if (this.#epoch === undefined) throw new Error('ZxidLine.follower() before leader()');
    const { epoch, counter } = splitZxid(zxid);
    if (epoch === this.#epoch) return this.#offset + counter;
    return epoch < this.#epoch ? this.#offset : undefined;
  }
}
