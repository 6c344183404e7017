// Write-back end to end on the simulated sources over loopback HTTP: the upstream writes a mutation causes, counted by
// the sources themselves, the receipt it returns, and what the hub reads afterwards.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { Link } from '../../src/identity/model.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

const UPDATE = `mutation($id: ID!, $input: ProfileInput!, $key: String, $dryRun: Boolean) {
  updateCustomerProfile(id: $id, input: $input, idempotencyKey: $key, dryRun: $dryRun) {
    customerId dryRun replayed
    writes { source entity recordId status fields skippedFields method path body error { code message retryable } }
    customer { profile { email phone provenance { field source } } }
  }
}`;

const CONSENT = `mutation($id: ID!, $consent: Boolean!, $key: String) {
  setMarketingConsent(id: $id, consent: $consent, idempotencyKey: $key) {
    writes { source entity status fields error { code } }
    customer { marketing { emailConsent status } }
  }
}`;

const records = (links: readonly Link[], source: string, entity: string) => links.filter((l) => l.source === source && l.entity === entity).map((l) => l.recordId);
const crmPatches = (t: TestHub) => t.routes('crm')['PATCH /contacts/:id'] ?? 0;
const shopPuts = (t: TestHub) => t.routes('shop')['PUT /customers/:id'] ?? 0;
/** Every write request the simulated sources received (PATCH, PUT, POST outside their batch reads). */
const allWrites = (t: TestHub) =>
  (['crm', 'shop', 'support', 'marketing', 'analytics'] as const).reduce(
    (sum, system) => sum + Object.entries(t.routes(system)).filter(([route]) => /^(PATCH|PUT) /.test(route)).reduce((n, [, count]) => n + count, 0),
    0,
  );
type Entry = { source: string; entity: string; recordId: string; status: string; fields: string[]; skippedFields: string[]; error: { code: string; message: string; retryable: boolean } | null };
const bySource = (writes: Entry[], source: string) => writes.filter((w) => w.source === source);

/** Customers whose links match: `has` entities present (exactly one record each), `lacks` absent. */
async function customersWith(t: TestHub, has: string[], lacks: string[] = []) {
  const { customers } = await t.store.pageCustomers(300, null);
  return customers.filter((c) => has.every((e) => records(c.links, ...(e.split('.') as [string, string])).length === 1) && lacks.every((e) => records(c.links, ...(e.split('.') as [string, string])).length === 0));
}

/** Customers with exactly `contacts` CRM contacts, from the link table. */
async function customersWithContacts(t: TestHub, contacts: number) {
  const { customers } = await t.store.pageCustomers(300, null);
  return customers.filter((c) => records(c.links, 'crm', 'contact').length === contacts);
}

describe('updateCustomerProfile against the CRM', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ people: 300, seed: 7 });
  });
  afterAll(() => t?.close());
  beforeEach(() => t.resetStats());

  test('one PATCH per linked CRM contact, the receipt says APPLIED, and the customer re-read shows the new email', async () => {
    const [customer] = await customersWithContacts(t, 1);
    const contactId = records(customer!.links, 'crm', 'contact')[0]!;
    const response = await t.graphql(UPDATE, { variables: { id: customer!.customerId, input: { email: 'new.address@example.org' } } });
    expect(response.errors).toBeUndefined();
    expect(crmPatches(t)).toBe(1);
    const receipt = response.data.updateCustomerProfile;
    expect(receipt.dryRun).toBe(false);
    const crm = receipt.writes.filter((w: { source: string }) => w.source === 'crm');
    expect(crm).toEqual([{ source: 'crm', entity: 'contact', recordId: contactId, status: 'APPLIED', fields: ['email'], skippedFields: [], method: 'PATCH', path: `/contacts/${contactId}`, body: null, error: null }]);
    expect(receipt.customer.profile.email).toBe('new.address@example.org');
    expect(receipt.customer.profile.provenance.find((p: { field: string }) => p.field === 'email').source).toBe('crm');
    // The source itself holds the new value.
    const stored = (await (await fetch(`${t.systems.urls.crm}/contacts/${contactId}`)).json()) as { contact: { primary_email: string } };
    expect(stored.contact.primary_email).toBe('new.address@example.org');
  });

  test('a dry run returns the plan and sends nothing', async () => {
    const [, customer] = await customersWithContacts(t, 1);
    const contactId = records(customer!.links, 'crm', 'contact')[0]!;
    const response = await t.graphql(UPDATE, { variables: { id: customer!.customerId, input: { phone: '+1 415 555 0199', address: { city: 'Oakland' } }, dryRun: true } });
    expect(response.errors).toBeUndefined();
    expect(crmPatches(t)).toBe(0);
    const crm = response.data.updateCustomerProfile.writes.find((w: { source: string }) => w.source === 'crm');
    expect(crm).toMatchObject({ status: 'PLANNED', method: 'PATCH', path: `/contacts/${contactId}`, fields: ['phone', 'city'], body: { phone: '+14155550199', address: { city: 'Oakland' } } });
  });

  test('an invalid email is BAD_USER_INPUT and nothing is sent', async () => {
    const [customer] = await customersWithContacts(t, 1);
    const response = await t.graphql(UPDATE, { variables: { id: customer!.customerId, input: { email: 'not an email' } } });
    expect(response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(response.data.updateCustomerProfile).toBeNull();
    expect(t.systems.totalRequests()).toBe(0);
  });

  test('a change the CRM and the shop both hold costs one write per record: a PATCH to the contact, a PUT to the shop customer', async () => {
    const [customer] = await customersWith(t, ['crm.contact', 'shop.customer']);
    const response = await t.graphql(UPDATE, { variables: { id: customer!.customerId, input: { phone: '+1 415 555 0142' } } });
    expect(response.errors).toBeUndefined();
    expect([crmPatches(t), shopPuts(t)]).toEqual([1, 1]);
    const writes: Entry[] = response.data.updateCustomerProfile.writes;
    expect(bySource(writes, 'crm').map((w) => [w.status, w.fields])).toEqual([['APPLIED', ['phone']]]);
    expect(bySource(writes, 'shop').map((w) => [w.status, w.fields])).toEqual([['APPLIED', ['phone']]]);
    expect(response.data.updateCustomerProfile.customer.profile.phone).toBe('+14155550142');
  });

  test("the shop's email policy is systemOfRecord: with a CRM contact, the email goes to the CRM alone and the shop is SKIPPED", async () => {
    const [customer] = await customersWith(t, ['crm.contact', 'shop.customer']).then((found) => found.slice(1));
    const response = await t.graphql(UPDATE, { variables: { id: customer!.customerId, input: { email: 'policy.check@example.org' } } });
    expect(response.errors).toBeUndefined();
    expect([crmPatches(t), shopPuts(t)]).toEqual([1, 0]);
    const [shop] = bySource(response.data.updateCustomerProfile.writes, 'shop');
    expect(shop).toMatchObject({ status: 'SKIPPED', fields: [], skippedFields: ['email'], error: { code: 'NOT_SYSTEM_OF_RECORD' } });
  });

  test('a record whose entity declares no write is SKIPPED with NO_WRITE_OPERATION; the others are written', async () => {
    const [customer] = await customersWith(t, ['crm.contact', 'support.user']);
    const response = await t.graphql(UPDATE, { variables: { id: customer!.customerId, input: { email: 'declared.only@example.org' } } });
    expect(response.errors).toBeUndefined();
    expect(allWrites(t)).toBe(1);
    const [support] = bySource(response.data.updateCustomerProfile.writes, 'support');
    expect(support).toMatchObject({ status: 'SKIPPED', skippedFields: ['email'], error: { code: 'NO_WRITE_OPERATION' } });
  });

  test('one source down: its record FAILED with SOURCE_UNAVAILABLE, the other APPLIED, and the re-read shows the new value', async () => {
    const [, , customer] = await customersWith(t, ['crm.contact', 'shop.customer']);
    t.systems.systems.shop.faults.set([{ kind: 'status', status: 503, route: 'PUT /customers/:id' }]);
    try {
      const response = await t.graphql(UPDATE, { variables: { id: customer!.customerId, input: { phone: '+1 415 555 0177' } } });
      expect(response.errors).toBeUndefined();
      const writes: Entry[] = response.data.updateCustomerProfile.writes;
      expect(writes.filter((w) => w.status === 'FAILED').map((w) => [w.source, w.error?.code, w.error?.retryable])).toEqual([['shop', 'SOURCE_UNAVAILABLE', true]]);
      expect(writes.filter((w) => w.status === 'APPLIED').map((w) => w.source)).toEqual(['crm']);
      // A PUT is safe to send again, so the shop was tried 1 + resilience.retry.maxRetries (2) times; the CRM once.
      expect([crmPatches(t), shopPuts(t)]).toEqual([1, 3]);
      expect(response.data.updateCustomerProfile.customer.profile.phone).toBe('+14155550177');
    } finally {
      t.systems.systems.shop.faults.clear();
    }
  });

  test('a PATCH is retried only with an idempotency key: with one, a 503 then a success applies it once; without one, it is sent once and FAILED', async () => {
    const [a, b] = await customersWith(t, ['crm.contact'], ['shop.customer', 'support.user']).then((found) => found.slice(2));
    const crm = t.systems.systems.crm;
    try {
      crm.faults.set([{ kind: 'status', status: 503, route: 'PATCH /contacts/:id', times: 1 }]);
      const keyed = await t.graphql(UPDATE, { variables: { id: a!.customerId, input: { address: { city: 'Lisbon' } }, key: 'retry-key-1' } });
      expect(keyed.errors).toBeUndefined();
      expect(crmPatches(t)).toBe(2);
      expect(bySource(keyed.data.updateCustomerProfile.writes, 'crm').map((w) => w.status)).toEqual(['APPLIED']);
      t.resetStats();
      crm.faults.set([{ kind: 'status', status: 503, route: 'PATCH /contacts/:id', times: 1 }]);
      const unkeyed = await t.graphql(UPDATE, { variables: { id: b!.customerId, input: { address: { city: 'Porto' } } } });
      expect(crmPatches(t)).toBe(1);
      expect(bySource(unkeyed.data.updateCustomerProfile.writes, 'crm').map((w) => [w.status, w.error?.code])).toEqual([['FAILED', 'SOURCE_UNAVAILABLE']]);
    } finally {
      crm.faults.clear();
    }
  });

  test('a repeated idempotency key returns the first receipt and writes nothing; the key with another input is refused', async () => {
    const [customer] = await customersWith(t, ['crm.contact', 'shop.customer']).then((found) => found.slice(3));
    const variables = { id: customer!.customerId, input: { phone: '+1 415 555 0123' }, key: 'key-7f3a' };
    const first = await t.graphql(UPDATE, { variables });
    expect(first.data.updateCustomerProfile.replayed).toBe(false);
    expect(allWrites(t)).toBe(2);
    t.resetStats();
    const again = await t.graphql(UPDATE, { variables });
    expect(again.errors).toBeUndefined();
    expect(allWrites(t)).toBe(0);
    expect(again.data.updateCustomerProfile.replayed).toBe(true);
    const statuses = (r: typeof first) => r.data.updateCustomerProfile.writes.map((w: Entry) => [w.source, w.recordId, w.status]);
    expect(statuses(again)).toEqual(statuses(first));
    const other = await t.graphql(UPDATE, { variables: { ...variables, input: { phone: '+1 415 555 0124' } } });
    expect(other.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'idempotencyKey' });
    expect(allWrites(t)).toBe(0);
  });

  test("a source refusing the write is FAILED with SOURCE_REJECTED and its reason, without the value it refused", async () => {
    const shopOnly = await customersWith(t, ['shop.customer'], ['crm.contact']);
    const [customer, other] = shopOnly;
    const taken = (await (await fetch(`${t.systems.urls.shop}/customers/${records(other!.links, 'shop', 'customer')[0]}`)).json()) as { customer: { contact_email: string } };
    const response = await t.graphql(UPDATE, { variables: { id: customer!.customerId, input: { email: taken.customer.contact_email } } });
    expect(response.errors).toBeUndefined();
    expect(shopPuts(t)).toBe(1);
    const [shop] = bySource(response.data.updateCustomerProfile.writes, 'shop');
    expect(shop).toMatchObject({ status: 'FAILED', error: { code: 'SOURCE_REJECTED', retryable: false } });
    expect(shop!.error!.message).toBe('source "shop" refused the write (HTTP 422): contact_email has already been taken');
  });

  test('the written email goes through the link table: the customer is found by it with no search at the sources', async () => {
    const [customer] = await customersWith(t, ['crm.contact']).then((found) => found.slice(5));
    await t.graphql(UPDATE, { variables: { id: customer!.customerId, input: { email: 'linked.after.write@example.org' } } });
    t.resetStats();
    const found = await t.graphql('query($v: String!) { customerByIdentity(kind: EMAIL, value: $v) { id } }', { variables: { v: 'linked.after.write@example.org' } });
    expect(found.data.customerByIdentity.id).toBe(customer!.customerId);
    expect(t.systems.totalRequests()).toBe(0);
  });

  test("a written email another customer's record holds merges the two customers, as a webhook bringing it would", async () => {
    const [writer] = await customersWith(t, ['crm.contact'], ['shop.customer', 'support.user', 'marketing.member']).then((found) => found.slice(4));
    const [holder] = await customersWith(t, ['shop.customer'], ['crm.contact']).then((found) => found.slice(3));
    const shopId = records(holder!.links, 'shop', 'customer')[0]!;
    const held = (await (await fetch(`${t.systems.urls.shop}/customers/${shopId}`)).json()) as { customer: { contact_email: string } };
    const response = await t.graphql(`mutation($id: ID!, $input: ProfileInput!) { updateCustomerProfile(id: $id, input: $input) { writes { source status } customer { id mergedIds identities { source recordId } } } }`, {
      variables: { id: writer!.customerId, input: { email: held.customer.contact_email } },
    });
    expect(response.errors).toBeUndefined();
    const customer = response.data.updateCustomerProfile.customer;
    expect(customer.identities.map((i: { source: string; recordId: string }) => `${i.source}:${i.recordId}`)).toContain(`shop:${shopId}`);
    expect([customer.id, ...customer.mergedIds].sort()).toEqual([writer!.customerId, holder!.customerId].sort());
    expect((await t.store.getCustomers([holder!.customerId])).get(holder!.customerId)!.customerId).toBe(customer.id);
  });

  test('subscribers hear of each record written', async () => {
    const [customer] = await customersWith(t, ['crm.contact', 'shop.customer']).then((found) => found.slice(6));
    const heard: { kind: string; customerId: string; source: string | null }[] = [];
    const stop = t.hub.services.changes.subscribe((changes) => heard.push(...changes.map((c) => ({ kind: c.kind, customerId: c.customerId, source: c.source }))));
    try {
      await t.graphql(UPDATE, { variables: { id: customer!.customerId, input: { phone: '+1 415 555 0166' } } });
    } finally {
      stop();
    }
    expect(heard.sort((a, b) => (a.source! < b.source! ? -1 : 1))).toEqual([
      { kind: 'UPSERT', customerId: customer!.customerId, source: 'crm' },
      { kind: 'UPSERT', customerId: customer!.customerId, source: 'shop' },
    ]);
  });

  test('setMarketingConsent withdraws consent at the marketing tool: one PATCH, and the customer reads unsubscribed', async () => {
    const [customer] = await customersWith(t, ['marketing.member']);
    const response = await t.graphql(CONSENT, { variables: { id: customer!.customerId, consent: false } });
    expect(response.errors).toBeUndefined();
    expect(t.routes('marketing')['PATCH /members/:id']).toBe(1);
    expect(allWrites(t)).toBe(1);
    expect(response.data.setMarketingConsent.writes).toEqual([{ source: 'marketing', entity: 'member', status: 'APPLIED', fields: ['emailConsent'], error: null }]);
    expect(response.data.setMarketingConsent.customer.marketing).toEqual({ emailConsent: false, status: 'UNSUBSCRIBED' });
  });

  test('an unknown customer is null with NOT_FOUND', async () => {
    const response = await t.graphql(UPDATE, { variables: { id: 'cus_0000000000000000', input: { email: 'a@example.org' } } });
    expect(response.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(response.data.updateCustomerProfile).toBeNull();
    expect(t.systems.totalRequests()).toBe(0);
  });
});
