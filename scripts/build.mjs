// `npm run build`: compiles src/ and resolvers/ to dist/ (tsconfig.build.json), from empty, so a moved or deleted
// module leaves no stale JavaScript behind; then copies what tsc does not emit (the playground's browser assets).
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = `${root}dist`;
const startedAt = Date.now();
rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit' });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);
cpSync(`${root}src`, `${dist}/src`, { recursive: true, filter: (source) => !source.endsWith('.ts') });
// When the sources were read: a source changed after this makes dist/ stale (test/support/compiled-cli.ts refuses it).
writeFileSync(`${dist}/build.json`, `${JSON.stringify({ startedAt })}\n`);
