import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import { linkStoreContract } from './link-store-contract.js';

linkStoreContract('SQLite', async () => new SqliteLinkStore(':memory:'));

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
