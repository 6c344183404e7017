// The simulated Stripe API against stripe.com/docs/api: list envelope, starting_after to the end, case-sensitive email filter, errors, auth, rate limit.
import { describe, expect, test } from 'vitest';
import { STRIPE_TEST_KEY, createStripeServer } from '../../src/demo/vendors/stripe.js';
import { call, manualClock, serveVendor, vendorData } from './helpers.js';

const clock = manualClock();
const stripe = serveVendor(createStripeServer(vendorData, { requestsPerSecond: 1000, now: clock.now }));
const auth = { authorization: `Bearer ${STRIPE_TEST_KEY}` };
const get = (path: string, headers: Record<string, string> = auth) => call(`${stripe.url}${path}`, { headers });

describe('Stripe', () => {
  test('pages every customer newest first with starting_after until has_more is false', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    for (;;) {
      const { status, body } = await get(`/v1/customers?limit=100${after ? `&starting_after=${after}` : ''}`);
      expect(status).toBe(200);
      expect(body).toMatchObject({ object: 'list', url: '/v1/customers' });
      pages += 1;
      seen.push(...body.data.map((c: { id: string }) => c.id));
      if (!body.has_more) break;
      after = body.data.at(-1).id;
    }
    expect(seen).toEqual(stripe.customers.map((c) => c.id));
    expect(pages).toBe(Math.ceil(stripe.customers.length / 100));
    const created = (await get(`/v1/customers?limit=3`)).body.data.map((c: { created: number }) => c.created);
    expect([...created].sort((a, b) => b - a)).toEqual(created);
    expect((await get('/v1/customers?limit=101')).body.error).toMatchObject({ param: 'limit', type: 'invalid_request_error' });
  });

  test('filters by email exactly and case-sensitively', async () => {
    const typedInCapitals = vendorData.holders.stripe.find((h) => /[A-Z]/.test(h.email ?? ''))!;
    const customer = (await get('/v1/customers/' + stripe.customers.find((c) => c.personId === typedInCapitals.person.personId)!.id)).body;
    expect(customer.email).toMatch(/[A-Z]/);
    expect((await get(`/v1/customers?email=${encodeURIComponent(customer.email)}`)).body.data.map((c: { id: string }) => c.id)).toEqual([customer.id]);
    expect((await get(`/v1/customers?email=${encodeURIComponent(customer.email.toLowerCase())}`)).body.data).toEqual([]);
  });

  test('lists subscriptions without the canceled ones unless asked (status=all, ended), with the billing period on the item since basil', async () => {
    const all = (await get('/v1/subscriptions?status=all&limit=100')).body.data as { id: string; status: string; customer: string }[];
    const statuses = new Set(all.map((s) => s.status));
    expect(statuses).toContain('canceled');
    expect(statuses).toContain('active');
    const byDefault = (await get('/v1/subscriptions?limit=100')).body.data as { id: string; status: string }[];
    // Both newest first: the default page starts with the not-canceled ones of the page of all statuses.
    const notCanceled = all.filter((s) => s.status !== 'canceled').map((s) => s.id);
    expect(byDefault.slice(0, notCanceled.length).map((s) => s.id)).toEqual(notCanceled);
    expect(byDefault.every((s) => s.status !== 'canceled')).toBe(true);
    const ended = (await get('/v1/subscriptions?status=ended&limit=100')).body.data as { status: string }[];
    expect(new Set(ended.map((s) => s.status))).toEqual(new Set(['canceled', 'incomplete_expired']));
    const one = all.find((s) => s.status === 'active')!;
    const mine = (await get(`/v1/subscriptions?customer=${one.customer}&status=all`)).body.data as { customer: string }[];
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((s) => s.customer === one.customer)).toBe(true);
    const basil = (await get(`/v1/subscriptions/${one.id}`, { ...auth, 'stripe-version': '2025-03-31.basil' })).body;
    const older = (await get(`/v1/subscriptions/${one.id}`, { ...auth, 'stripe-version': '2024-06-20' })).body;
    expect(basil.current_period_end).toBeUndefined();
    expect(basil.items.data[0].current_period_end).toBeGreaterThan(basil.start_date);
    expect(older.current_period_end).toBe(basil.items.data[0].current_period_end);
    expect((await get('/v1/subscriptions?status=gone')).body.error).toMatchObject({ param: 'status', type: 'invalid_request_error' });
  });

  test('lists a customer’s charges, and answers an unknown ID with resource_missing', async () => {
    const holder = vendorData.holders.stripe.findLast((h) => h.children === 3)!;
    const id = stripe.customers.find((c) => c.personId === holder.person.personId)!.id;
    const { body } = await get(`/v1/charges?customer=${id}&limit=100`);
    expect(body.data).toHaveLength(3);
    expect(body.data.every((c: { customer: string; object: string }) => c.customer === id && c.object === 'charge')).toBe(true);
    const missing = await get('/v1/customers/cus_doesnotexist00');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { code: 'resource_missing', param: 'id', message: "No such customer: 'cus_doesnotexist00'", type: 'invalid_request_error' } });
  });

  test('refuses a missing or wrong key with 401 and an invalid_request_error', async () => {
    const none = await get('/v1/customers', {});
    expect(none.status).toBe(401);
    expect(none.body.error.message).toMatch(/^You did not provide an API key/);
    const wrong = await get('/v1/customers', { authorization: 'Bearer sk_test_wrongwrongwrong1234' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: { message: 'Invalid API Key provided: sk_test_***************1234', type: 'invalid_request_error' } });
  });

  test('answers 429 rate_limit beyond the requests allowed per second, and serves again a second later', async () => {
    const limited = createStripeServer(vendorData, { requestsPerSecond: 3, now: clock.now });
    await limited.listen(0);
    try {
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await call(`${limited.url}/v1/customers?limit=1`, { headers: auth })).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      expect((await call(`${limited.url}/v1/customers`, { headers: auth })).body.error).toMatchObject({ code: 'rate_limit' });
      clock.advance(1000);
      expect((await call(`${limited.url}/v1/customers?limit=1`, { headers: auth })).status).toBe(200);
      expect(limited.stats().routes['GET /v1/customers']).toBe(7);
    } finally {
      await limited.close();
    }
  });
});
