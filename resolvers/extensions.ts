// Resolvers for the fields extension SDL adds (src/extensions/), built from what the files declare: each list asks
// the same per-request loaders as orders and tickets, each item field answers its mapped value fitted to its type,
// and each added Profile field answers the value survivorship kept.
import type { GraphQLFieldResolver, GraphQLResolveInfo } from 'graphql';
import { loadChildList } from '../src/customer/facets.js';
import type { CustomerRef } from '../src/customer/model.js';
import type { MergedProfile } from '../src/customer/survivorship.js';
import { typedValue } from '../src/customer/typed-values.js';
import type { GraphExtensions } from '../src/extensions/graph-extensions.js';
import { MAX_LIST_ITEMS } from '../src/extensions/graph-extensions.js';
import type { Resolvers } from '../src/generated/graphql.js';
import type { RequestContext } from '../src/request/context.js';
import { badInput } from '../src/request/errors.js';
import type { MappedRecord } from '../src/sources/connector.js';

type FieldResolvers = Record<string, GraphQLFieldResolver<any, RequestContext, any>>;

/** An item field: the record's mapped value of the same name, as its declared type (enums, DateTime, …). */
const mappedValue =
  (field: string) =>
  (record: MappedRecord, _args: unknown, context: RequestContext, info: GraphQLResolveInfo): unknown =>
    typedValue(record.values[field], record, field, context, info);

/** The core resolvers with the extensions' added: Customer and Profile fields joined, new types beside. */
export function withExtensionResolvers(core: Resolvers, extensions: GraphExtensions): Resolvers {
  if (extensions.customerLists.length === 0 && extensions.profileFields.length === 0) return core;
  const customer: FieldResolvers = {};
  for (const list of extensions.customerLists) {
    customer[list.name] = (parent: CustomerRef, args: { first?: number }, context: RequestContext) => {
      const first = list.takesFirst ? args.first! : MAX_LIST_ITEMS;
      if (first < 0 || first > MAX_LIST_ITEMS) throw badInput(`first must be between 0 and ${MAX_LIST_ITEMS}`, 'first');
      return loadChildList(context, parent, list.target, list.order, first);
    };
  }
  const profile: FieldResolvers = {};
  for (const field of extensions.profileFields) {
    profile[field] = (parent: MergedProfile, _args: unknown, context: RequestContext, info: GraphQLResolveInfo) => {
      const kept = parent.extensionValues?.[field];
      return kept ? typedValue(kept.value, kept.origin, field, context, info) : null;
    };
  }
  const types: Record<string, FieldResolvers> = {};
  for (const [type, fields] of extensions.objectTypes) types[type] = Object.fromEntries(fields.map((field) => [field, mappedValue(field)]));
  // The generated Resolvers type knows the core schema only; the extension fields are checked against the SDL at start.
  return {
    ...core,
    ...types,
    Customer: { ...core.Customer, ...customer },
    Profile: { ...core.Profile, ...profile },
  } as Resolvers;
}
