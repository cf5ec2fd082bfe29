/**
 * replag's failure lines: a failure is printed when it starts or its message changes, and once more when a
 * successful poll no longer reports it — not at every interval. One per polled source.
 */
export class FailureLog {
  private readonly last = new Map<string, string>();
  private readonly current = new Set<string>();
  private readonly out: NodeJS.WritableStream;
  private readonly prefix: string;
  private readonly wording: (message: string) => string;

  /**
   * `prefix` goes after `replag: ` on every line, e.g. `[orders-pg] ` for a source of a config file; `wording`
   * rewrites a message for where the user configured the source (flags mode: option names as flags).
   */
  constructor(out: NodeJS.WritableStream, prefix = '', wording: (message: string) => string = (m) => m) {
    this.out = out;
    this.prefix = prefix;
    this.wording = wording;
  }

  report(what: string, error: Error): void {
    this.current.add(what);
    if (this.last.get(what) === error.message) return;
    this.last.set(what, error.message);
    this.out.write(`replag: ${this.prefix}${what} failed: ${this.wording(error.message)}\n`);
  }

  /** After a successful poll: what was not reported since the previous one is over. */
  settle(): void {
    for (const what of [...this.last.keys()]) {
      if (this.current.has(what)) continue;
      this.last.delete(what);
      this.out.write(`replag: ${this.prefix}${what} succeeded again\n`);
    }
    this.current.clear();
  }
}
