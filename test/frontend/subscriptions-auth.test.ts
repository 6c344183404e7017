// Subscriptions on a hub with auth: credentials checked at connection (4401 without), and event payloads masked
// exactly as the same selection is in a query by the same caller.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub-harness.js';
import { subscriber, type Subscriber } from '../support/subscriber.js';
import { API_KEYS, keyHeader, withAuth } from '../auth/auth-fixture.js';

const SELECTION = 'id profile { name email phone }';
let t: TestHub;
const clients: Subscriber[] = [];
beforeAll(async () => {
  t = await startTestHub({ people: 40, config: withAuth(null) });
  t.systems.webhooks.crm.target = { url: t.hub.url.replace('/graphql', '/webhooks/crm'), secret: 'demo-crm-webhook-secret' };
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await t.close();
});

describe('subscriptions with auth', () => {
  test('a connection without credentials, or with a wrong key, is closed with 4401', async () => {
    for (const params of [{}, { apiKey: 'rk_not_a_key' }]) {
      const client = subscriber(t.hub.url, params);
      clients.push(client);
      await expect(client.connected).rejects.toThrow();
      expect(client.closedWith()).toBe(4401);
    }
  });

  test('an event carries what the caller may see, masked as in a query by the same key', async () => {
    const customer = (await t.store.pageCustomers(40, null)).customers.find((c) => c.links.some((l) => l.source === 'crm'))!;
    const contactId = customer.links.find((l) => l.source === 'crm')!.recordId;
    const client = subscriber(t.hub.url, { apiKey: API_KEYS.analytics });
    clients.push(client);
    await client.connected;
    const events = client.subscribe(`subscription($id: ID!) { customerChanged(id: $id) { kind customer { ${SELECTION} } } }`, { id: customer.customerId });
    await expect.poll(async () => (await (await fetch(t.hub.url.replace('/graphql', '/metrics'))).text()).includes('rosetta_subscriptions_active 1')).toBe(true);

    const write = await fetch(`${t.systems.urls.crm}/contacts/${contactId}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ first_name: 'Masked', last_name: 'Person' }) });
    expect(write.status).toBe(200);
    await expect.poll(() => events.results.length).toBe(1);
    const query = await t.graphql(`query($id: ID!) { customer(id: $id) { ${SELECTION} } }`, { variables: { id: customer.customerId }, headers: keyHeader('analytics') });

    const [event] = events.results;
    expect(event!.data.customerChanged.kind).toBe('UPSERT');
    // The analytics role holds no pii permission: name and phone withheld, the email masked, in the event as in the query.
    expect(event!.data.customerChanged.customer).toEqual(query.data.customer);
    expect(event!.data.customerChanged.customer.profile).toEqual({ name: null, email: expect.stringMatching(/^\w\*\*\*@/), phone: null });
    const paths = (masked: { path: string }[] | undefined) => (masked ?? []).map((m) => m.path.replace(/^customerChanged\.customer\./, '').replace(/^customer\./, '')).sort();
    expect(paths(event!.extensions?.masked as never)).toEqual(paths(query.extensions?.masked));
    expect(paths(query.extensions?.masked)).toHaveLength(3);
  });
});
