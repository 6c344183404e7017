// The import graph of the hub's code (src/ and resolvers/), read by dependency-cruiser, and the cycles in it, between
// files and between folders. Type-only imports count: a cycle of types is still two modules that cannot be understood,
// moved or tested apart.
import { cruise } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

export interface ImportGraph {
  /** Every file and the files it imports. */
  files: Map<string, Set<string>>;
  /** Relative imports that resolved to no file: the graph would be incomplete, so callers fail on any. */
  unresolved: string[];
}

/**
 * Generated code's imports are not chosen by a module: codegen.ts names the resolvers' parent types (mappers) and
 * the context type wherever they live, so they are left out; imports *of* the generated types count as any other.
 */
const GENERATED = 'src/generated/';

export async function readImportGraph(roots: string[] = ['src', 'resolvers']): Promise<ImportGraph> {
  const tsConfig = extractTSConfig('tsconfig.json');
  const result = await cruise(
    roots,
    { tsPreCompilationDeps: true, tsConfig: { fileName: 'tsconfig.json' }, doNotFollow: { path: 'node_modules' }, exclude: { path: 'node_modules' } },
    undefined,
    { tsConfig },
  );
  if (typeof result.output === 'string') throw new TypeError('dependency-cruiser answered a report, not the module graph');
  const files = new Map<string, Set<string>>();
  const unresolved: string[] = [];
  for (const module of result.output.modules) {
    if (!roots.some((root) => module.source.startsWith(`${root}/`))) continue;
    const imports = new Set<string>();
    for (const dependency of module.dependencies) {
      const local = dependency.module.startsWith('.');
      if (dependency.couldNotResolve && local) unresolved.push(`${module.source} imports ${dependency.module}`);
      if (!local || dependency.couldNotResolve || dependency.resolved.startsWith('node_modules/')) continue;
      if (!module.source.startsWith(GENERATED)) imports.add(dependency.resolved);
    }
    files.set(module.source, imports);
  }
  return { files, unresolved };
}

/** The folder a file belongs to, for the folder-level graph: `src/<folder>`, `src` itself, or the top folder. */
function folderOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] !== 'src') return parts[0]!;
  return parts.length > 2 ? `src/${parts[1]}` : 'src';
}

/** The folder-level graph: folder A → folder B when a file in A imports a file in B. */
export function folderGraph(files: Map<string, Set<string>>): Map<string, Set<string>> {
  const folders = new Map<string, Set<string>>();
  for (const [file, imports] of files) {
    const from = folderOf(file);
    const targets = folders.get(from) ?? new Set<string>();
    folders.set(from, targets);
    for (const imported of imports) if (folderOf(imported) !== from) targets.add(folderOf(imported));
  }
  return folders;
}

/** Strongly connected components of more than one node (Tarjan): each is one or more cycles, sorted for reading. */
export function cycles(graph: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1) found.push(component.sort());
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return found.sort((a, b) => a[0]!.localeCompare(b[0]!));
}
