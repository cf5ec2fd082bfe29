/** PostgreSQL WAL positions (LSNs) as exact byte positions. */

const LSN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/**
 * The LSN written as PostgreSQL prints it, `X/Y` (two hexadecimal numbers of up to 8 digits), as a byte
 * position: `(X << 32) | Y`. Exact over the whole 64-bit range.
 * @throws RangeError when `text` is not an LSN.
 */
export function parseLsn(text: string): bigint {
  if (typeof text !== 'string') throw new TypeError(`parseLsn: expected a string like "16/B374D848", got ${typeof text}`);
  const m = LSN.exec(text);
  if (m === null) throw new RangeError(`parseLsn: ${JSON.stringify(text.slice(0, 40))} is not an LSN like "16/B374D848"`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

