// Write-back end to end on the simulated sources over loopback HTTP: the upstream writes a mutation causes, counted by
// the sources themselves, the receipt it returns, and what the hub reads afterwards.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { HubConfig } from '../../src/config/schema.js';
import type { Link } from '../../src/identity/model.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

const UPDATE = `mutation($id: ID!, $input: ProfileInput!, $key: String, $dryRun: Boolean) {
  updateCustomerProfile(id: $id, input: $input, idempotencyKey: $key, dryRun: $dryRun) {
    customerId dryRun replayed
    writes { source entity recordId status fields skippedFields method path body error { code message retryable } }
    customer { profile { email phone provenance { field source } } }
  }
}`;

const records = (links: readonly Link[], source: string, entity: string) => links.filter((l) => l.source === source && l.entity === entity).map((l) => l.recordId);
const crmPatches = (t: TestHub) => t.routes('crm')['PATCH /contacts/:id'] ?? 0;

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

  test('an unknown customer is null with NOT_FOUND', async () => {
    const response = await t.graphql(UPDATE, { variables: { id: 'cus_0000000000000000', input: { email: 'a@example.org' } } });
    expect(response.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(response.data.updateCustomerProfile).toBeNull();
    expect(t.systems.totalRequests()).toBe(0);
  });
});
