// Compiles an entity's declarative field mapping (paths: RFC 9535 singular JSONPath) once into a function from a raw record to unified values.
import type { EntityConfig, FieldMapping, LineItemsMapping } from '../config/schema.js';
import { compileSingularPath as compilePath } from '../expressions/json-path.js';
import type { TransformName } from '../expressions/transform-names.js';
import { compileTransform, TransformError, type TransformContext } from './transforms.js';

export type UnifiedValues = Record<string, unknown>;

/** A record's mapped values; `invalid` names the fields whose source value the transform could not read, and why. */
interface MappedValues {
  values: UnifiedValues;
  invalid?: Record<string, string>;
}

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

function fieldReaders(mapping: Record<string, FieldMapping | LineItemsMapping>, context: TransformContext): [string, Reader][] {
  return Object.entries(mapping).map(([target, field]): [string, Reader] => {
    if (!isLineItems(field)) return [target, compileField(field, context)];
    const readItems = compilePath(field.path);
    const mapItem = compileObject(field.each, context);
    return [target, (raw) => {
      const items = readItems(raw);
      return Array.isArray(items) ? items.map(mapItem) : [];
    }];
  });
}

function compileObject(mapping: Record<string, FieldMapping | LineItemsMapping>, context: TransformContext): (raw: unknown) => UnifiedValues {
  const fields = fieldReaders(mapping, context);
  const targets = fields.map(([target]) => target);
  const readers = fields.map(([, read]) => read);
  return (raw) => {
    const values: UnifiedValues = {};
    for (let i = 0; i < readers.length; i++) values[targets[i]!] = readers[i]!(raw);
    return values;
  };
}

/**
 * The top-level mapping with each field's failure kept to that field: a value its transform cannot read (a word
 * where a date was mapped) is null in `values` and named in `invalid`, for the resolver of that field to report
 * (src/customer/typed-values.ts); the record's other fields still answer. Nested items (line items) fail whole.
 */
function compileRecord(mapping: Record<string, FieldMapping | LineItemsMapping>, context: TransformContext): (raw: unknown) => MappedValues {
  const fields = fieldReaders(mapping, context);
  const targets = fields.map(([target]) => target);
  const readers = fields.map(([, read]) => read);
  return (raw) => {
    const values: UnifiedValues = {};
    let invalid: Record<string, string> | undefined;
    for (let i = 0; i < readers.length; i++) {
      const target = targets[i]!;
      try {
        values[target] = readers[i]!(raw);
      } catch (error) {
        if (!(error instanceof TransformError)) throw error;
        values[target] = null;
        (invalid ??= {})[target] = error.message;
      }
    }
    return invalid ? { values, invalid } : { values };
  };
}

export interface CompiledEntity {
  /** The record's own ID as a string (sources key by strings or integers; links store strings). */
  recordId(raw: unknown): string | null;
  /** For child items in a flat batch: the parent record's ID. */
  parentId?(raw: unknown): string | null;
  map(raw: unknown): MappedValues;
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
    map: compileRecord(entity.mapping, context),
  };
}
