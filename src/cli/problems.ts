/**
 * Configuration problems as replag prints them: one line each, `FILE:LINE:COL: PATH: message` for a file,
 * `--flag: message` for the command line. A message says what is expected and quotes the value given, unless the
 * value is a secret (a password, a URL with credentials, anything from `${env:…}`), which is never printed.
 */

/** One segment of a path: a key, or a list index. */
export type PathSegment = string | number;

/** One problem. */
export interface Problem {
  /** Where in the file (`sources`, 1, `interval`); empty for the file as a whole. */
  readonly path: readonly PathSegment[];
  /** What is wrong, starting with what is expected (`expected a duration …`). */
  readonly message: string;
  /** The value given, as quoted after the message (`, got "soon"`); empty for a secret or a missing value. */
  readonly got?: string | undefined;
  /** 1-based line and column in the file, when known. */
  readonly line?: number | undefined;
  readonly col?: number | undefined;
  /** The problem is the key itself (unknown, or missing under it), not its value: positioned at the key. */
  readonly atKey?: boolean | undefined;
  /** Where the value came from when not the file (a flag `--url`, a variable `OTEL_EXPORTER_OTLP_ENDPOINT`). */
  readonly origin?: string | undefined;
}

/** Problems that stop replag before anything starts. */
export class ConfigError extends Error {
  readonly problems: readonly Problem[];
  /** The file they are in, if any. */
  readonly file: string | undefined;
  /** Each source's name by index, for paths. */
  readonly names: ReadonlyMap<number, string>;
  constructor(problems: readonly Problem[], options: { file?: string | undefined; names?: ReadonlyMap<number, string> } = {}) {
    const names = options.names ?? new Map<number, string>();
    super(problems.map((p) => formatProblem(p, options.file, names)).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
    this.file = options.file;
    this.names = names;
  }

  /** One line per problem, as printed. */
  lines(): string[] {
    return this.problems.map((p) => formatProblem(p, this.file, this.names));
  }
}

/** `sources[1](orders-pg).interval`; `names` gives each source's name by index. */
export function pathText(path: readonly PathSegment[], names: ReadonlyMap<number, string> = new Map()): string {
  let out = '';
  path.forEach((segment, i) => {
    if (typeof segment === 'number') {
      out += `[${segment}]`;
      const name = i === 1 && path[0] === 'sources' ? names.get(segment) : undefined;
      if (name !== undefined) out += `(${name})`;
    } else out += out === '' ? segment : `.${segment}`;
  });
  return out;
}

/** The line for `problem`: its origin (flag, variable) or file position, then its path, then the message. */
export function formatProblem(problem: Problem, file: string | undefined, names?: ReadonlyMap<number, string>): string {
  const message = `${problem.message}${problem.got ?? ''}`;
  if (problem.origin !== undefined) return `${problem.origin}: ${message}`;
  const where = file === undefined ? '' : problem.line !== undefined ? `${file}:${problem.line}:${problem.col ?? 1}: ` : `${file}: `;
  const path = pathText(problem.path, names);
  return `${where}${path === '' ? '' : `${path}: `}${message}`;
}

/** A URL with a password or user in it: `scheme://user:pass@host`. */
const CREDENTIALS = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i;

/** `, got "soon"` for a value that may be shown; empty for a secret or nothing. */
export function got(value: unknown, secret: boolean): string {
  if (secret || value === undefined) return '';
  if (typeof value === 'string') return CREDENTIALS.test(value.trim()) ? '' : `, got ${JSON.stringify(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `, got ${String(value)}`;
  return `, got ${kindOf(value)}`;
}

/** What a value is, without the value: `a list`, `a mapping`, `nothing`. */
export function kindOf(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  return typeof value;
}

/** Edit distance (insertions, deletions, substitutions). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = current;
    }
  }
  return row[b.length]!;
}

/**
 * The known word nearest to `word`: one that starts with it (`prometheus` → `prometheus-port`), else the closest
 * by edit distance when close enough (at most a third of its length, at least 1, at most 3). Ties: the first in `known`.
 */
export function nearest(word: string, known: readonly string[]): string | undefined {
  if (word.length >= 3) {
    const prefixed = known.find((k) => k.toLowerCase().startsWith(word.toLowerCase()));
    if (prefixed !== undefined) return prefixed;
  }
  let best: string | undefined;
  let bestDistance = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  for (const k of known) {
    const d = distance(word, k);
    if (d < bestDistance || (d === bestDistance && best === undefined)) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/** `unknown key "intervl"; did you mean "interval"?`, or the keys expected when none is near. */
export function unknownKeyMessage(key: string, known: readonly string[], context = ''): string {
  const near = nearest(key, known);
  return near !== undefined ? `unknown key ${JSON.stringify(key)}${context}; did you mean ${JSON.stringify(near)}?` : `unknown key ${JSON.stringify(key)}${context}; expected one of ${known.join(', ')}`;
}
