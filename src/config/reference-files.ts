// The generated config reference: the JSON Schema editors validate configs with, and docs/config-reference.md.
import { configJsonSchema } from './json-schema.js';
import { renderConfigReference } from './reference-doc.js';

/** Where the JSON Schema lives, relative to the repository root (shipped configs name it in their first line). */
export const CONFIG_SCHEMA_FILE = 'config/config.schema.json';
const CONFIG_REFERENCE_FILE = 'docs/config-reference.md';

/** Both files' contents, as `npm run config:reference` writes them. */
export function configReferenceFiles(): { path: string; content: string }[] {
  const schema = configJsonSchema();
  return [
    { path: CONFIG_SCHEMA_FILE, content: `${JSON.stringify(schema, null, 2)}\n` },
    { path: CONFIG_REFERENCE_FILE, content: renderConfigReference(schema, { schemaFile: CONFIG_SCHEMA_FILE }) },
  ];
}
