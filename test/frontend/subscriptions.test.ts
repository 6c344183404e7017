// Live customer changes over graphql-ws on the hub's port: a CRM write announced by its signed webhook reaches a
// subscriber as exactly one event with the customer resolved live; merges are followed; bad input is contained.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub-harness.js';
import { subscriber, wsUrl, type Subscriber } from '../support/subscriber.js';

const WEBHOOK_SECRET = 'demo-crm-webhook-secret';
const CHANGED = `subscription($id: ID!) { customerChanged(id: $id) { kind customerId survivorId source entity recordId missed customer { id profile { name } } } }`;

let t: TestHub;
const clients: Subscriber[] = [];
function connect(params: Record<string, unknown> = {}): Subscriber {
  const client = subscriber(t.hub.url, params);
  clients.push(client);
  return client;
}

beforeAll(async () => {
  t = await startTestHub({ people: 60, config: (config) => ({ ...config, server: { ...config.server, subscriptions: { ...config.server.subscriptions, maxPerConnection: 2 } } }) });
  t.systems.webhooks.crm.target = { url: t.hub.url.replace('/graphql', '/webhooks/crm'), secret: WEBHOOK_SECRET };
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await t.close();
});

async function crmWrite(id: string, body: unknown): Promise<void> {
  const response = await fetch(`${t.systems.urls.crm}/contacts/${id}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
}

async function customerWithCrmContact(index = 0): Promise<{ customerId: string; contactId: string }> {
  const customers = (await t.store.pageCustomers(60, null)).customers.filter((c) => c.links.some((l) => l.source === 'crm'));
  const customer = customers[index]!;
  return { customerId: customer.customerId, contactId: customer.links.find((l) => l.source === 'crm')!.recordId };
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(t.hub.url.replace('/graphql', '/metrics'))).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('customerChanged', () => {
  test('a CRM write (a signed webhook) produces exactly one event, carrying the customer as it is now', async () => {
    const { customerId, contactId } = await customerWithCrmContact(0);
    const client = connect();
    await client.connected;
    const events = client.subscribe(CHANGED, { id: customerId });
    await expect.poll(() => metric('rosetta_subscriptions_active')).toBe(1);
    const delivered = t.systems.webhooks.crm.delivered;

    await crmWrite(contactId, { first_name: 'Live', last_name: 'Update' });
    expect(t.systems.webhooks.crm.delivered).toBe(delivered + 1);
    await expect.poll(() => events.results.length).toBe(1);
    // A second write to the same customer: once its event is in, any extra event of the first would be too (in order).
    await crmWrite(contactId, { first_name: 'Second', last_name: 'Update' });
    await expect.poll(() => events.results.length).toBeGreaterThanOrEqual(2);

    expect(events.results).toEqual([
      { data: { customerChanged: { kind: 'UPSERT', customerId, survivorId: null, source: 'crm', entity: 'contact', recordId: contactId, missed: 0, customer: { id: customerId, profile: { name: 'Live Update' } } } } },
      { data: { customerChanged: { kind: 'UPSERT', customerId, survivorId: null, source: 'crm', entity: 'contact', recordId: contactId, missed: 0, customer: { id: customerId, profile: { name: 'Second Update' } } } } },
    ]);
    expect(await metric('rosetta_subscription_events_total{outcome="delivered"}')).toBe(2);
    events.stop();
    await expect.poll(() => metric('rosetta_subscriptions_active')).toBe(0);
  });

  test('a merge reaches subscribers of both customers; the merged-away one is followed into the survivor', async () => {
    const data = t.systems.dataset;
    const crmPeople = new Set(data.crm.contacts.map((c) => c.personId));
    const [a, b] = data.shop.customers.filter((c) => c.contact_email && c.phone && !crmPeople.has(c.personId) && !data.support.users.some((u) => u.personId === c.personId));
    const idA = (await t.store.findCustomerIdByRecord({ source: 'shop', recordId: String(a!.id) }))!;
    const idB = (await t.store.findCustomerIdByRecord({ source: 'shop', recordId: String(b!.id) }))!;
    const [survivor, mergedAway] = idA < idB ? [idA, idB] : [idB, idA];
    const client = connect();
    const ofMerged = client.subscribe(CHANGED, { id: mergedAway });
    const ofSurvivor = client.subscribe(CHANGED, { id: survivor });
    await expect.poll(() => metric('rosetta_subscriptions_active')).toBe(2);

    await crmWrite('C-990001', { primary_email: a!.contact_email, phone: b!.phone, first_name: 'Bridge', last_name: 'Record' });
    const merge = { kind: 'MERGE', customerId: mergedAway, survivorId: survivor, source: null, entity: null, recordId: null, missed: 0, customer: { id: survivor, profile: { name: 'Bridge Record' } } };
    const upsert = { kind: 'UPSERT', customerId: survivor, survivorId: null, source: 'crm', entity: 'contact', recordId: 'C-990001', missed: 0, customer: { id: survivor, profile: { name: 'Bridge Record' } } };
    await expect.poll(() => ofMerged.results.length + ofSurvivor.results.length).toBe(3);
    expect(ofSurvivor.results.map((r) => r.data?.customerChanged)).toEqual([upsert, merge]);
    // The bridging record's UPSERT happened to the survivor, before the merged-away customer was followed into it.
    expect(ofMerged.results.map((r) => r.data?.customerChanged)).toEqual([merge]);
    ofMerged.stop();
    ofSurvivor.stop();
  });

  test('an unknown ID completes the subscription with a typed error', async () => {
    const client = connect();
    const events = client.subscribe(CHANGED, { id: 'cus_does_not_exist' });
    await events.done;
    expect(events.results).toHaveLength(1);
    expect(events.results[0]!.errors).toEqual([expect.objectContaining({ message: 'no customer cus_does_not_exist', extensions: { code: 'CUSTOMER_NOT_FOUND', ids: ['cus_does_not_exist'] } })]);
    expect(client.closedWith()).toBeUndefined();
  });
});

describe('bounds and bad input', () => {
  test('subscriptions past the per-connection limit are refused with SUBSCRIPTION_LIMIT; the others keep running', async () => {
    const { customerId } = await customerWithCrmContact(1);
    const client = connect();
    const first = client.subscribe(CHANGED, { id: customerId });
    const second = client.subscribe(CHANGED, { id: customerId });
    await expect.poll(() => metric('rosetta_subscriptions_active')).toBe(2);
    const third = client.subscribe(CHANGED, { id: customerId });
    await expect(third.done).rejects.toEqual([expect.objectContaining({ extensions: { code: 'SUBSCRIPTION_LIMIT' } })]);
    expect(await metric('rosetta_subscriptions_active')).toBe(2);
    first.stop();
    second.stop();
    await expect.poll(() => metric('rosetta_subscriptions_active')).toBe(0);
  });

  test('queries over the WebSocket are refused: they belong on HTTP, where every plugin sees them', async () => {
    const client = connect();
    const query = client.subscribe('{ sources { name } }');
    await expect(query.done).rejects.toEqual([expect.objectContaining({ extensions: { code: 'BAD_REQUEST' } })]);
  });

  test('a malformed message closes only its own socket', async () => {
    const { customerId, contactId } = await customerWithCrmContact(2);
    const healthy = connect();
    const events = healthy.subscribe(CHANGED, { id: customerId });
    await expect.poll(() => metric('rosetta_subscriptions_active')).toBe(1);

    const raw = new WebSocket(wsUrl(t.hub.url), 'graphql-transport-ws');
    const closed = new Promise<number>((resolve) => raw.once('close', (code) => resolve(code)));
    await new Promise((resolve) => raw.once('open', resolve));
    raw.send('{"type": "connection_init"');
    expect(await closed).toBe(4400);

    await crmWrite(contactId, { first_name: 'Still', last_name: 'Here' });
    await expect.poll(() => events.results.length).toBe(1);
    expect(events.results[0]!.data.customerChanged.customer.profile.name).toBe('Still Here');
    expect(healthy.closedWith()).toBeUndefined();
    events.stop();
  });
});
