/**
 * Every `replag …` command line the README, docs/, deploy/ and examples/ show parses as documented:
 * - a concrete command (no placeholder) is checked the way `replag validate` checks it: `--config FILE` with a file
 *   of the repository runs `replag validate --config FILE` (exit 0; `${env:NAME}` references filled), with a path
 *   outside the repository (`/etc/replag/replag.yaml`) its flags go through the flag parser; flags mode runs the
 *   flag parser as `replag validate <type> [flags…]` does (every value checked; a PEM file that only exists on the
 *   documented host is replaced by a scratch one);
 * - a synopsis (`replag postgres --url URL [--subscriber URL…]`) names a known command and only flags it takes.
 * Found in Markdown code blocks and `code spans`, comment lines and `ExecStart=` of deploy/ and examples/ files, and
 * Kubernetes `command:`/`args:` arrays.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GLOBAL_FLAGS, flagsOf, parseCliArgs } from '../../src/cli/args.ts';
import { optionSpecs } from '../../src/cli/option-specs.ts';
import { findSource, SOURCE_DESCRIPTORS } from '../../src/sources/registry.ts';
import { REPO_ROOT, runNode } from '../helpers/run-node.ts';

const scratch = mkdtempSync(join(tmpdir(), 'replag-doc-commands-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const PEM = join(scratch, 'doc.pem');
writeFileSync(PEM, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');

/** A documented command line: where it is, the words after `replag`, and the environment it sets. */
interface Command {
  readonly where: string;
  readonly text: string;
  readonly args: string[];
  readonly env: Record<string, string>;
}

function filesUnder(path: string): string[] {
  const full = join(REPO_ROOT, path);
  if (!statSync(full).isDirectory()) return [path];
  return readdirSync(full).sort().flatMap((name) => filesUnder(join(path, name)));
}

/** Shell words of a line (quotes honoured, `# comment` dropped). */
function words(line: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else word = (word ?? '') + c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (/\s/.test(c)) {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else if (c === '#' && word === undefined) {
      break;
    } else word = (word ?? '') + c;
  }
  if (word !== undefined) out.push(word);
  return out;
}

/** The command in `text` when it runs replag (after `$ `, `VAR=value` assignments, `sudo`, `npx`), else undefined. */
function commandOf(text: string, where: string): Command | undefined {
  const w = words(text.replace(/^\s*\$\s+/, ''));
  const env: Record<string, string> = {};
  while (w.length > 0 && /^[A-Z_][A-Z0-9_]*=/.test(w[0]!)) {
    const [name, ...value] = w.shift()!.split('=');
    env[name!] = value.join('=');
  }
  while (w[0] === 'sudo' || w[0] === 'npx' || w[0] === 'exec') w.shift();
  if (w.length === 0 || !/^(?:\/[\w./-]*\/)?replag$/.test(w[0]!)) return undefined;
  // Prose that only names the command ("replag prints it") is not a command line: it has no argument or flag.
  return { where, text: text.trim(), args: w.slice(1), env };
}

/** Every documented command line. */
function documentedCommands(): Command[] {
  const files = ['README.md', ...filesUnder('docs'), ...filesUnder('deploy'), ...filesUnder('examples')];
  const out: Command[] = [];
  for (const file of files) {
    const lines = readFileSync(join(REPO_ROOT, file), 'utf8').split('\n');
    const add = (text: string, line: number, prose = false) => {
      const c = commandOf(text, `${file}:${line}`);
      // In a comment, "replag exits within --shutdown-timeout …" is prose: a command line starts with a flag or a command.
      if (c !== undefined && (!prose || c.args.length === 0 || c.args[0]!.startsWith('-') || c.args[0] === 'validate' || findSource(c.args[0]!) !== undefined)) out.push(c);
    };
    if (file.endsWith('.md')) {
      let fence = false;
      // Code spans may wrap: each paragraph (lines up to a blank one, a fence or a table row) is searched as one line.
      let paragraph: { text: string; line: number } | undefined;
      const endParagraph = () => {
        if (paragraph !== undefined) for (const m of paragraph.text.matchAll(/`([^`]+)`/g)) if (/replag\s+\S/.test(m[1]!)) add(m[1]!, paragraph.line);
        paragraph = undefined;
      };
      lines.forEach((line, i) => {
        if (/^\s*```/.test(line)) {
          endParagraph();
          fence = !fence;
        } else if (fence) add(line.replace(/\\$/, ''), i + 1);
        else if (line.trim() === '' || line.startsWith('|')) {
          endParagraph();
          if (line.startsWith('|')) for (const m of line.matchAll(/`([^`]+)`/g)) if (/replag\s+\S/.test(m[1]!)) add(m[1]!, i + 1);
        } else if (paragraph === undefined) paragraph = { text: line, line: i + 1 };
        else paragraph.text += ` ${line}`;
      });
      endParagraph();
      continue;
    }
    lines.forEach((line, i) => {
      const comment = /^\s*(?:#|\/\/|\*)\s*(.*)$/.exec(line)?.[1];
      if (comment !== undefined) add(comment, i + 1, true);
      const exec = /^\s*ExecStart=(.*)$/.exec(line)?.[1];
      if (exec !== undefined) add(exec, i + 1);
      const command = /^\s*command:\s*(\[.*\])\s*$/.exec(line)?.[1];
      const args = /^\s*args:\s*(\[.*\])\s*$/.exec(lines[i + 1] ?? '')?.[1];
      if (command !== undefined) add([...(JSON.parse(command) as string[]), ...(args === undefined ? [] : (JSON.parse(args) as string[]))].map((a) => JSON.stringify(a)).join(' '), i + 1);
    });
  }
  // Prose that mentions the command ("replag prints it") has neither a command nor a flag after it.
  return out.filter((c) => c.args.length === 0 || c.args.some((a) => a.startsWith('-')) || findSource(c.args[0]!) !== undefined || c.args[0] === 'validate');
}

/** A synopsis rather than a runnable line: placeholders (`URL`, `FILE`, `<type>`, `[…]`, `…`, `--tls-*`). */
/** A synopsis or a mention rather than a runnable line: placeholders (`URL`, `FILE`, `<type>`, `[…]`, `…`, `--tls-*`), or only the command's name (`replag etcd`, `replag --config`). */
const isSynopsis = (c: Command) => c.args.length <= 1 || c.args.at(-1) === '--config' || c.args.some((a) => /^[A-Z][A-Z_:]*(?:\[.*)?$|[[\]<>…|*]|^--kebab-case$/.test(a));

const GLOBAL = new Set([...GLOBAL_FLAGS.map((g) => g.flag), 'config', 'help', 'version']);

/** Problems of a synopsis: an unknown command, or a flag its command does not take. */
function synopsisProblems(c: Command): string[] {
  const positional = c.args.filter((a) => !a.startsWith('-') && /^[a-z][a-z-]*$/.test(a));
  const type = positional.find((a) => a !== 'validate');
  const flagIndex = c.args.findIndex((a) => a.startsWith('-'));
  const firstFlag = flagIndex < 0 ? undefined : flagIndex;
  const commandWord = c.args[0] === 'validate' ? c.args[1] : c.args[0];
  const problems: string[] = [];
  if (commandWord !== undefined && !commandWord.startsWith('-') && /^[a-z][a-z-]*$/.test(commandWord) && findSource(commandWord) === undefined) problems.push(`unknown command ${commandWord}`);
  const own = type !== undefined && findSource(type) !== undefined && (firstFlag === undefined || c.args.indexOf(type) < firstFlag) ? new Set(flagsOf(findSource(type)!)) : new Set(SOURCE_DESCRIPTORS.flatMap((d) => flagsOf(d)));
  for (const a of c.args) {
    const m = /^-{1,2}([a-z][a-z-]*)/.exec(a.replace(/^\[/, ''));
    if (m === null || a === '--kebab-case' || a.includes('*')) continue;
    const flag = m[1]!.replace(/^no-/, '');
    if (a === '-h') continue;
    if (!GLOBAL.has(flag) && !own.has(flag) && !own.has(m[1]!)) problems.push(`--${m[1]} is not a flag of ${type ?? 'replag'}`);
  }
  return problems;
}

/** `${env:NAME}` references of a file, each given a value. */
function envOfFile(path: string): Record<string, string> {
  return Object.fromEntries([...readFileSync(path, 'utf8').matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => [m[1]!, 'doc-value']));
}

/** Flags of PEM files that do not exist here pointed at a scratch PEM file (the file belongs to the documented host). */
function withScratchPemFiles(args: string[]): string[] {
  const pemFlags = new Set(SOURCE_DESCRIPTORS.flatMap((d) => optionSpecs(d).filter((s) => s.meta.pemFile && s.flag !== undefined).map((s) => `--${s.flag}`)));
  return args.map((a, i) => (i > 0 && pemFlags.has(args[i - 1]!) && !existsSync(a) ? PEM : a));
}

const commands = documentedCommands();

describe('documented replag command lines', () => {
  it('are found in README.md, docs/, deploy/ and examples/ (flags, --config, validate and synopsis lines)', () => {
    const wheres = new Set(commands.map((c) => c.where.split(':')[0]!.split('/')[0]));
    for (const top of ['README.md', 'docs', 'deploy', 'examples']) assert.ok(wheres.has(top), `${top}: ${[...wheres].join(', ')}`);
    assert.ok(commands.some((c) => c.args.includes('--config') && !isSynopsis(c)), 'a --config line');
    assert.ok(commands.filter((c) => !isSynopsis(c) && !c.args.includes('--config')).length >= 10, 'flags lines');
    assert.ok(commands.filter(isSynopsis).length >= 5, 'synopsis lines');
    for (const d of SOURCE_DESCRIPTORS) assert.ok(commands.some((c) => c.args.includes(d.type)), `a documented command for ${d.type}`);
  });

  it('each synopsis names a known command and only flags that command takes', () => {
    const problems = commands.filter(isSynopsis).flatMap((c) => synopsisProblems(c).map((p) => `${c.where}: ${c.text}: ${p}`));
    assert.deepEqual(problems, []);
  });

  it('each flags-mode command parses as `replag validate <type> [flags…]` checks it', () => {
    const problems: string[] = [];
    for (const c of commands.filter((c) => !isSynopsis(c) && !c.args.includes('--config'))) {
      const args = withScratchPemFiles(c.args[0] === 'validate' ? c.args.slice(1) : c.args);
      try {
        parseCliArgs(args.includes('--help') || args.includes('-h') || args.includes('--version') ? args : ['validate', ...args], c.env);
      } catch (error) {
        problems.push(`${c.where}: ${c.text}\n  ${(error as Error).message.split('\n').join('\n  ')}`);
      }
    }
    assert.equal(problems.join('\n'), '');
  });

  it('each --config command: its flags parse, and a file of the repository passes replag validate', async () => {
    const problems: string[] = [];
    const files = new Set<string>();
    for (const c of commands.filter((c) => !isSynopsis(c) && c.args.includes('--config'))) {
      try {
        parseCliArgs(c.args, c.env);
      } catch (error) {
        problems.push(`${c.where}: ${c.text}: ${(error as Error).message}`);
      }
      const file = c.args[c.args.indexOf('--config') + 1]!;
      if (file.startsWith('/')) continue; // the documented host's file (deploy/: /etc/replag/replag.yaml)
      if (!existsSync(join(REPO_ROOT, file))) problems.push(`${c.where}: ${c.text}: ${file} is not a file of the repository`);
      else files.add(file);
    }
    assert.ok(files.size >= 2, [...files].join(', '));
    for (const file of files) {
      const result = await runNode(['src/cli/replag.ts', 'validate', '--config', file], { env: envOfFile(join(REPO_ROOT, file)), timeoutMs: 30_000 });
      if (result.code !== 0) problems.push(`replag validate --config ${file}: exit ${result.code}\n${result.stdout}${result.stderr}`);
    }
    assert.equal(problems.join('\n'), '');
  });

  it('the commented example entries of examples/replag.yaml pass replag validate once uncommented', async () => {
    const text = readFileSync(join(REPO_ROOT, 'examples/replag.yaml'), 'utf8');
    const uncommented = text.replace(/^ {2}# (- name: .*(?:\n {2}# {3}.*)*)/gm, (_, entry: string) => `  ${entry.replaceAll(/\n {2}# {3}/g, '\n    ')}`);
    assert.ok((uncommented.match(/^ {2}- name:/gm) ?? []).length >= 10, 'every commented entry uncommented');
    // TLS files of the commented entries belong to the documented host: point them at a scratch PEM file.
    const file = join(scratch, 'replag.yaml');
    writeFileSync(file, uncommented.replaceAll(/\/etc\/replag\/[\w.-]+\.pem/g, PEM).replace('../replag.schema.json', join(REPO_ROOT, 'replag.schema.json')));
    const result = await runNode(['src/cli/replag.ts', 'validate', '--config', file], { env: envOfFile(file), timeoutMs: 30_000 });
    assert.equal(result.code, 0, `${result.stdout}${result.stderr}`);
    assert.match(result.stdout, /valid \(\d+ sources\)/);
  });
});
