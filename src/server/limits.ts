// Bounds on what one request may ask for (depth, cost, aliases, directives, repeats, tokens, JSON nesting) and what production hides.
import type { ApolloServerOptions, ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { LRUCache } from 'lru-cache';
import {
  GraphQLError,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  Kind,
  parse,
  TypeInfo,
  validate,
  visit,
  visitWithTypeInfo,
  type ArgumentNode,
  type DocumentNode,
  type OperationDefinitionNode,
  type ValidationRule,
} from 'graphql';
import type { HubConfig, LimitsSection } from '../config/schema.js';
import type { Environment } from '../config/load.js';
import { productionMode } from '../config/mode.js';
import { ErrorCode } from '../errors/catalogue.js';
import { requestError } from '../request/errors.js';

type GraphQLArmorConfig = NonNullable<ConstructorParameters<typeof ApolloArmor>[0]>;
type GraphQLArmorRejectCallback = NonNullable<NonNullable<GraphQLArmorConfig['maxDepth']>['onReject']>[number];

/** armor reports with a misleading "Syntax Error:" prefix and a generic code; say which limit was hit instead. */
const reportLimit =
  (limit: string): GraphQLArmorRejectCallback =>
  (context, error) =>
    context?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, ''), { extensions: { limit } }));

const DISABLED = { enabled: false } as const;

function armorRules(config: GraphQLArmorConfig): ValidationRule[] {
  return new ApolloArmor({ blockFieldSuggestion: DISABLED, maxTokens: DISABLED, costLimit: DISABLED, maxAliases: DISABLED, maxDepth: DISABLED, maxDirectives: DISABLED, ...config }).protect().validationRules;
}

/**
 * How many verdicts a cache keeps, and how much query text: a flood of distinct queries evicts old verdicts instead of
 * growing the heap.
 */
export interface VerdictCacheBounds {
  maxEntries: number;
  /** The sum of the cached keys' lengths (keys are mostly query texts). */
  maxTotalChars: number;
  /** A longer key is judged afresh every time, never cached (capped at 16,383: see `V8_FULLY_HASHED_CHARS`). */
  maxKeyChars: number;
}

/**
 * V8 hashes a string of 16,384 characters or more by its length alone, so such keys of one length would share one
 * hash bucket and every lookup would compare them all (measured: 2,000 of them make a lookup 160 times slower).
 */
const V8_FULLY_HASHED_CHARS = 16_383;

/** Far more distinct operations than a hub's clients send; at most 4 Mi characters of their text. */
const DEFAULT_VERDICT_CACHE: VerdictCacheBounds = { maxEntries: 1_000, maxTotalChars: 4 * 1024 * 1024, maxKeyChars: V8_FULLY_HASHED_CHARS };

/** How a limit check may be tuned; the defaults are what the hub runs with. */
export interface LimitCheckOptions {
  cache?: VerdictCacheBounds;
  /** graphql-js's `validate`; tests pass a counting wrapper to see which verdicts came from the cache. */
  validate?: typeof validate;
}

/** An LRU of answers that depend only on their key, computed on a miss. */
class VerdictCache<V extends object> {
  private readonly entries: LRUCache<string, V>;
  private readonly maxKeyChars: number;

  constructor(bounds: VerdictCacheBounds) {
    this.maxKeyChars = Math.min(bounds.maxKeyChars, V8_FULLY_HASHED_CHARS);
    this.entries = new LRUCache<string, V>({ max: bounds.maxEntries, maxSize: bounds.maxTotalChars, sizeCalculation: (_value, key) => Math.max(1, key.length) });
  }

  get(key: string, compute: () => V): V {
    if (key.length > this.maxKeyChars) return compute();
    let value = this.entries.get(key);
    if (value === undefined) {
      value = compute();
      this.entries.set(key, value);
    }
    return value;
  }
}

const LIST_SIZE_ARGUMENTS = new Set(['first', 'last']);

/**
 * What a variable's value gives a list size: the integer it is; `undefined` when it is absent or null (the operation's
 * or the schema's default applies); `null` for any other value (no size: the argument is left out, weighing 1).
 */
function variableListSize(value: unknown): number | null | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'number' && Number.isInteger(value) ? value : null;
}

/**
 * The document with every `first`/`last` made a literal: variables replaced by their values and omitted arguments by
 * their schema defaults. armor's cost rule weighs only literal sizes, so without this `orders(first: $n)` or a bare
 * `orders` (default 20) would count as one item.
 */
function bindListSizes(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Readonly<Record<string, unknown>>): DocumentNode {
  return bindSizes(schema, document, operation, (name) => variableListSize(variables[name]));
}

/**
 * `bindListSizes` reading variables only through `sizeOf`, which it calls for every variable in a list-size position
 * whatever the values: the names it asks for depend on the document and schema alone (see `listSizeVariables`).
 */
function bindSizes(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, sizeOf: (variable: string) => number | null | undefined): DocumentNode {
  const variableDefaults = new Map(operation.variableDefinitions?.map((d) => [d.variable.name.value, d.defaultValue]) ?? []);
  const typeInfo = new TypeInfo(schema);
  return visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const sizeArgs = typeInfo.getFieldDef()?.args.filter((arg) => LIST_SIZE_ARGUMENTS.has(arg.name)) ?? [];
        if (sizeArgs.length === 0) return undefined;
        const given = new Map(node.arguments?.map((arg) => [arg.name.value, arg]) ?? []);
        const bound: ArgumentNode[] = (node.arguments ?? []).filter((arg) => !LIST_SIZE_ARGUMENTS.has(arg.name.value));
        for (const def of sizeArgs) {
          const arg = given.get(def.name);
          let size: unknown = def.defaultValue;
          if (arg?.value.kind === Kind.INT) size = Number(arg.value.value);
          else if (arg?.value.kind === Kind.VARIABLE) {
            const name = arg.value.name.value;
            const fallback = variableDefaults.get(name);
            const given = sizeOf(name);
            size = given !== undefined ? given : fallback?.kind === Kind.INT ? Number(fallback.value) : def.defaultValue;
          }
          if (typeof size === 'number' && Number.isInteger(size)) {
            bound.push({ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: def.name }, value: { kind: Kind.INT, value: String(size) } });
          }
        }
        return { ...node, arguments: bound };
      },
    }),
  );
}

/** The variables whose values `bindListSizes` reads, found by recording what it asks for. */
function listSizeVariables(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): readonly string[] {
  const names = new Set<string>();
  bindSizes(schema, document, operation, (name) => {
    names.add(name);
    return undefined;
  });
  return [...names];
}

/**
 * One schema's cost verdicts. A verdict is `validate(schema, bindListSizes(…), rules)`: it depends on the query text
 * (the document), the operation (its variables' defaults) and what `variableListSize` makes of the variables in
 * list-size positions, and on nothing else, so it is kept per those three and other variables (an ID, an email) do not
 * split it.
 */
class CostVerdicts {
  /** Per query text: the variables in list-size positions. */
  private readonly sizeVariables: VerdictCache<readonly string[]>;
  private readonly verdicts: VerdictCache<readonly GraphQLError[]>;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly rules: readonly ValidationRule[],
    private readonly validateDocument: typeof validate,
    bounds: VerdictCacheBounds,
  ) {
    this.sizeVariables = new VerdictCache(bounds);
    this.verdicts = new VerdictCache(bounds);
  }

  judge(text: string, document: DocumentNode, operation: OperationDefinitionNode, variables: Readonly<Record<string, unknown>>): readonly GraphQLError[] {
    const names = this.sizeVariables.get(text, () => listSizeVariables(this.schema, document, operation));
    const sizes = names.map((name) => String(variableListSize(variables[name]))).join(',');
    // An operation's name identifies it within its text; neither a name nor the sizes can hold a line break.
    const key = `${operation.name?.value ?? ''}\n${sizes}\n${text}`;
    return this.verdicts.get(key, () => Object.freeze(this.validateDocument(this.schema, bindListSizes(this.schema, document, operation, variables), this.rules)));
  }
}

/** Rejects, before anything executes, an operation whose cost with its actual list sizes is over the limit. */
export function costLimitPlugin(maxCost: number, options: LimitCheckOptions = {}): ApolloServerPlugin {
  const rules = armorRules({ costLimit: { maxCost, propagateOnRejection: false, onReject: [reportLimit('maxCost')] } });
  // Keyed by schema because list defaults come from it; a hub has one, a gateway-fed server may swap it.
  const verdictsBySchema = new WeakMap<GraphQLSchema, CostVerdicts>();
  const verdictsFor = (schema: GraphQLSchema): CostVerdicts => {
    let verdicts = verdictsBySchema.get(schema);
    if (!verdicts) {
      verdicts = new CostVerdicts(schema, rules, options.validate ?? validate, options.cache ?? DEFAULT_VERDICT_CACHE);
      verdictsBySchema.set(schema, verdicts);
    }
    return verdicts;
  };
  return {
    async requestDidStart() {
      return {
        // `source` is the text Apollo parsed `document` from (or found it cached under), persisted queries included.
        async didResolveOperation({ schema, source, document, operation, request }) {
          if (!operation) return;
          const [error] = verdictsFor(schema).judge(source, document, operation, request.variables ?? {});
          if (error) throw requestError(ErrorCode.GRAPHQL_VALIDATION_FAILED, error.message, error.extensions);
        },
      };
    },
  };
}

/**
 * How often one response name with a sub-selection may appear in a document. graphql-js checks that same-named fields
 * can merge by comparing every pair and their sub-selections, so 200 copies of `sources { name }` (800 tokens, no
 * alias) cost about 200 ms of validation; armor has no rule for this, so it is counted here.
 */
function repeatedFieldsRule(max: number): ValidationRule {
  return (context) => {
    const counts = new Map<string, number>();
    return {
      Field(node) {
        if (!node.selectionSet) return;
        const name = node.alias?.value ?? node.name.value;
        const count = (counts.get(name) ?? 0) + 1;
        counts.set(name, count);
        if (count === max + 1) context.reportError(new GraphQLError(`Field "${name}" is selected more than ${max} times.`, { extensions: { limit: 'maxRepeatedFields' } }));
      },
    };
  };
}

function structuralRules(limits: LimitsSection): ValidationRule[] {
  return [
    ...armorRules({
      maxDepth: { n: limits.maxDepth, propagateOnRejection: false, onReject: [reportLimit('maxDepth')] },
      maxAliases: { n: limits.maxAliases, propagateOnRejection: false, onReject: [reportLimit('maxAliases')] },
      maxDirectives: { n: limits.maxDirectives, propagateOnRejection: false, onReject: [reportLimit('maxDirectives')] },
    }),
    repeatedFieldsRule(limits.maxRepeatedFields),
  ];
}

/** The structural rules look only at the document; graphql-js's `validate` still wants a schema to walk it with. */
const NO_SCHEMA = new GraphQLSchema({ query: new GraphQLObjectType({ name: 'Query', fields: { _: { type: GraphQLString } } }) });

/**
 * Depth, aliases and directives checked on the raw query before Apollo sees it. Apollo runs graphql-js's full validation
 * (about 30 ms for a 150-alias bomb) before any rule of ours can refuse, so a bomb is turned away here first. Syntax
 * errors, the token limit's included, are left for Apollo to report in its own words. The verdict depends on the text
 * alone, so it is cached per text: a repeated query (or bomb) is answered without parsing it again.
 */
export function createQueryGuard(limits: LimitsSection, options: LimitCheckOptions = {}): (query: string) => readonly GraphQLError[] {
  const rules = structuralRules(limits);
  const validateDocument = options.validate ?? validate;
  const verdicts = new VerdictCache<readonly GraphQLError[]>(options.cache ?? DEFAULT_VERDICT_CACHE);
  const judge = (query: string): readonly GraphQLError[] => {
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: limits.maxTokens, noLocation: true });
    } catch {
      return [];
    }
    return validateDocument(NO_SCHEMA, document, rules);
  };
  return (query) => verdicts.get(query, () => Object.freeze(judge(query)));
}

/** The Apollo Server options that bound requests and decide what a production hub shows (the playground: playground/playground.ts). */
export function queryLimits(config: HubConfig, env: Environment = process.env): Pick<ApolloServerOptions<never>, 'validationRules' | 'parseOptions' | 'introspection' | 'hideSchemaDetailsFromClientErrors' | 'allowBatchedHttpRequests' | 'csrfPrevention'> & { plugins: ApolloServerPlugin[] } {
  const { limits } = config;
  const introspection = limits.introspection ?? !productionMode(config, env);
  return {
    // Checked again here for requests that do not come through the HTTP guard (executeOperation, tests).
    validationRules: structuralRules(limits),
    // graphql-js counts tokens while parsing and stops at the limit, so a huge document costs no more than a legal one.
    parseOptions: { maxTokens: limits.maxTokens },
    introspection,
    // "Did you mean ...?" would give away the schema that disabled introspection hides.
    hideSchemaDetailsFromClientErrors: !introspection,
    // One operation per request: an array of operations would multiply every limit above by its length.
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    plugins: [costLimitPlugin(limits.maxCost)],
  };
}

/** Deepest nesting of arrays and objects a request body may have; GraphQL variables never need more. */
export const MAX_JSON_NESTING = 64;

/**
 * Whether JSON text nests arrays/objects deeper than `max`, found in one pass without parsing: V8 parses a megabyte of
 * `[[[[…` in about a quarter of a second, blocking every other request, while this scan stops at level `max + 1`.
 */
export function jsonNestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character, quote included
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
