// Where the package's own files live (schema/, config/, package.json): the nearest directory above this module that
// holds a package.json, the same whether the hub runs from the TypeScript sources or from the compiled dist/ (which
// mirrors the repository one level down and holds no package.json of its own).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function nearestPackageRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${start}: the hub's own files (schema/, config/) cannot be found`);
  }
}

const PACKAGE_ROOT = nearestPackageRoot(dirname(fileURLToPath(import.meta.url)));

/** A file or directory of the package, by its path from the package root (`schema/`, `config/demo.yaml`). */
export function packagePath(relative: string): string {
  return join(PACKAGE_ROOT, relative);
}
