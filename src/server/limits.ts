// Bounds on what one request may ask for (depth, cost, aliases, directives, tokens) and what production hides.
import type { ApolloServerOptions, ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloArmor } from '@escape.tech/graphql-armor';
// From 'graphql/index.js', the build Apollo and @graphql-tools load: vitest would resolve a bare 'graphql' to the .mjs
// build, and graphql-js refuses schema types made by another copy of itself.
import {
  GraphQLError,
  Kind,
  TypeInfo,
  validate,
  visit,
  visitWithTypeInfo,
  type ArgumentNode,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationRule,
} from 'graphql/index.js';
import type { HubConfig } from '../config/schema.js';

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

/** The Apollo Server options that bound requests and decide what a production hub shows. */
export function queryLimits(config: HubConfig, env: Environment = process.env): Pick<ApolloServerOptions<never>, 'validationRules' | 'parseOptions' | 'introspection' | 'hideSchemaDetailsFromClientErrors' | 'allowBatchedHttpRequests' | 'csrfPrevention'> & { plugins: ApolloServerPlugin[] } {
  const { limits } = config;
  const production = productionMode(config, env);
  const introspection = limits.introspection ?? !production;
  const landingPage = limits.landingPage ?? !production;
  return {
    validationRules: armorRules({
      maxDepth: { n: limits.maxDepth, propagateOnRejection: false, onReject: [reportLimit('maxDepth')] },
      maxAliases: { n: limits.maxAliases, propagateOnRejection: false, onReject: [reportLimit('maxAliases')] },
      maxDirectives: { n: limits.maxDirectives, propagateOnRejection: false, onReject: [reportLimit('maxDirectives')] },
    }),
    // graphql-js counts tokens while parsing and stops at the limit, so a huge document costs no more than a legal one.
    parseOptions: { maxTokens: limits.maxTokens },
    introspection,
    // "Did you mean ...?" would give away the schema that disabled introspection hides.
    hideSchemaDetailsFromClientErrors: !introspection,
    // One operation per request: an array of operations would multiply every limit above by its length.
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    plugins: [costLimitPlugin(limits.maxCost), ...(landingPage ? [] : [ApolloServerPluginLandingPageDisabled()])],
  };
}
