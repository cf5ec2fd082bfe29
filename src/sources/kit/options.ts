/**
 * The option checks every source shares. Messages name the option by its API name
 * (`PostgresSourceOptions.timeoutMs`) and never a CLI flag: the CLI words its own. A value is quoted only where it
 * cannot be a secret (numbers; the type of anything else).
 */
import { describe } from '../../config.ts';

/** The largest timer Node runs as asked (a larger one fires at once). */
export const MAX_TIMEOUT_MS = 2_147_483_647;

/** The bound a duration option must not exceed: a number of ms, or another option (`timeoutMs`) and its value. */
export type TimeoutBound = number | { readonly option: string; readonly ms: number };

/**
 * `value` as a duration in whole milliseconds in 1..`max` (default `MAX_TIMEOUT_MS`), or `fallback` when undefined.
 * @param option the option's full name, e.g. `RedisSourceOptions.timeoutMs`.
 * @throws TypeError when not a number; RangeError when not > 0, above the bound, or not whole.
 */
export function timeoutOption(value: unknown, option: string, fallback: number, max: TimeoutBound = MAX_TIMEOUT_MS): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new TypeError(`${option} must be a number, got ${describe(value)} (milliseconds)`);
  const limit = typeof max === 'number' ? max : max.ms;
  const shownLimit = typeof max === 'number' ? `${max} ms` : `${max.option} (${max.ms} ms)`;
  if (!(value > 0 && value <= limit)) throw new RangeError(`${option} must be > 0 and <= ${shownLimit}, got ${describe(value)}`);
  if (!Number.isInteger(value)) throw new RangeError(`${option} must be a whole number of milliseconds, got ${value}`);
  return value;
}

/** @throws TypeError when `value` is not a plain object (`${option} must be an object …`). */
export function objectOption(value: unknown, option: string, expected = ''): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${option} must be an object${expected === '' ? '' : ` ${expected}`}, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return value as Record<string, unknown>;
}

/** `value` when undefined or a string. @throws TypeError naming only the type (a string option may be a secret). */
export function stringOption(value: unknown, option: string): string | undefined {
  if (value !== undefined && typeof value !== 'string') throw new TypeError(`${option} must be a string, got ${typeof value}`);
  return value;
}

/** `value` when a boolean, `fallback` when undefined. @throws TypeError otherwise. */
export function booleanOption(value: unknown, option: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`${option} must be a boolean, got ${typeof value}`);
  return value;
}

/** `value` when undefined or a function (a callback option). @throws TypeError otherwise. */
export function callbackOption<F extends (...args: never[]) => unknown>(value: unknown, option: string): F | undefined {
  if (value !== undefined && typeof value !== 'function') throw new TypeError(`${option} must be a function, got ${typeof value}`);
  return value as F | undefined;
}
