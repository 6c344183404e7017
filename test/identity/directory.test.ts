// The link cache never outlives a change: not even one that lands while a read of the old links is in flight.
import { expect, test } from 'vitest';
import { LinkDirectory } from '../../src/identity/directory.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import { apply } from './link-store-contract.js';

test('a read that began before an invalidation is answered but not cached', async () => {
  const store = new SqliteLinkStore(':memory:');
  await apply(store, [{ upsert: { source: 'crm', entity: 'e', recordId: '1', tokens: [{ kind: 'ref', value: 'crm:e:1' }] } }], '2026-01-01T00:00:00.000Z');
  const id = (await store.findCustomerIdByRecord({ source: 'crm', recordId: '1' }))!;
  // The real store, with its answer held back until the test lets it go.
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const read = store.getCustomers.bind(store);
  store.getCustomers = async (ids) => {
    const answer = await read(ids);
    await gate;
    return answer;
  };
  const directory = new LinkDirectory(store, { maxEntries: 100, ttlMs: 60_000 });
  const inFlight = directory.customer(id);
  directory.invalidate([id]);
  release();
  expect((await inFlight)!.customerId).toBe(id);
  const readsBefore = store.reads;
  await directory.customer(id);
  // Not served from the cache: the stale answer was not kept.
  expect(store.reads - readsBefore).toBe(1);
  // And a read that began after the invalidation is cached as usual.
  await directory.customer(id);
  expect(store.reads - readsBefore).toBe(1);
  await store.close();
});

test("a page answers the links the cache holds, and an invalidated customer's from the store", async () => {
  const store = new SqliteLinkStore(':memory:');
  const now = '2026-01-01T00:00:00.000Z';
  await apply(store, ['1', '2', '3'].map((recordId) => ({ upsert: { source: 'crm', entity: 'e', recordId, tokens: [{ kind: 'ref', value: `crm:e:${recordId}` }] } })), now);
  const directory = new LinkDirectory(store, { maxEntries: 100, ttlMs: 60_000 });
  const recordsOf = async () => (await directory.page(10, null)).customers.map((c) => c.links.map((l) => l.recordId).join(' '));
  expect((await recordsOf()).sort()).toEqual(['1', '2', '3']);
  // Written past the directory (as another process would, unannounced): record 4 joins record 2's customer.
  const joined = (await store.findCustomerIdByRecord({ source: 'crm', recordId: '2' }))!;
  await apply(store, [{ upsert: { source: 'crm', entity: 'e', recordId: '2', tokens: [{ kind: 'ref', value: 'crm:e:2' }, { kind: 'email', value: 'x@y.io' }] } }], now);
  await apply(store, [{ upsert: { source: 'crm', entity: 'e', recordId: '4', tokens: [{ kind: 'ref', value: 'crm:e:4' }, { kind: 'email', value: 'x@y.io' }] } }], now);
  expect((await store.getCustomers([joined])).get(joined)!.links.map((l) => l.recordId)).toEqual(['2', '4']);
  // The page still answers the cached links, as customer(id) would; one store read either way.
  const readsBefore = store.reads;
  expect((await recordsOf()).sort()).toEqual(['1', '2', '3']);
  expect(store.reads - readsBefore).toBe(1);
  directory.invalidate([joined]);
  expect((await recordsOf()).sort()).toEqual(['1', '2 4', '3']);
  expect((await directory.customer(joined))!.links.map((l) => l.recordId)).toEqual(['2', '4']);
  await store.close();
});
