// The hub's layering as a guarantee: no import cycle between folders of src/ (and resolvers/) and none between files,
// beyond the known ones below. Each known cycle is listed as the one import that goes the wrong way; without those
// the graph must be acyclic, and every listed import must still exist, so the list can only shrink (to empty).
import { beforeAll, describe, expect, test } from 'vitest';
import { cycles, folderGraph, hasEdge, readImportGraph, without, type Edge, type ImportGraph } from './import-graph.js';

/** Folder imports against the layering (errors, config < sources < identity < observability < request < server), to be removed. */
const KNOWN_FOLDER_CYCLES: readonly Edge[] = [
  // config/schema.ts validates with the sources' JSON paths, transform names and endpoint templates.
  'src/config -> src/sources',
];

/** File imports that close a cycle (type-only ones included), to be removed. */
const KNOWN_FILE_CYCLES: readonly Edge[] = [
  'src/config/schema.ts -> src/sources/endpoint-requests.ts',
];

let graph: ImportGraph;
beforeAll(async () => {
  graph = await readImportGraph();
}, 120_000);

test('every relative import of src/ and resolvers/ resolves to a file, so the graph below is complete', () => {
  expect(graph.unresolved).toEqual([]);
  expect(graph.files.size).toBeGreaterThan(100);
});

describe('folders', () => {
  test('no import cycle between folders besides the known ones', () => {
    expect(cycles(without(folderGraph(graph.files), KNOWN_FOLDER_CYCLES))).toEqual([]);
  });

  test.each(KNOWN_FOLDER_CYCLES.map((edge) => [edge]))('the known wrong-way import %s still exists (else delete it from the list)', (edge) => {
    expect(hasEdge(folderGraph(graph.files), edge)).toBe(true);
  });
});

describe('files', () => {
  test('no import cycle between files besides the known ones', () => {
    expect(cycles(without(graph.files, KNOWN_FILE_CYCLES))).toEqual([]);
  });

  test.each(KNOWN_FILE_CYCLES.map((edge) => [edge]))('the known wrong-way import %s still exists (else delete it from the list)', (edge) => {
    expect(hasEdge(graph.files, edge)).toBe(true);
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
  expect(cycles(without(graphWithCycle, ['src/c -> src/a']))).toEqual([]);
});
