// Simulated Stripe API (customers, charges, subscriptions) after stripe.com/docs/api: list envelopes, starting_after cursors, bearer keys, error objects.
import type { IncomingHttpHeaders } from 'node:http';
import { Reply } from '../http-app.js';
import { idFrom, type VendorData, type VendorPerson } from './people.js';
import { VendorApp, basicCredentials, bearerToken, intParam, rateLimitGuard, vendorError, type VendorOptions, type VendorRateLimit } from './vendor-app.js';

export const STRIPE_TEST_KEY = 'sk_test_51RosettaSimulatedKey00000000';
const STRIPE_MAX_LIMIT = 100;
/** Single endpoints default to 25 a second (the account as a whole: 100 in live mode, 25 in a sandbox). */
export const STRIPE_ENDPOINT_RATE_LIMIT: VendorRateLimit = { kind: 'window', max: 25, windowMs: 1000 };
/** Stripe-Version pins the API version a request is answered in: a release date, with an optional `.name` suffix. */
const STRIPE_VERSION = /^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/;

export interface StripeOptions extends VendorOptions {
  apiKey?: string;
}

const invalidRequest = (status: number, message: string, extra: Record<string, string> = {}) => vendorError(status, { error: { ...extra, message, type: 'invalid_request_error' } });

function stripeCustomer(holder: VendorPerson, id: string) {
  const { person } = holder;
  return {
    id,
    object: 'customer',
    address: { city: person.address.city, country: person.address.country, line1: person.address.street, line2: null, postal_code: person.address.postalCode, state: null },
    balance: 0,
    created: holder.createdAt,
    currency: 'usd',
    default_source: null,
    delinquent: false,
    description: null,
    email: holder.email,
    invoice_prefix: idFrom(holder.index, 11, 8, '0123456789ABCDEF'),
    invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
    livemode: false,
    metadata: {},
    name: `${person.firstName} ${person.lastName}`,
    phone: holder.phone,
    preferred_locales: [],
    shipping: null,
    tax_exempt: 'none',
    test_clock: null,
  };
}

type StripeCustomer = ReturnType<typeof stripeCustomer>;

function stripeCharge(customer: StripeCustomer, holder: VendorPerson, n: number) {
  const created = holder.createdAt + (n + 1) * 86_400 * 7;
  const amount = 500 + (((holder.index + 1) * 7919 * (n + 3)) % 20_000);
  const failed = (holder.index + n) % 11 === 0;
  const refunded = !failed && (holder.index + n) % 7 === 0;
  return {
    id: `ch_3${idFrom(holder.index * 16 + n, 23, 23)}`,
    object: 'charge',
    amount,
    amount_captured: failed ? 0 : amount,
    amount_refunded: refunded ? amount : 0,
    balance_transaction: failed ? null : `txn_3${idFrom(holder.index * 16 + n, 29, 23)}`,
    billing_details: { address: customer.address, email: customer.email, name: customer.name, phone: customer.phone },
    captured: !failed,
    created,
    currency: 'usd',
    customer: customer.id,
    description: `Order ${1000 + holder.index * 4 + n}`,
    failure_code: failed ? 'card_declined' : null,
    failure_message: failed ? 'Your card was declined.' : null,
    livemode: false,
    metadata: {},
    paid: !failed,
    payment_intent: `pi_3${idFrom(holder.index * 16 + n, 31, 23)}`,
    receipt_email: customer.email,
    refunded,
    status: failed ? 'failed' : 'succeeded',
  };
}

/** Plans a simulated customer subscribes to: price ID, nickname, product, monthly amount in cents, interval. */
const PLANS = [
  { price: 'price_1RosettaStarterMonthly0', nickname: 'Starter', product: 'prod_RosettaStarter', unitAmount: 900, interval: 'month' },
  { price: 'price_1RosettaTeamMonthly00000', nickname: 'Team', product: 'prod_RosettaTeam', unitAmount: 4900, interval: 'month' },
  { price: 'price_1RosettaBusinessYearly00', nickname: 'Business', product: 'prod_RosettaBusiness', unitAmount: 99000, interval: 'year' },
] as const;

/** Statuses a subscription can have (docs.stripe.com/api/subscriptions/object#subscription_object-status). */
const SUBSCRIPTION_STATUSES = ['active', 'active', 'trialing', 'past_due', 'canceled', 'active', 'unpaid', 'incomplete_expired', 'paused'] as const;

/**
 * A customer's subscriptions: every other customer has one, every sixth a second (often an older, canceled one).
 * Since API version 2025-03-31 the billing period sits on each subscription item, not on the subscription.
 */
function stripeSubscriptions(customer: StripeCustomer, holder: VendorPerson) {
  const count = holder.index % 2 === 1 ? 0 : holder.index % 6 === 0 ? 2 : 1;
  return Array.from({ length: count }, (_, n) => {
    const plan = PLANS[(holder.index + n) % PLANS.length]!;
    const status = SUBSCRIPTION_STATUSES[(holder.index / 2 + n * 4) % SUBSCRIPTION_STATUSES.length]!;
    const created = holder.createdAt + 86_400 * (3 + n * 40);
    const period = plan.interval === 'year' ? 365 * 86_400 : 30 * 86_400;
    const periodStart = created + period * Math.max(0, 2 - n);
    const ended = status === 'canceled' || status === 'incomplete_expired' ? periodStart + 86_400 : null;
    const id = `sub_1${idFrom(holder.index * 8 + n, 37, 23)}`;
    return {
      id,
      object: 'subscription',
      application: null,
      billing_cycle_anchor: created,
      cancel_at: null,
      cancel_at_period_end: status === 'active' && holder.index % 10 === 0,
      canceled_at: ended,
      cancellation_details: { comment: null, feedback: ended ? 'too_expensive' : null, reason: ended ? 'cancellation_requested' : null },
      collection_method: 'charge_automatically',
      created,
      currency: 'usd',
      customer: customer.id,
      days_until_due: null,
      default_payment_method: null,
      description: null,
      discounts: [],
      ended_at: ended,
      items: {
        object: 'list',
        data: [
          {
            id: `si_${idFrom(holder.index * 8 + n, 41, 14)}`,
            object: 'subscription_item',
            created,
            current_period_end: periodStart + period,
            current_period_start: periodStart,
            metadata: {},
            price: { id: plan.price, object: 'price', active: true, currency: 'usd', nickname: plan.nickname, product: plan.product, recurring: { interval: plan.interval, interval_count: 1, usage_type: 'licensed' }, type: 'recurring', unit_amount: plan.unitAmount },
            quantity: 1 + (holder.index % 3),
            subscription: id,
          },
        ],
        has_more: false,
        total_count: 1,
        url: `/v1/subscription_items?subscription=${id}`,
      },
      latest_invoice: `in_1${idFrom(holder.index * 8 + n, 43, 23)}`,
      livemode: false,
      metadata: {},
      pause_collection: status === 'paused' ? { behavior: 'void', resumes_at: null } : null,
      start_date: created,
      status,
      test_clock: null,
      trial_end: status === 'trialing' ? created + 14 * 86_400 : null,
      trial_start: status === 'trialing' ? created : null,
    };
  });
}

type StripeSubscription = ReturnType<typeof stripeSubscriptions>[number];

/** The version whose subscriptions lost their own billing period to their items (API changelog, 2025-03-31.basil). */
const BASIL = '2025-03-31';

/** Before basil, a subscription also carried the billing period of its items itself. */
function asOfVersion(subscription: StripeSubscription, headers: IncomingHttpHeaders) {
  const version = headers['stripe-version'];
  if (typeof version === 'string' && version.slice(0, 10) >= BASIL) return subscription;
  const item = subscription.items.data[0]!;
  return { ...subscription, current_period_end: item.current_period_end, current_period_start: item.current_period_start };
}

/** `status` of GET /v1/subscriptions: absent lists every subscription not canceled; `all` every one; `ended` canceled and expired. */
function subscriptionStatusFilter(status: string | null): (subscription: StripeSubscription) => boolean {
  if (status === null) return (s) => s.status !== 'canceled';
  if (status === 'all') return () => true;
  if (status === 'ended') return (s) => s.status === 'canceled' || s.status === 'incomplete_expired';
  if (!(SUBSCRIPTION_STATUSES as readonly string[]).includes(status) && status !== 'incomplete') {
    throw invalidRequest(400, `Invalid status: must be one of active, past_due, unpaid, canceled, incomplete, incomplete_expired, trialing, paused, all, or ended`, { param: 'status' });
  }
  return (s) => s.status === status;
}

/** Stripe lists newest first; `starting_after` is the ID of the last object of the previous page. */
function listPage<T extends { id: string }>(all: readonly T[], query: URLSearchParams, url: string, kind: string) {
  const limit = intParam(query.get('limit'), 10, 1, STRIPE_MAX_LIMIT, (m) => invalidRequest(400, `Invalid limit: ${m}`, { param: 'limit' }));
  const after = query.get('starting_after');
  let start = 0;
  if (after !== null) {
    const at = all.findIndex((item) => item.id === after);
    if (at < 0) throw invalidRequest(400, `No such ${kind}: '${after}'`, { code: 'resource_missing', param: 'starting_after' });
    start = at + 1;
  }
  const data = all.slice(start, start + limit);
  return { object: 'list', data, has_more: start + limit < all.length, url };
}

function authenticate(headers: IncomingHttpHeaders, apiKey: string): void {
  // Stripe takes the key as a bearer token or as the basic-auth user name.
  const key = bearerToken(headers) ?? basicCredentials(headers)?.username;
  if (key === undefined) {
    throw invalidRequest(401, "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').");
  }
  if (key !== apiKey) throw invalidRequest(401, `Invalid API Key provided: ${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`);
  // Absent, the account's default version answers; a version Stripe does not know is refused.
  const version = headers['stripe-version'];
  if (version !== undefined && !STRIPE_VERSION.test(String(version))) throw invalidRequest(400, `Invalid Stripe API version: ${String(version)}`);
}

export function createStripeServer(data: VendorData, options: StripeOptions = {}): VendorApp {
  const apiKey = options.apiKey ?? STRIPE_TEST_KEY;
  const holders = [...data.holders.stripe].reverse();
  const customers = holders.map((holder) => stripeCustomer(holder, `cus_${idFrom(holder.index, 3, 14)}`));
  const byId = new Map(customers.map((c) => [c.id, c]));
  const charges = customers
    .flatMap((customer, i) => Array.from({ length: holders[i]!.children }, (_, n) => stripeCharge(customer, holders[i]!, n)))
    .sort((a, b) => b.created - a.created);
  const chargeById = new Map(charges.map((c) => [c.id, c]));
  const subscriptions = customers.flatMap((customer, i) => stripeSubscriptions(customer, holders[i]!)).sort((a, b) => b.created - a.created);
  const subscriptionById = new Map(subscriptions.map((s) => [s.id, s]));

  const app = new VendorApp(
    'stripe',
    options,
    customers.map((c, i) => ({ id: c.id, personId: holders[i]!.person.personId })),
    (url) => ({ STRIPE_URL: url, STRIPE_API_KEY: apiKey }),
  );
  return app
    .guard(({ headers }) => authenticate(headers, apiKey))
    .guard(rateLimitGuard(options, () => vendorError(429, { error: { code: 'rate_limit', message: 'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.', type: 'invalid_request_error' } })))
    .get('/v1/customers', ({ query }) => {
      // `email` is a case-sensitive exact filter, as the API reference says.
      const email = query.get('email');
      return listPage(email === null ? customers : customers.filter((c) => c.email === email), query, '/v1/customers', 'customer');
    })
    .get('/v1/customers/:id', ({ params }) => {
      const customer = byId.get(params.id);
      if (!customer) throw invalidRequest(404, `No such customer: '${params.id}'`, { code: 'resource_missing', param: 'id' });
      return customer;
    })
    .get('/v1/charges', ({ query }) => {
      const customer = query.get('customer');
      return listPage(customer === null ? charges : charges.filter((c) => c.customer === customer), query, '/v1/charges', 'charge');
    })
    .get('/v1/charges/:id', ({ params }) => {
      const charge = chargeById.get(params.id);
      if (!charge) throw invalidRequest(404, `No such charge: '${params.id}'`, { code: 'resource_missing', param: 'id' });
      return new Reply(200, charge);
    })
    .get('/v1/subscriptions', ({ query, headers }) => {
      const customer = query.get('customer');
      const wanted = subscriptionStatusFilter(query.get('status'));
      const page = listPage(subscriptions.filter((s) => (customer === null || s.customer === customer) && wanted(s)), query, '/v1/subscriptions', 'subscription');
      return { ...page, data: page.data.map((s) => asOfVersion(s, headers)) };
    })
    .get('/v1/subscriptions/:id', ({ params, headers }) => {
      const subscription = subscriptionById.get(params.id);
      if (!subscription) throw invalidRequest(404, `No such subscription: '${params.id}'`, { code: 'resource_missing', param: 'id' });
      return asOfVersion(subscription, headers);
    });
}
