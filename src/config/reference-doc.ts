// Renders the config's JSON Schema as docs/config-reference.md: one table per section, every key with its type,
// allowed values, default and description.
import type { JsonSchema } from './json-schema.js';

/** What a map's keys are called in paths (`sources.<source>.entities.<entity>`); other maps' keys are `<name>`. */
const KEY_NAMES: Record<string, string> = {
  sources: 'source',
  entities: 'entity',
  search: 'kind',
  mapping: 'field',
  each: 'field',
  roles: 'role',
  values: 'value',
  query: 'param',
  headers: 'header',
  caps: 'kind',
};

/** The $defs that only say "this may also be written as text or as ${ENV}": the preamble says it once for all keys. */
const TEXT_FORMS = new Set(['#/$defs/envReference', '#/$defs/numberText', '#/$defs/booleanText']);

interface Section {
  path: string;
  anchor: string;
  variant: string | null;
  node: JsonSchema;
}

export interface ReferenceOptions {
  /** The JSON Schema file, as a path relative to the repository root (for the editor line in the preamble). */
  schemaFile: string;
}

export function renderConfigReference(root: JsonSchema, options: ReferenceOptions): string {
  const sections: Section[] = [];
  collectSections(root, root, '', null, sections);
  const lines = [
    '# Config reference',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run config:reference`: do not edit by hand (test/unit/config-reference.test.ts fails when it is stale). -->',
    '',
    'Every key of a hub config file, section by section. The same facts, as a JSON Schema, are in',
    `[\`${options.schemaFile}\`](../${options.schemaFile}): editors that speak the YAML language server (VS Code's YAML`,
    'extension, JetBrains IDEs, Neovim) complete and check a config whose first line names it, by a path relative to the',
    'config file. `config/demo.yaml` and every recipe carry the line; a config of your own in `config/` would start with:',
    '',
    '```yaml',
    `# yaml-language-server: $schema=./${options.schemaFile.split('/').at(-1)}`,
    '```',
    '',
    'How to read the tables:',
    '',
    '- **Any value may come from the environment**: `"${NAME}"` or `"${NAME:-default}"`, filled in when the file is',
    '  loaded; an unset variable without a default is an error naming the key. Write secrets this way, never inline.',
    '- **Numbers and booleans may be written as text** (`port: "4000"`, `enabled: "false"`), as environment values are.',
    '- **Paths** into JSON documents (`idPath`, `envelope`, mapping paths) are RFC 9535 JSONPath, with or without the',
    '  leading `$.` ([docs/sources.md](sources.md#paths)). Templates (`path`, `query`, `body`) use `{variables}`',
    '  ([docs/sources.md](sources.md#request-templates)).',
    '- `<source>`, `<entity>` and other names in angle brackets are names you choose.',
    '- **Default**: *required* means the key must be written; — means it is optional and absent unless written.',
    '- Rules across keys (a `parent` that names an entity, a template\'s variables, a `page` pagination\'s total) are',
    '  checked when the config is loaded and by `rosetta check`, with the key\'s path; the JSON Schema checks shapes only.',
    '',
    '## Sections',
    '',
    ...sections.filter((s) => s.path !== '').map((s) => `${'  '.repeat(levelOf(s, sections))}- [${sectionTitle(s)}](#${s.anchor})`),
    '',
  ];
  for (const section of sections) lines.push(...renderSection(root, section, levelOf(section, sections)));
  return `${lines.join('\n').trimEnd()}\n`;
}

function renderSection(root: JsonSchema, section: Section, level: number): string[] {
  const node = section.node;
  const lines = [`<a id="${section.anchor}"></a>`, '', section.path === '' ? '## Top level' : `${'#'.repeat(Math.min(2 + level, 4))} ${sectionTitle(section)}`, ''];
  // The root's description speaks of the file itself, which the preamble already does.
  const description = section.path === '' ? undefined : str(node.description);
  if (description) lines.push(`${sentence(description)}`, '');
  lines.push('| Key | Type | Allowed values | Default | Description |', '| --- | --- | --- | --- | --- |');
  const required = new Set(Array.isArray(node.required) ? (node.required as string[]) : []);
  for (const [key, child] of Object.entries(properties(node))) {
    const shape = describeShape(root, child);
    const childPath = joinPath(section.path, key);
    const links = sectionLinksFor(root, childPath, child);
    const type = links.length > 0 ? `${shape.type} (${links.join(', ')})` : shape.type;
    const fallback = defaultOf(root, child, required.has(key));
    lines.push(`| \`${key}\` | ${cell(type)} | ${cell(shape.allowed)} | ${cell(fallback)} | ${cell(sentence(str(child.description) ?? ''))} |`);
  }
  lines.push('');
  return lines;
}

/** Depth-first, in the schema's order, so a section's subsections follow it. */
function collectSections(root: JsonSchema, node: JsonSchema, path: string, variant: string | null, out: Section[]): void {
  const resolved = resolve(root, node);
  if (hasProperties(resolved)) {
    out.push({ path, anchor: anchorOf(path, variant), variant, node: resolved });
    for (const [key, child] of Object.entries(properties(resolved))) collectChildren(root, child, joinPath(path, key), out);
    return;
  }
  collectChildren(root, resolved, path, out);
}

/** The sections beneath one key: its object, the objects of a map's values or a list's items, each object form of a union. */
function collectChildren(root: JsonSchema, node: JsonSchema, path: string, out: Section[]): void {
  // A $ref names a recursive value (a JSON body): it has no keys of its own to list.
  if (typeof node.$ref === 'string') return;
  const resolved = node;
  if (hasProperties(resolved)) return collectSections(root, resolved, path, null, out);
  const branches = unionBranches(root, resolved);
  if (branches.length > 1) {
    for (const branch of branches) {
      if (hasProperties(branch)) collectSections(root, branch, path, variantLabel(branch), out);
      else collectChildren(root, branch, path, out);
    }
    return;
  }
  if (branches.length === 1 && branches[0] !== resolved) return collectChildren(root, branches[0]!, path, out);
  if (isObject(resolved.additionalProperties)) collectChildren(root, resolved.additionalProperties, `${path}.<${KEY_NAMES[lastKey(path)] ?? 'name'}>`, out);
  if (isObject(resolved.items)) collectChildren(root, resolved.items, `${path}[]`, out);
}

/** Links from a key's row to the sections that describe its insides. */
function sectionLinksFor(root: JsonSchema, path: string, node: JsonSchema): string[] {
  const found: Section[] = [];
  collectChildren(root, node, path, found);
  // Only the sections directly beneath the key: deeper ones are linked from their own parents' tables.
  const direct = found.filter((s) => !found.some((other) => isBeneath(s, other)));
  return direct.map((s) => `[${s.variant ? s.variant : `\`${s.path}\``}](#${s.anchor})`);
}

interface Shape {
  type: string;
  allowed: string;
}

function describeShape(root: JsonSchema, node: JsonSchema): Shape {
  if (typeof node.$ref === 'string') {
    if (node.$ref === '#/$defs/jsonValue') return { type: 'JSON value', allowed: '' };
    return describeShape(root, resolve(root, node));
  }
  const branches = unionBranches(root, node);
  if (branches.length === 1 && branches[0] !== node) return describeShape(root, { ...branches[0], ...annotationsOf(node) });
  if (branches.length > 1) {
    const shapes = branches.map((branch) => describeShape(root, branch));
    const types = unique(shapes.map((s) => s.type));
    return { type: types.join(' or '), allowed: unique(shapes.map((s) => s.allowed).filter(Boolean)).join('; ') };
  }
  if (node.const !== undefined) return { type: typeName(node), allowed: code(node.const) };
  if (Array.isArray(node.enum)) return { type: typeName(node), allowed: node.enum.map(code).join(', ') };
  // A named kind of text (a JSONPath, a path template) says more than "string".
  if (typeof node.title === 'string' && node.type === 'string') return { type: node.title, allowed: stringRules(node) };
  switch (node.type) {
    case 'string':
      return { type: node.format === 'uri' ? 'URL' : 'string', allowed: stringRules(node) };
    case 'integer':
    case 'number':
      return { type: String(node.type), allowed: numberRules(node) };
    case 'boolean':
      return { type: 'boolean', allowed: '' };
    case 'array': {
      const items = isObject(node.items) ? describeShape(root, node.items) : { type: 'value', allowed: '' };
      const count = typeof node.minItems === 'number' ? `at least ${node.minItems} item${node.minItems === 1 ? '' : 's'}` : '';
      return { type: `list of ${items.type}`, allowed: [items.allowed, count].filter(Boolean).join('; ') };
    }
    case 'object': {
      if (hasProperties(node)) return { type: 'object', allowed: '' };
      const values = isObject(node.additionalProperties) ? describeShape(root, node.additionalProperties) : { type: 'value', allowed: '' };
      const keys = isObject(node.propertyNames) ? describeShape(root, node.propertyNames) : null;
      const keyRule = keys?.allowed ? `keys: ${keys.allowed}` : '';
      return { type: `map of name → ${values.type}`, allowed: [keyRule, values.allowed ? `values: ${values.allowed}` : ''].filter(Boolean).join('; ') };
    }
    default:
      return { type: 'any', allowed: '' };
  }
}

function stringRules(node: JsonSchema): string {
  const rules: string[] = [];
  if (node.format === 'uri') rules.push('an absolute URL');
  if (typeof node.pattern === 'string') rules.push(`matches \`${node.pattern}\``);
  if (typeof node.minLength === 'number' && node.minLength === node.maxLength) rules.push(`exactly ${node.minLength} characters`);
  else {
    if (typeof node.minLength === 'number' && node.minLength > 1) rules.push(`at least ${node.minLength} characters`);
    if (node.minLength === 1) rules.push('not empty');
    if (typeof node.maxLength === 'number') rules.push(`at most ${node.maxLength} characters`);
  }
  return rules.join(', ');
}

function numberRules(node: JsonSchema): string {
  const low = typeof node.exclusiveMinimum === 'number' ? `> ${node.exclusiveMinimum}` : typeof node.minimum === 'number' ? `≥ ${node.minimum}` : '';
  const high = typeof node.exclusiveMaximum === 'number' ? `< ${node.exclusiveMaximum}` : typeof node.maximum === 'number' ? `≤ ${node.maximum}` : '';
  if (typeof node.minimum === 'number' && typeof node.maximum === 'number') return `${node.minimum} to ${node.maximum}`;
  return [low, high].filter(Boolean).join(', ');
}

function defaultOf(root: JsonSchema, node: JsonSchema, required: boolean): string {
  if (node.default === undefined) return required ? '*required*' : '—';
  const value = node.default;
  // An object section's default ({} or all its keys' defaults) is better read from its own table.
  if (isObject(value) && hasProperties(resolve(root, node))) return '(its keys\' defaults)';
  return code(value);
}

/** The alternatives of a union, less the text forms every key accepts; a node that is no union is its own one branch. */
function unionBranches(root: JsonSchema, node: JsonSchema): JsonSchema[] {
  const options = (node.anyOf ?? node.oneOf) as JsonSchema[] | undefined;
  if (!options) return [node];
  return options.filter((o) => !(typeof o.$ref === 'string' && TEXT_FORMS.has(o.$ref))).flatMap((o) => (typeof o.$ref === 'string' ? [o] : unionBranches(root, o)));
}

/** `type: bearer` for a discriminated form; otherwise the keys that tell the form apart. */
function variantLabel(node: JsonSchema): string {
  const required = new Set(Array.isArray(node.required) ? (node.required as string[]) : []);
  for (const [key, child] of Object.entries(properties(node))) {
    if (!required.has(key)) continue;
    if (child.const !== undefined) return `${key}: ${String(child.const)}`;
    const values = Array.isArray(child.enum) ? child.enum : (child.anyOf as JsonSchema[] | undefined)?.[0]?.enum;
    if (Array.isArray(values)) return `${key}: ${values.map(String).join(' / ')}`;
  }
  return `{ ${Object.keys(properties(node)).join(', ')} }`;
}

function sectionTitle(section: Section): string {
  return section.variant ? `\`${section.path}\` (${section.variant})` : `\`${section.path}\``;
}

function anchorOf(path: string, variant: string | null): string {
  const text = variant ? `${path}-${variant}` : path || 'top-level';
  return `cfg-${text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}`;
}

function resolve(root: JsonSchema, node: JsonSchema): JsonSchema {
  if (typeof node.$ref !== 'string' || !node.$ref.startsWith('#/$defs/')) return node;
  const target = (root.$defs as Record<string, JsonSchema>)[node.$ref.slice('#/$defs/'.length)];
  return target ?? node;
}

function annotationsOf(node: JsonSchema): JsonSchema {
  return Object.fromEntries(['description', 'default'].filter((k) => node[k] !== undefined).map((k) => [k, node[k]]));
}

function properties(node: JsonSchema): Record<string, JsonSchema> {
  return (node.properties ?? {}) as Record<string, JsonSchema>;
}

function hasProperties(node: JsonSchema): boolean {
  return node.type === 'object' && isObject(node.properties) && Object.keys(node.properties).length > 0;
}

function typeName(node: JsonSchema): string {
  return typeof node.type === 'string' ? node.type : 'value';
}

function isObject(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function joinPath(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function lastKey(path: string): string {
  return path.split('.').at(-1)!.replace(/\[\]$/, '');
}

/** How many sections enclose this one (the top level aside): its heading and list indentation. */
function levelOf(section: Section, sections: Section[]): number {
  const enclosing = new Set(sections.filter((other) => other.path !== '' && isBeneath(section, other)).map((other) => other.path));
  return enclosing.size;
}

function isBeneath(inner: Section, outer: Section): boolean {
  return inner.path.startsWith(`${outer.path}.`) || inner.path.startsWith(`${outer.path}[`);
}

function code(value: unknown): string {
  return `\`${JSON.stringify(value)}\``;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Descriptions are written as lower-case clauses for error messages and tooltips; the tables read them as sentences. */
function sentence(text: string): string {
  if (!text) return text;
  const capital = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** A table cell: pipes escaped (also inside code spans, which GitHub's tables split on), no line breaks. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ') || ' ';
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}
