// Bounds on what one request may ask for (depth, cost, aliases, directives, repeats, tokens, JSON nesting) and what production hides.
import type { ApolloServerOptions, ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
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

export type Environment = Readonly<Record<string, string | undefined>>;
type GraphQLArmorConfig = NonNullable<ConstructorParameters<typeof ApolloArmor>[0]>;
type GraphQLArmorRejectCallback = NonNullable<NonNullable<GraphQLArmorConfig['maxDepth']>['onReject']>[number];

/** `mode: production` in the config, or NODE_ENV=production when the config does not say. */
export function productionMode(config: HubConfig, env: Environment = process.env): boolean {
  return (config.mode ?? (env.NODE_ENV === 'production' ? 'production' : 'development')) === 'production';
}

/** armor reports with a misleading "Syntax Error:" prefix and a generic code; say which limit was hit instead. */
const reportLimit =
  (limit: string): GraphQLArmorRejectCallback =>
  (context, error) =>
    context?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, ''), { extensions: { limit } }));

const DISABLED = { enabled: false } as const;

function armorRules(config: GraphQLArmorConfig): ValidationRule[] {
  return new ApolloArmor({ blockFieldSuggestion: DISABLED, maxTokens: DISABLED, costLimit: DISABLED, maxAliases: DISABLED, maxDepth: DISABLED, maxDirectives: DISABLED, ...config }).protect().validationRules;
}

const LIST_SIZE_ARGUMENTS = new Set(['first', 'last']);

/**
 * The document with every `first`/`last` made a literal: variables replaced by their values and omitted arguments by
 * their schema defaults. armor's cost rule weighs only literal sizes, so without this `orders(first: $n)` or a bare
 * `orders` (default 20) would count as one item.
 */
export function bindListSizes(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Readonly<Record<string, unknown>>): DocumentNode {
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
            size = variables[name] ?? (fallback?.kind === Kind.INT ? Number(fallback.value) : def.defaultValue);
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

/** Rejects, before anything executes, an operation whose cost with its actual list sizes is over the limit. */
function costLimitPlugin(maxCost: number): ApolloServerPlugin {
  const rules = armorRules({ costLimit: { maxCost, propagateOnRejection: false, onReject: [reportLimit('maxCost')] } });
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return;
          const [error] = validate(schema, bindListSizes(schema, document, operation, request.variables ?? {}), rules);
          if (error) throw new GraphQLError(error.message, { extensions: { ...error.extensions, code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } } });
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
 * errors, the token limit's included, are left for Apollo to report in its own words.
 */
export function createQueryGuard(limits: LimitsSection): (query: string) => readonly GraphQLError[] {
  const rules = structuralRules(limits);
  return (query) => {
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: limits.maxTokens, noLocation: true });
    } catch {
      return [];
    }
    return validate(NO_SCHEMA, document, rules);
  };
}

/** The Apollo Server options that bound requests and decide what a production hub shows (the playground: playground.ts). */
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
