// Contract of the simulated shop: POST batch reads, opaque cursor pagination, orders newest first, search.
import { describe, expect, it } from 'vitest';
import { createShopServer } from '../../src/demo/shop.js';
import { getJson, postJson, serve, smallDataset } from './helpers.js';

const { customers, orders } = smallDataset.shop;
const shop = serve(createShopServer(smallDataset));
const ids = (items: Array<{ id: number }>) => items.map((item) => item.id);
const isNewestFirst = (items: Array<{ created_at: string }>) => items.every((o, i) => i === 0 || items[i - 1]!.created_at >= o.created_at);

describe('Shop', () => {
  it('batch-reads customers by integer ids', async () => {
    const wanted = [customers[3]!.id, 999_999, customers[0]!.id];
    const { status, body } = await postJson(`${shop.url}/customers/batch`, { customer_ids: wanted });
    expect(status).toBe(200);
    expect(ids(body.customers)).toEqual([customers[3]!.id, customers[0]!.id]);
    expect(body.customers[0]).not.toHaveProperty('personId');
  });

  it('rejects batches over 50 ids, string ids and missing bodies', async () => {
    const tooMany = Array.from({ length: 51 }, (_, i) => 1001 + i);
    expect((await postJson(`${shop.url}/customers/batch`, { customer_ids: tooMany })).status).toBe(400);
    expect((await postJson(`${shop.url}/customers/batch`, { customer_ids: ['1001'] })).status).toBe(400);
    expect((await postJson(`${shop.url}/customers/batch`, '')).status).toBe(400);
    expect((await postJson(`${shop.url}/orders/batch`, { customer_ids: tooMany })).status).toBe(400);
  });

  it('shop lists every customer exactly once through cursor pagination', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const { body } = await getJson(`${shop.url}/customers?limit=30${query}`);
      seen.push(...ids(body.customers));
      cursor = body.pagination.next_cursor;
      if (cursor !== null) expect(cursor).not.toMatch(/^\d+$/);
    } while (cursor !== null);
    expect(seen).toEqual(ids(customers));
  });

  it('rejects a forged cursor', async () => {
    expect((await getJson(`${shop.url}/customers?cursor=1050`)).status).toBe(400);
  });

  it('reads one customer, or 404s, and 400s on a non-integer id', async () => {
    expect((await getJson(`${shop.url}/customers/${customers[0]!.id}`)).body.customer.id).toBe(customers[0]!.id);
    expect((await getJson(`${shop.url}/customers/999999`)).status).toBe(404);
    expect((await getJson(`${shop.url}/customers/abc`)).status).toBe(400);
  });

  it('returns all orders of a batch of customers, newest first', async () => {
    const buyers = [...new Set(orders.map((o) => o.customer_id))].slice(0, 5);
    const { body } = await postJson(`${shop.url}/orders/batch`, { customer_ids: buyers });
    const expected = orders.filter((o) => buyers.includes(o.customer_id));
    expect(new Set(ids(body.orders))).toEqual(new Set(ids(expected)));
    expect(body.orders).toHaveLength(expected.length);
    expect(isNewestFirst(body.orders)).toBe(true);
  });

  it('returns one customer’s orders newest first', async () => {
    const buyer = orders[0]!.customer_id;
    const { body } = await getJson(`${shop.url}/customers/${buyer}/orders`);
    expect(body.orders.length).toBe(orders.filter((o) => o.customer_id === buyer).length);
    expect(isNewestFirst(body.orders)).toBe(true);
    expect(body.orders[0].line_items.length).toBeGreaterThan(0);
  });

  it('searches customers by email or phone', async () => {
    const customer = customers.find((c) => c.contact_email && c.phone)!;
    const byEmail = await getJson(`${shop.url}/customers/search?email=${encodeURIComponent(customer.contact_email!.trim().toLowerCase())}`);
    expect(ids(byEmail.body.customers)).toEqual([customer.id]);
    const byPhone = await getJson(`${shop.url}/customers/search?phone=${encodeURIComponent(customer.phone!)}`);
    expect(ids(byPhone.body.customers)).toEqual([customer.id]);
  });
});
