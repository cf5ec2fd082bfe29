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
