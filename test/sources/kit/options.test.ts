import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { booleanOption, callbackOption, MAX_TIMEOUT_MS, objectOption, stringOption, timeoutOption } from '../../../src/sources/kit/options.ts';

describe('timeoutOption', () => {
  const option = 'PostgresSourceOptions.timeoutMs';

  it('returns the fallback when undefined, the value when a whole number of ms in range', () => {
    assert.equal(timeoutOption(undefined, option, 5000), 5000);
    assert.equal(timeoutOption(1, option, 5000), 1);
    assert.equal(timeoutOption(MAX_TIMEOUT_MS, option, 5000), MAX_TIMEOUT_MS);
  });

  it('refuses a non-number (TypeError) and a value out of range or not whole (RangeError), naming the option and no CLI flag', () => {
    const cases: [unknown, ErrorConstructor, RegExp][] = [
      ['5000', TypeError, /^PostgresSourceOptions\.timeoutMs must be a number, got "5000" \(milliseconds\)$/],
      [null, TypeError, /^PostgresSourceOptions\.timeoutMs must be a number, got null/],
      [0, RangeError, /^PostgresSourceOptions\.timeoutMs must be > 0 and <= 2147483647 ms, got 0$/],
      [-1, RangeError, /must be > 0 and <= 2147483647 ms, got -1$/],
      [Number.NaN, RangeError, /got NaN$/],
      [Number.POSITIVE_INFINITY, RangeError, /got Infinity$/],
      [2 ** 31, RangeError, /got 2147483648$/],
      [1.5, RangeError, /^PostgresSourceOptions\.timeoutMs must be a whole number of milliseconds, got 1\.5$/],
    ];
    for (const [value, type, message] of cases) {
      assert.throws(() => timeoutOption(value, option, 5000), (e: Error) => {
        assert.ok(e instanceof type, `${String(value)}: ${e.name}`);
        assert.match(e.message, message);
        assert.doesNotMatch(e.message, /--|replag/);
        return true;
      });
    }
  });

  it('takes another option as the bound and names it', () => {
    const bound = { option: 'timeoutMs', ms: 2000 };
    assert.equal(timeoutOption(2000, 'MySqlSourceOptions.replicaTimeoutMs', 1000, bound), 2000);
    assert.throws(() => timeoutOption(2001, 'MySqlSourceOptions.replicaTimeoutMs', 1000, bound), /^RangeError: MySqlSourceOptions\.replicaTimeoutMs must be > 0 and <= timeoutMs \(2000 ms\), got 2001$/);
  });
});

describe('the other option checks', () => {
  it('objectOption: a plain object, else a TypeError naming the option', () => {
    const o = { url: 'x' };
    assert.equal(objectOption(o, 'RedisSourceOptions'), o);
    for (const bad of [null, undefined, 'x', [1]]) assert.throws(() => objectOption(bad, 'RedisSourceOptions', 'with a url'), /^TypeError: RedisSourceOptions must be an object with a url, got (null|undefined|string|an array)$/);
  });

  it('stringOption never quotes the value (a string option may be a password)', () => {
    assert.equal(stringOption(undefined, 'X.password'), undefined);
    assert.equal(stringOption('s3cret', 'X.password'), 's3cret');
    assert.throws(() => stringOption(12345678, 'X.password'), /^TypeError: X\.password must be a string, got number$/);
  });

  it('booleanOption and callbackOption', () => {
    assert.equal(booleanOption(undefined, 'X.flag', true), true);
    assert.equal(booleanOption(false, 'X.flag', true), false);
    assert.throws(() => booleanOption('yes', 'X.flag', true), /^TypeError: X\.flag must be a boolean, got string$/);
    const f = () => {};
    assert.equal(callbackOption(f, 'X.onReplicaError'), f);
    assert.equal(callbackOption(undefined, 'X.onReplicaError'), undefined);
    assert.throws(() => callbackOption('log', 'X.onReplicaError'), /^TypeError: X\.onReplicaError must be a function, got string$/);
  });
});
