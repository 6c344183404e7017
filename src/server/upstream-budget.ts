// The upstream-call budget of one request (`limits.maxUpstreamCalls`), estimated from the operation before it runs,
// so a request that would fan out to thousands of source calls is refused at once. Spending it while the request runs
// is the loaders' part (loaders/upstream-budget.ts), so an estimate that was too low still cannot let it past the limit.
import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import type { FacetTarget } from '../config/schema.js';
import type { SourceRegistry } from '../sources/registry.js';
import { ErrorCode } from '../errors/catalogue.js';
import { callsFor } from '../loaders/upstream-budget.js';
import type { RequestContext } from '../request/context.js';
import { requestError } from '../request/errors.js';

/** Customer fields and the unified data each reads; `profile` also reads marketing, where its consent lives. */
const FACETS: Record<string, { records: FacetTarget[]; children: FacetTarget[] }> = {
  profile: { records: ['profile', 'marketing'], children: [] },
  marketing: { records: ['marketing'], children: [] },
  orders: { records: [], children: ['orders'] },
  tickets: { records: [], children: ['tickets'] },
  events: { records: [], children: ['events'] },
};

/** Customers a root field returns at most. */
function customersOf(field: string, size: number | null): number {
  if (field === 'customers') return size ?? 20;
  if (field === 'customer' || field === 'customerByIdentity') return 1;
  return 0;
}

/**
 * Upstream calls an operation may cause, assuming one linked record per source entity per customer: for every
 * customer-returning root field (each alias apart, as each may page differently), the calls its facets need at its
 * list size. Facets repeated within one customer selection count once: the loaders share their keys.
 */
export function estimateUpstreamCalls(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Readonly<Record<string, unknown>>, registry: SourceRegistry): number {
  const typeInfo = new TypeInfo(schema);
  let total = 0;
  let customers = 0;
  let facets = new Set<string>();
  const close = () => {
    for (const facet of facets) {
      // A Customer field an extension adds (Customer.subscriptions) reads the children of the entities providing it.
      const needs = FACETS[facet] ?? { records: [], children: [`Customer.${facet}` as const] };
      for (const target of needs.records) for (const { reader } of registry.recordProviders(target)) total += callsFor(reader, customers);
      for (const target of needs.children) for (const { reader } of registry.childProviders(target)) total += callsFor(reader, customers);
    }
    facets = new Set();
  };
  const sizeOf = (node: { arguments?: readonly { name: { value: string }; value: { kind: Kind } & Record<string, any> }[] }): number | null => {
    const first = node.arguments?.find((a) => a.name.value === 'first')?.value;
    if (first?.kind === Kind.INT) return Number(first.value);
    if (first?.kind === Kind.VARIABLE) {
      const value = variables[first.name.value];
      return typeof value === 'number' ? value : null;
    }
    return null;
  };
  let depth = 0;
  visit(
    operation,
    visitWithTypeInfo(typeInfo, {
      Field: {
        enter(node) {
          depth++;
          const parent = typeInfo.getParentType()?.name;
          if (depth === 1 && parent === schema.getQueryType()?.name) {
            close();
            customers = customersOf(node.name.value, sizeOf(node));
          } else if (parent === 'Customer' && (FACETS[node.name.value] || registry.childProviders(`Customer.${node.name.value}`).length > 0)) facets.add(node.name.value);
        },
        leave() {
          depth--;
        },
      },
    }),
  );
  close();
  void document;
  return total;
}

/** Refuses, before anything runs, an operation whose estimated upstream calls pass the budget. */
export const upstreamBudgetPlugin: ApolloServerPlugin<RequestContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ schema, document, operation, request, contextValue }) {
        if (!operation || operation.operation !== 'query') return;
        const limit = contextValue.config.limits.maxUpstreamCalls;
        const estimate = estimateUpstreamCalls(schema, document, operation, request.variables ?? {}, contextValue.registry);
        if (estimate > limit) {
          throw requestError(ErrorCode.UPSTREAM_BUDGET_EXCEEDED, `this query could make ${estimate} upstream calls; the limit is ${limit} (limits.maxUpstreamCalls): ask for fewer customers or facets per request`, { estimate, limit });
        }
      },
    };
  },
};
