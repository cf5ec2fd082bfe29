/** Option validation of a source's constructor, case by case. */
import assert from 'node:assert/strict';

/** One bad options value, the error class it must throw and the message it must match. */
export type OptionErrorCase = [options: unknown, type: typeof TypeError | typeof RangeError, message: RegExp];

/**
 * Asserts that `create(options)` throws, for every case, an error of the case's class whose message matches the
 * case's pattern and never contains the test secret `s3cret`.
 */
export function assertOptionErrors(create: (options: never) => unknown, cases: readonly OptionErrorCase[]): void {
  for (const [options, type, message] of cases) {
    assert.throws(() => create(options as never), (error: Error) => {
      assert.ok(error instanceof type, `${JSON.stringify(options)}: ${error.name} ${error.message}`);
      assert.match(error.message, message);
      assert.doesNotMatch(error.message, /s3cret/);
      return true;
    });
  }
}
