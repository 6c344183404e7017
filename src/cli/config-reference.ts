// `npm run config:reference`: regenerates the config's JSON Schema and docs/config-reference.md from src/config/schema.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configReferenceFiles } from '../config/reference-files.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
for (const file of configReferenceFiles()) {
  const target = `${root}${file.path}`;
  let before: string | null = null;
  try {
    before = readFileSync(target, 'utf8');
  } catch {
    // Absent: written below for the first time.
  }
  if (before === file.content) {
    console.log(`${file.path}: up to date`);
    continue;
  }
  writeFileSync(target, file.content);
  console.log(`${file.path}: written`);
}
