/** Whether `replag` runs from a config file; kept apart from fleet.ts so the flags path loads no YAML parser. */

/** `--config` given, or REPLAG_CONFIG set and neither a command nor --help / --version on the line. */
export function wantsConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): boolean {
  if (argv.some((a) => a === '--config' || a.startsWith('--config='))) return true;
  if (!env.REPLAG_CONFIG?.trim()) return false;
  if (argv.some((a) => a === '-h' || a === '--help' || a === '--version')) return false;
  return !argv.some((a) => !a.startsWith('-'));
}
