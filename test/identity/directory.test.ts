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
