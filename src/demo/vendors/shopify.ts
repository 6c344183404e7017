// Simulated Shopify Admin REST API (customers, orders) after shopify.dev: Link-header page_info pagination, X-Shopify-Access-Token, leaky-bucket 429s.
import type { IncomingHttpHeaders } from 'node:http';
import { Reply, decodeCursor, encodeCursor, HttpError } from '../http-app.js';
import { phoneKey } from '../identifiers.js';
import type { VendorData, VendorPerson } from './people.js';
import { VendorApp, intParam, rateLimitGuard, vendorError, type VendorOptions, type VendorRateLimit } from './vendor-app.js';

export const SHOPIFY_API_VERSION = '2024-10';
export const SHOPIFY_TEST_TOKEN = 'shpat_0123456789abcdef0123456789rosetta';
const SHOPIFY_LIMIT_MAX = 250;
/** REST Admin API, standard plans: a bucket of 40 requests that drains 2 a second (Advanced 4/s, Plus 20/s, with larger buckets). */
export const SHOPIFY_RATE_LIMIT: VendorRateLimit = { kind: 'leakyBucket', capacity: 40, leakPerSecond: 2 };

export interface ShopifyOptions extends VendorOptions {
  accessToken?: string;
}

const shopifyError = (status: number, errors: unknown, headers: Record<string, string> = {}) => vendorError(status, { errors }, headers);
const API = `/admin/api/${SHOPIFY_API_VERSION}`;

/** Shopify reports times in the shop's zone (here US Eastern, standard time). */
function shopTime(seconds: number): string {
  return new Date((seconds - 5 * 3600) * 1000).toISOString().replace(/\.000Z$/, '-05:00');
}

const PRODUCTS = [
  { sku: 'TEE-BLK-M', title: 'Logo T-shirt', price: '24.00' },
  { sku: 'HOOD-GRY-M', title: 'Zip hoodie', price: '59.00' },
  { sku: 'MUG-12OZ', title: 'Enamel mug', price: '16.00' },
  { sku: 'KEYB-TKL', title: 'Mechanical keyboard', price: '129.00' },
] as const;

function customerOf(holder: VendorPerson, id: number) {
  const { person } = holder;
  const address = {
    id: id + 1_000_000,
    customer_id: id,
    first_name: person.firstName,
    last_name: person.lastName,
    company: null,
    address1: person.address.street,
    address2: null,
    city: person.address.city,
    province: null,
    country: 'United States',
    zip: person.address.postalCode,
    phone: holder.phone,
    name: `${person.firstName} ${person.lastName}`,
    province_code: null,
    country_code: 'US',
    country_name: 'United States',
    default: true,
  };
  return {
    id,
    email: holder.email,
    created_at: shopTime(holder.createdAt),
    updated_at: shopTime(holder.updatedAt),
    first_name: person.firstName,
    last_name: person.lastName,
    orders_count: holder.children,
    state: 'enabled',
    total_spent: '0.00',
    last_order_id: null as number | null,
    note: null,
    verified_email: holder.email !== null,
    multipass_identifier: null,
    tax_exempt: false,
    tags: '',
    last_order_name: null as string | null,
    currency: 'USD',
    phone: holder.phone,
    addresses: [address],
    tax_exemptions: [],
    email_marketing_consent: holder.email === null ? null : { state: 'not_subscribed', opt_in_level: 'single_opt_in', consent_updated_at: null },
    sms_marketing_consent: holder.phone === null ? null : { state: 'not_subscribed', opt_in_level: 'single_opt_in', consent_updated_at: null, consent_collected_from: 'OTHER' },
    admin_graphql_api_id: `gid://shopify/Customer/${id}`,
    default_address: address,
  };
}

type ShopifyCustomer = ReturnType<typeof customerOf>;

function orderOf(customer: ShopifyCustomer, holder: VendorPerson, id: number, number: number, n: number) {
  const created = holder.createdAt + (n + 1) * 86_400 * 9;
  const items = [PRODUCTS[(holder.index + n) % PRODUCTS.length]!, ...(n % 2 === 0 ? [PRODUCTS[(holder.index + n + 1) % PRODUCTS.length]!] : [])];
  const quantity = 1 + ((holder.index + n) % 3);
  const cents = items.reduce((sum, p) => sum + Math.round(Number(p.price) * 100) * quantity, 0);
  const total = (cents / 100).toFixed(2);
  // A third of orders are archived (closed) and some cancelled: the orders list shows only open ones unless asked for `status=any`.
  const closed = (holder.index + n) % 3 === 0;
  const cancelled = (holder.index + n) % 10 === 1;
  return {
    id,
    admin_graphql_api_id: `gid://shopify/Order/${id}`,
    name: `#${number}`,
    order_number: number,
    number: number - 1000,
    email: customer.email,
    phone: customer.phone,
    created_at: shopTime(created),
    updated_at: shopTime(created + 7_200),
    processed_at: shopTime(created),
    closed_at: closed ? shopTime(created + 86_400 * 3) : null,
    cancelled_at: cancelled ? shopTime(created + 3_600) : null,
    cancel_reason: cancelled ? 'customer' : null,
    currency: 'USD',
    presentment_currency: 'USD',
    subtotal_price: total,
    total_price: total,
    total_tax: '0.00',
    total_discounts: '0.00',
    financial_status: cancelled ? 'refunded' : 'paid',
    fulfillment_status: closed ? 'fulfilled' : null,
    test: false,
    customer: { id: customer.id, email: customer.email, first_name: customer.first_name, last_name: customer.last_name, phone: customer.phone, admin_graphql_api_id: customer.admin_graphql_api_id },
    line_items: items.map((p, i) => ({ id: id * 10 + i, sku: p.sku, title: p.title, name: p.title, quantity, price: p.price, product_id: 8_000_000_000 + i, variant_id: 9_000_000_000 + i })),
  };
}

type ShopifyOrder = ReturnType<typeof orderOf>;

function isOpen(order: ShopifyOrder): boolean {
  return order.closed_at === null && order.cancelled_at === null;
}

/**
 * A page of `items` with RFC 8288 `Link` headers whose `page_info` cursors encode the position. Once a request
 * carries `page_info`, only `limit` and `fields` may accompany it: the filters live in the cursor.
 */
function linkPaged<T>(items: readonly T[], query: URLSearchParams, baseUrl: string, path: string, key: string, kind: string, maxLimit = SHOPIFY_LIMIT_MAX): Reply {
  const limit = intParam(query.get('limit'), 50, 1, maxLimit, () => shopifyError(400, { limit: 'Limit must be between 1 and 250' }));
  const pageInfo = query.get('page_info');
  let start = 0;
  if (pageInfo !== null) {
    const extra = [...query.keys()].filter((k) => k !== 'page_info' && k !== 'limit' && k !== 'fields');
    if (extra.length > 0) throw shopifyError(400, { page_info: `page_info cannot be combined with other parameters: ${extra.join(', ')}` });
    try {
      start = decodeCursor(pageInfo, kind, 'page_info');
    } catch (error) {
      if (error instanceof HttpError) throw shopifyError(400, { page_info: 'Invalid value.' });
      throw error;
    }
  }
  const page = items.slice(start, start + limit);
  const link = (position: number, rel: string) => `<${baseUrl}${path}?limit=${limit}&page_info=${encodeCursor(kind, position)}>; rel="${rel}"`;
  const links = [...(start > 0 ? [link(Math.max(0, start - limit), 'previous')] : []), ...(start + limit < items.length ? [link(start + limit, 'next')] : [])];
  return new Reply(200, { [key]: page }, { headers: links.length > 0 ? { link: links.join(', ') } : {} });
}

/** `email:x`, `phone:x`, or terms matching email, phone or name, as customers/search.json reads `query`. */
function searchCustomers(customers: readonly ShopifyCustomer[], raw: string): ShopifyCustomer[] {
  const terms = raw.split(/\s+/).filter((t) => t !== '');
  return customers.filter((c) =>
    terms.every((term) => {
      const [field, value] = /^(email|phone|first_name|last_name):(.+)$/.exec(term)?.slice(1) ?? [undefined, term];
      const plain = value!.replace(/^"|"$/g, '').toLowerCase();
      const email = c.email !== null && c.email.toLowerCase() === plain;
      const phone = c.phone !== null && phoneKey(plain) !== '' && phoneKey(c.phone) === phoneKey(plain);
      if (field === 'email') return email;
      if (field === 'phone') return phone;
      if (field === 'first_name') return c.first_name.toLowerCase() === plain;
      if (field === 'last_name') return c.last_name.toLowerCase() === plain;
      return email || phone || `${c.first_name} ${c.last_name}`.toLowerCase().includes(plain);
    }),
  );
}

function authenticate(headers: IncomingHttpHeaders, token: string): void {
  if (headers['x-shopify-access-token'] !== token) throw shopifyError(401, '[API] Invalid API key or access token (unrecognized login or wrong password)');
}

export function createShopifyServer(data: VendorData, options: ShopifyOptions = {}): VendorApp {
  const token = options.accessToken ?? SHOPIFY_TEST_TOKEN;
  const holders = data.holders.shopify;
  const customers = holders.map((holder, i) => customerOf(holder, 7_300_000_000_000 + i * 1_000 + (holder.index % 1_000)));
  const byId = new Map(customers.map((c) => [c.id, c]));
  let orderNumber = 1000;
  const orders = customers.flatMap((customer, i) =>
    Array.from({ length: holders[i]!.children }, (_, n) => {
      orderNumber += 1;
      return orderOf(customer, holders[i]!, 5_600_000_000_000 + orderNumber * 17, orderNumber, n);
    }),
  );
  const ordersByCustomer = new Map<number, ShopifyOrder[]>();
  for (const order of orders) ordersByCustomer.set(order.customer.id, [...(ordersByCustomer.get(order.customer.id) ?? []), order]);
  for (const customer of customers) {
    const own = ordersByCustomer.get(customer.id) ?? [];
    const last = own.at(-1);
    customer.total_spent = (own.filter((o) => o.cancelled_at === null).reduce((sum, o) => sum + Math.round(Number(o.total_price) * 100), 0) / 100).toFixed(2);
    customer.last_order_id = last?.id ?? null;
    customer.last_order_name = last?.name ?? null;
  }
  const orderById = new Map(orders.map((o) => [o.id, o]));
  const customerId = (raw: string) => (/^\d+$/.test(raw) ? byId.get(Number(raw)) : undefined);

  const app = new VendorApp('shopify', options, customers.map((c, i) => ({ id: String(c.id), personId: holders[i]!.person.personId })), (url) => ({ SHOPIFY_URL: url, SHOPIFY_ACCESS_TOKEN: token }));
  return app
    .guard(({ headers }) => authenticate(headers, token))
    // The REST leaky bucket answers an overflowing request with a 429 and a (decimal) Retry-After.
    // X-Shopify-Shop-Api-Call-Limit says how full the bucket is ("40/40" when it overflows).
    .guard(
      rateLimitGuard(options, (_wait, { limit }) => {
        const [size, rate] = limit.kind === 'leakyBucket' ? [limit.capacity, limit.leakPerSecond] : [limit.max, limit.max];
        return shopifyError(429, `Exceeded ${rate} calls per second for api client. Reduce request rates to resume uninterrupted service.`, { 'retry-after': '2.0', 'x-shopify-shop-api-call-limit': `${size}/${size}` });
      }),
    )
    .get(`${API}/customers.json`, ({ query, baseUrl }) => {
      const ids = query.get('ids');
      const selected = ids === null ? customers : ids.split(',').flatMap((id) => (customerId(id.trim()) ? [customerId(id.trim())!] : []));
      return linkPaged(selected, query, baseUrl, `${API}/customers.json`, 'customers', 'customers');
    })
    .get(`${API}/customers/search.json`, ({ query, baseUrl }) => {
      const term = query.get('query');
      const hits = term === null || query.has('page_info') ? customers : searchCustomers(customers, term);
      return linkPaged(hits, query, baseUrl, `${API}/customers/search.json`, 'customers', `search`);
    })
    .get(`${API}/customers/:file`, ({ params }) => {
      const customer = customerId(params.file.replace(/\.json$/, ''));
      if (!customer || !params.file.endsWith('.json')) throw shopifyError(404, 'Not Found');
      return { customer };
    })
    .get(`${API}/customers/:id/orders.json`, ({ params, query }) => {
      const customer = customerId(params.id);
      if (!customer) throw shopifyError(404, 'Not Found');
      const status = query.get('status') ?? 'open';
      if (!['open', 'closed', 'cancelled', 'any'].includes(status)) throw shopifyError(400, { status: 'Invalid status' });
      const own = ordersByCustomer.get(customer.id) ?? [];
      const selected = status === 'any' ? own : status === 'open' ? own.filter(isOpen) : status === 'closed' ? own.filter((o) => o.closed_at !== null) : own.filter((o) => o.cancelled_at !== null);
      // Newest first, as the orders endpoints sort by default.
      return { orders: [...selected].reverse() };
    })
    .get(`${API}/orders/:file`, ({ params }) => {
      const raw = params.file.replace(/\.json$/, '');
      const order = /^\d+$/.test(raw) && params.file.endsWith('.json') ? orderById.get(Number(raw)) : undefined;
      if (!order) throw shopifyError(404, 'Not Found');
      return { order };
    });
}
