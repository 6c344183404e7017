// Issue 13's promise: a Stripe-shaped Customer.subscriptions and a HubSpot-shaped Profile.lifecycleStage added with
// files only (test/extensions/fixtures/billing-and-crm: SDL and YAML, no TypeScript), answered from the simulated
// vendors through the same loaders as the core facets: one request per source operation per key batch.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import { startVendor, type VendorApp } from '../../src/demo/vendors/index.js';
import { generateVendorData } from '../../src/demo/vendors/people.js';
import type { Link } from '../../src/identity/model.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import { startHub, type RunningHub } from '../../src/server/hub.js';
import { syncLinkTable } from '../support/hub-harness.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/billing-and-crm/hub.yaml', import.meta.url));

let stripe: VendorApp;
let hubspot: VendorApp;
let store: SqliteLinkStore;
let hub: RunningHub;

beforeAll(async () => {
  const data = generateVendorData({ people: 150, seed: 13 });
  stripe = await startVendor('stripe', { data });
  hubspot = await startVendor('hubspot', { data });
  const config = loadConfigFile(FIXTURE, { ...stripe.env(), ...hubspot.env(), LINK_DB: ':memory:' });
  store = new SqliteLinkStore(':memory:');
  await syncLinkTable(config, store);
  hub = await startHub(config, { store });
});
afterAll(async () => {
  await hub?.close();
  await store?.close();
  await stripe?.close();
  await hubspot?.close();
});

async function graphql(query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const response = await fetch(hub.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  return (await response.json()) as { data?: any; errors?: any[]; extensions?: any };
}

const idsOf = (links: readonly Link[], source: string) => [...new Set(links.filter((l) => l.source === source && l.entity !== 'subscription').map((l) => l.recordId))];
const routes = (vendor: VendorApp) => {
  const { unmatched: _none, ...counted } = vendor.stats().routes;
  return counted;
};

/** What the vendor itself says, read with the recipe's own credentials. */
async function vendorJson(vendor: VendorApp, path: string, init: RequestInit = {}): Promise<any> {
  const env = vendor.env();
  const token = env.STRIPE_API_KEY ?? env.HUBSPOT_TOKEN;
  const response = await fetch(`${vendor.url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'stripe-version': '2025-03-31.basil' } });
  return response.json();
}

describe('an extension made of files only', () => {
  test('a page of 50 customers with Profile.lifecycleStage and Customer.subscriptions costs one HubSpot batch and one Stripe read per customer record per operation', async () => {
    const links = (await store.pageCustomers(50, null)).customers.flatMap((c) => c.links);
    const stripeCustomers = idsOf(links, 'stripe').length;
    const hubspotContacts = idsOf(links, 'hubspot').length;
    expect(stripeCustomers).toBeGreaterThan(10);
    expect(hubspotContacts).toBeGreaterThan(10);
    stripe.resetStats();
    hubspot.resetStats();

    const response = await graphql('{ customers(first: 50) { edges { node { id profile { lifecycleStage } subscriptions(first: 2) { id status renewsAt } } } } }', {}, { 'x-rosetta-explain': '1' });

    expect(response.errors).toBeUndefined();
    // Stripe: the profile reads each customer (no batch read exists), the extension list reads each customer's
    // subscriptions: one request per key per operation, each key once. HubSpot: one batch of up to 100 contacts.
    expect(routes(stripe)).toEqual({ 'GET /v1/customers/:id': stripeCustomers, 'GET /v1/subscriptions': stripeCustomers });
    expect(routes(hubspot)).toEqual({ 'POST /crm/v3/objects/contacts/batch/read': Math.ceil(hubspotContacts / 100) });
    // Explain names the extension field as the cause of the subscription reads, as it does for orders.
    const explained = response.extensions!.explain.upstream.filter((call: { field: string }) => call.field === 'customers.edges.node.subscriptions');
    expect(explained).toHaveLength(stripeCustomers);
    expect(new Set(explained.map((call: { source: string; operation: string }) => `${call.source} ${call.operation}`))).toEqual(new Set(['stripe subscription.list']));
    const nodes = response.data.customers.edges.map((e: any) => e.node);
    expect(nodes.some((n: any) => n.subscriptions.length === 2)).toBe(true);
    expect(nodes.some((n: any) => n.profile.lifecycleStage !== null)).toBe(true);
  });

  test('the answers are the vendors\' own records: subscriptions newest first with mapped enums and DateTimes, the stage through its value map', async () => {
    const customers = (await store.pageCustomers(150, null)).customers;
    const both = customers.filter((c) => idsOf(c.links, 'stripe').length === 1 && idsOf(c.links, 'hubspot').length === 1);
    expect(both.length).toBeGreaterThan(5);
    let compared = 0;
    for (const customer of both.slice(0, 6)) {
      const [stripeId] = idsOf(customer.links, 'stripe');
      const [hubspotId] = idsOf(customer.links, 'hubspot');
      const response = await graphql('query($id: ID!) { customer(id: $id) { profile { lifecycleStage provenance { field source recordId } } subscriptions { id status statusRaw plan amountMinor startedAt renewsAt } } }', { id: customer.customerId });
      expect(response.errors).toBeUndefined();
      const listed = await vendorJson(stripe, `/v1/subscriptions?customer=${stripeId}&status=all&limit=100`);
      const statusOf = (s: string) => (s === 'incomplete_expired' ? 'EXPIRED' : s.toUpperCase());
      const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
      expect(response.data.customer.subscriptions).toEqual(
        [...listed.data]
          .sort((a: any, b: any) => b.start_date - a.start_date)
          .map((s: any) => ({ id: s.id, status: statusOf(s.status), statusRaw: s.status, plan: s.items.data[0].price.nickname, amountMinor: s.items.data[0].price.unit_amount, startedAt: iso(s.start_date), renewsAt: iso(s.items.data[0].current_period_end) })),
      );
      compared += listed.data.length;
      const contact = await vendorJson(hubspot, '/crm/v3/objects/contacts/batch/read', { method: 'POST', body: JSON.stringify({ properties: ['lifecyclestage'], inputs: [{ id: hubspotId }] }) });
      const stage: string = contact.results[0].properties.lifecyclestage;
      const named: Record<string, string> = { marketingqualifiedlead: 'MARKETING_QUALIFIED_LEAD', salesqualifiedlead: 'SALES_QUALIFIED_LEAD' };
      expect(response.data.customer.profile.lifecycleStage).toBe(named[stage] ?? stage.toUpperCase());
      expect(response.data.customer.profile.provenance).toContainEqual({ field: 'lifecycleStage', source: 'hubspot', recordId: hubspotId });
    }
    // Some of those customers must have subscriptions, or the comparison proved nothing.
    expect(compared).toBeGreaterThan(0);
  });
});
