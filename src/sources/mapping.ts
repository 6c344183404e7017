// Compiles an entity's declarative field mapping (paths: RFC 9535 singular JSONPath) once into a function from a raw record to unified values.
import type { EntityConfig, FieldMapping, LineItemsMapping } from '../config/schema.js';
import { compileSingularPath as compilePath } from './json-path.js';
import { compileTransform, type TransformContext, type TransformName } from './transforms.js';

export type UnifiedValues = Record<string, unknown>;

type Reader = (raw: unknown) => unknown;

function compileField(mapping: FieldMapping, context: TransformContext): Reader {
  const { path, transform } = typeof mapping === 'string' ? { path: mapping, transform: undefined } : mapping;
  const read = compilePath(path);
  const apply = compileTransform(transform ?? ('string' satisfies TransformName), context);
  return (raw) => apply(read(raw));
}

function isLineItems(mapping: FieldMapping | LineItemsMapping): mapping is LineItemsMapping {
  return typeof mapping === 'object' && 'each' in mapping;
}

function compileObject(mapping: Record<string, FieldMapping | LineItemsMapping>, context: TransformContext): (raw: unknown) => UnifiedValues {
  const fields = Object.entries(mapping).map(([target, field]): [string, Reader] => {
    if (!isLineItems(field)) return [target, compileField(field, context)];
    const readItems = compilePath(field.path);
    const mapItem = compileObject(field.each, context);
    return [target, (raw) => {
      const items = readItems(raw);
      return Array.isArray(items) ? items.map(mapItem) : [];
    }];
  });
  const targets = fields.map(([target]) => target);
  const readers = fields.map(([, read]) => read);
  return (raw) => {
    const values: UnifiedValues = {};
    for (let i = 0; i < readers.length; i++) values[targets[i]!] = readers[i]!(raw);
    return values;
  };
}

export interface CompiledEntity {
  /** The record's own ID as a string (sources key by strings or integers; links store strings). */
  recordId(raw: unknown): string | null;
  /** For child items in a flat batch: the parent record's ID. */
  parentId?(raw: unknown): string | null;
  map(raw: unknown): UnifiedValues;
}

function idReader(path: string): (raw: unknown) => string | null {
  const read = compilePath(path);
  return (raw) => {
    const value = read(raw);
    return typeof value === 'string' || typeof value === 'number' ? String(value) : null;
  };
}

export function compileEntity(entity: EntityConfig, context: TransformContext): CompiledEntity {
  return {
    recordId: idReader(entity.idPath),
    ...(entity.parentPath ? { parentId: idReader(entity.parentPath) } : {}),
    map: compileObject(entity.mapping, context),
  };
}
