// Compiles an operation's request template (path, query, JSON body over {id}, {ids}, {value}, {cursor}, …) once into a renderer.

/**
 * The unified fields a write template may name (`{email}`, `{emailConsent}`): the values of `updateCustomerProfile`'s
 * input and of `setMarketingConsent`, as the hub's unified shapes call them.
 */
export const WRITE_FIELDS = ['firstName', 'lastName', 'name', 'email', 'phone', 'line1', 'city', 'postalCode', 'country', 'emailConsent'] as const;
export type WriteField = (typeof WRITE_FIELDS)[number];

/** Every variable a request template may name; each operation fills only some of them. */
const TEMPLATE_VARIABLES = ['id', 'ids', 'value', 'cursor', 'limit', 'page', 'offset', 'since', ...WRITE_FIELDS] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];

/** The HTTP methods operations send: reads GET (or POST a query), writes PATCH, PUT or POST. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH';

/** What one request fills the template with; a variable left out is absent (its query parameter or body key is omitted). */
type TemplateValues = {
  id?: string;
  ids?: readonly string[];
  value?: string;
  cursor?: string;
  limit?: number;
  page?: number;
  offset?: number;
  /** An incremental sync's modified-since filter (the entity's `sync.modifiedSince`), in the format it declares; absent on a full pass. */
  since?: string;
} & { [F in WriteField]?: string | boolean };

/** A request template as config declares it (the shape of `batch`, `single`, `list`, `search.<kind>`, `lookup`, `write`). */
export interface RequestTemplateConfig {
  method: HttpMethod;
  path: string;
  query: Record<string, string>;
  body?: unknown;
  /**
   * How a query parameter that is `{ids}` alone carries the ids: joined with commas (`?id=1,2`, the default) or the
   * parameter repeated once per id (`?id=1&id=2`, as Rails, Spring and many others read a list).
   */
  idsInQuery?: 'comma' | 'repeat';
}

/** A query parameter's value: one, or (a repeated parameter) one per element, in order. */
export type QueryValue = string | readonly string[];

/** A request ready for the HTTP client: a path below the source's base URL, query parameters, a JSON body unless GET. */
export interface RenderedRequest {
  method: HttpMethod;
  path: string;
  query: Record<string, QueryValue>;
  body?: unknown;
}

/** A template config cannot use; `at` is the key path inside the operation (e.g. `['body', 'inputs', 0, 'id']`). */
export class TemplateError extends Error {
  constructor(
    readonly at: (string | number)[],
    message: string,
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

export interface TemplateRules {
  /** The variables this operation fills. */
  variables: readonly TemplateVariable[];
  /** Each inner list: the template must use at least one of these (e.g. a batch read must carry its ids somewhere). */
  required?: readonly (readonly TemplateVariable[])[];
  /** How `{id}` and `{ids}` are typed where they stand alone as a JSON body value. */
  idType?: 'string' | 'integer';
  /**
   * Batch reads: a body array whose only element names `{id}` (e.g. `inputs: [{ id: "{id}" }]`) holds that element
   * once per id. `{id}` is allowed only there, `{ids}` only outside.
   */
  perIdArrays?: boolean;
}

export interface CompiledRequest {
  readonly method: HttpMethod;
  /** The variables the template names, so callers know, e.g., whether a list sends `{limit}`. */
  readonly uses: ReadonlySet<TemplateVariable>;
  render(values: TemplateValues): RenderedRequest;
}

const VARIABLES: ReadonlySet<string> = new Set(TEMPLATE_VARIABLES);
/** Characters a literal path may hold as written (RFC 3986 pchar, `/` and percent escapes). */
const PATH_LITERAL = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
/** Body keys and array elements that render to this are left out. */
const OMIT = Symbol('omit');

interface Scope {
  rules: TemplateRules;
  allowed: ReadonlySet<TemplateVariable>;
  uses: Set<TemplateVariable>;
}

/** Parts as literals and variables, kept apart (a literal may spell a variable's name). */
interface Text {
  literals: string[];
  /** variables[i] follows literals[i]; literals has one more entry than variables. */
  variables: TemplateVariable[];
}

function toText(text: string, at: (string | number)[], scope: Scope): Text {
  const literals: string[] = [''];
  const variables: TemplateVariable[] = [];
  for (const part of splitText(text, at, scope)) {
    if (part.kind === 'literal') literals[literals.length - 1] += part.text;
    else {
      variables.push(part.name);
      literals.push('');
    }
  }
  return { literals, variables };
}

type TextPart = { kind: 'literal'; text: string } | { kind: 'variable'; name: TemplateVariable };

/** `"type:user email:{value}"` → a literal and a variable; `{{` and `}}` are literal braces. */
function splitText(text: string, at: (string | number)[], scope: Scope): TextPart[] {
  const parts: TextPart[] = [];
  let literal = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if ((c === '{' || c === '}') && text[i + 1] === c) {
      literal += c;
      i++;
    } else if (c === '{') {
      const end = text.indexOf('}', i);
      if (end < 0) throw new TemplateError(at, `unclosed "{" in "${text}" (write "{{" for a literal brace)`);
      const name = text.slice(i + 1, end);
      if (!VARIABLES.has(name) || !scope.allowed.has(name as TemplateVariable)) {
        throw new TemplateError(at, `unknown variable {${name}} in "${text}"; here: ${[...scope.allowed].map((v) => `{${v}}`).join(', ') || 'none'}`);
      }
      if (literal) parts.push({ kind: 'literal', text: literal });
      literal = '';
      parts.push({ kind: 'variable', name: name as TemplateVariable });
      scope.uses.add(name as TemplateVariable);
      i = end;
    } else if (c === '}') {
      throw new TemplateError(at, `unmatched "}" in "${text}" (write "}}" for a literal brace)`);
    } else literal += c;
  }
  if (literal) parts.push({ kind: 'literal', text: literal });
  return parts;
}

/** A variable's value as text: ids joined with commas (`ids=1,2,3`), numbers in decimal. */
function asText(values: TemplateValues, name: TemplateVariable): string | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(',') : String(value);
}

/** Renders text, or undefined when a variable it names has no value (the parameter or key is then left out). */
function textRenderer({ literals, variables }: Text, encode: (text: string) => string): (values: TemplateValues) => string | undefined {
  if (variables.length === 0) {
    const constant = literals[0]!;
    return () => constant;
  }
  if (variables.length === 1 && literals[0] === '' && literals[1] === '') {
    const [name] = variables as [TemplateVariable];
    return (values) => {
      const text = asText(values, name);
      return text === undefined ? undefined : encode(text);
    };
  }
  return (values) => {
    let out = literals[0]!;
    for (let i = 0; i < variables.length; i++) {
      const text = asText(values, variables[i]!);
      if (text === undefined) return undefined;
      out += encode(text) + literals[i + 1]!;
    }
    return out;
  };
}

type BodyRenderer = (values: TemplateValues) => unknown;

function typedId(id: string, idType: 'string' | 'integer' | undefined): string | number {
  if (idType !== 'integer') return id;
  const n = Number(id);
  if (!Number.isSafeInteger(n)) throw new Error(`id "${id}" is not an integer, as the endpoint's idType says ids are`);
  return n;
}

function mentions(value: unknown, name: TemplateVariable): boolean {
  if (typeof value === 'string') return value.includes(`{${name}}`);
  if (Array.isArray(value)) return value.some((v) => mentions(v, name));
  if (value !== null && typeof value === 'object') return Object.values(value).some((v) => mentions(v, name));
  return false;
}

function compileBody(value: unknown, at: (string | number)[], scope: Scope, inPerId: boolean): BodyRenderer {
  const { rules } = scope;
  if (typeof value === 'string') {
    const text = toText(value, at, scope);
    for (const name of text.variables) {
      if (rules.perIdArrays && name === 'id' && !inPerId) throw new TemplateError(at, '{id} in a batch body belongs in an array of one element, repeated per id (e.g. inputs: [{ id: "{id}" }]); use {ids} for the id list');
      if (rules.perIdArrays && name === 'ids' && inPerId) throw new TemplateError(at, '{ids} inside an array repeated per id: use {id} there');
    }
    // A value that is one variable alone keeps its JSON type: ids as the endpoint types them, limits as numbers.
    if (text.variables.length === 1 && text.literals[0] === '' && text.literals[1] === '') {
      const [name] = text.variables as [TemplateVariable];
      const idType = rules.idType;
      if (name === 'ids') return (values) => (values.ids === undefined ? OMIT : values.ids.map((id) => typedId(id, idType)));
      if (name === 'id') return (values) => (values.id === undefined ? OMIT : typedId(values.id, idType));
      return (values) => values[name] ?? OMIT;
    }
    const render = textRenderer(text, (t) => t);
    return (values) => render(values) ?? OMIT;
  }
  if (Array.isArray(value)) {
    if (rules.perIdArrays && !inPerId && value.some((v) => mentions(v, 'id'))) {
      if (value.length !== 1) throw new TemplateError(at, 'an array repeated per id holds exactly one element, the shape of one id (e.g. [{ id: "{id}" }])');
      const element = compileBody(value[0], [...at, 0], scope, true);
      return (values) => (values.ids ?? []).map((id) => element({ ...values, id }));
    }
    const elements = value.map((v, i) => compileBody(v, [...at, i], scope, inPerId));
    if (!value.some((v) => mentionsAny(v))) return () => value;
    return (values) => {
      const out: unknown[] = [];
      for (const element of elements) {
        const rendered = element(values);
        if (rendered !== OMIT) out.push(rendered);
      }
      return out;
    };
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(([key, v]): [string, BodyRenderer] => [key, compileBody(v, [...at, key], scope, inPerId)]);
    if (!mentionsAny(value)) return () => value;
    return (values) => {
      const out: Record<string, unknown> = {};
      for (const [key, render] of entries) {
        const rendered = render(values);
        if (rendered !== OMIT) out[key] = rendered;
      }
      return out;
    };
  }
  return () => value;
}

/** Whether a JSON value holds a `{` at all: constant sub-trees are rendered once, at compile time. */
function mentionsAny(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('{');
  if (Array.isArray(value)) return value.some(mentionsAny);
  if (value !== null && typeof value === 'object') return Object.values(value).some(mentionsAny);
  return false;
}

/** Splits `path` at a `?` into the path and its query parameters (parsed by URLSearchParams), merged with `query`. */
function splitPath(config: RequestTemplateConfig): { path: string; query: Record<string, string> } {
  const { path } = config;
  if (path.includes('#')) throw new TemplateError(['path'], `"${path}" holds a "#": a request path has no fragment`);
  const q = path.indexOf('?');
  if (q < 0) return { path, query: config.query };
  const query = { ...config.query };
  for (const [name, value] of new URLSearchParams(path.slice(q + 1))) {
    if (name in config.query) throw new TemplateError(['path'], `query parameter "${name}" is set both in path and in query`);
    query[name] = value;
  }
  return { path: path.slice(0, q), query };
}

/** Compiles an operation's request once; throws TemplateError naming the key of the first mistake. */
export function compileRequest(config: RequestTemplateConfig, rules: TemplateRules): CompiledRequest {
  const scope: Scope = { rules, allowed: new Set(rules.variables), uses: new Set() };
  const { path, query } = splitPath(config);
  const pathText = toText(path, ['path'], scope);
  for (const literal of pathText.literals) {
    if (!PATH_LITERAL.test(literal)) throw new TemplateError(['path'], `"${path}" holds characters a URL path cannot carry as written (percent-encode them)`);
  }
  if (rules.perIdArrays && pathText.variables.includes('id')) throw new TemplateError(['path'], '{id} in a batch path: a batch carries many ids, use {ids}');
  const renderPath = textRenderer(pathText, encodeURIComponent);
  const repeatIds = config.idsInQuery === 'repeat';
  let repeated = false;
  const params = Object.entries(query).map(([name, template]): [string, (values: TemplateValues) => QueryValue | undefined] => {
    const text = toText(template, ['query', name], scope);
    if (rules.perIdArrays && text.variables.includes('id')) throw new TemplateError(['query', name], '{id} in a batch query: a batch carries many ids, use {ids} (joined with commas)');
    if (repeatIds && text.variables.includes('ids')) {
      // Repeating a parameter per id only means something when the parameter is the id list and nothing else.
      const alone = text.variables.length === 1 && text.literals.every((literal) => literal === '');
      if (!alone) throw new TemplateError(['query', name], `idsInQuery: repeat sends the parameter once per id, so it must be "{ids}" alone, not "${template}"`);
      repeated = true;
      return [name, (values) => (values.ids === undefined ? undefined : [...values.ids])];
    }
    return [name, textRenderer(text, (t) => t)];
  });
  if (repeatIds && !repeated) throw new TemplateError(['idsInQuery'], 'idsInQuery: repeat needs a query parameter that is "{ids}" alone');
  if (config.body !== undefined && config.method === 'GET') throw new TemplateError(['body'], 'a GET request carries no body: only POST (and, for writes, PUT and PATCH) requests carry one');
  const renderBody = config.body === undefined ? undefined : compileBody(config.body, ['body'], scope, false);
  for (const group of rules.required ?? []) {
    if (!group.some((v) => scope.uses.has(v))) {
      throw new TemplateError([], `the request must use ${group.map((v) => `{${v}}`).join(' or ')} (in path, query or body)`);
    }
  }
  const method = config.method;
  return {
    method,
    uses: scope.uses,
    render(values) {
      const renderedPath = renderPath(values);
      if (renderedPath === undefined) throw new Error(`request path "${path}" needs a value for each of its variables`);
      const renderedQuery: Record<string, QueryValue> = {};
      for (const [name, render] of params) {
        const value = render(values);
        if (value !== undefined) renderedQuery[name] = value;
      }
      const request: RenderedRequest = { method, path: renderedPath, query: renderedQuery };
      if (renderBody) {
        const body = renderBody(values);
        request.body = body === OMIT ? {} : body;
      }
      return request;
    },
  };
}
