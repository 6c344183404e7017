// Apollo Federation subgraph mode: the hub's own schema and resolvers, with Customer an entity a supergraph can join on.
import { buildSubgraphSchema } from '@apollo/subgraph';
import { Kind, parse, type ConstDirectiveNode, type DefinitionNode, type DocumentNode, type GraphQLSchema } from 'graphql';
import { customerRef, type CustomerRef } from '../customer/model.js';
import type { Resolvers } from '../generated/graphql.js';
import type { RequestContext } from '../request/context.js';

/** Federation 2.3: the oldest version with everything used here, so older routers still compose the hub. */
const FEDERATION_LINK = 'https://specs.apollo.dev/federation/v2.3';

/** The entities this subgraph owns and the fields a router keys them by. */
const ENTITY_KEYS: Readonly<Record<string, string>> = { Customer: 'id' };

const keyDirective = (fields: string): ConstDirectiveNode => ({
  kind: Kind.DIRECTIVE,
  name: { kind: Kind.NAME, value: 'key' },
  arguments: [{ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'fields' }, value: { kind: Kind.STRING, value: fields } }],
});

/**
 * The SDL in schema/ (the source of truth, left untouched on disk) made a Federation 2 subgraph: the spec linked and
 * `@key` on every entity type.
 */
function subgraphTypeDefs(sdl: string): DocumentNode {
  const document = parse(sdl);
  const keyed = new Set<string>();
  const definitions = document.definitions.map((definition): DefinitionNode => {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION) return definition;
    const fields = ENTITY_KEYS[definition.name.value];
    if (fields === undefined) return definition;
    keyed.add(definition.name.value);
    return { ...definition, directives: [...(definition.directives ?? []), keyDirective(fields)] };
  });
  const missing = Object.keys(ENTITY_KEYS).filter((type) => !keyed.has(type));
  if (missing.length > 0) throw new Error(`federation: no type ${missing.join(', ')} in the schema to make an entity of`);
  const link = parse(`extend schema @link(url: "${FEDERATION_LINK}", import: ["@key"])`).definitions;
  return { ...document, definitions: [...link, ...definitions] };
}

/**
 * A customer a router asks for by `{ __typename: "Customer", id }`: read through the link directory exactly as
 * `Query.customer` does, so a merged-away ID resolves to the surviving customer and an unknown one to null.
 */
async function resolveCustomerReference(reference: { id: string }, context: RequestContext): Promise<CustomerRef | null> {
  const customer = await context.directory.customer(reference.id);
  return customerRef(customer);
}

/** The executable subgraph schema: `_service`, `_entities` and the hub's own fields, resolved by the hub's resolvers. */
export function subgraphSchema(sdl: string, resolvers: Resolvers): GraphQLSchema {
  return buildSubgraphSchema({
    typeDefs: subgraphTypeDefs(sdl),
    resolvers: { ...resolvers, Customer: { ...resolvers.Customer, __resolveReference: resolveCustomerReference } } as never,
  });
}
