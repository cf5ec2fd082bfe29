/**
 * Building blocks of the descriptors' options schemas, in replag's units and words: every check says what is
 * expected (replag appends the value given), durations read `500ms`, `1s`, `2m`, TLS files are paths.
 * Loads zod only: safe to import from a descriptor.
 */
import { z } from 'zod';
import { option, type OptionMeta } from './descriptor.ts';
import type { SourceTlsOptions } from './tls.ts';

/** `500ms`, `1.5s`, `2m`. */
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m)$/;
export const DURATION_EXPECTED = 'a duration > 0 such as 500ms, 1s or 2m';
const MAX_DURATION_MS = 86_400_000;

/** Milliseconds of a duration text, or undefined when it is not one (or not > 0 and at most 24 hours). */
export function parseDuration(text: string): number | undefined {
  const m = DURATION_PATTERN.exec(text.trim());
  if (m === null) return undefined;
  const ms = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
  return ms > 0 && ms <= MAX_DURATION_MS ? ms : undefined;
}

/** A duration (`500ms`, `1s`, `2m`, > 0, at most 24 hours), parsed to milliseconds. */
export function durationSchema(): z.ZodPipe<z.ZodString, z.ZodTransform<number, string>> {
  const expected = (input: unknown) => `expected ${DURATION_EXPECTED}${typeof input === 'number' ? ' (a unit is required)' : ''}`;
  return z
    .string({ error: (issue) => expected(issue.input) })
    .regex(DURATION_PATTERN, { error: () => `expected ${DURATION_EXPECTED}`, abort: true })
    .refine((s) => parseDuration(s) !== undefined, { error: () => `expected ${DURATION_EXPECTED}, at most 24 hours` })
    .transform((s) => parseDuration(s)!);
}

/** A duration option (see `durationSchema`). */
export function duration(meta: Omit<OptionMeta, 'duration'>) {
  return option(durationSchema(), { ...meta, duration: true, placeholder: meta.placeholder ?? 'DURATION' });
}

/** A non-empty string (kept as given: a password may begin or end with a space). */
export function text(meta: OptionMeta) {
  return option(
    z.string({ error: 'expected a string' }).refine((s) => s.trim() !== '', { error: 'expected a non-empty string' }),
    meta,
  );
}

/**
 * A URL with one of `schemes` and a host. The message names the first scheme (`expected a postgres:// URL such as
 * postgres://monitor@db:5432/postgres`) unless `what` says otherwise (`an http:// or https:// URL`).
 */
export function urlSchema(schemes: readonly string[], example: string, what = `a ${schemes[0]}:// URL`) {
  const expected = `expected ${what} such as ${example}`;
  const pattern = new RegExp(`^(?:${schemes.join('|')})://(?:[^/?#]*@)?[^/?#@]+`, 'i');
  return z.string({ error: expected }).trim().regex(pattern, { error: expected });
}

/** A URL option (see `urlSchema`). */
export function url(schemes: readonly string[], example: string, meta: OptionMeta, what?: string) {
  return option(urlSchema(schemes, example, what), { ...meta, placeholder: meta.placeholder ?? 'URL' });
}

/** A non-empty list of `item`; its flag is repeatable. */
export function list<T extends z.ZodType>(item: T, meta: OptionMeta) {
  return option(z.array(item, { error: 'expected a list' }).min(1, { error: 'expected a non-empty list' }), meta);
}

/** An integer from `min` to `max`. */
export function integer(min: number, max: number, meta: OptionMeta) {
  const expected = `expected an integer from ${min} to ${max}`;
  return option(z.preprocess(numeric, z.number({ error: expected }).int({ error: expected }).min(min, { error: expected }).max(max, { error: expected })), { ...meta, placeholder: meta.placeholder ?? 'N' });
}

/** A number > 0. */
export function positiveNumber(meta: OptionMeta) {
  const expected = 'expected a number > 0';
  return option(z.preprocess(numeric, z.number({ error: expected }).positive({ error: expected }).refine(Number.isFinite, { error: expected })), { ...meta, placeholder: meta.placeholder ?? 'N' });
}

/**
 * For a rule across options (`.superRefine(fn, { when: acrossOptions })`): it runs even when another option of the
 * mapping is wrong, so every problem is reported in one run.
 */
export function acrossOptions(payload: { value: unknown }): boolean {
  return payload.value !== null && typeof payload.value === 'object' && !Array.isArray(payload.value);
}

/** A number written as text (from `${env:…}` or a flag) as the number; anything else unchanged. */
function numeric(v: unknown): unknown {
  return typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v;
}

/** true or false (flags: `--name` / `--no-name`). */
export function boolean(meta: OptionMeta) {
  return option(z.boolean({ error: 'expected true or false' }), meta);
}

/** A PEM file's path (replag reads it and hands the source the PEM text). */
function pemFile(description: string, flag: string) {
  return option(z.string({ error: 'expected a file name' }).refine((s) => s.trim() !== '', { error: 'expected a file name' }), { description, flag, pemFile: true, placeholder: 'FILE' });
}

/** The shared `tls` option of the database sources: `tls: { ca, cert, key, servername, insecure }`, flags `--tls-*`. */
export function tls() {
  return option(
    z
      .strictObject(
        {
          ca: pemFile("PEM CA certificate(s) that sign the server's certificate (default: Node's public roots)", 'tls-ca').optional(),
          cert: pemFile('PEM client certificate, for servers that require one (with key)', 'tls-cert').optional(),
          key: pemFile("the client certificate's PEM private key", 'tls-key').optional(),
          servername: text({ description: "name to verify the server's certificate against (default: the host in the URL)", flag: 'tls-server-name', placeholder: 'NAME' }).optional(),
          insecure: boolean({ description: "encrypt without verifying the server's certificate (testing only)", flag: 'tls-insecure' }).optional(),
        },
        { error: 'expected a mapping of ca, cert, key, servername, insecure' },
      )
      .superRefine(
        (t, ctx) => {
          if ((t.cert === undefined) !== (t.key === undefined)) {
            ctx.addIssue({ code: 'custom', path: [t.cert === undefined ? 'cert' : 'key'], message: 'expected cert and key together (a client certificate needs its private key)' });
          }
        },
        { when: acrossOptions },
      ),
    { description: 'TLS to the servers (also on with a TLS URL scheme)' },
  ).optional();
}

/** The `tls` option once replag has read its files: PEM text in `ca`, `cert`, `key`. */
export interface TlsOption {
  readonly ca?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly servername?: string | undefined;
  readonly insecure?: boolean | undefined;
}

/** The sources' `SourceTlsOptions` of a `tls` option (files already read); undefined when not given. */
export function sourceTls(value: TlsOption | undefined): SourceTlsOptions | undefined {
  if (value === undefined) return undefined;
  return {
    ...(value.ca !== undefined ? { ca: value.ca } : {}),
    ...(value.cert !== undefined ? { cert: value.cert } : {}),
    ...(value.key !== undefined ? { key: value.key } : {}),
    ...(value.servername !== undefined ? { servername: value.servername } : {}),
    ...(value.insecure === true ? { rejectUnauthorized: false } : {}),
  };
}

/** Flag and file text of the heartbeat's table (SQL sources) or key (Redis sources). */
const HEARTBEAT_DESCRIPTION = "opt-in heartbeat: written on the leader every interval with this process's clock, read on each follower (replication.heartbeat.delay); unset, nothing is written";

/**
 * The shared `heartbeat` option of the SQL sources: `heartbeat: { table, interval }`, flags `--heartbeat-table`,
 * `--heartbeat-interval` (either turns it on). Its row is named after the source (`name`).
 */
export function sqlHeartbeat() {
  return option(
    z.strictObject(
      {
        table: text({ description: 'the heartbeat table, table or schema.table (created when missing and the user may)', defaultText: 'replag_heartbeat', placeholder: 'NAME' }).optional(),
        interval: duration({ description: 'time between two heartbeat writes', defaultText: '1s' }).optional(),
      },
      { error: 'expected a mapping of table, interval' },
    ),
    { description: HEARTBEAT_DESCRIPTION },
  ).optional();
}

/** The shared `heartbeat` option of the Redis sources: `heartbeat: { key, interval }`, flags `--heartbeat-key`, `--heartbeat-interval`. */
export function redisHeartbeat() {
  return option(
    z.strictObject(
      {
        key: text({ description: 'the heartbeat hash (one field per source name)', defaultText: 'replag:heartbeat', placeholder: 'KEY' }).optional(),
        interval: duration({ description: 'time between two heartbeat writes', defaultText: '1s' }).optional(),
      },
      { error: 'expected a mapping of key, interval' },
    ),
    { description: HEARTBEAT_DESCRIPTION },
  ).optional();
}

/** The sources' heartbeat option of a `heartbeat` mapping (SQL: `table`; Redis: `key`), named `name`; undefined when not given. */
export function sourceHeartbeat(value: { readonly table?: string | undefined; readonly key?: string | undefined; readonly interval?: number | undefined } | undefined, name: string) {
  if (value === undefined) return undefined;
  return {
    ...(value.table !== undefined ? { table: value.table } : {}),
    ...(value.key !== undefined ? { key: value.key } : {}),
    ...(value.interval !== undefined ? { intervalMs: value.interval } : {}),
    name,
  };
}
