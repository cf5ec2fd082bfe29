/** Whether `replag` runs from a config file; kept apart from fleet.ts so the flags path loads no YAML parser. */

const COMMANDS = new Set(['demo', 'postgres', 'redis', 'etcd', 'mysql']);

/**
 * `--config` given, or REPLAG_CONFIG set with neither a command (`postgres`, …) nor --help / --version on the line.
 * (Other flags next to REPLAG_CONFIG are then refused by the config path, naming them.)
 */
export function wantsConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): boolean {
  if (argv.some((a) => a === '--config' || a.startsWith('--config='))) return true;
  if (!env.REPLAG_CONFIG?.trim()) return false;
  return !argv.some((a) => a === '-h' || a === '--help' || a === '--version' || COMMANDS.has(a));
}
