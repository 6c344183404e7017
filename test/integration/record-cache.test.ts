// The cross-request record cache, end to end on the simulated sources: what it saves in upstream calls (counted by the
// sources themselves), when it reads again (ttl, stale-while-revalidate, failures, webhooks, forget), and that it is off by default.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { HubConfig } from '../../src/config/schema.js';
import type { SystemName } from '../../src/demo/systems.js';
import type { Link } from '../../src/identity/model.js';
import { ManualClock, startTestHub, type TestHub } from '../support/hub-harness.js';

const LONG = { ttlMs: 600_000, staleWhileRevalidateMs: 0, maxEntries: 10_000 };
/** The tests move the cache's clock past it (no sleeping), so it can be long enough that nothing outlasts it by accident. */
const SHORT_TTL_MS = 60_000;
const PAST_TTL_MS = SHORT_TTL_MS + 1_000;
const SHOP_BATCH = 10;
const SYSTEMS: SystemName[] = ['crm', 'shop', 'support', 'marketing', 'analytics'];
const WEBHOOK_SECRET = 'demo-crm-webhook-secret';

const PAGE = `query Page($first: Int!, $after: String) {
  customers(first: $first, after: $after) { edges { node { profile { name email } orders { id } tickets { id } marketing { status } events(first: 3) { name } } } }
}`;
const PROFILE_PAGE = 'query($first: Int!, $after: String) { customers(first: $first, after: $after) { edges { node { profile { name } } } } }';
const NAME = 'query($id: ID!) { customer(id: $id) { profile { name provenance { field source fetchedAt } } } }';

const distinct = (links: Link[], source: string, entity: string) => new Set(links.filter((l) => l.source === source && l.entity === entity).map((l) => l.recordId));
const allRoutes = (t: TestHub) => Object.fromEntries(SYSTEMS.map((s) => [s, t.routes(s)]));
const cursorOf = (customerId: string) => Buffer.from(customerId, 'utf8').toString('base64url');

async function pageLinks(t: TestHub, first: number, after: string | null = null): Promise<{ ids: string[]; links: Link[] }> {
  const page = await t.store.pageCustomers(first, after);
  return { ids: page.customers.map((c) => c.customerId), links: page.customers.flatMap((c) => c.links) };
}

async function crmWrite(t: TestHub, id: string, fields: Record<string, unknown>) {
  const response = await fetch(`${t.systems.urls.crm}/contacts/${id}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) });
  expect(response.status).toBe(200);
}

async function metricValue(t: TestHub, line: string): Promise<number> {
  const text = await t.hub.services.telemetry.metrics.render();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : 0;
}

/** A customer with exactly one CRM contact (and, if asked, a shop customer too), from a page of the link table. */
async function customerWithContact(t: TestHub, skip: number, withShop = false) {
  const { customers } = await t.store.pageCustomers(300, null);
  const found = customers.filter((c) => distinct(c.links, 'crm', 'contact').size === 1 && (!withShop || distinct(c.links, 'shop', 'customer').size > 0))[skip]!;
  return { id: found.customerId, contactId: [...distinct(found.links, 'crm', 'contact')][0]!, shopIds: [...distinct(found.links, 'shop', 'customer')] };
}

describe('with a cache on some entities', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({
      people: 400,
      seed: 11,
      config: (config: HubConfig) => {
        const { crm, shop, support } = config.sources;
        crm!.entities.contact!.cache = LONG;
        shop!.entities.customer!.cache = LONG;
        // Small batches, so a page needs several calls and a half-cached page fewer.
        shop!.entities.customer!.batch!.maxBatchSize = SHOP_BATCH;
        shop!.entities.order!.cache = LONG;
        support!.entities.user!.cache = LONG; // no batch endpoint: one call per missed key
        // Uncached: support tickets, marketing members, analytics events.
        return config;
      },
    });
  });
  afterAll(() => t.close());

  test('a second identical query makes no call for cached entities and the same calls as the first for the others', async () => {
    const { links } = await pageLinks(t, 20);
    const crm = distinct(links, 'crm', 'contact').size;
    const shop = distinct(links, 'shop', 'customer').size;
    const support = distinct(links, 'support', 'user').size;
    const marketing = distinct(links, 'marketing', 'member').size;
    const devices = distinct(links, 'analytics', 'device').size;
    expect(Math.min(crm, shop, support, marketing, devices)).toBeGreaterThan(0);
    t.resetStats();
    const first = await t.graphql(PAGE, { variables: { first: 20 } });
    expect(first.errors).toBeUndefined();
    const uncached = {
      support: { 'GET /users/:id/tickets': support },
      marketing: { 'GET /members': Math.ceil(marketing / 100) },
      analytics: { 'POST /events/query': Math.ceil(devices / 100) },
    };
    expect(allRoutes(t)).toEqual({
      crm: { 'GET /contacts': Math.ceil(crm / 100) },
      shop: { 'POST /customers/batch': Math.ceil(shop / SHOP_BATCH), 'POST /orders/batch': Math.ceil(shop / 50) },
      ...uncached,
      support: { 'GET /users/:id': support, ...uncached.support },
    });

    t.resetStats();
    const second = await t.graphql(PAGE, { variables: { first: 20 } });
    expect(second.errors).toBeUndefined();
    expect(second.data).toEqual(first.data);
    expect(allRoutes(t)).toEqual({ crm: {}, shop: {}, ...uncached });
  });

  test('explain and /metrics show the hits, so a field with no upstream call says why', async () => {
    const { links } = await pageLinks(t, 20);
    const crm = distinct(links, 'crm', 'contact').size;
    const shop = distinct(links, 'shop', 'customer').size;
    const support = distinct(links, 'support', 'user').size;
    const freshBefore = await metricValue(t, 'rosetta_record_cache_lookups_total{source="crm",entity="contact",result="fresh"}');
    t.resetStats();
    const response = await t.graphql(PAGE, { variables: { first: 20 }, headers: { 'x-rosetta-explain': '1' } });
    const explain = response.extensions!.explain;
    expect(explain.upstream).toHaveLength(t.systems.totalRequests());
    const node = explain.plan[0].children.find((c: { field: string }) => c.field === 'edges').children.find((c: { field: string }) => c.field === 'node');
    const field = (name: string) => node.children.find((c: { field: string }) => c.field === name);
    expect(field('profile').upstream).toEqual([]);
    const bySource = (a: { source: string }, b: { source: string }) => a.source.localeCompare(b.source);
    expect([...field('profile').recordCache].sort(bySource)).toEqual([
      { source: 'crm', entity: 'contact', fresh: crm, stale: 0, misses: 0, shared: 0 },
      { source: 'shop', entity: 'customer', fresh: shop, stale: 0, misses: 0, shared: 0 },
      { source: 'support', entity: 'user', fresh: support, stale: 0, misses: 0, shared: 0 },
    ]);
    expect(field('orders')).toMatchObject({ upstream: [], recordCache: [{ source: 'shop', entity: 'order', fresh: shop, stale: 0, misses: 0, shared: 0 }] });
    expect(field('tickets').recordCache).toBeUndefined();
    expect(field('tickets').upstream).toEqual([expect.objectContaining({ source: 'support', operation: 'ticket.list', calls: support })]);
    expect(explain.recordCache).toEqual({ fresh: crm + 2 * shop + support, stale: 0, misses: 0, shared: 0 });
    expect(await metricValue(t, 'rosetta_record_cache_lookups_total{source="crm",entity="contact",result="fresh"}')).toBe(freshBefore + crm);
  });

  test('a page where half the customers are cached makes ceil(misses / maxBatchSize) calls', async () => {
    // Customers 21–80, not read yet; every other one is warmed first, so cached and missing keys interleave.
    const head = await pageLinks(t, 20);
    const after = head.ids.at(-1)!;
    const page = await pageLinks(t, 60, after);
    const warmed = page.ids.filter((_id, i) => i % 2 === 0);
    for (let i = 0; i < warmed.length; i += 10) {
      const batch = warmed.slice(i, i + 10);
      const query = `{ ${batch.map((id, j) => `c${j}: customer(id: "${id}") { profile { name } }`).join(' ')} }`;
      expect((await t.graphql(query)).errors).toBeUndefined();
    }
    const { customers } = await t.store.pageCustomers(60, after);
    const warmedLinks = customers.filter((c) => warmed.includes(c.customerId)).flatMap((c) => c.links);
    const misses = (source: string, entity: string) => {
      const cached = distinct(warmedLinks, source, entity);
      return [...distinct(page.links, source, entity)].filter((id) => !cached.has(id)).length;
    };
    const shopKeys = distinct(page.links, 'shop', 'customer').size;
    const shopMisses = misses('shop', 'customer');
    // The page must really need fewer calls than uncached, or the split is not being tested.
    expect(Math.ceil(shopMisses / SHOP_BATCH)).toBeLessThan(Math.ceil(shopKeys / SHOP_BATCH));
    expect(misses('support', 'user')).toBeGreaterThan(0);

    t.resetStats();
    const response = await t.graphql(PROFILE_PAGE, { variables: { first: 60, after: cursorOf(after) } });
    expect(response.errors).toBeUndefined();
    expect(response.data.customers.edges).toHaveLength(60);
    expect(allRoutes(t)).toEqual({
      crm: { 'GET /contacts': Math.ceil(misses('crm', 'contact') / 100) },
      shop: { 'POST /customers/batch': Math.ceil(shopMisses / SHOP_BATCH) },
      support: { 'GET /users/:id': misses('support', 'user') },
      marketing: {},
      analytics: {},
    });
  });

  test('a verified webhook for a record drops it from the cache: the next query reads it again', async () => {
    const { id, contactId } = await customerWithContact(t, 0);
    t.systems.webhooks.crm.target = null;
    await t.graphql(NAME, { variables: { id } });
    // Changed without telling the hub: the cache keeps serving what it read.
    await crmWrite(t, contactId, { first_name: 'Unannounced' });
    t.resetStats();
    const before = await t.graphql(NAME, { variables: { id } });
    expect(before.data.customer.profile.name).not.toMatch(/^Unannounced /);
    expect(t.routes('crm')).toEqual({});

    t.systems.webhooks.crm.target = { url: t.hub.url.replace('/graphql', '/webhooks/crm'), secret: WEBHOOK_SECRET };
    const delivered = t.systems.webhooks.crm.delivered;
    await crmWrite(t, contactId, { first_name: 'Announced' });
    expect(t.systems.webhooks.crm.delivered).toBe(delivered + 1);
    t.resetStats();
    const after = await t.graphql(NAME, { variables: { id } });
    expect(after.data.customer.profile.name).toMatch(/^Announced /);
    expect(t.routes('crm')).toEqual({ 'GET /contacts': 1 });
    t.systems.webhooks.crm.target = null;
  });

  test('forgetting a customer drops its cached records and the child lists keyed by them', async () => {
    const forgotten = await customerWithContact(t, 1, true);
    const kept = await customerWithContact(t, 2, true);
    await t.graphql(`query($a: ID!, $b: ID!) { a: customer(id: $a) { profile { name } orders { id } } b: customer(id: $b) { profile { name } orders { id } } }`, {
      variables: { a: forgotten.id, b: kept.id },
    });
    const cache = t.hub.services.recordCache;
    const held = (c: typeof forgotten) => [cache.records('crm', 'contact')!.has(c.contactId), ...c.shopIds.flatMap((s) => [cache.records('shop', 'customer')!.has(s), cache.children('shop', 'order')!.has(s)])];
    expect(held(forgotten).every(Boolean)).toBe(true);
    const response = await t.graphql('mutation($id: ID!) { forgetCustomer(id: $id) { customerId } }', { variables: { id: forgotten.id } });
    expect(response.errors).toBeUndefined();
    expect(held(forgotten).some(Boolean)).toBe(false);
    expect(held(kept).every(Boolean)).toBe(true);
  });
});

describe('with short ttls', () => {
  let t: TestHub;
  const clock = new ManualClock();
  beforeAll(async () => {
    t = await startTestHub({
      people: 200,
      seed: 12,
      recordCacheClock: clock.now,
      config: (config: HubConfig) => {
        const { crm, marketing } = config.sources;
        crm!.entities.contact!.cache = { ttlMs: SHORT_TTL_MS, staleWhileRevalidateMs: 600_000, maxEntries: 1_000 };
        // One attempt per read, so a failing refresh is exactly one request.
        crm!.resilience.retry.maxRetries = 0;
        marketing!.entities.member!.cache = { ttlMs: SHORT_TTL_MS, staleWhileRevalidateMs: 0, maxEntries: 1_000 };
        return config;
      },
    });
    t.systems.webhooks.crm.target = null;
  });
  afterAll(() => t.close());

  test('after the ttl, with no stale window, the record is read again', async () => {
    const { customers } = await t.store.pageCustomers(200, null);
    const id = customers.find((c) => distinct(c.links, 'marketing', 'member').size === 1)!.customerId;
    const MARKETING = 'query($id: ID!) { customer(id: $id) { marketing { status } } }';
    t.resetStats();
    await t.graphql(MARKETING, { variables: { id } });
    expect(t.routes('marketing')).toEqual({ 'GET /members': 1 });
    clock.pass(PAST_TTL_MS);
    t.resetStats();
    const again = await t.graphql(MARKETING, { variables: { id }, headers: { 'x-rosetta-explain': '1' } });
    expect(t.routes('marketing')).toEqual({ 'GET /members': 1 });
    // Read again because the cached copy expired, not because nothing was cached.
    expect(again.extensions!.explain.recordCache).toEqual({ fresh: 0, stale: 0, misses: 1, shared: 0 });
  });

  test('within the stale window the old value is served at once, one background refresh runs, then the new value is served', async () => {
    const { id, contactId } = await customerWithContact(t, 0);
    const first = await t.graphql(NAME, { variables: { id } });
    const oldName = first.data.customer.profile.name as string;
    const oldFetchedAt = first.data.customer.profile.provenance.find((p: { field: string }) => p.field === 'name').fetchedAt;
    await crmWrite(t, contactId, { first_name: 'Refreshed' });
    clock.pass(PAST_TTL_MS);

    t.resetStats();
    const stale = await t.graphql(NAME, { variables: { id }, headers: { 'x-rosetta-explain': '1' } });
    expect(stale.errors).toBeUndefined();
    expect(stale.data.customer.profile.name).toBe(oldName);
    // The provenance still says when the value was really read.
    expect(stale.data.customer.profile.provenance.find((p: { field: string }) => p.field === 'name').fetchedAt).toBe(oldFetchedAt);
    expect(stale.extensions!.explain.upstream.filter((c: { source: string }) => c.source === 'crm')).toEqual([]);
    expect(stale.extensions!.explain.recordCache).toEqual({ fresh: 0, stale: 1, misses: 0, shared: 0 });
    await t.hub.services.recordCache.idle();
    expect(t.routes('crm')).toEqual({ 'GET /contacts': 1 });
    expect(await metricValue(t, 'rosetta_record_cache_refreshes_total{source="crm",entity="contact",outcome="ok"}')).toBe(1);

    const fresh = await t.graphql(NAME, { variables: { id }, headers: { 'x-rosetta-explain': '1' } });
    expect(fresh.data.customer.profile.name).toMatch(/^Refreshed /);
    expect(fresh.extensions!.explain.upstream.filter((c: { source: string }) => c.source === 'crm')).toEqual([]);
  });

  test('a source failing during the refresh leaves the stale value served, without an error, until it recovers', async () => {
    const { id, contactId } = await customerWithContact(t, 1);
    const servedName = (await t.graphql(NAME, { variables: { id } })).data.customer.profile.name as string;
    clock.pass(PAST_TTL_MS);
    const faults = `${t.systems.urls.crm}/__faults`;
    const injected = await fetch(faults, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ faults: [{ kind: 'status', status: 500, route: 'GET /contacts' }] }) });
    expect(injected.status).toBe(200);
    try {
      const failedBefore = await metricValue(t, 'rosetta_record_cache_refreshes_total{source="crm",entity="contact",outcome="failed"}');
      t.resetStats();
      for (let i = 1; i <= 2; i++) {
        const response = await t.graphql(NAME, { variables: { id } });
        expect(response.errors).toBeUndefined();
        expect(response.data.customer.profile.name).toBe(servedName);
        await t.hub.services.recordCache.idle();
        // One refresh per stale query, one attempt each, all failed.
        expect(t.routes('crm')).toEqual({ 'GET /contacts': i });
        expect(await metricValue(t, 'rosetta_record_cache_refreshes_total{source="crm",entity="contact",outcome="failed"}')).toBe(failedBefore + i);
      }
    } finally {
      await fetch(faults, { method: 'DELETE' });
    }
    await crmWrite(t, contactId, { first_name: 'Recovered' });
    expect((await t.graphql(NAME, { variables: { id } })).data.customer.profile.name).toBe(servedName);
    await t.hub.services.recordCache.idle();
    expect((await t.graphql(NAME, { variables: { id } })).data.customer.profile.name).toMatch(/^Recovered /);
  });
});

describe('by default', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ people: 200, seed: 13 });
  });
  afterAll(() => t.close());

  test('nothing is cached: the demo config makes the same calls for the same query twice', async () => {
    expect(t.config.sources.crm!.entities.contact!.cache).toBeUndefined();
    t.resetStats();
    const first = await t.graphql(PAGE, { variables: { first: 20 } });
    expect(first.errors).toBeUndefined();
    const firstRoutes = allRoutes(t);
    expect(firstRoutes.crm).toEqual({ 'GET /contacts': 1 });
    t.resetStats();
    const second = await t.graphql(PAGE, { variables: { first: 20 }, headers: { 'x-rosetta-explain': '1' } });
    expect(second.data).toEqual(first.data);
    expect(allRoutes(t)).toEqual(firstRoutes);
    expect(second.extensions!.explain.recordCache).toBeUndefined();
  });
});
