/**
 * Optional peer dependencies: packages that only some uses need (a database driver for a source, the gRPC
 * exporters for OTLP over gRPC, the YAML parser and zod for `replag --config`), so that the drop-in
 * instrumentation does not make an app install them. Loading one that is missing fails with an error that
 * names the package and how to install it.
 * @internal
 */

/** The optional peer dependencies of otel-replication-lag, with what needs each. */
export const OPTIONAL_PEERS: Readonly<Record<string, string>> = {
  pg: 'the PostgreSQL source',
  mysql2: 'the MySQL / MariaDB source',
  yaml: 'replag --config (the configuration file)',
  zod: 'replag (the source options)',
  '@opentelemetry/exporter-metrics-otlp-grpc': 'OTLP over gRPC',
  '@opentelemetry/exporter-logs-otlp-grpc': 'OTLP over gRPC',
  '@opentelemetry/otlp-grpc-exporter-base': 'OTLP over gRPC',
};

/** Thrown when an optional peer dependency that a feature needs is not installed. */
export class MissingDependencyError extends Error {
  /** The packages to install. */
  readonly packages: readonly string[];
  constructor(packages: readonly string[], purpose: string) {
    super(
      `${purpose} needs ${packages.join(', ')}, not installed: ${packages.length === 1 ? 'it is an optional peer dependency' : 'they are optional peer dependencies'} ` +
        `of otel-replication-lag, which npm does not install with it. Install ${packages.length === 1 ? 'it' : 'them'} next to it: npm install ${packages.join(' ')}`,
    );
    this.name = 'MissingDependencyError';
    this.packages = packages;
  }
}

/**
 * The package a "module not found" error is about, when it is a bare package name (not a relative file);
 * undefined for any other error.
 */
export function missingPackageOf(error: unknown): string | undefined {
  const e = error as { code?: unknown; message?: unknown } | null;
  if (e === null || typeof e !== 'object' || (e.code !== 'ERR_MODULE_NOT_FOUND' && e.code !== 'MODULE_NOT_FOUND')) return undefined;
  const m = /Cannot find (?:package|module) '((?:@[^/'\s]+\/)?[^/'.\s][^/'\s]*)/.exec(String(e.message));
  return m?.[1];
}

/**
 * `import(specifier)`, or a MissingDependencyError naming `packages` (the whole set `purpose` needs, so that one
 * install command fixes it) when the package is not installed.
 */
export async function importOptional<T>(load: () => Promise<T>, packages: readonly string[], purpose: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const missing = missingPackageOf(error);
    if (missing !== undefined && packages.includes(missing)) throw new MissingDependencyError(packages, purpose);
    throw error;
  }
}
