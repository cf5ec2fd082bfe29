/** `replag --help`, `replag <type> --help` and `replag --config FILE --help`, generated from the registry. */
import type { AnySourceDescriptor } from '../sources/descriptor.ts';
import { SOURCE_DESCRIPTORS, SOURCE_TYPES } from '../sources/registry.ts';
import { GLOBAL_FLAGS } from './args.ts';
import { optionSpecs } from './option-specs.ts';

const WIDTH = 27;

/** `  --flag ARG   description`, wrapped under the description column when the flag is long. */
function line(left: string, description: string): string {
  const head = `  ${left}`;
  return head.length < WIDTH ? `${head.padEnd(WIDTH)}${description}\n` : `${head}\n${' '.repeat(WIDTH)}${description}\n`;
}

/** The lines of one system's options: flag, file key, description, default; secrets with their variable. */
export function sourceOptionLines(descriptor: AnySourceDescriptor): string {
  let out = '';
  for (const spec of optionSpecs(descriptor)) {
    const key = spec.keyPath.join('.');
    const extra = [spec.required ? 'required' : undefined, spec.defaultText !== undefined ? `default ${spec.defaultText}` : undefined].filter(Boolean).join(', ');
    const description = `${spec.meta.description}${extra ? ` (${extra})` : ''}; file: ${key}`;
    if (spec.flag === undefined) {
      const variable = descriptor.secretEnv?.[key];
      out += line(variable !== undefined ? `$${variable}` : `(file) ${key}`, `${description}${variable !== undefined ? '' : ''} (never a flag)`);
      continue;
    }
    const arg = spec.kind === 'boolean' ? '' : ` ${spec.meta.placeholder ?? 'VALUE'}`;
    const repeat = spec.kind === 'list' ? (spec.meta.commaSeparated ? ' (comma-separated or repeated)' : ' (repeat for several)') : '';
    out += line(`--${spec.flag}${arg}`, `${description}${repeat}`);
  }
  return out;
}

function globalLines(): string {
  return GLOBAL_FLAGS.map((g) => line(`--${g.flag}${g.placeholder ? ` ${g.placeholder}` : ''}`, g.description)).join('');
}

/** `replag --help`. */
export function usage(): string {
  return `Usage: replag [${SOURCE_TYPES.join(' | ')}] [options]     one system from flags (default demo)
       replag --config FILE                 many sources from a YAML file (also REPLAG_CONFIG=FILE); SIGHUP reloads it
       replag validate --config FILE        check a file (or: replag validate <type> [options]); connects to nothing

Watches the replication lag of each follower and exports it through OpenTelemetry.

Commands (replag <command> --help lists a command's options):
${SOURCE_DESCRIPTORS.map((d) => line(d.type, d.summary)).join('')}
Options:
${globalLines()}  -h, --help               this text
  --version                the version
`;
}

/** `replag <type> --help`. */
export function typeUsage(descriptor: AnySourceDescriptor): string {
  return `Usage: replag ${descriptor.type} [options]
       (in a config file: - { name: NAME, type: ${descriptor.type}, … })

${descriptor.summary}.

Options of ${descriptor.type}:
${sourceOptionLines(descriptor)}
Options of every command:
${globalLines()}`;
}

/** `replag --config FILE --help`. */
export const FLEET_USAGE = `Usage: replag --config FILE [--output MODE] [--duration T] [--shutdown-timeout T]
       REPLAG_CONFIG=FILE replag
       replag validate --config FILE

Runs every source listed in the YAML file FILE (see examples/replag.yaml and replag.schema.json); SIGHUP re-reads it.
  --config FILE            the configuration file (default: REPLAG_CONFIG)
  --output MODE            auto (table on a terminal, lines otherwise), table, plain or quiet
  --duration T             stop after T (a bare number: seconds) (default: run until Ctrl-C / SIGTERM)
  --shutdown-timeout T     bound on stopping at SIGTERM/SIGINT, final export included: 10s, 2500ms or
                           seconds (default 10s); a second SIGTERM/SIGINT exits at once
`;

/** Markdown table cell text: pipes escaped. */
const cell = (text: string) => text.replace(/\|/g, '\\|');

/** The options table of `docs/sources/<system>.md`: file key, flag, what it is, default. */
export function optionsTable(descriptor: AnySourceDescriptor): string {
  const rows = optionSpecs(descriptor).map((spec) => {
    const key = spec.keyPath.join('.');
    const variable = descriptor.secretEnv?.[key];
    const flag = spec.flag === undefined ? (variable !== undefined ? `(none; \`${variable}\`)` : '(none)') : `\`--${spec.flag}${spec.kind === 'boolean' ? '' : ` ${spec.meta.placeholder ?? 'VALUE'}`}\`${spec.kind === 'list' ? (spec.meta.commaSeparated ? ', comma-separated or repeated' : ', repeated') : ''}`;
    const fallback = spec.required ? 'required' : spec.defaultText !== undefined ? `\`${spec.defaultText}\`` : variable !== undefined ? `\`$${variable}\`` : '';
    return `| \`${key}\` | ${flag} | ${cell(spec.meta.description)}${spec.meta.duration ? ' (`500ms`, `1s`, `2m`)' : ''} | ${fallback} |`;
  });
  return ['| file key | flag | what | default |', '|---|---|---|---|', ...rows].join('\n');
}

/** The markers around the generated table in a system's doc page. */
export const OPTIONS_TABLE_START = '<!-- options table: generated from the registry by npm run generate; do not edit -->';
export const OPTIONS_TABLE_END = '<!-- end of options table -->';

/** `page` with its generated options table replaced by the registry's. @throws when the page has no markers. */
export function withOptionsTable(page: string, descriptor: AnySourceDescriptor): string {
  const start = page.indexOf(OPTIONS_TABLE_START);
  const end = page.indexOf(OPTIONS_TABLE_END);
  if (start < 0 || end < start) throw new RangeError(`the page of ${descriptor.type} has no options table markers`);
  return `${page.slice(0, start + OPTIONS_TABLE_START.length)}\n${optionsTable(descriptor)}\n${page.slice(end)}`;
}
