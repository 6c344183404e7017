// A source that is down degrades only the fields that need it: partial data plus an error naming the source.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

let t: TestHub;
let shopperId: string;
beforeAll(async () => {
  t = await startTestHub({ people: 200, seed: 3 });
  const data = t.systems.dataset;
  // Someone known to the CRM, the shop (with orders) and the support desk.
  const crmPeople = new Set(data.crm.contacts.map((c) => c.personId));
  const supportPeople = new Set(data.support.users.map((u) => u.personId));
  const shopper = data.shop.customers.find((c) => crmPeople.has(c.personId) && supportPeople.has(c.personId) && data.shop.orders.some((o) => o.customer_id === c.id))!;
  shopperId = (await t.store.findCustomerIdByRecord({ source: 'shop', recordId: String(shopper.id) }))!;
  await t.systems.systems.shop.close();
});
afterAll(() => t.close());

describe('when the shop is down', () => {
  test('the profile still comes from the other sources, with an error naming the shop at the profile', async () => {
    const response = await t.graphql('query($id: ID!) { customer(id: $id) { id profile { name email provenance { source } } tickets { id } orders { id } } }', { variables: { id: shopperId } });
    expect(response.status).toBe(200);
    const customer = response.data.customer;
    expect(customer.id).toBe(shopperId);
    expect(customer.profile.email).toMatch(/@/);
    expect(customer.profile.provenance.map((p: { source: string }) => p.source)).not.toContain('shop');
    expect(Array.isArray(customer.tickets)).toBe(true);
    expect(customer.orders).toBeNull();
    const errors = response.errors!;
    expect(errors).toEqual(
      expect.arrayContaining([
        { message: 'source "shop" is unavailable', path: ['customer', 'profile'], extensions: { code: 'SOURCE_UNAVAILABLE', source: 'shop', retryable: true, requestId: expect.any(String) } },
        expect.objectContaining({ path: ['customer', 'orders'], extensions: { code: 'SOURCE_UNAVAILABLE', source: 'shop', retryable: true, requestId: expect.any(String) } }),
      ]),
    );
    expect(errors).toHaveLength(2);
  });

  test('errors carry no upstream URL, port or stack trace', async () => {
    const response = await t.graphql('query($id: ID!) { customer(id: $id) { orders { id } } }', { variables: { id: shopperId } });
    const text = JSON.stringify(response.errors);
    expect(text).not.toMatch(/127\.0\.0\.1|localhost|ECONNREFUSED|stack|at /i);
  });

  test('a query that does not need the shop sees no error at all', async () => {
    const response = await t.graphql('query($id: ID!) { customer(id: $id) { tickets { id } marketing { status } } }', { variables: { id: shopperId } });
    expect(response.errors).toBeUndefined();
  });
});
