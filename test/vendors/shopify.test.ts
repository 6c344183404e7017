// The simulated Shopify Admin REST API: Link-header page_info pagination, customer search, open vs any orders, token header, 429.
import { describe, expect, test } from 'vitest';
import { SHOPIFY_API_VERSION, SHOPIFY_TEST_TOKEN, createShopifyServer } from '../../src/demo/vendors/shopify.js';
import { call, manualClock, serveVendor, vendorData } from './helpers.js';

const shopify = serveVendor(createShopifyServer(vendorData));
const headers = { 'x-shopify-access-token': SHOPIFY_TEST_TOKEN };
const API = `/admin/api/${SHOPIFY_API_VERSION}`;
const get = (pathOrUrl: string) => call(pathOrUrl.startsWith('http') ? pathOrUrl : `${shopify.url}${API}${pathOrUrl}`, { headers });
const nextLink = (link: string | null) => /<([^>]+)>;\s*rel="next"/.exec(link ?? '')?.[1] ?? null;

describe('Shopify Admin REST', () => {
  test('pages every customer by following the Link header’s rel="next" until there is none', async () => {
    const seen: number[] = [];
    let next: string | null = '/customers.json?limit=100';
    let pages = 0;
    while (next) {
      const { status, headers: h, body }: { status: number; headers: Headers; body: any } = await get(next);
      expect(status).toBe(200);
      pages += 1;
      seen.push(...body.customers.map((c: { id: number }) => c.id));
      next = nextLink(h.get('link'));
      if (pages > 1) expect(h.get('link')).toContain('rel="previous"');
    }
    expect(seen.map(String)).toEqual(shopify.customers.map((c) => c.id));
    expect(pages).toBe(Math.ceil(shopify.customers.length / 100));
    expect((await get('/customers.json?limit=251')).status).toBe(400);
  });

  test('refuses page_info combined with a filter: filters live in the cursor', async () => {
    const first = await get('/customers.json?limit=10');
    const next = new URL(nextLink(first.headers.get('link'))!);
    next.searchParams.set('ids', '1');
    const { status, body } = await get(next.toString());
    expect(status).toBe(400);
    expect(body.errors).toHaveProperty('page_info');
  });

  test('searches customers by email in any case, and lists only open orders unless asked for status=any', async () => {
    const holder = vendorData.holders.shopify.find((h) => h.email && h.children === 3)!;
    const id = Number(shopify.customers.find((c) => c.personId === holder.person.personId)!.id);
    const found = await get(`/customers/search.json?query=${encodeURIComponent(`email:${holder.person.email.toUpperCase()}`)}`);
    expect(found.body.customers.map((c: { id: number }) => c.id)).toEqual([id]);
    const any = await get(`/customers/${id}/orders.json?status=any`);
    expect(any.body.orders).toHaveLength(3);
    const open = await get(`/customers/${id}/orders.json`);
    expect(open.body.orders.length).toBe(any.body.orders.filter((o: { closed_at: string | null; cancelled_at: string | null }) => !o.closed_at && !o.cancelled_at).length);
    expect(open.body.orders.length).toBeLessThan(3);
    const order = await get(`/orders/${any.body.orders[0].id}.json`);
    expect(order.body.order).toMatchObject({ id: any.body.orders[0].id, customer: { id }, name: expect.stringMatching(/^#\d+$/) });
    expect((await get(`/customers/${id}.json`)).body.customer.id).toBe(id);
    expect((await get('/customers/1.json')).body).toEqual({ errors: 'Not Found' });
  });

  test('refuses a wrong access token with 401 and Shopify’s errors string', async () => {
    const { status, body } = await call(`${shopify.url}${API}/customers.json`, { headers: { 'x-shopify-access-token': 'shpat_wrong' } });
    expect(status).toBe(401);
    expect(body).toEqual({ errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' });
  });

  test('answers 429 with Retry-After beyond its calls per second', async () => {
    const clock = manualClock();
    const limited = createShopifyServer(vendorData, { requestsPerSecond: 2, now: clock.now });
    await limited.listen(0);
    try {
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await call(`${limited.url}${API}/customers.json?limit=1`, { headers }));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 429]);
      expect(answers[2]!.headers.get('retry-after')).toBe('2.0');
      expect(answers[2]!.body.errors).toMatch(/^Exceeded 2 calls per second/);
    } finally {
      await limited.close();
    }
  });
});
