// The vendors' documented quotas: the simulators count requests as each vendor does and refuse with its own 429, and
// each recipe's declared rateLimit keeps the hub inside its vendor's quota.
import { describe, expect, test } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import { HUBSPOT_RATE_LIMIT, createHubSpotServer } from '../../src/demo/vendors/hubspot.js';
import { INTERCOM_RATE_LIMIT, createIntercomServer } from '../../src/demo/vendors/intercom.js';
import type { VendorName } from '../../src/demo/vendors/people.js';
import { SHOPIFY_API_VERSION, SHOPIFY_RATE_LIMIT, createShopifyServer } from '../../src/demo/vendors/shopify.js';
import { STRIPE_ENDPOINT_RATE_LIMIT, createStripeServer } from '../../src/demo/vendors/stripe.js';
import { LeakyBucket, WindowLimit, type VendorApp, type VendorRateLimit } from '../../src/demo/vendors/vendor-app.js';
import { ZENDESK_RATE_LIMIT, createZendeskServer } from '../../src/demo/vendors/zendesk.js';
import { recipePath } from '../recipes/recipe-harness.js';
import { call, manualClock, vendorData } from './helpers.js';

describe('how the simulators count', () => {
  test('a rolling window accepts max requests in any windowMs, counting from each accepted one', () => {
    const clock = manualClock();
    const window = new WindowLimit(100, 10_000, clock.now);
    const accepted = () => Array.from({ length: 150 }, () => window.take()).filter((wait) => wait === null).length;
    expect(accepted()).toBe(100);
    clock.advance(9_999);
    expect(window.take()).toBe(1);
    clock.advance(1);
    expect(accepted()).toBe(100);
    expect(window.refused).toBe(101);
  });

  test('a leaky bucket takes its capacity at once, then drains at its rate', () => {
    const clock = manualClock();
    const bucket = new LeakyBucket(40, 2, clock.now);
    const accepted = () => Array.from({ length: 60 }, () => bucket.take()).filter((wait) => wait === null).length;
    expect(accepted()).toBe(40);
    expect(bucket.take()).toBe(500);
    clock.advance(3_000);
    expect(accepted()).toBe(6);
  });
});

describe('each simulator refuses with its vendor\'s own 429', () => {
  const ok = { status: 200 };
  async function overflow(app: VendorApp, url: (base: string) => string, headers: Record<string, string>, accepted: number) {
    await app.listen(0);
    try {
      const answers = [];
      for (let i = 0; i <= accepted; i++) answers.push(await call(url(app.url), { headers }));
      expect(answers.slice(0, accepted).map((a) => a.status)).toEqual(Array(accepted).fill(ok.status));
      return answers[accepted]!;
    } finally {
      await app.close();
    }
  }

  test('HubSpot: TEN_SECONDLY_ROLLING with its X-HubSpot-RateLimit-* headers', async () => {
    const clock = manualClock();
    const refused = await overflow(
      createHubSpotServer(vendorData, { rateLimit: { kind: 'window', max: 3, windowMs: 10_000 }, now: clock.now }),
      (base) => `${base}/crm/v3/objects/contacts?limit=1`,
      { authorization: 'Bearer pat-na1-5f1c0de0-0000-4000-8000-rosettasim001' },
      3,
    );
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ status: 'error', errorType: 'RATE_LIMIT', policyName: 'TEN_SECONDLY_ROLLING', message: 'You have reached your ten_secondly_rolling limit.' });
    expect(Object.fromEntries([...refused.headers].filter(([name]) => name.startsWith('x-hubspot-ratelimit')))).toEqual({
      'x-hubspot-ratelimit-interval-milliseconds': '10000',
      'x-hubspot-ratelimit-max': '3',
      'x-hubspot-ratelimit-remaining': '0',
    });
  });

  test('Zendesk: a plain-text 429 with Retry-After in whole seconds and the per-minute X-Rate-Limit', async () => {
    const clock = manualClock();
    const refused = await overflow(
      createZendeskServer(vendorData, { rateLimit: { kind: 'window', max: 2, windowMs: 60_000 }, now: clock.now }),
      (base) => `${base}/api/v2/users.json?per_page=1`,
      { authorization: `Basic ${Buffer.from('integrations@rosetta-sim.example/token:6wiIBWbGkBMo1mRDMuVwkw1EPsNkeUj95PIz2akv').toString('base64')}` },
      2,
    );
    expect(refused.status).toBe(429);
    expect(refused.text).toBe('Number of allowed API requests per minute exceeded');
    expect([refused.headers.get('retry-after'), refused.headers.get('x-rate-limit'), refused.headers.get('x-rate-limit-remaining')]).toEqual(['60', '2', '0']);
  });

  test('Shopify: the leaky bucket overflows after its capacity, with Retry-After and X-Shopify-Shop-Api-Call-Limit', async () => {
    const clock = manualClock();
    const refused = await overflow(
      createShopifyServer(vendorData, { rateLimit: { kind: 'leakyBucket', capacity: 4, leakPerSecond: 2 }, now: clock.now }),
      (base) => `${base}/admin/api/${SHOPIFY_API_VERSION}/customers.json?limit=1`,
      { 'x-shopify-access-token': 'shpat_0123456789abcdef0123456789rosetta' },
      4,
    );
    expect(refused.status).toBe(429);
    expect(refused.body.errors).toBe('Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.');
    expect([refused.headers.get('retry-after'), refused.headers.get('x-shopify-shop-api-call-limit')]).toEqual(['2.0', '4/4']);
  });

  test('Intercom: rate_limit_exceeded with the window\'s X-RateLimit-Limit and its reset in epoch seconds', async () => {
    const clock = manualClock();
    const refused = await overflow(
      createIntercomServer(vendorData, { rateLimit: { kind: 'window', max: 2, windowMs: 10_000 }, now: clock.now }),
      (base) => `${base}/contacts?per_page=1`,
      { authorization: 'Bearer dG9rOjRmYjVlMzE0X3Jvc2V0dGFfc2ltOjE6MA==', 'intercom-version': '2.11' },
      2,
    );
    expect(refused.status).toBe(429);
    expect([refused.headers.get('x-ratelimit-limit'), refused.headers.get('x-ratelimit-remaining'), refused.headers.get('x-ratelimit-reset')]).toEqual([
      '2',
      '0',
      String(Math.ceil((clock.now() + 10_000) / 1000)),
    ]);
  });

  test('Stripe: a Stripe-Version it does not know is refused with 400, a release date is honoured', async () => {
    const stripe = createStripeServer(vendorData);
    await stripe.listen(0);
    try {
      const auth = { authorization: 'Bearer sk_test_51RosettaSimulatedKey00000000' };
      const pinned = await call(`${stripe.url}/v1/customers?limit=1`, { headers: { ...auth, 'stripe-version': '2024-06-20' } });
      const unknown = await call(`${stripe.url}/v1/customers?limit=1`, { headers: { ...auth, 'stripe-version': 'latest' } });
      expect(pinned.status).toBe(200);
      expect(unknown.status).toBe(400);
      expect(unknown.body).toEqual({ error: { message: 'Invalid Stripe API version: latest', type: 'invalid_request_error' } });
    } finally {
      await stripe.close();
    }
  });
});

/** The most requests a token bucket lets out in any `windowMs`: all of its burst, plus the rate for the whole window. */
const mostInWindow = (rate: { requestsPerSecond: number; burst: number }, windowMs: number) => rate.burst + (rate.requestsPerSecond * windowMs) / 1000;

describe('each recipe declares its vendor\'s documented rate limit', () => {
  const env = { STRIPE_URL: 'http://127.0.0.1:9', STRIPE_API_KEY: 'k', HUBSPOT_URL: 'http://127.0.0.1:9', HUBSPOT_TOKEN: 't', ZENDESK_URL: 'http://127.0.0.1:9', ZENDESK_EMAIL: 'e@x.io', ZENDESK_API_TOKEN: 't', SHOPIFY_URL: 'http://127.0.0.1:9', SHOPIFY_ACCESS_TOKEN: 't', INTERCOM_URL: 'http://127.0.0.1:9', INTERCOM_TOKEN: 't' };

  test.each<[VendorName, VendorRateLimit, number]>([
    ['stripe', STRIPE_ENDPOINT_RATE_LIMIT, 25],
    ['hubspot', HUBSPOT_RATE_LIMIT, 100],
    ['zendesk', ZENDESK_RATE_LIMIT, 700],
    ['intercom', INTERCOM_RATE_LIMIT, 1_666],
  ])('%s: no window of the vendor\'s length sees more than it allows, and the budget is used to within 10%%', (vendor, limit, allowed) => {
    const rate = loadConfigFile(recipePath(vendor), env).sources[vendor]!.rateLimit!;
    expect(limit).toMatchObject({ kind: 'window', max: allowed });
    const windowMs = limit.kind === 'window' ? limit.windowMs : 0;
    expect(mostInWindow(rate, windowMs)).toBeLessThanOrEqual(allowed);
    expect(mostInWindow(rate, windowMs)).toBeGreaterThanOrEqual(allowed * 0.9);
  });

  test('shopify: the token bucket is the leaky bucket\'s size and rate, so it never overflows it', () => {
    const rate = loadConfigFile(recipePath('shopify'), env).sources.shopify!.rateLimit!;
    expect(SHOPIFY_RATE_LIMIT).toEqual({ kind: 'leakyBucket', capacity: 40, leakPerSecond: 2 });
    expect(rate).toEqual({ requestsPerSecond: 2, burst: 40 });
  });

  test('zendesk: another plan\'s figures come from the environment', () => {
    const rate = loadConfigFile(recipePath('zendesk'), { ...env, ZENDESK_REQUESTS_PER_SECOND: '6', ZENDESK_BURST: '40' }).sources.zendesk!.rateLimit!;
    expect(mostInWindow(rate, 60_000)).toBe(400);
  });
});
