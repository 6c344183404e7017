// The upstream-call budget of one request (`limits.maxUpstreamCalls`): estimated from the operation before it runs,
// so a request that would fan out to thousands of source calls is refused at once, and spent while it runs, so an
// estimate that was too low still cannot let it past the limit.
import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import type { FacetTarget } from '../config/schema.js';
import type { EntityReader } from '../sources/connector.js';
import { UpstreamBudgetExceededError } from '../sources/errors.js';
import type { SourceRegistry } from '../sources/registry.js';
import { ErrorCode } from '../errors/catalogue.js';
import type { RequestContext } from './context.js';
import { requestError } from './errors.js';

/** Calls spent so far by one request; `spend` refuses a call that would pass the limit. */
export class UpstreamBudget {
  private spent = 0;
  constructor(readonly limit: number) {}

  static unlimited(): UpstreamBudget {
    return new UpstreamBudget(Number.POSITIVE_INFINITY);
  }

  /** Takes `calls` from the budget for `source`, or throws without taking any. */
  spend(source: string, calls: number): void {
    if (this.spent + calls > this.limit) throw new UpstreamBudgetExceededError(source, `${calls} more calls would pass the request's budget of ${this.limit} (${this.spent} spent)`);
    this.spent += calls;
  }

  get used(): number {
    return this.spent;
  }
}

/** Calls a loader of `reader` makes for `keys` keys: one per batch, or one per key without a batch endpoint. */
export function callsFor(reader: EntityReader, keys: number): number {
  return Math.ceil(keys / reader.keysPerCall);
}

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
