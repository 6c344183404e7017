// Where config points into a response: RFC 9535 JSONPath, parsed once by a maintained parser and compiled into fast accessors.
import { query as evaluate } from 'jsonpath-rfc9535';
import parseJsonPath, { type JsonPathQuery } from 'jsonpath-rfc9535/parser';

/** Reads one value out of a JSON document; undefined where nothing is there. */
export type Accessor = (value: unknown) => unknown;

/** A path config names, with why it cannot be used: a syntax error, or a query that may select many values where one is read. */
class JsonPathError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`"${path}" ${reason}`);
    this.name = 'JsonPathError';
  }
}

/**
 * The RFC 9535 expression a config path stands for. A path that does not start with `$` is the member shorthand
 * (`a.b[0]` is `$.a.b[0]`), so `merge_fields.FNAME` and `data[-1].id` read as written; `$` alone is the whole document.
 */
function toJsonPath(path: string): string {
  return path.startsWith('$') ? path : `$.${path}`;
}

function parse(path: string): JsonPathQuery {
  try {
    return parseJsonPath(toJsonPath(path));
  } catch (error) {
    // The parser's messages list every character it would have accepted; the first line is what a reader needs.
    const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    throw new JsonPathError(path, `is not a valid JSONPath (RFC 9535): ${reason}`);
  }
}

/** The member names and array indexes (negative from the end) of a singular query, or null when it is not one. */
function singularSteps(ast: JsonPathQuery): (string | number)[] | null {
  const steps: (string | number)[] = [];
  for (const segment of ast.segments) {
    if (segment.type !== 'ChildSegment') return null;
    const node = segment.node;
    if (node.type === 'MemberNameShorthand') steps.push(node.value);
    else if (node.type === 'BracketedSelection' && node.selectors.length === 1) {
      const selector = node.selectors[0]!;
      if (selector.type === 'NameSelector') steps.push(selector.value);
      else if (selector.type === 'IndexSelector') steps.push(selector.value);
      else return null;
    } else return null;
  }
  return steps;
}

function step(current: unknown, key: string | number): unknown {
  if (typeof key === 'number') {
    if (!Array.isArray(current)) return undefined;
    return current[key < 0 ? current.length + key : key];
  }
  // A member name selects nothing from an array or a scalar (RFC 9535 §2.3.1.2), nor from the prototype.
  if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
  return Object.hasOwn(current, key) ? (current as Record<string, unknown>)[key] : undefined;
}

/**
 * Names no prototype (of an object or an array) carries can be read directly: a JSON object has them only as its own
 * members, and an array none at all. This is the mapping hot path's common case, about twice as fast as `step`.
 */
function isPlainName(key: string | number): key is string {
  return typeof key === 'string' && !(key in Object.prototype) && !(key in Array.prototype) && !/^\d/.test(key);
}

function plain(current: unknown, key: string): unknown {
  return current !== null && typeof current === 'object' ? (current as Record<string, unknown>)[key] : undefined;
}

/**
 * A singular query (member names and indexes only: `$.a.b`, `$['x-y'][0]`, `$.data[-1].id`) compiled into a walk over
 * its steps: the mapping hot path pays for no parsing and no library call. Throws JsonPathError for anything else.
 */
export function compileSingularPath(path: string): Accessor {
  const steps = singularSteps(parse(path));
  if (steps === null) throw new JsonPathError(path, 'must select one value (names and indexes only, e.g. "a.b", "items[0]", "data[-1].id")');
  if (steps.length === 0) return (value) => value;
  if (steps.every(isPlainName)) {
    const names = steps as string[];
    if (names.length === 1) {
      const [name] = names as [string];
      return (value) => plain(value, name);
    }
    return (value) => {
      let current = value;
      for (let i = 0; i < names.length && current !== undefined; i++) current = plain(current, names[i]!);
      return current;
    };
  }
  return (value) => {
    let current = value;
    for (const key of steps) {
      current = step(current, key);
      if (current === undefined) return undefined;
    }
    return current;
  };
}

/** Any RFC 9535 query (wildcards, filters, descendants), for places that collect many values; evaluated by the library. */
export function compileQuery(path: string): (value: unknown) => unknown[] {
  const expression = toJsonPath(path);
  const steps = singularSteps(parse(path));
  if (steps !== null) {
    const read = compileSingularPath(path);
    return (value) => {
      const found = read(value);
      return found === undefined ? [] : [found];
    };
  }
  return (value) => (value === null || typeof value !== 'object' ? [] : evaluate(value as Parameters<typeof evaluate>[0], expression));
}

/** Why a path cannot be used, for config validation; null when it can. */
export function jsonPathProblem(path: string, { singular }: { singular: boolean }): string | null {
  try {
    if (singular) compileSingularPath(path);
    else parse(path);
    return null;
  } catch (error) {
    return error instanceof JsonPathError ? error.message : String(error);
  }
}
