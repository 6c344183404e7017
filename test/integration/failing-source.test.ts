// A source that is down degrades only the fields that need it: partial data plus an error naming the source.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

let t: TestHub;
let shopperId: string;
let twoShopRecordsId: string;
beforeAll(async () => {
  t = await startTestHub({ people: 200, seed: 3 });
  const data = t.systems.dataset;
  // Someone known to the CRM, the shop (with orders) and the support desk.
  const crmPeople = new Set(data.crm.contacts.map((c) => c.personId));
  const supportPeople = new Set(data.support.users.map((u) => u.personId));
  const shopper = data.shop.customers.find((c) => crmPeople.has(c.personId) && supportPeople.has(c.personId) && data.shop.orders.some((o) => o.customer_id === c.id))!;
  shopperId = (await t.store.findCustomerIdByRecord({ source: 'shop', recordId: String(shopper.id) }))!;
  // A customer holding two shop records: a CRM contact sharing one shopper's email and another's phone joins them.
  const [a, b] = data.shop.customers.filter((c) => c.contact_email && c.phone && !crmPeople.has(c.personId));
  t.systems.webhooks.crm.target = { url: t.hub.url.replace('/graphql', '/webhooks/crm'), secret: 'demo-crm-webhook-secret' };
  const written = await fetch(`${t.systems.urls.crm}/contacts/C-800001`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ primary_email: a!.contact_email, phone: b!.phone, first_name: 'Two', last_name: 'Shops' }),
  });
  expect(written.status).toBe(200);
  twoShopRecordsId = (await t.store.findCustomerIdByRecord({ source: 'crm', recordId: 'C-800001' }))!;
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

  test('a customer with two records in the failing source gets one error per field, not one per record', async () => {
    const links = (await t.store.getCustomers([twoShopRecordsId])).get(twoShopRecordsId)!.links;
    expect(links.filter((l) => l.source === 'shop' && l.entity === 'customer')).toHaveLength(2);
    const response = await t.graphql('query($id: ID!) { customer(id: $id) { profile { name } } }', { variables: { id: twoShopRecordsId } });
    expect(response.errors).toHaveLength(1);
    expect(response.errors![0]).toMatchObject({ path: ['customer', 'profile'], extensions: { source: 'shop' } });
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
