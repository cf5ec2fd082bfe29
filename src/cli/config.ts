/**
 * `replag --config FILE`: the YAML file that lists many sources. `${env:NAME}` is replaced first (a missing
 * variable is a problem; a substituted value is never quoted back), then the mapping is checked (fleet-config.ts)
 * and each problem positioned where its key or value stands in the file.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { checkFleet, readFailure, type FleetConfig } from './fleet-config.ts';
import { ConfigError, type PathSegment, type Problem } from './problems.ts';

export type { FleetConfig, FleetSourceConfig, FleetThresholds } from './fleet-config.ts';
export { ConfigError } from './problems.ts';

/** Options of `parseFleetConfig`. */
export interface ParseFleetConfigOptions {
  /** Where `${env:NAME}` is looked up, and the sources' secret variables. */
  env: Readonly<Record<string, string | undefined>>;
  /** Folder that relative TLS file paths are resolved against (the config file's). Default: the working directory. */
  baseDir?: string;
  /** The file's name, for the problems' `FILE:LINE:COL:` prefix. */
  file?: string;
}

/** Reads and parses `file`. @throws ConfigError (also when the file cannot be read). */
export async function loadFleetConfig(file: string, env: ParseFleetConfigOptions['env']): Promise<FleetConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError([{ path: [], message: `cannot read ${file}: ${readFailure(error)}`, origin: 'replag' }]);
  }
  return parseFleetConfig(text, { env, baseDir: dirname(resolve(file)), file });
}

const ENV_REFERENCE = /\$\{env:([^}]*)\}/g;

/** Parses and checks the YAML text. @throws ConfigError listing every problem, each positioned. */
export function parseFleetConfig(text: string, options: ParseFleetConfigOptions): FleetConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, strict: true, lineCounter });
  const at = (offset: number) => lineCounter.linePos(offset);
  if (doc.errors.length > 0) {
    // Only the first line of the parser's message: the rest quotes the file, which may hold a secret.
    const problems = doc.errors.map((e): Problem => ({ path: ['YAML'], message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '').replace(/:$/, ''), ...at(e.pos[0]) }));
    throw new ConfigError(problems, { file: options.file });
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError([{ path: ['YAML'], message: (error as Error).message.split('\n')[0]! }], { file: options.file });
  }
  const substituted = substitute(raw ?? {}, options.env);
  const result = checkFleet(substituted.value, { env: options.env, baseDir: options.baseDir, secretPaths: substituted.secret, failedPaths: substituted.failedPaths });
  const problems = [...substituted.problems, ...result.problems].map((p) => positioned(doc, p, at));
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
  if (problems.length > 0 || result.config === undefined) throw new ConfigError(problems, { file: options.file, names: result.names });
  const sources = result.config.sources.map((s, i) => {
    const p = positioned(doc, { path: ['sources', i], message: '' }, at);
    return { ...s, position: { line: p.line ?? 1, col: p.col ?? 1 } };
  });
  return { ...result.config, sources };
}

/** `problem` with the line and column of its key (unknown or missing keys) or value; the nearest existing node otherwise. */
function positioned(doc: Document, problem: Problem, at: (offset: number) => { line: number; col: number }): Problem {
  if (problem.line !== undefined || problem.origin !== undefined) return problem;
  let node: unknown = doc.contents;
  let found: { range?: [number, number, number] | null } | undefined = (doc.contents as Node | null) ?? undefined;
  for (let i = 0; i < problem.path.length; i++) {
    const segment = problem.path[i]!;
    const last = i === problem.path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? p.key.value : p.key) === segment);
      if (pair === undefined) break;
      if (last && problem.atKey) {
        found = pair.key as Node;
        break;
      }
      node = pair.value;
      found = (pair.value as Node | null) ?? (pair.key as Node);
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
      if (node === undefined) break;
      found = node as Node;
    } else break;
  }
  const offset = found?.range?.[0];
  return offset === undefined ? { ...problem, line: 1, col: 1 } : { ...problem, ...at(offset) };
}

interface Substituted {
  value: unknown;
  /** Paths whose value came from a variable (never quoted). */
  secret: Set<string>;
  /** Paths already reported (missing variable). */
  failedPaths: Set<string>;
  problems: Problem[];
}

/** Replaces `${env:NAME}` in every string (not recursively: a variable's value is taken as it is). */
function substitute(raw: unknown, env: ParseFleetConfigOptions['env']): Substituted {
  const out: Substituted = { value: undefined, secret: new Set(), failedPaths: new Set(), problems: [] };
  const walk = (v: unknown, path: PathSegment[]): unknown => {
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...path, i]));
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, [...path, k])]));
    if (typeof v !== 'string' || !v.includes('${env:')) return v;
    let missing = false;
    const value = v.replace(ENV_REFERENCE, (_, name: string) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        missing = true;
        out.problems.push({ path, message: 'expected ${env:NAME} with NAME made of letters, digits and _' });
        return '';
      }
      const value = env[name];
      if (value === undefined) {
        missing = true;
        out.problems.push({ path, message: `environment variable ${name} is not set (referenced as \${env:${name}})` });
        return '';
      }
      return value;
    });
    out.secret.add(JSON.stringify(path));
    if (missing) {
      out.failedPaths.add(JSON.stringify(path));
      return undefined;
    }
    return value;
  };
  out.value = walk(raw, []);
  return out;
}
