// The guarantees every shipped recipe gives against a server that follows its vendor's public API.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { VendorName } from '../../src/demo/vendors/index.js';
import { linkedCustomers, startRecipe, type RecipeExpectation, type RecipeRun } from './recipe-harness.js';

export function recipeSuite(vendor: VendorName, expected: RecipeExpectation): void {
  let run: RecipeRun;
  beforeAll(async () => {
    run = await startRecipe(vendor, expected.people !== undefined ? { people: expected.people } : {});
  });
  afterAll(() => run.close());

  test(`rosetta check exercises every read of config/recipes/${vendor}.yaml and exits 0`, async () => {
    const { code, stdout, stderr } = await run.cli('check');
    expect(stderr).not.toMatch(/^error:/m);
    expect(code).toBe(0);
    expect(stdout).toContain('exercised every declared read: no errors');
  });

  test('rosetta sync links every customer the vendor lists, each person as one customer', async () => {
    const { code } = await run.cli('sync');
    expect(code).toBe(0);
    // One vendor alone: distinct people never share an identifier, so each record is its own customer.
    expect(await linkedCustomers(run, expected.source)).toEqual({ linked: run.vendor.customers.length, customers: run.vendor.customers.length });
  });

  test(`a page of 50 customers${expected.children ? ` with their ${expected.children}` : ''} costs ${Object.values(expected.pageOf50).reduce((a, b) => a + b, 0)} upstream calls (ideal ${expected.ideal})`, async () => {
    const { graphql } = await run.hub();
    run.vendor.resetStats();
    const childSelection = expected.children === 'orders' ? 'orders(first: 100) { number status }' : expected.children === 'tickets' ? 'tickets(first: 100) { subject status priority }' : '';
    const { data, errors } = await graphql(`{ customers(first: 50) { edges { node { id profile { name email phone } ${childSelection} } } } }`);
    expect(errors).toBeUndefined();
    const nodes = data.customers.edges.map((e: { node: any }) => e.node);
    expect(nodes).toHaveLength(50);
    expect(nodes.every((n: any) => n.profile?.name || n.profile?.email || n.profile?.phone)).toBe(true);
    // Every vendor status has a name in the graph's enums (the recipe's value maps cover what the API sends).
    const children = expected.children ? nodes.flatMap((n: any) => n[expected.children!]) : [];
    if (expected.children) expect(children.length).toBeGreaterThan(0);
    expect(children.filter((c: any) => c.status === 'UNKNOWN' || c.priority === 'UNKNOWN')).toEqual([]);
    const { unmatched: _none, ...routes } = run.vendor.stats().routes;
    expect(routes).toEqual(expected.pageOf50);
  });
}
