#!/usr/bin/env node
/** The `replag` executable. */
import { main } from './main.ts';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`replag: ${(error as Error)?.message ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
