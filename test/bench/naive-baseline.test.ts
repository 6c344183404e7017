// The benchmark's comparison is fair: the naive baseline answers the same data as the hub, only at its upstream cost.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { idealRequests } from '../../bench/ideal.js';
import { startNaiveBaseline, type RunningBaseline } from '../../bench/naive-baseline.js';
import { BENCH_QUERIES, PAGE_QUERY, type BenchQuery, type QueryName } from '../../bench/queries.js';
import { buildWorkloads, type WorkItem, type Workloads } from '../../bench/workload.js';
import { SYSTEM_NAMES, type SystemName } from '../../src/demo/systems.js';
import type { CustomerLinks } from '../../src/identity/model.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

let t: TestHub;
let baseline: RunningBaseline;
let workloads: Workloads;
beforeAll(async () => {
  t = await startTestHub({ people: 300, seed: 5 });
  baseline = await startNaiveBaseline(t.config, t.store);
  workloads = await buildWorkloads(t.systems.dataset, t.store, { lookups: 40 });
});
afterAll(async () => {
  await baseline.close();
  await t.close();
});

async function askBaseline(query: BenchQuery, variables: Record<string, unknown>): Promise<{ data?: any; errors?: unknown[] }> {
  const response = await fetch(baseline.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: query.document, variables }) });
  expect(response.status).toBe(200);
  return (await response.json()) as { data?: any; errors?: unknown[] };
}

/** A few requests per query, preferring customers linked in many sources so every facet has data to compare. */
function sample(name: QueryName, count: number): WorkItem[] {
  const richness = (item: WorkItem) => new Set(item.customers.flatMap((c) => c.links.map((l) => l.source))).size;
  return [...workloads[name]].sort((a, b) => richness(b) - richness(a)).slice(0, count);
}

const allRoutes = (): Record<SystemName, Record<string, number>> => Object.fromEntries(SYSTEM_NAMES.map((s) => [s, t.routes(s)])) as Record<SystemName, Record<string, number>>;

const distinctIds = (customers: readonly CustomerLinks[], source: string, entity: string): number =>
  new Set(customers.flatMap((c) => c.links.filter((l) => l.source === source && l.entity === entity).map((l) => l.recordId))).size;

describe('the naive baseline', () => {
  test.each(BENCH_QUERIES.map((q) => [q.title, q] as const))('answers query %s with exactly the data the hub returns', async (_title, query) => {
    const items = sample(query.name, 4);
    expect(items).toHaveLength(4);
    for (const { variables } of items) {
      const [hub, naive] = await Promise.all([t.graphql(query.document, { variables }), askBaseline(query, variables)]);
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
    const [, page] = workloads.page;
    const customers = page!.customers;
    expect(customers).toHaveLength(50);
    const crm = distinctIds(customers, 'crm', 'contact');
    const shop = distinctIds(customers, 'shop', 'customer');
    const support = distinctIds(customers, 'support', 'user');
    // Enough linked records that batching has something to save.
    expect(Math.min(crm, shop, support)).toBeGreaterThan(5);

    t.resetStats();
    expect((await t.graphql(PAGE_QUERY.document, { variables: page!.variables })).errors).toBeUndefined();
    const hub = allRoutes();
    const hubTotal = t.systems.totalRequests();

    t.resetStats();
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
    expect(hubTotal).toBe(idealRequests(t.hub.services.registry, customers, PAGE_QUERY.facets));
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
      t.resetStats();
      expect((await t.graphql(query.document, { variables })).errors).toBeUndefined();
      expect(t.systems.totalRequests()).toBe(idealRequests(t.hub.services.registry, customers, query.facets));
    }
  });
});
