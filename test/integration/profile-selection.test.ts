// A profile selection asks only the sources that map at least one selected field, and answers what it answered before.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SYSTEM_NAMES, type SystemName } from '../../src/demo/systems.js';
import type { CustomerLinks } from '../../src/identity/model.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

let t: TestHub;
/** A customer with a CRM contact, a shop customer and a help desk user: every profile source holds something. */
let customer: CustomerLinks;
beforeAll(async () => {
  t = await startTestHub({ people: 200, seed: 11 });
  const { customers } = await t.store.pageCustomers(200, null);
  const holds = (c: CustomerLinks, source: string) => c.links.filter((l) => l.source === source && l.entity !== 'order' && l.entity !== 'ticket').length === 1;
  customer = customers.find((c) => holds(c, 'crm') && holds(c, 'shop') && holds(c, 'support'))!;
  expect(customer).toBeDefined();
});
afterAll(() => t.close());

const allRoutes = (): Partial<Record<SystemName, Record<string, number>>> =>
  Object.fromEntries(SYSTEM_NAMES.map((s) => [s, t.routes(s)]).filter(([, routes]) => Object.keys(routes as object).length > 0));

async function profileOf(selection: string, fragments = ''): Promise<{ profile: Record<string, unknown>; routes: ReturnType<typeof allRoutes> }> {
  t.resetStats();
  const reply = await t.graphql(`query($id: ID!) { customer(id: $id) { profile ${selection} } } ${fragments}`, { variables: { id: customer.customerId } });
  expect(reply.errors).toBeUndefined();
  return { profile: reply.data.customer.profile, routes: allRoutes() };
}

const CRM = { crm: { 'GET /contacts': 1 } };
const SHOP = { shop: { 'POST /customers/batch': 1 } };
const SUPPORT = { support: { 'GET /users/:id': 1 } };

describe('a profile selection', () => {
  test('first and last names, which only the CRM maps, cost one CRM call and nothing else', async () => {
    const { profile, routes } = await profileOf('{ firstName lastName }');
    expect(routes).toEqual(CRM);
    const full = await profileOf('{ firstName lastName name email phone }');
    expect(profile).toEqual({ firstName: full.profile.firstName, lastName: full.profile.lastName });
  });

  test('an address, which the CRM and the shop map, leaves the help desk out', async () => {
    const { profile, routes } = await profileOf('{ address { line1 city postalCode country } }');
    expect(routes).toEqual({ ...CRM, ...SHOP });
    const full = await profileOf('{ address { line1 city postalCode country } email provenance { field } }');
    expect(profile.address).toEqual(full.profile.address);
  });

  test('an email, which every profile source maps, asks all three', async () => {
    expect((await profileOf('{ email }')).routes).toEqual({ ...CRM, ...SHOP, ...SUPPORT });
  });

  test('provenance explains every field, so it asks every profile source', async () => {
    expect((await profileOf('{ provenance { field source } }')).routes).toEqual({ ...CRM, ...SHOP, ...SUPPORT });
  });

  test('the profile ID alone asks no source at all', async () => {
    const { profile, routes } = await profileOf('{ id }');
    expect(routes).toEqual({});
    expect(profile).toEqual({ id: customer.customerId });
  });

  test('fields selected through fragments count like fields selected directly', async () => {
    expect((await profileOf('{ ...names }', 'fragment names on Profile { firstName }')).routes).toEqual(CRM);
    expect((await profileOf('{ ... on Profile { firstName phone } }')).routes).toEqual({ ...CRM, ...SHOP, ...SUPPORT });
  });

  test('a page of customers asks the CRM once for all their names, and no other source', async () => {
    t.resetStats();
    const reply = await t.graphql('{ customers(first: 50) { edges { node { profile { firstName lastName } } } } }');
    expect(reply.errors).toBeUndefined();
    expect(allRoutes()).toEqual(CRM);
  });
});
