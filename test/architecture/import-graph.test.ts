// The hub's layering as a guarantee: no import cycle between folders of src/ (and resolvers/) and none between files,
// type-only imports included, so no layer of docs/ARCHITECTURE.md ("Dependency direction") imports one that imports
// it. There is no allow-list: the known wrong-way imports were removed, so any cycle fails, named by its members.
import { beforeAll, describe, expect, test } from 'vitest';
import { cycles, folderGraph, readImportGraph, type ImportGraph } from './import-graph.js';

let graph: ImportGraph;
beforeAll(async () => {
  graph = await readImportGraph();
}, 120_000);

test('every relative import of src/ and resolvers/ resolves to a file, so the graph below is complete', () => {
  expect(graph.unresolved).toEqual([]);
  expect(graph.files.size).toBeGreaterThan(100);
});

describe('no import cycle', () => {
  test('between folders', () => {
    expect(cycles(folderGraph(graph.files))).toEqual([]);
  });

  test('between files', () => {
    expect(cycles(graph.files)).toEqual([]);
  });
});

test('the check can fail: a cycle between two folders is found, named by its members', () => {
  const graphWithCycle = new Map([
    ['src/a', new Set(['src/b'])],
    ['src/b', new Set(['src/c'])],
    ['src/c', new Set(['src/a'])],
    ['src/d', new Set(['src/a'])],
  ]);
  expect(cycles(graphWithCycle)).toEqual([['src/a', 'src/b', 'src/c']]);
  graphWithCycle.get('src/c')!.delete('src/a');
  expect(cycles(graphWithCycle)).toEqual([]);
});
