// Every way the link table changes reaches live subscribers, each change as exactly one event of its kind: a sync
// pass (UPSERT, and MERGE when it joins two customers), a reviewed merge (MERGE), a reviewed split (SPLIT), a forget
// (FORGET) and a source's delete announced by webhook (DELETE).
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import type { CustomerChange } from '../../src/identity/change-feed.js';
import { syncLinks } from '../../src/identity/sync.js';
import { API_KEYS, authSection, keyHeader } from '../auth/auth-fixture.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';
import { subscriber, type Subscriber, type Subscription } from '../support/subscriber.js';

const WEBHOOK_SECRET = 'demo-crm-webhook-secret';
const ALL_CHANGES = 'subscription { customersChanged { kind customerId survivorId splitOffId source entity recordId } }';
const admin = keyHeader('admin');

let t: TestHub;
let client: Subscriber;
let live: Subscription;
/** Every change the hub published, straight from its feed: `publish` runs inside the write, so nothing is in flight. */
let published: CustomerChange[] = [];
/** How many of `published` the subscriber must have received by the end. */
let publishedTotal = 0;

beforeAll(async () => {
  t = await startTestHub({ people: 120, seed: 21, config: (config) => ({ ...config, auth: authSection(null) }) });
  t.hub.services.changes.subscribe((changes) => {
    published.push(...changes);
    publishedTotal += changes.length;
  });
  client = subscriber(t.hub.url, { apiKey: API_KEYS.admin });
  await client.connected;
  live = client.subscribe(ALL_CHANGES);
  await vi.waitFor(() => expect(t.hub.services.changes.subscribers).toBe(2));
});
afterAll(async () => {
  await client.close();
  await t.close();
});
beforeEach(() => {
  published = [];
});

/** The event as the schema carries it, without its time. */
const shape = ({ kind, customerId, survivorId, splitOffId, source, entity, recordId }: CustomerChange) => ({ kind, customerId, survivorId, splitOffId, source, entity, recordId });
const sync = () => syncLinks({ registry: t.hub.services.registry, links: t.hub.services.links, store: t.store });
const customerOf = (source: string, recordId: string) => t.store.findCustomerIdByRecord({ source, recordId });

/** A write to the simulated CRM; announced to the hub by a signed webhook only when `announce` is set. */
async function crm(method: 'PUT' | 'DELETE', id: string, body: Record<string, unknown> | null, announce: boolean): Promise<void> {
  t.systems.webhooks.crm.target = announce ? { url: t.hub.url.replace('/graphql', '/webhooks/crm'), secret: WEBHOOK_SECRET } : null;
  const response = await fetch(`${t.systems.urls.crm}/contacts/${id}`, { method, headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  expect(response.status).toBe(200);
  expect(t.systems.webhooks.crm.failed).toBe(0);
}

/** Two shop customers known to no other source, with an email and a phone each: a CRM contact holding one's email and the other's phone joins them. */
function twoShopOnlyPeople() {
  const data = t.systems.dataset;
  const elsewhere = new Set([...data.crm.contacts.map((c) => c.personId), ...data.support.users.map((u) => u.personId)]);
  const [p, q] = data.shop.customers.filter((c) => c.contact_email && c.phone && !elsewhere.has(c.personId));
  return [p!, q!] as const;
}

/** The customers of two CRM contacts (the one-contact-per-customer rule keeps them apart). */
async function crmCustomers(...indexes: number[]): Promise<string[]> {
  const ids = await Promise.all(indexes.map((i) => customerOf('crm', t.systems.dataset.crm.contacts[i]!.id)));
  expect(new Set(ids).size).toBe(indexes.length);
  return ids as string[];
}

/** A reviewer's merge by GraphQL; the survivor's ID. */
async function reviewedMerge(ids: readonly string[]): Promise<string> {
  const merged = await t.graphql('mutation($ids: [ID!]!) { mergeCustomers(ids: $ids, reason: "same person, confirmed by phone") { id } }', { variables: { ids }, headers: admin });
  expect(merged.errors).toBeUndefined();
  return merged.data.mergeCustomers.id as string;
}

describe('each feed of the link table publishes its changes exactly once', () => {
  test('a sync pass that finds a contact whose email changed publishes one UPSERT; a second pass publishes nothing', async () => {
    const contact = t.systems.dataset.crm.contacts[3]!;
    const customerId = (await customerOf('crm', contact.id))!;
    await crm('PUT', contact.id, { primary_email: 'moved.elsewhere@example.org' }, false);
    expect(published).toEqual([]);

    await sync();
    expect(published.map(shape)).toEqual([{ kind: 'UPSERT', customerId, survivorId: null, splitOffId: null, source: 'crm', entity: 'contact', recordId: contact.id }]);
    published = [];
    await sync();
    expect(published).toEqual([]);
  });

  test('a sync pass that finds a contact whose name changed (a newer version, the same identifiers) publishes one UPSERT', async () => {
    const contact = t.systems.dataset.crm.contacts[4]!;
    const customerId = (await customerOf('crm', contact.id))!;
    // The webhook that would have announced it was lost: the sync is how the change reaches the hub.
    await crm('PUT', contact.id, { first_name: 'Renamed' }, false);

    await sync();
    expect(published.map(shape)).toEqual([{ kind: 'UPSERT', customerId, survivorId: null, splitOffId: null, source: 'crm', entity: 'contact', recordId: contact.id }]);
  });

  test('a sync pass that finds a contact joining two customers publishes its UPSERT and one MERGE naming the survivor', async () => {
    const [p, q] = twoShopOnlyPeople();
    const [idP, idQ] = [(await customerOf('shop', String(p.id)))!, (await customerOf('shop', String(q.id)))!];
    await crm('PUT', 'C-770001', { primary_email: p.contact_email, phone: q.phone, first_name: 'Bridge' }, false);

    await sync();
    const survivor = (await customerOf('shop', String(p.id)))!;
    expect(await customerOf('shop', String(q.id))).toBe(survivor);
    const mergedAway = survivor === idP ? idQ : idP;
    expect(published.map(shape)).toEqual([
      { kind: 'UPSERT', customerId: survivor, survivorId: null, splitOffId: null, source: 'crm', entity: 'contact', recordId: 'C-770001' },
      { kind: 'MERGE', customerId: mergedAway, survivorId: survivor, splitOffId: null, source: null, entity: null, recordId: null },
    ]);
  });

  test('a reviewed merge publishes one MERGE naming the survivor, and nothing for the records it moved', async () => {
    const ids = await crmCustomers(20, 21);
    const survivor = await reviewedMerge(ids);
    const mergedAway = ids.find((id) => id !== survivor)!;
    expect(published.map(shape)).toEqual([{ kind: 'MERGE', customerId: mergedAway, survivorId: survivor, splitOffId: null, source: null, entity: null, recordId: null }]);
  });

  test('a reviewed split publishes one SPLIT naming the customer the records went back to, and nothing for the records it moved', async () => {
    const ids = await crmCustomers(22, 23);
    const survivor = await reviewedMerge(ids);
    const mergedAway = ids.find((id) => id !== survivor)!;
    published = [];

    const split = await t.graphql('mutation($id: ID!, $m: ID!) { unmergeCustomer(id: $id, mergedId: $m, reason: "different people after all") { id } }', { variables: { id: survivor, m: mergedAway }, headers: admin });
    expect(split.errors).toBeUndefined();
    expect(published.map(shape)).toEqual([{ kind: 'SPLIT', customerId: survivor, survivorId: null, splitOffId: mergedAway, source: null, entity: null, recordId: null }]);
  });

  test('forgetting a customer publishes one FORGET', async () => {
    const contact = t.systems.dataset.crm.contacts[8]!;
    const customerId = (await customerOf('crm', contact.id))!;
    const forgotten = await t.graphql('mutation($id: ID!) { forgetCustomer(id: $id) { customerId } }', { variables: { id: customerId }, headers: admin });
    expect(forgotten.errors).toBeUndefined();
    expect(published.map(shape)).toEqual([{ kind: 'FORGET', customerId, survivorId: null, splitOffId: null, source: null, entity: null, recordId: null }]);
  });

  test('a delete announced by the source’s webhook publishes one DELETE', async () => {
    const contact = t.systems.dataset.crm.contacts[10]!;
    const customerId = (await customerOf('crm', contact.id))!;
    await crm('DELETE', contact.id, null, true);
    expect(published.map(shape)).toEqual([{ kind: 'DELETE', customerId, survivorId: null, splitOffId: null, source: 'crm', entity: 'contact', recordId: contact.id }]);
  });

  test('a subscriber to every customer received each published change, once and in order', async () => {
    await expect.poll(() => live.results.length).toBe(publishedTotal);
    expect(live.results.map((r) => r.data?.customersChanged.kind)).toEqual(['UPSERT', 'UPSERT', 'UPSERT', 'MERGE', 'MERGE', 'MERGE', 'SPLIT', 'FORGET', 'DELETE']);
    expect(live.results.every((r) => r.errors === undefined)).toBe(true);
  });
});
