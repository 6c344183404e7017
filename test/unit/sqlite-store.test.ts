// The embedded link store: migrations, persistence across reopen, and the reads the hot path relies on.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { linkRecords } from '../../src/identity/linker.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';

const snapshot = linkRecords(
  [
    { source: 'crm', entity: 'contact', recordId: 'C-1', identifiers: [{ kind: 'email', value: 'a@x.io' }], references: [] },
    { source: 'shop', entity: 'customer', recordId: '7', identifiers: [{ kind: 'email', value: 'a@x.io' }, { kind: 'phone', value: '+14155550134' }], references: [] },
    { source: 'support', entity: 'user', recordId: '9', identifiers: [{ kind: 'phone', value: '+14155550199' }], references: [] },
  ],
  new Map(),
  '2026-01-01T00:00:00.000Z',
);

describe('SQLite link store', () => {
  test('a file store keeps its links across reopen and migrates once', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'rosetta-')), 'links.sqlite');
    const first = new SqliteLinkStore(path);
    await first.replaceAll(snapshot);
    await first.close();
    const second = new SqliteLinkStore(path);
    expect(second.schemaVersion).toBe(1);
    expect(await second.countCustomers()).toBe(2);
    await second.close();
  });

  test('lookups by identifier, by record with or without entity, and pages each cost one read', async () => {
    const store = new SqliteLinkStore(':memory:');
    await store.replaceAll(snapshot);
    const before = store.reads;
    const [byEmail] = await store.findCustomerIdsByIdentifier('email', 'a@x.io');
    expect(await store.findCustomerIdByRecord({ source: 'shop', recordId: '7' })).toBe(byEmail);
    expect(await store.findCustomerIdByRecord({ source: 'crm', entity: 'contact', recordId: 'C-1' })).toBe(byEmail);
    expect(await store.findCustomerIdByRecord({ source: 'crm', recordId: 'nope' })).toBeNull();
    const page = await store.pageCustomers(1, null);
    expect(page.customers).toHaveLength(1);
    expect(page.hasNextPage).toBe(true);
    const next = await store.pageCustomers(1, page.customers[0]!.customerId);
    expect(next.hasNextPage).toBe(false);
    expect(store.reads - before).toBe(6);
    const customers = await store.getCustomers([byEmail!]);
    expect(customers.get(byEmail!)!.links.map((l) => `${l.source}:${l.recordId}:${l.rule}`)).toEqual(['crm:C-1:SEED', 'shop:7:EMAIL']);
    await store.close();
  });

  test('replacing the table with the same snapshot changes no assignment', async () => {
    const store = new SqliteLinkStore(':memory:');
    await store.replaceAll(snapshot);
    const assignments = await store.currentAssignments();
    await store.replaceAll(snapshot);
    expect(await store.currentAssignments()).toEqual(assignments);
    await store.close();
  });
});
