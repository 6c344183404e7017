// The bench runs the hub from the production build only when dist/ holds today's sources, and says which it ran.
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { chooseHubBuild } from '../../bench/hub-build.js';

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A checkout whose newest source changed at `sourceMs`, with a dist/ built at `builtMs` (none when null). */
function checkout(sourceMs: number, builtMs: number | null): string {
  root = mkdtempSync(join(tmpdir(), 'hub-build-'));
  for (const dir of ['src', 'resolvers']) mkdirSync(join(root, dir, 'nested'), { recursive: true });
  const file = join(root, 'src', 'nested', 'a.ts');
  writeFileSync(file, '');
  utimesSync(file, sourceMs / 1000, sourceMs / 1000);
  writeFileSync(join(root, 'resolvers', 'b.ts'), '');
  utimesSync(join(root, 'resolvers', 'b.ts'), 1, 1);
  if (builtMs !== null) {
    mkdirSync(join(root, 'dist'));
    writeFileSync(join(root, 'dist', 'build.json'), JSON.stringify({ startedAt: builtMs }));
  }
  return root;
}

describe('chooseHubBuild', () => {
  test('a build started after the newest source change is the hub the bench runs', () => {
    expect(chooseHubBuild('auto', checkout(1_000_000, 2_000_000)).build).toBe('dist');
    expect(chooseHubBuild('dist', checkout(1_000_000, 2_000_000)).build).toBe('dist');
  });

  test('a source changed since the build sends the bench to the sources, or refuses when the build was asked for', () => {
    expect(chooseHubBuild('auto', checkout(3_000_000, 2_000_000))).toEqual({ build: 'src', why: expect.stringContaining('older than the sources') });
    expect(() => chooseHubBuild('dist', checkout(3_000_000, 2_000_000))).toThrow('npm run build');
  });

  test('no build at all: the sources, or a refusal when the build was asked for', () => {
    expect(chooseHubBuild('auto', checkout(1_000_000, null)).build).toBe('src');
    expect(() => chooseHubBuild('dist', checkout(1_000_000, null))).toThrow('has not been built');
    expect(chooseHubBuild('src', checkout(1_000_000, 2_000_000)).build).toBe('src');
  });
});
