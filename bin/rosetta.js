#!/usr/bin/env node
// The `rosetta` executable: runs the compiled command line (dist/, made by `npm run build`); no TypeScript at run time.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/src/cli/rosetta.js', import.meta.url);
if (!existsSync(compiled)) {
  console.error('rosetta: dist/ is missing; run `npm run build` first (or `npm start` for the demo from the sources)');
  process.exit(1);
}
await import(compiled.href);
