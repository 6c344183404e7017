// The reference hub is a fair yardstick: the hub's data for the three bench queries, at exactly the hub's upstream cost.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BENCH_QUERIES, type BenchQuery, type QueryName } from '../../bench/queries.js';
import { startReferenceHub, type RunningReference } from '../../bench/reference/server.js';
import { buildWorkloads, type WorkItem, type Workloads } from '../../bench/workload.js';
import { SYSTEM_NAMES, type SystemName } from '../../src/demo/systems.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

let t: TestHub;
let reference: RunningReference;
let workloads: Workloads;
beforeAll(async () => {
  t = await startTestHub({ people: 300, seed: 5 });
  reference = await startReferenceHub(t.config, t.store);
  workloads = await buildWorkloads(t.systems.dataset, t.store, { lookups: 40 });
});
afterAll(async () => {
  await reference.close();
  await t.close();
});

async function askReference(query: BenchQuery, variables: Record<string, unknown>): Promise<{ data?: any; errors?: unknown[] }> {
  const response = await fetch(reference.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: query.document, variables }) });
  expect(response.status).toBe(200);
  return (await response.json()) as { data?: any; errors?: unknown[] };
}

/** Requests whose customers are linked in the most sources first, so every facet has data to compare. */
function sample(name: QueryName, count: number): WorkItem[] {
  const richness = (item: WorkItem) => new Set(item.customers.flatMap((c) => c.links.map((l) => l.source))).size;
  return [...workloads[name]].sort((a, b) => richness(b) - richness(a)).slice(0, count);
}

const allRoutes = (): Record<SystemName, Record<string, number>> => Object.fromEntries(SYSTEM_NAMES.map((s) => [s, t.routes(s)])) as Record<SystemName, Record<string, number>>;

describe('the reference hub', () => {
  test.each(BENCH_QUERIES.map((q) => [q.title, q] as const))('answers query %s with exactly the data the hub returns, through the same upstream calls', async (_title, query) => {
    for (const { variables } of sample(query.name, 4)) {
      t.resetStats();
      const hub = await t.graphql(query.document, { variables });
      const hubRoutes = allRoutes();
      t.resetStats();
      const ref = await askReference(query, variables);
      expect(hub.errors).toBeUndefined();
      expect(ref.errors).toBeUndefined();
      // Not a comparison of two empty answers.
      expect(Object.values(hub.data as object).every((value) => value !== null)).toBe(true);
      expect(ref.data).toEqual(hub.data);
      expect(allRoutes()).toEqual(hubRoutes);
    }
  });

  test('the full context holds data from all five sources for a well-linked customer', async () => {
    const [item] = sample('context', 1);
    const customer = (await askReference(BENCH_QUERIES[0]!, item!.variables)).data.customerByIdentity;
    expect(new Set(customer.identities.map((i: { source: string }) => i.source))).toEqual(new Set(SYSTEM_NAMES));
    expect(customer.orders.length).toBeGreaterThan(0);
    expect(customer.events.length).toBeGreaterThan(0);
    expect(customer.tickets.length + customer.marketing.lists.length).toBeGreaterThan(0);
  });
});
