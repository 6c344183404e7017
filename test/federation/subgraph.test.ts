// In federation mode the hub is an Apollo Federation 2 subgraph: a router resolves Customer entities through it, reads
// its SDL from `_service`, and composes it with other subgraphs; the access rules still apply to every entity.
import { composeServices } from '@apollo/composition';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'graphql';
import { maskEmail } from '../../src/auth/masks.js';
import { keyHeader, withAuth } from '../auth/auth-fixture.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

const ENTITIES_QUERY = `query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Customer { id profile { name email phone } orders(first: 3) { number } }
  }
}`;

const CUSTOMER_QUERY = `query One($id: ID!) { customer(id: $id) { id profile { name email phone } orders(first: 3) { number } } }`;

const LOYALTY_SUBGRAPH = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

  type Query {
    topCustomers(first: Int = 10): [Customer!]!
  }

  "Loyalty points, held by another team's service and joined onto Rosetta's customers by id."
  type Customer @key(fields: "id") {
    id: ID!
    points: Int
  }
`);

const representation = (id: string) => ({ __typename: 'Customer', id });

const sources = ['crm', 'shop', 'support', 'marketing', 'analytics'] as const;

let t: TestHub;
let customerIds: string[];
beforeAll(async () => {
  t = await startTestHub({ people: 200, config: (config) => ({ ...config, federation: { enabled: true } }) });
  customerIds = (await t.store.pageCustomers(10, null)).customers.map((c) => c.customerId);
});
afterAll(() => t.close());

describe('entities', () => {
  test('a router resolving Customer entities gets what customer(id) returns, in the order it asked, and null for an unknown id', async () => {
    const [first, second] = customerIds as [string, string];
    const response = await t.graphql(ENTITIES_QUERY, { variables: { representations: [representation(second), representation('cus_does_not_exist'), representation(first)] } });

    expect(response.errors).toBeUndefined();
    const expected = await Promise.all([second, first].map(async (id) => (await t.graphql(CUSTOMER_QUERY, { variables: { id } })).data.customer));
    expect(expected.every((c) => typeof c.profile.email === 'string')).toBe(true);
    expect(response.data._entities).toEqual([expected[0], null, expected[1]]);
  });

  test('ten entities in one request cost the same upstream requests as a page of the same ten customers', async () => {
    t.resetStats();
    const entities = await t.graphql(ENTITIES_QUERY, { variables: { representations: customerIds.map(representation) } });
    const entityRoutes = Object.fromEntries(sources.map((s) => [s, t.routes(s)]));
    t.resetStats();
    const page = await t.graphql(`{ customers(first: 10) { edges { node { id profile { name email phone } orders(first: 3) { number } } } } }`);
    const pageRoutes = Object.fromEntries(sources.map((s) => [s, t.routes(s)]));

    expect(entities.errors).toBeUndefined();
    expect(entities.data._entities).toEqual(page.data.customers.edges.map((e: any) => e.node));
    expect(entityRoutes).toEqual(pageRoutes);
    // Batched, not one call per entity: the CRM's batch endpoint takes up to 100 ids.
    expect(entityRoutes.crm).toEqual({ 'GET /contacts': 1 });
  });
});

describe('_service', () => {
  test('returns the subgraph SDL: the Federation 2 link, Customer keyed by id, and the hub fields beside it', async () => {
    const response = await t.graphql(`{ _service { sdl } }`);

    expect(response.errors).toBeUndefined();
    const sdl: string = response.data._service.sdl;
    expect(sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])');
    expect(sdl).toMatch(/type Customer\b[^{]*@key\(fields: "id"\)/);
    expect(sdl).toMatch(/customerByIdentity\(kind: IdentityKind!, value: String!\): Customer/);
  });

  test('composes with a second subgraph that extends Customer, into a supergraph where one Customer has both fields', async () => {
    const { data } = await t.graphql(`{ _service { sdl } }`);
    const result = composeServices([
      { name: 'rosetta', url: t.hub.url, typeDefs: parse(data._service.sdl) },
      { name: 'loyalty', url: 'http://127.0.0.1:4002/graphql', typeDefs: LOYALTY_SUBGRAPH },
    ]);

    expect(result.errors?.map((e) => e.message)).toBeUndefined();
    const customer = result.schema!.toAPISchema().type('Customer');
    expect(customer?.kind).toBe('ObjectType');
    const fields = customer?.kind === 'ObjectType' ? customer.fields().map((f) => f.name) : [];
    expect(fields).toEqual(expect.arrayContaining(['id', 'points', 'profile', 'orders', 'tickets', 'marketing', 'events', 'identities']));
    expect(result.supergraphSdl).toMatch(/@join__type\(graph: LOYALTY, key: "id"\)/);
    expect(result.supergraphSdl).toMatch(/@join__type\(graph: ROSETTA, key: "id"\)/);
  });
});

describe('access rules in federation mode', () => {
  let secured: TestHub;
  beforeAll(async () => {
    secured = await startTestHub({ people: 60, config: withAuth(null, { federation: { enabled: true } }) });
  });
  afterAll(() => secured.close());

  test('an entity read is masked like a customer read: a caller without pii:email gets j***@domain and the path named', async () => {
    const [id] = (await secured.store.pageCustomers(1, null)).customers.map((c) => c.customerId) as [string];
    const query = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { id profile { email } } } }`;
    const truth = await secured.graphql(query, { variables: { r: [representation(id)] }, headers: keyHeader('support') });
    const masked = await secured.graphql(query, { variables: { r: [representation(id)] }, headers: keyHeader('analytics') });
    const anonymous = await secured.graphql(query, { variables: { r: [representation(id)] } });

    const email: string = truth.data._entities[0].profile.email;
    expect(email).toContain('@');
    expect(masked.errors).toBeUndefined();
    expect(masked.data._entities).toEqual([{ id, profile: { email: maskEmail(email) } }]);
    expect(masked.extensions?.masked).toEqual([{ path: '_entities.0.profile.email', requires: 'pii:email' }]);
    expect(anonymous.status).toBe(401);
  });
});
