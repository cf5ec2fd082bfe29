// Writes what is generated from the source registry: replag.schema.json (the JSON Schema of replag's configuration
// file) and the options table of each docs/sources/<system>.md. Run by `npm run generate` after changing a
// descriptor, src/cli/fleet-schema.ts or the tables' format; test/cli/generated.test.ts fails while they differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { configJsonSchemaText } from '../src/cli/fleet-schema.ts';
import { withOptionsTable } from '../src/cli/usage.ts';
import { SOURCE_DESCRIPTORS } from '../src/sources/registry.ts';
import { docPageOf } from '../src/cli/doc-pages.ts';

writeFileSync(new URL('../replag.schema.json', import.meta.url), configJsonSchemaText());
for (const descriptor of SOURCE_DESCRIPTORS) {
  const page = new URL(`../${docPageOf(descriptor.type)}`, import.meta.url);
  writeFileSync(page, withOptionsTable(readFileSync(page, 'utf8'), descriptor));
}
