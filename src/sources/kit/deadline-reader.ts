/**
 * One server's reads across polls, for sources that read several servers per poll (MySQL / MariaDB replicas,
 * PostgreSQL subscribers): at most one read in flight, a poll waits for it only until a deadline, and an answer
 * that comes later is kept for the next poll. A server that missed its deadline is not waited for again until a
 * read of it settles within the deadline, so one hung server costs the poll that finds it hung, not every poll after.
 * (The read itself is bounded by its own `withDeadline`; this only bounds how long a poll waits for it.)
 */
import { settlesWithin } from './deadline.ts';

/** What the reader knows after a poll's wait. */
export interface DeadlineReadOutcome<T> {
  /** The newest value any read returned (kept across failures), or undefined when none ever succeeded. */
  readonly value: T | undefined;
  /** true when `value` was not handed out before: read during this poll, or a late answer to an earlier one. */
  readonly fresh: boolean;
  /** The newest read's error while no read succeeded since; undefined otherwise. */
  readonly error: Error | undefined;
  /** A read is in flight past its deadline (no answer yet). */
  readonly late: boolean;
}

/** Reads of one server, at most one at a time. */
export class DeadlineReader<T> {
  #inFlight: Promise<void> | undefined;
  /** Whether the read in flight has passed its deadline. */
  #overdue = false;
  #value: T | undefined;
  #unread = false;
  #error: Error | undefined;
  /** Its newest settled read took longer than the deadline (or one is in flight past it): polls do not wait for it. */
  #suspect = false;

  /**
   * Starts `read` unless a read is still in flight, then waits for it at most `deadlineMs` (not at all when the
   * server is suspect or the read in flight was started by an earlier poll). Never rejects.
   */
  async wait(read: () => Promise<T>, deadlineMs: number): Promise<void> {
    if (this.#inFlight !== undefined) {
      this.#overdue = true;
      return;
    }
    const startedAt = performance.now();
    // Set when this poll's deadline timer fired first: the timer and performance.now() may disagree by a
    // millisecond, so a read the deadline already judged late is never judged on time by the clock.
    let judgedLate = false;
    const onTime = () => !judgedLate && performance.now() - startedAt <= deadlineMs;
    const done: Promise<void> = read().then(
      (value) => {
        this.#value = value;
        this.#unread = true;
        this.#error = undefined;
        if (onTime()) this.#suspect = false;
      },
      (error: unknown) => {
        this.#error = error instanceof Error ? error : new Error(String(error));
        if (!onTime()) this.#suspect = true;
      },
    ).then(() => {
      if (this.#inFlight === done) {
        this.#inFlight = undefined;
        this.#overdue = false;
      }
    });
    this.#inFlight = done;
    if (this.#suspect) return;
    const settled = await settlesWithin(done, deadlineMs);
    if (!settled && this.#inFlight === done) {
      judgedLate = true;
      this.#overdue = true;
      this.#suspect = true;
    }
  }

  /** What is known now; hands out a fresh value once (it is not fresh at the next call). */
  take(): DeadlineReadOutcome<T> {
    const outcome = { value: this.#value, fresh: this.#unread, error: this.#error, late: this.#inFlight !== undefined && this.#overdue };
    this.#unread = false;
    return outcome;
  }
}
