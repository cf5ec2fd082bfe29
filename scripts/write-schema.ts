// Writes replag.schema.json (the JSON Schema of replag's configuration file) from the source registry.
// Run by `npm run schema` after changing a descriptor or src/cli/fleet-schema.ts; test/cli/schema.test.ts fails
// while the shipped file differs from what this writes.
import { writeFileSync } from 'node:fs';
import { configJsonSchemaText } from '../src/cli/fleet-schema.ts';

writeFileSync(new URL('../replag.schema.json', import.meta.url), configJsonSchemaText());
