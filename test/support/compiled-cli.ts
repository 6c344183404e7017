// The compiled command line (`npm run build` → dist/), run as production runs `rosetta serve`: tests of production
// behaviour (signals, drain, the cluster's forked workers) spawn it instead of the TypeScript sources. A dist/ built
// before the sources last changed would test other code than the sources', so it is refused, naming the fix.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUILD_RECORD = join(ROOT, 'dist', 'build.json');
/** What dist/ is compiled or copied from (scripts/build.mjs). */
const SOURCE_DIRS = ['src', 'resolvers'];

class StaleBuildError extends Error {
  readonly code = 'STALE_BUILD';
}

function newestSource(): { file: string; mtimeMs: number } {
  let newest = { file: '', mtimeMs: 0 };
  for (const dir of SOURCE_DIRS) {
    for (const entry of readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const file = join(entry.parentPath, entry.name);
      const { mtimeMs } = statSync(file);
      if (mtimeMs > newest.mtimeMs) newest = { file, mtimeMs };
    }
  }
  return newest;
}

/** `node bin/rosetta.js`: the arguments that start the compiled CLI, once dist/ is known to hold today's sources. */
export function compiledCli(): string[] {
  if (!existsSync(BUILD_RECORD)) throw new StaleBuildError('dist/ has not been built: run `npm run build` (npm test does)');
  const { startedAt } = JSON.parse(readFileSync(BUILD_RECORD, 'utf8')) as { startedAt: number };
  const newest = newestSource();
  if (newest.mtimeMs >= startedAt) {
    throw new StaleBuildError(`dist/ is older than ${newest.file.slice(ROOT.length)}: run \`npm run build\` (npm test does)`);
  }
  return [join(ROOT, 'bin', 'rosetta.js')];
}
