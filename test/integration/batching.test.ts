// The hub's central promise: one request per source operation per level, never N+1, and only the sources a query needs.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Link } from '../../src/identity/model.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ people: 400 });
});
afterAll(() => t.close());

const PAGE_QUERY = `query Page($first: Int!) {
  customers(first: $first) { edges { node { profile { email } orders { id } tickets { id } marketing { status } } } }
}`;

async function linksOfFirstPage(first: number): Promise<Link[]> {
  const page = await t.store.pageCustomers(first, null);
  return page.customers.flatMap((c) => c.links);
}

const distinctIds = (links: Link[], source: string, entity: string) => new Set(links.filter((l) => l.source === source && l.entity === entity).map((l) => l.recordId)).size;

function allRoutes(): Record<string, Record<string, number>> {
  return Object.fromEntries((['crm', 'shop', 'support', 'marketing', 'analytics'] as const).map((s) => [s, t.routes(s)]));
}

describe('batching', () => {
  test.each([50, 100])('a page of %i customers costs one link-table read and ceil(keys / maxBatchSize) requests per batchable source operation', async (first) => {
    const links = await linksOfFirstPage(first);
    const crmKeys = distinctIds(links, 'crm', 'contact');
    const shopKeys = distinctIds(links, 'shop', 'customer');
    const marketingKeys = distinctIds(links, 'marketing', 'member');
    const supportKeys = distinctIds(links, 'support', 'user');
    // The larger page must really need two shop calls, or the split is not being tested.
    expect(shopKeys).toBeGreaterThan(first === 100 ? 50 : 0);
    t.resetStats();
    const readsBefore = t.store.reads;

    const response = await t.graphql(PAGE_QUERY, { variables: { first } });

    expect(response.errors).toBeUndefined();
    expect(response.data.customers.edges).toHaveLength(first);
    expect(t.store.reads - readsBefore).toBe(1);
    expect(allRoutes()).toEqual({
      crm: { 'GET /contacts': Math.ceil(crmKeys / 100) },
      // Profile and orders are two operations of the shop, each batched on its own (max 50 ids per call).
      shop: { 'POST /customers/batch': Math.ceil(shopKeys / 50), 'POST /orders/batch': Math.ceil(shopKeys / 50) },
      // No batch endpoint: one request per distinct user for the profile and one for the tickets.
      support: { 'GET /users/:id': supportKeys, 'GET /users/:id/tickets': supportKeys },
      marketing: { 'GET /members': Math.ceil(marketingKeys / 100) },
      analytics: {},
    });
  });

  test('the same customer asked for twice in one query is fetched once per source', async () => {
    const [customer] = (await t.store.pageCustomers(200, null)).customers.filter((c) => c.links.some((l) => l.source === 'support') && c.links.some((l) => l.source === 'crm'));
    t.resetStats();
    const response = await t.graphql(`query($id: ID!) { a: customer(id: $id) { tickets { id } profile { name } } b: customer(id: $id) { tickets { id } profile { email } } }`, {
      variables: { id: customer!.customerId },
    });
    expect(response.errors).toBeUndefined();
    expect(response.data.a.tickets).toEqual(response.data.b.tickets);
    const supportUsers = distinctIds(customer!.links, 'support', 'user');
    expect(t.routes('support')).toEqual({ 'GET /users/:id': supportUsers, 'GET /users/:id/tickets': supportUsers });
    expect(t.routes('crm')).toEqual({ 'GET /contacts': 1 });
  });

  test('a query for tickets alone calls nobody but the support desk', async () => {
    const links = await linksOfFirstPage(50);
    t.resetStats();
    const response = await t.graphql('{ customers(first: 50) { edges { node { tickets { id status } } } } }');
    expect(response.errors).toBeUndefined();
    const routes = allRoutes();
    expect(routes).toEqual({ crm: {}, shop: {}, marketing: {}, analytics: {}, support: { 'GET /users/:id/tickets': distinctIds(links, 'support', 'user') } });
  });

  test('ids and identities come from the link table alone, with no upstream call', async () => {
    t.resetStats();
    const response = await t.graphql('{ customers(first: 20) { edges { node { id identities { source recordId } } } } }');
    expect(response.errors).toBeUndefined();
    expect(t.systems.totalRequests()).toBe(0);
  });

  test('explain lists every upstream call with source, operation, keys, status and time', async () => {
    const links = await linksOfFirstPage(30);
    t.resetStats();
    const response = await t.graphql('{ customers(first: 30) { edges { node { profile { email } events(first: 5) { name } } } } }', { headers: { 'x-rosetta-explain': '1' } });
    expect(response.errors).toBeUndefined();
    const upstream = response.extensions!.explain.upstream as { source: string; operation: string; keys: number; status: number; ms: number }[];
    expect(upstream).toHaveLength(t.systems.totalRequests());
    const crmCall = upstream.find((call) => call.source === 'crm');
    expect(crmCall).toMatchObject({ operation: 'contact.batch', keys: distinctIds(links, 'crm', 'contact'), status: 200 });
    expect(crmCall!.ms).toBeGreaterThanOrEqual(0);
    const eventCall = upstream.find((call) => call.source === 'analytics');
    expect(eventCall).toMatchObject({ operation: 'event.batch', keys: distinctIds(links, 'analytics', 'device'), status: 200 });
  });

  test('without the explain header the response carries no explain extension', async () => {
    const response = await t.graphql('{ customers(first: 2) { edges { node { profile { email } } } } }');
    expect(response.extensions?.explain).toBeUndefined();
  });
});
