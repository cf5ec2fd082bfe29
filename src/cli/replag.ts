#!/usr/bin/env node
/** The `replag` executable. */
import { main } from './main.ts';

main(process.argv.slice(2)).then(
  (code) => {
    // Exit now: a retry timer the SDK scheduled before the shutdown deadline must not hold the process past it.
    process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`replag: ${(error as Error)?.message ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
