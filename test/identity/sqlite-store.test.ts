import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, test } from 'vitest';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import { apply, FORGET_SECRET, linkStoreContract } from './link-store-contract.js';

linkStoreContract('SQLite', async () => new SqliteLinkStore(':memory:', { forgetSecret: FORGET_SECRET }));

test('a SQLite file keeps its links across reopen and is migrated once', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'rosetta-')), 'links.sqlite');
  const first = new SqliteLinkStore(path);
  await first.saveSyncCursor({ source: 'crm', entity: 'contact', cursor: 'x', passStartedAt: 't', completedAt: null });
  await first.close();
  const second = new SqliteLinkStore(path);
  expect(second.schemaVersion).toBeGreaterThanOrEqual(1);
  expect(await second.getSyncCursor('crm', 'contact')).toMatchObject({ cursor: 'x' });
  await second.close();
});

test('a forget keeps only an HMAC of each forgotten record, keyed by the secret, never the record ID', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'rosetta-')), 'links.sqlite');
  const store = new SqliteLinkStore(path, { forgetSecret: FORGET_SECRET });
  // A marketing member ID is the MD5 of the email: keeping it, or an unkeyed hash of it, would keep the person.
  const memberId = createHash('md5').update('ann@x.io').digest('hex');
  await apply(store, [{ upsert: { source: 'marketing', entity: 'member', recordId: memberId, tokens: [{ kind: 'ref', value: `marketing:member:${memberId}` }, { kind: 'email', value: 'ann@x.io' }] } }], '2026-01-01T00:00:00.000Z');
  const [customerId] = await store.findCustomerIdsByIdentifier('email', 'ann@x.io');
  await store.forgetCustomer(customerId!);
  await store.close();

  const db = new Database(path, { readonly: true });
  const kept = db.prepare('SELECT key_hash FROM forgotten_keys').pluck().all();
  expect(kept).toEqual([createHmac('sha256', FORGET_SECRET).update(`marketing:member:${memberId}`).digest('hex')]);
  expect(db.prepare('SELECT COUNT(*) FROM forgotten_records').pluck().get()).toBe(0);
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
  const everything = tables.map((table) => JSON.stringify(db.prepare(`SELECT * FROM ${table}`).all())).join('\n');
  expect(everything).not.toContain(memberId);
  expect(everything).not.toContain('ann@x.io');
  db.close();
});

test('a store without a forget secret refuses to forget, naming the missing key', async () => {
  const store = new SqliteLinkStore(':memory:');
  await apply(store, [{ upsert: { source: 'crm', entity: 'e', recordId: '1', tokens: [{ kind: 'ref', value: 'crm:e:1' }] } }], '2026-01-01T00:00:00.000Z');
  await expect(store.forgetCustomer((await store.findCustomerIdByRecord({ source: 'crm', recordId: '1' }))!)).rejects.toThrow(/identity\.forget\.secret/);
  expect(await store.countCustomers()).toBe(1);
  await store.close();
});
