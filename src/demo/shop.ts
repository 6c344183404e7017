// Simulated e-commerce shop (Shopify-like): integer IDs, POST batch reads, opaque base64 cursors, orders and subscriptions per customer.
import type { Dataset, ShopCustomer, ShopOrder } from './dataset.js';
import {
  HttpApp, HttpError, Reply, badRequest, bodyArray, decodeCursor, encodeCursor, intParam, intQuery, isInteger, notFound, stringQuery,
} from './http-app.js';
import type { SimulatedSource, SourceOptions } from './http-app.js';
import { normalizeEmail, phoneKey } from './identifiers.js';
import { shopSubscriptions } from './shop-subscriptions.js';
import { firstIndexAfter, indexMany, indexUnique, newestFirst, pickExisting, toWire } from './record-index.js';

const SHOP_MAX_BATCH_IDS = 50;
const SHOP_MAX_PAGE_SIZE = 250;
const CURSOR_KIND = 'customers_after';

/** Shopify's validation answer: 422 with `{ errors: { field: [messages] } }`. */
function unprocessable(field: string, message: string): HttpError {
  return new HttpError(422, 'unprocessable_entity', `${field} ${message}`, new Reply(422, { errors: { [field]: [message] } }));
}

const UPDATABLE = new Set(['name', 'contact_email', 'phone', 'default_address']);
const ADDRESS_PARTS = new Set(['address1', 'city', 'province', 'zip', 'country_code']);

const newestOrderFirst = (a: ShopOrder, b: ShopOrder): number => newestFirst(a.created_at, b.created_at) || b.id - a.id;

export function createShopServer(data: Dataset, options: SourceOptions = {}): SimulatedSource {
  // Generated in ID order; cursor pagination relies on it.
  const customers = data.shop.customers;
  const byId = indexUnique(customers, (c) => c.id);
  const byEmail = indexMany(customers, (c) => c.contact_email && normalizeEmail(c.contact_email));
  const byPhone = indexMany(customers, (c) => c.phone && phoneKey(c.phone));
  const ordersByCustomer = indexMany(data.shop.orders, (o) => o.customer_id);
  const ordersByNumber = indexMany(data.shop.orders, (o) => o.number);
  for (const orders of ordersByCustomer.values()) orders.sort(newestOrderFirst);
  const subscriptionsByCustomer = indexMany(shopSubscriptions(customers), (s) => s.customer_id);

  const customerIds = (body: unknown): number[] =>
    bodyArray(body, 'customer_ids', { max: SHOP_MAX_BATCH_IDS, isItem: isInteger, itemKind: 'integers' });
  const existingCustomer = (rawId: string): ShopCustomer => {
    const customer = byId.get(intParam(rawId, 'id'));
    if (!customer) throw notFound(`customer ${rawId} does not exist`);
    return customer;
  };

  /** A customer update as Shopify takes it (`PUT /customers/{id}.json` with `{ customer: {...} }`): the fields sent change, the rest stay. */
  const update = (rawId: string, body: unknown) => {
    const previous = existingCustomer(rawId);
    const fields = (typeof body === 'object' && body !== null ? (body as Record<string, unknown>).customer : undefined) as Record<string, unknown> | undefined;
    if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) throw unprocessable('customer', 'is required');
    for (const [name, value] of Object.entries(fields)) {
      if (!UPDATABLE.has(name)) throw unprocessable(name, 'is not a customer attribute');
      if (name === 'default_address') {
        if (typeof value !== 'object' || value === null) throw unprocessable(name, 'must be an object');
        for (const part of Object.keys(value)) if (!ADDRESS_PARTS.has(part)) throw unprocessable(`default_address.${part}`, 'is not an address attribute');
      } else if (typeof value !== 'string') throw unprocessable(name, 'must be a string');
    }
    const email = fields.contact_email as string | undefined;
    if (email !== undefined) {
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim())) throw unprocessable('contact_email', 'is invalid');
      if ((byEmail.get(normalizeEmail(email)) ?? []).some((c) => c.id !== previous.id)) throw unprocessable('contact_email', 'has already been taken');
    }
    const { default_address: address, ...rest } = fields as Partial<ShopCustomer> & { default_address?: Partial<ShopCustomer['default_address']> };
    const customer: ShopCustomer = { ...previous, ...rest, default_address: { ...previous.default_address, ...address }, updated_at: new Date().toISOString() };
    const drop = <K>(index: Map<K, ShopCustomer[]>, key: K | null) => {
      if (key === null) return;
      const left = (index.get(key) ?? []).filter((c) => c.id !== previous.id);
      if (left.length > 0) index.set(key, left);
      else index.delete(key);
    };
    drop(byEmail, previous.contact_email && normalizeEmail(previous.contact_email));
    drop(byPhone, previous.phone && phoneKey(previous.phone));
    customers[customers.indexOf(previous)] = customer;
    byId.set(customer.id, customer);
    if (customer.contact_email) byEmail.set(normalizeEmail(customer.contact_email), [...(byEmail.get(normalizeEmail(customer.contact_email)) ?? []), customer]);
    if (customer.phone) byPhone.set(phoneKey(customer.phone), [...(byPhone.get(phoneKey(customer.phone)) ?? []), customer]);
    return { customer: toWire(customer) };
  };

  return new HttpApp('shop', options)
    .post('/customers/batch', ({ body }) => ({ customers: pickExisting(customerIds(body), byId).map(toWire) }))
    .get('/customers', ({ query }) => {
      const limit = intQuery(query, 'limit', { fallback: 50, min: 1, max: SHOP_MAX_PAGE_SIZE });
      const cursor = stringQuery(query, 'cursor');
      const start = cursor === undefined ? 0 : firstIndexAfter(customers, decodeCursor(cursor, CURSOR_KIND, 'cursor'), (c) => c.id);
      const page = customers.slice(start, start + limit);
      const last = page[page.length - 1];
      const hasMore = start + limit < customers.length;
      return {
        customers: page.map(toWire),
        pagination: { next_cursor: hasMore && last ? encodeCursor(CURSOR_KIND, last.id) : null },
      };
    })
    .get('/customers/search', ({ query }) => {
      const email = stringQuery(query, 'email');
      const phone = stringQuery(query, 'phone');
      if (email !== undefined) return { customers: (byEmail.get(normalizeEmail(email)) ?? []).map(toWire) };
      if (phone !== undefined) return { customers: (byPhone.get(phoneKey(phone)) ?? []).map(toWire) };
      throw badRequest('search needs an email or phone parameter');
    })
    .get('/customers/:id', ({ params }) => ({ customer: toWire(existingCustomer(params.id)) }))
    .route('PUT', '/customers/:id', ({ params, body }) => update(params.id, body))
    .get('/customers/:id/orders', ({ params }) => ({
      orders: (ordersByCustomer.get(existingCustomer(params.id).id) ?? []).map(toWire),
    }))
    // Orders by their name, as a customer quotes it (Shopify: GET /orders.json?name=%231001).
    .get('/orders', ({ query }) => {
      const name = stringQuery(query, 'name');
      if (name === undefined) throw badRequest('orders are listed by name here: ?name=#1001');
      return { orders: (ordersByNumber.get(name) ?? []).map(toWire) };
    })
    .post('/orders/batch', ({ body }) => {
      const orders = [...new Set(customerIds(body))].flatMap((id) => ordersByCustomer.get(id) ?? []);
      return { orders: orders.sort(newestOrderFirst).map(toWire) };
    })
    // Subscriptions of many customers in one read, in customer order, each naming its customer (customer_id).
    .post('/subscriptions/batch', ({ body }) => ({
      subscriptions: [...new Set(customerIds(body))].flatMap((id) => subscriptionsByCustomer.get(id) ?? []),
    }));
}
