// The demo's extensions (config/extensions/): the shop's subscriptions on Customer and the CRM's lifecycle stage on
// Profile, declared by SDL files and provided by config, answered through the same loaders as the core facets.
import { parse, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hubSchema } from '../../src/server/hub.js';
import { estimateUpstreamCalls } from '../../src/server/upstream-budget.js';
import { shopSubscriptions } from '../../src/demo/shop-subscriptions.js';
import type { Link } from '../../src/identity/model.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ people: 300 });
});
afterAll(() => t.close());

const idsOf = (links: readonly Link[], source: string, entity: string) => [...new Set(links.filter((l) => l.source === source && l.entity === entity).map((l) => l.recordId))];

function allRoutes(): Record<string, Record<string, number>> {
  return Object.fromEntries((['crm', 'shop', 'support', 'marketing', 'analytics'] as const).map((s) => [s, t.routes(s)]));
}

describe('Customer.subscriptions (an extension the demo ships)', () => {
  test.each([50, 100])('a page of %i customers with their subscriptions costs ceil(shop customers / 50) shop requests and nothing else', async (first) => {
    const links = (await t.store.pageCustomers(first, null)).customers.flatMap((c) => c.links);
    const shopCustomers = idsOf(links, 'shop', 'customer').length;
    expect(shopCustomers).toBeGreaterThan(first === 100 ? 50 : 0);
    t.resetStats();
    const response = await t.graphql(`query($first: Int!) { customers(first: $first) { edges { node { id subscriptions(first: 5) { id status plan } } } } }`, { variables: { first } });
    expect(response.errors).toBeUndefined();
    expect(allRoutes()).toEqual({ crm: {}, shop: { 'POST /subscriptions/batch': Math.ceil(shopCustomers / 50) }, support: {}, marketing: {}, analytics: {} });
    const items = response.data.customers.edges.flatMap((e: any) => e.node.subscriptions ?? []);
    expect(items.length).toBeGreaterThan(0);
  });

  test('a customer gets exactly its shop records\' subscriptions, newest first, typed (enum, DateTime, Int), cut at first', async () => {
    const all = shopSubscriptions(t.systems.dataset.shop.customers);
    const page = (await t.store.pageCustomers(300, null)).customers;
    // A customer with two subscriptions, so both order and `first` are tested.
    const customer = page.find((c) => idsOf(c.links, 'shop', 'customer').some((id) => all.filter((s) => String(s.customer_id) === id).length >= 2))!;
    expect(customer).toBeDefined();
    const expected = all.filter((s) => idsOf(customer.links, 'shop', 'customer').includes(String(s.customer_id))).sort((a, b) => (a.started_at < b.started_at ? 1 : -1));
    const response = await t.graphql(`query($id: ID!) { customer(id: $id) { all: subscriptions { id status statusRaw plan amountMinor currency interval startedAt renewsAt canceledAt } one: subscriptions(first: 1) { id } } }`, { variables: { id: customer.customerId } });
    expect(response.errors).toBeUndefined();
    const statusOf: Record<string, string> = { active: 'ACTIVE', paused: 'PAUSED', cancelled: 'CANCELED', expired: 'EXPIRED', pending_payment: 'PAST_DUE' };
    expect(response.data.customer.all).toEqual(
      expected.map((s) => ({
        id: String(s.id),
        status: statusOf[s.status],
        statusRaw: s.status,
        plan: s.plan.name,
        amountMinor: s.price_cents,
        currency: s.currency,
        interval: s.plan.interval,
        startedAt: s.started_at,
        renewsAt: s.next_billing_at,
        canceledAt: s.cancelled_at,
      })),
    );
    expect(response.data.customer.one).toEqual([{ id: String(expected[0]!.id) }]);
  });

  test('first outside 0..100 is refused like the core lists\' first', async () => {
    const response = await t.graphql('{ customers(first: 1) { edges { node { subscriptions(first: 101) { id } } } } }');
    expect(response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('Profile.lifecycleStage (an extension the demo ships)', () => {
  test('answers the CRM contact\'s stage, with provenance naming the contact', async () => {
    const page = (await t.store.pageCustomers(100, null)).customers;
    const customer = page.find((c) => idsOf(c.links, 'crm', 'contact').length === 1)!;
    const contactId = idsOf(customer.links, 'crm', 'contact')[0]!;
    const contact = t.systems.dataset.crm.contacts.find((c) => c.id === contactId)!;
    const response = await t.graphql(`query($id: ID!) { customer(id: $id) { profile { lifecycleStage provenance { field source entity recordId } } } }`, { variables: { id: customer.customerId } });
    expect(response.errors).toBeUndefined();
    expect(response.data.customer.profile.lifecycleStage).toBe(contact.lifecycle_stage);
    expect(response.data.customer.profile.provenance).toContainEqual({ field: 'lifecycleStage', source: 'crm', entity: 'contact', recordId: contactId });
  });
});

describe('the upstream budget', () => {
  test('estimates an extension list like a core child list: one batch read per 50 customers of the shop', () => {
    const estimate = (query: string) => {
      const document = parse(query);
      return estimateUpstreamCalls(hubSchema(t.config), document, document.definitions[0] as OperationDefinitionNode, {}, t.hub.services.registry);
    };
    expect(estimate('{ customers(first: 100) { edges { node { subscriptions { id } } } } }')).toBe(2);
    expect(estimate('{ customers(first: 100) { edges { node { subscriptions { id } orders { id } } } } }')).toBe(4);
  });
});

describe('the record cache on an extension entity', () => {
  let cached: TestHub;
  beforeAll(async () => {
    cached = await startTestHub({
      people: 120,
      config: (config) => {
        const changed = structuredClone(config);
        changed.sources.shop!.entities.subscription!.cache = { ttlMs: 60_000, staleWhileRevalidateMs: 0, maxEntries: 1_000 };
        return changed;
      },
    });
  });
  afterAll(() => cached.close());

  test('keeps the lists across requests: the same page asked twice reads the shop once', async () => {
    const query = '{ customers(first: 50) { edges { node { subscriptions { id status } } } } }';
    const first = await cached.graphql(query);
    expect(first.errors).toBeUndefined();
    const calls = cached.routes('shop')['POST /subscriptions/batch'];
    expect(calls).toBeGreaterThan(0);
    const second = await cached.graphql(query);
    expect(second.data).toEqual(first.data);
    expect(cached.routes('shop')['POST /subscriptions/batch']).toBe(calls);
  });
});
