// The reference hub is a fair yardstick: the hub's data for the three bench queries, at exactly the hub's upstream cost.
import { describe, expect, test } from 'vitest';
import { BENCH_QUERIES } from '../../bench/queries.js';
import { startReferenceHub } from '../../bench/reference/server.js';
import { SYSTEM_NAMES } from '../../src/demo/systems.js';
import { benchPair } from '../support/bench-pair.js';

const pair = benchPair(startReferenceHub);
const { ask: askReference, sample, allRoutes } = pair;

describe('the reference hub', () => {
  test.each(BENCH_QUERIES.map((q) => [q.title, q] as const))('answers query %s with exactly the data the hub returns, through the same upstream calls', async (_title, query) => {
    for (const { variables } of sample(query.name, 4)) {
      pair.t.resetStats();
      const hub = await pair.t.graphql(query.document, { variables });
      const hubRoutes = allRoutes();
      pair.t.resetStats();
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
