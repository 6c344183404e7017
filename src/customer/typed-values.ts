// Turns a mapped source value into the type its GraphQL field declares, so a value that does not fit fails alone.
//
// Enums: the source's text goes through the field's `values` map in config, else its upper-case form
// ("past_due" → PAST_DUE); text that names no value answers UNKNOWN when the enum has it (the text stays readable
// in the sibling `…Raw` field), else null. Scalars (DateTime, Int, Boolean, …): a value the scalar refuses answers
// null. Either way the response carries a SOURCE_VALUE_INVALID error naming the source, record and field (not for
// UNKNOWN, which is the documented answer), and the metric rosetta_source_values_unfit_total counts it.
import { GraphQLError, getNullableType, isEnumType, isListType, isScalarType, responsePathAsArray, type GraphQLEnumType, type GraphQLOutputType, type GraphQLResolveInfo } from 'graphql';
import type { HubConfig } from '../config/schema.js';
import { ErrorCode } from '../errors/catalogue.js';
import type { Telemetry } from '../observability/telemetry.js';

/**
 * Where a value that does not fit is reported, and the config holding the value maps: the request context has them;
 * naming only these keeps the customer layer below the request's.
 */
export interface ValueContext {
  config: HubConfig;
  telemetry: Telemetry;
  /** The request's errors beside its data. */
  partialErrors: GraphQLError[];
}

const UNKNOWN_ENUM_VALUE = 'UNKNOWN';

/** The record a value was read from: it names the source in errors and selects the source's value map. */
export interface ValueOrigin {
  source: string;
  entity: string;
  recordId: string;
  /** Fields whose source value the mapping's transform could not read (set by the connector), with why. */
  invalid?: Readonly<Record<string, string>>;
}

type ValueMap = ReadonlyMap<string, string>;

/** `source.entity.field` → the field's value map from config, built once per config. */
const valueMapsByConfig = new WeakMap<HubConfig, ReadonlyMap<string, ValueMap>>();

function valueMaps(config: HubConfig): ReadonlyMap<string, ValueMap> {
  let maps = valueMapsByConfig.get(config);
  if (!maps) {
    const built = new Map<string, ValueMap>();
    for (const [source, src] of Object.entries(config.sources)) {
      for (const [entity, ent] of Object.entries(src.entities)) {
        for (const [field, mapping] of Object.entries(ent.mapping)) {
          if (typeof mapping === 'object' && 'values' in mapping && mapping.values) built.set(`${source}.${entity}.${field}`, new Map(Object.entries(mapping.values)));
        }
      }
    }
    valueMapsByConfig.set(config, (maps = built));
  }
  return maps;
}

/** The source's text of a value, as the `…Raw` sibling of an enum field answers it. */
export function rawText(value: unknown): string | null {
  return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : null;
}

/** The enum value a source's text names: through the value map, else its upper-case form; null when neither is one. */
function enumValueOf(type: GraphQLEnumType, text: string, map: ValueMap | undefined): string | null {
  const mapped = map?.get(text) ?? text.trim().toUpperCase().replace(/[^A-Z0-9]+/g, '_');
  return type.getValue(mapped) ? mapped : null;
}

type Outcome = { value: unknown } | { unfit: 'invalid' | 'unknown'; value: unknown; why: string };

function fit(type: GraphQLOutputType, value: unknown, map: ValueMap | undefined): Outcome {
  const nullable = getNullableType(type);
  if (value === null || value === undefined) return { value: null };
  if (isListType(nullable)) {
    if (!Array.isArray(value)) return { unfit: 'invalid', value: null, why: 'is not a list' };
    const items: unknown[] = [];
    for (const item of value) {
      const outcome = fit(nullable.ofType, item, map);
      if ('unfit' in outcome && outcome.value === null) return { unfit: outcome.unfit, value: null, why: `has an item that ${outcome.why}` };
      items.push(outcome.value);
    }
    return { value: items };
  }
  if (isEnumType(nullable)) {
    const text = rawText(value);
    const named = text === null ? null : enumValueOf(nullable, text, map);
    if (named !== null) return { value: named };
    if (text !== null && nullable.getValue(UNKNOWN_ENUM_VALUE)) return { unfit: 'unknown', value: UNKNOWN_ENUM_VALUE, why: `"${text}" names no ${nullable.name} value` };
    return { unfit: 'invalid', value: null, why: `${JSON.stringify(value)?.slice(0, 40)} names no ${nullable.name} value` };
  }
  if (isScalarType(nullable)) {
    try {
      return { value: nullable.serialize(value) };
    } catch (error) {
      return { unfit: 'invalid', value: null, why: `is not a ${nullable.name}: ${(error as Error).message}` };
    }
  }
  // Object types are resolved field by field below this one.
  return { value };
}

/** A value that does not fit its field, reported beside the data; the field answers null. */
class SourceValueError extends GraphQLError {}

function report(context: ValueContext, info: GraphQLResolveInfo, origin: ValueOrigin, outcome: 'invalid' | 'unknown', why: string): void {
  const coordinate = `${info.parentType.name}.${info.fieldName}`;
  context.telemetry.metrics.recordUnfitValue(origin.source, coordinate, outcome);
  if (outcome === 'unknown') return;
  context.partialErrors.push(
    new SourceValueError(`source "${origin.source}" ${origin.entity} ${origin.recordId}: ${coordinate} ${why}`, {
      path: responsePathAsArray(info.path),
      extensions: { code: ErrorCode.SOURCE_VALUE_INVALID, source: origin.source, entity: origin.entity, recordId: origin.recordId, field: coordinate },
    }),
  );
}

/**
 * For fields computed from several mapped values (Order.total from totalMinor and currency; a profile merged from
 * updatedAt): reports each of `fields` the mapping could not read, and says whether any was.
 */
export function reportUnreadable(origin: ValueOrigin, fields: readonly string[], context: ValueContext, info: GraphQLResolveInfo): boolean {
  let any = false;
  for (const field of fields) {
    const unreadable = origin.invalid?.[field];
    if (unreadable === undefined) continue;
    report(context, info, origin, 'invalid', `(from mapped field "${field}") could not be read: ${unreadable}`);
    any = true;
  }
  return any;
}

/**
 * The value of mapped field `field` of `origin`'s record, fitted to the type the resolving field returns. Errors
 * of single values go to the response beside the data, so the rest of the record and its list still answer.
 */
export function typedValue(value: unknown, origin: ValueOrigin, field: string, context: ValueContext, info: GraphQLResolveInfo): unknown {
  const unreadable = origin.invalid?.[field];
  if (unreadable !== undefined) {
    report(context, info, origin, 'invalid', `could not be read: ${unreadable}`);
    return null;
  }
  const outcome = fit(info.returnType, value, valueMaps(context.config).get(`${origin.source}.${origin.entity}.${field}`));
  if ('unfit' in outcome) report(context, info, origin, outcome.unfit, outcome.why);
  return outcome.value;
}
