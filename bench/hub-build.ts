// Which code the bench's hub runs: the production build (dist/, `npm run build`) when it holds today's sources,
// else the TypeScript sources through tsx, said in the report either way.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type HubBuild = 'dist' | 'src';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** What dist/ is compiled or copied from (scripts/build.mjs). */
const SOURCE_DIRS = ['src', 'resolvers'];

/** Modification time of the newest file under the directories dist/ is built from. */
function newestSourceMs(root: string): number {
  let newest = 0;
  for (const dir of SOURCE_DIRS) {
    for (const entry of readdirSync(join(root, dir), { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

/** dist/ when it was built after every source last changed (dist/build.json), else src, with the reason. */
export function chooseHubBuild(wanted: HubBuild | 'auto', root = ROOT): { build: HubBuild; why: string } {
  const record = join(root, 'dist', 'build.json');
  if (wanted === 'src') return { build: 'src', why: 'asked for the TypeScript sources' };
  if (!existsSync(record)) {
    if (wanted === 'dist') throw new Error('dist/ has not been built: run `npm run build`');
    return { build: 'src', why: 'no production build in dist/ (`npm run build`): the TypeScript sources through tsx' };
  }
  const { startedAt } = JSON.parse(readFileSync(record, 'utf8')) as { startedAt: number };
  if (newestSourceMs(root) >= startedAt) {
    if (wanted === 'dist') throw new Error('dist/ is older than the sources: run `npm run build`');
    return { build: 'src', why: 'dist/ is older than the sources (`npm run build`): the TypeScript sources through tsx' };
  }
  return { build: 'dist', why: 'the production build in dist/' };
}
