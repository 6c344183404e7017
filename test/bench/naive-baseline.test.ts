// The benchmark's comparison is fair: the naive baseline answers the same data as the hub, only at its upstream cost.
import { describe, expect, test } from 'vitest';
import { idealRequests } from '../../bench/ideal.js';
import { startNaiveBaseline } from '../../bench/naive-baseline.js';
import { BENCH_QUERIES, PAGE_QUERY } from '../../bench/queries.js';
import { SYSTEM_NAMES } from '../../src/demo/systems.js';
import type { CustomerLinks } from '../../src/identity/model.js';
import { benchPair } from '../support/bench-pair.js';

const pair = benchPair(startNaiveBaseline);
const { ask: askBaseline, sample, allRoutes } = pair;

const distinctIds = (customers: readonly CustomerLinks[], source: string, entity: string): number =>
  new Set(customers.flatMap((c) => c.links.filter((l) => l.source === source && l.entity === entity).map((l) => l.recordId))).size;

describe('the naive baseline', () => {
  test.each(BENCH_QUERIES.map((q) => [q.title, q] as const))('answers query %s with exactly the data the hub returns', async (_title, query) => {
    const items = sample(query.name, 4);
    expect(items).toHaveLength(4);
    for (const { variables } of items) {
      const [hub, naive] = await Promise.all([pair.t.graphql(query.document, { variables }), askBaseline(query, variables)]);
      expect(hub.errors).toBeUndefined();
      expect(naive.errors).toBeUndefined();
      // Not a comparison of two empty answers.
      expect(Object.values(hub.data as object).every((value) => value !== null)).toBe(true);
      expect(naive.data).toEqual(hub.data);
    }
  });

  test('the full context it returns holds data from all five sources for a well-linked customer', async () => {
    const [item] = sample('context', 1);
    const { data } = await askBaseline(BENCH_QUERIES[0]!, item!.variables);
    const customer = data.customerByIdentity;
    expect(new Set(customer.identities.map((i: { source: string }) => i.source))).toEqual(new Set(SYSTEM_NAMES));
    expect(customer.profile.email).toMatch(/@/);
    expect(customer.orders.length).toBeGreaterThan(0);
    expect(customer.events.length).toBeGreaterThan(0);
    expect(customer.marketing.lists).toBeInstanceOf(Array);
  });

  test('a page of 50 costs the hub one request per batchable source operation and the baseline one per record per field', async () => {
    const [, page] = pair.workloads.page;
    const customers = page!.customers;
    expect(customers).toHaveLength(50);
    const crm = distinctIds(customers, 'crm', 'contact');
    const shop = distinctIds(customers, 'shop', 'customer');
    const support = distinctIds(customers, 'support', 'user');
    // Enough linked records that batching has something to save.
    expect(Math.min(crm, shop, support)).toBeGreaterThan(5);

    pair.t.resetStats();
    expect((await pair.t.graphql(PAGE_QUERY.document, { variables: page!.variables })).errors).toBeUndefined();
    const hub = allRoutes();
    const hubTotal = pair.t.systems.totalRequests();

    pair.t.resetStats();
    expect((await askBaseline(PAGE_QUERY, page!.variables)).errors).toBeUndefined();
    const naive = allRoutes();

    expect(hub).toEqual({
      crm: { 'GET /contacts': 1 },
      shop: { 'POST /customers/batch': 1, 'POST /orders/batch': 1 },
      support: { 'GET /users/:id': support, 'GET /users/:id/tickets': support },
      marketing: {},
      analytics: {},
    });
    expect(hubTotal).toBe(3 + 2 * support);
    expect(hubTotal).toBe(idealRequests(pair.t.hub.services.registry, customers, PAGE_QUERY.facets));
    expect(naive).toEqual({
      crm: { 'GET /contacts/:id': crm },
      shop: { 'GET /customers/:id': shop, 'GET /customers/:id/orders': shop },
      support: { 'GET /users/:id': support, 'GET /users/:id/tickets': support },
      marketing: {},
      analytics: {},
    });
  });

  test.each(BENCH_QUERIES.map((q) => [q.title, q] as const))('the hub sends the ideal number of upstream requests for query %s', async (_title, query) => {
    for (const { variables, customers } of sample(query.name, 4)) {
      pair.t.resetStats();
      expect((await pair.t.graphql(query.document, { variables })).errors).toBeUndefined();
      expect(pair.t.systems.totalRequests()).toBe(idealRequests(pair.t.hub.services.registry, customers, query.facets));
    }
  });
});
