#!/usr/bin/env node
/** The `replag` executable. */
import { MissingDependencyError, missingPackageOf, OPTIONAL_PEERS } from '../optional-dependency.ts';

/** What the sidecar loads at start: its optional peer dependencies except the gRPC exporters (loaded on use). */
const SIDECAR_PACKAGES = ['pg', 'mysql2', 'yaml', 'zod'];

/**
 * The CLI, or an error naming the optional peer dependencies to install when one is missing. All of them are
 * checked at start, whichever source or file the command line names, so that an installation lacking one fails
 * when it is set up, not at the first poll of a source that needs it.
 */
async function loadMain(): Promise<typeof import('./main.ts')> {
  const missing = await Promise.all(SIDECAR_PACKAGES.map((name) => import(name).then(() => undefined, (error: unknown) => (missingPackageOf(error) === name ? name : undefined))));
  if (missing.some((name) => name !== undefined)) throw new MissingDependencyError(SIDECAR_PACKAGES, 'replag');
  try {
    return await import('./main.ts');
  } catch (error) {
    const missing = missingPackageOf(error);
    if (missing !== undefined && missing in OPTIONAL_PEERS) throw new MissingDependencyError(SIDECAR_PACKAGES, 'replag');
    throw error;
  }
}

loadMain()
  .then(({ main }) => main(process.argv.slice(2)))
  .then(
    (code) => {
      // Exit now: a retry timer the SDK scheduled before the shutdown deadline must not hold the process past it.
      process.exit(code);
    },
    (error: unknown) => {
      process.stderr.write(`replag: ${(error as Error)?.message ?? String(error)}\n`);
      // A missing package is like a bad configuration (exit 2): restarting does not help.
      process.exitCode = error instanceof MissingDependencyError ? 2 : 1;
    },
  );
