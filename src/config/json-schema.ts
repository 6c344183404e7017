// The JSON Schema of a config file as written, derived from the zod schema: what editors validate YAML configs with.
import { z } from 'zod';
import { configSchema } from './schema.js';

/** A JSON Schema node: plain JSON, read and written by key. */
export type JsonSchema = { [key: string]: unknown };

/** Set by the zod walk on values the loader reads from text (`numeric()`, `boolean()`), turned into alternatives after. */
const FROM_TEXT = 'x-rosetta-from-text';

/** `${NAME}` or `${NAME:-default}` anywhere in a string: the loader fills it from the environment (load.ts). */
const ENV_REFERENCE_PATTERN = '\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}';

const TEXT_DEFS: Record<string, JsonSchema> = {
  envReference: {
    type: 'string',
    pattern: ENV_REFERENCE_PATTERN,
    description: 'a value from the environment: "${NAME}" or "${NAME:-default}", filled in when the config is loaded',
  },
  numberText: {
    type: 'string',
    pattern: '^\\s*(-?\\d+(\\.\\d+)?|"\\s*-?\\d+(\\.\\d+)?\\s*"|\'\\s*-?\\d+(\\.\\d+)?\\s*\')\\s*$',
    description: 'a number written as text ("4000")',
  },
  booleanText: {
    type: 'string',
    pattern: '^\\s*("|\')?\\s*([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])\\s*("|\')?\\s*$',
    description: 'true or false written as text',
  },
};

/** Keys that say what a value means rather than what it must be: they stay on a node whose constraints move into anyOf. */
const ANNOTATIONS = ['title', 'description', 'default', 'examples', 'deprecated'] as const;

/**
 * The config's JSON Schema (draft 2020-12), for input as written in the file: keys with defaults are optional, numbers
 * and booleans may be text, and any constrained value may be an environment reference, since the loader fills those in
 * before zod sees them. Cross-key rules (a parent that exists, a template's variables) stay zod's: `rosetta check`
 * and the hub's start report them with the key's path.
 */
export function configJsonSchema(): JsonSchema {
  const generated = z.toJSONSchema(configSchema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'throw',
    override: ({ zodSchema, jsonSchema }) => {
      const def = zodSchema._zod.def;
      // zod drops the defaults of values that pass through a transform in input mode (a default is an output value);
      // ours are numbers and booleans, as valid written as read, and the reference must show them.
      if (def.type === 'default' && jsonSchema.default === undefined) jsonSchema.default = JSON.parse(JSON.stringify(def.defaultValue)) as unknown;
      if (def.type === 'pipe' && def.in._zod.def.type === 'transform') (jsonSchema as JsonSchema)[FROM_TEXT] = true;
    },
  }) as JsonSchema;
  const schema = acceptWrittenForms(JSON.parse(JSON.stringify(generated)) as JsonSchema);
  return {
    $schema: schema.$schema,
    title: 'Rosetta hub config',
    description: 'The YAML config of a Rosetta hub (docs/config-reference.md). Generated from src/config/schema.ts by `npm run config:reference`: do not edit by hand.',
    ...Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$schema' && key !== '$defs')),
    $defs: { ...(schema.$defs as Record<string, JsonSchema> | undefined), ...TEXT_DEFS },
  };
}

/**
 * The keys (as `a.b.<name>.c` paths, with `|n` for a union's n-th form) whose schema carries no description: the
 * reference would show them with an empty cell, so the test of the reference refuses them.
 */
export function keysWithoutDescription(schema: JsonSchema): string[] {
  const found: string[] = [];
  const walk = (node: unknown, path: string): void => {
    if (!isSchema(node) || typeof node.$ref === 'string') return;
    for (const [key, child] of Object.entries((node.properties ?? {}) as Record<string, JsonSchema>)) {
      const at = path ? `${path}.${key}` : key;
      if (typeof child.description !== 'string' || child.description.trim() === '') found.push(at);
      walk(child, at);
    }
    for (const union of ['anyOf', 'oneOf', 'allOf'] as const) {
      if (Array.isArray(node[union])) (node[union] as unknown[]).forEach((branch, i) => walk(branch, `${path}|${i}`));
    }
    walk(node.items, `${path}[]`);
    walk(node.additionalProperties, `${path}.<name>`);
  };
  walk(schema, '');
  return found;
}

/** Every subschema of `node`, rewritten by `acceptWrittenForms`. */
function acceptWrittenForms(node: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' || key === '$defs') out[key] = mapValues(value as Record<string, JsonSchema>, acceptWrittenForms);
    else if (key === 'items' || key === 'additionalProperties') out[key] = isSchema(value) ? acceptWrittenForms(value) : value;
    else if (key === 'anyOf' || key === 'oneOf' || key === 'allOf') out[key] = (value as JsonSchema[]).map(acceptWrittenForms);
    else out[key] = value;
  }
  // Bounds zod adds to every integer (Number.MAX_SAFE_INTEGER): they say nothing a reader needs.
  if (out.maximum === Number.MAX_SAFE_INTEGER) delete out.maximum;
  if (out.minimum === Number.MIN_SAFE_INTEGER) delete out.minimum;
  if (out[FROM_TEXT]) {
    delete out[FROM_TEXT];
    const text = out.type === 'boolean' ? 'booleanText' : 'numberText';
    return withAlternatives(out, [{ $ref: `#/$defs/${text}` }, { $ref: '#/$defs/envReference' }]);
  }
  const constrainedText = out.type === 'string' && (out.pattern !== undefined || out.format !== undefined || out.enum !== undefined || (out.minLength as number) > 1 || out.maxLength !== undefined);
  if (constrainedText) return withAlternatives(out, [{ $ref: '#/$defs/envReference' }]);
  return out;
}

/** `node` as anyOf [its constraints, ...alternatives], its annotations kept on the outside. */
function withAlternatives(node: JsonSchema, alternatives: JsonSchema[]): JsonSchema {
  const outside: JsonSchema = {};
  const constraints: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if ((ANNOTATIONS as readonly string[]).includes(key)) outside[key] = value;
    else constraints[key] = value;
  }
  return { ...outside, anyOf: [constraints, ...alternatives] };
}

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mapValues<T, U>(record: Record<string, T>, fn: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, fn(value)]));
}
