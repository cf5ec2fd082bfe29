/** The rejection of one poll of a replication source, for tests of errors and deadlines. */

/** Polls `source` once, expecting a rejection; resolves to the error and how long the poll took (ms). */
export async function failedPoll(source: { poll(): Promise<unknown> }): Promise<{ error: Error; ms: number }> {
  const start = performance.now();
  try {
    await source.poll();
  } catch (error) {
    return { error: error as Error, ms: performance.now() - start };
  }
  throw new Error('poll() resolved, expected a rejection');
}
