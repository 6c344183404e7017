import { createHash, createHmac } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import { parseConfig } from '../../src/config/load.js';
import { startSimulatedSystems } from '../../src/demo/systems.js';
import type { CustomerLinks } from '../../src/identity/model.js';
import { invalidationPayloads } from '../../src/identity/postgres-invalidation.js';
import { POSTGRES_MIGRATIONS, PostgresLinkStore } from '../../src/identity/postgres-store.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import type { LinkStore } from '../../src/identity/store.js';
import { syncLinks } from '../../src/identity/sync.js';
import { createServices } from '../../src/server/hub.js';
import { TEST_DATABASE_URL, TestSchemas } from '../support/postgres.js';
import { apply, FORGET_SECRET, linkStoreContract } from './link-store-contract.js';
import { eventually } from '../support/eventually.js';

const schemas = new TestSchemas();
const opened: LinkStore[] = [];

/** A store in a schema of its own; closed and dropped after the test. */
async function openStore(schema = schemas.next()): Promise<PostgresLinkStore> {
  const store = await PostgresLinkStore.open({ url: TEST_DATABASE_URL, schema, forgetSecret: FORGET_SECRET });
  opened.push(store);
  return store;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});
afterAll(() => schemas.dropAll());

// The contract closes its own store; closing twice would fail, so its stores are not tracked in `opened`.
linkStoreContract('PostgreSQL', () => PostgresLinkStore.open({ url: TEST_DATABASE_URL, schema: schemas.next(), forgetSecret: FORGET_SECRET }));

const phone = (n: number) => ({ kind: 'phone' as const, value: `+1415555010${n}` });
const rec = (source: string, recordId: string, tokens: { kind: 'phone'; value: string }[]) => ({
  source,
  entity: 'e',
  recordId,
  tokens: [{ kind: 'ref' as const, value: `${source}:e:${recordId}` }, ...tokens],
});

test('a forget keeps only an HMAC of each forgotten record, keyed by the secret, never the record ID', async () => {
  const schema = schemas.next();
  const store = await openStore(schema);
  const memberId = createHash('md5').update('ann@x.io').digest('hex');
  await apply(store, [{ upsert: { source: 'marketing', entity: 'member', recordId: memberId, tokens: [{ kind: 'ref', value: `marketing:member:${memberId}` }, { kind: 'email', value: 'ann@x.io' }] } }], '2026-01-01T00:00:00.000Z');
  const [customerId] = await store.findCustomerIdsByIdentifier('email', 'ann@x.io');
  await store.forgetCustomer(customerId!);
  const kept = await schemas.query<{ key_hash: string }>(schema, 'SELECT key_hash FROM forgotten_keys');
  expect(kept.map((r) => r.key_hash)).toEqual([createHmac('sha256', FORGET_SECRET).update(`marketing:member:${memberId}`).digest('hex')]);
  expect(await schemas.query(schema, 'SELECT * FROM forgotten_records')).toEqual([]);
  const tables = await schemas.query<{ tablename: string }>(schema, 'SELECT tablename FROM pg_tables WHERE schemaname = current_schema()');
  for (const { tablename } of tables) {
    const rows = JSON.stringify(await schemas.query(schema, `SELECT * FROM ${tablename}`));
    expect(rows, tablename).not.toContain(memberId);
    expect(rows, tablename).not.toContain('ann@x.io');
  }
  // The same record coming back (a sync) stays unlinked.
  await apply(store, [{ upsert: { source: 'marketing', entity: 'member', recordId: memberId, tokens: [{ kind: 'ref', value: `marketing:member:${memberId}` }, { kind: 'email', value: 'ann@x.io' }] } }], '2026-01-02T00:00:00.000Z');
  expect(await store.countCustomers()).toBe(0);
});

describe('PostgreSQL migrations', () => {
  test('two replicas opening a new schema at once migrate it exactly once', async () => {
    const schema = schemas.next();
    const [a, b] = await Promise.all([openStore(schema), openStore(schema)]);
    const applied = await schemas.query<{ version: number }>(schema, 'SELECT version FROM schema_migrations ORDER BY version');
    expect(applied.map((row) => row.version)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
    expect(await a.schemaVersion()).toBe(POSTGRES_MIGRATIONS.at(-1)!.version);
    await apply(a, [{ upsert: rec('crm', '1', [phone(1)]) }], '2026-01-01T00:00:00.000Z');
    expect(await b.countCustomers()).toBe(1);
  });

  test('reopening a migrated schema keeps its links and applies nothing again', async () => {
    const schema = schemas.next();
    const first = await openStore(schema);
    await apply(first, [{ upsert: rec('crm', '1', [phone(1)]) }], '2026-01-01T00:00:00.000Z');
    const second = await openStore(schema);
    expect(await second.findCustomerIdsByIdentifier('phone', phone(1).value)).toHaveLength(1);
    expect(await schemas.query(schema, 'SELECT version FROM schema_migrations')).toHaveLength(POSTGRES_MIGRATIONS.length);
  });
});

describe('PostgreSQL between replicas', () => {
  test("a merge on one store reaches another store's listeners, and not its own", async () => {
    const schema = schemas.next();
    const [a, b] = await Promise.all([openStore(schema), openStore(schema)]);
    const heardByA: (string[] | 'all')[] = [];
    const heardByB: (string[] | 'all')[] = [];
    a.onInvalidate((ids) => heardByA.push(ids));
    b.onInvalidate((ids) => heardByB.push(ids));
    await apply(a, [{ upsert: rec('crm', '1', [phone(1)]) }], '2026-01-01T00:00:00.000Z');
    await apply(a, [{ upsert: rec('support', '2', [phone(2)]) }], '2026-01-02T00:00:00.000Z');
    const older = (await a.findCustomerIdByRecord({ source: 'crm', recordId: '1' }))!;
    const younger = (await a.findCustomerIdByRecord({ source: 'support', recordId: '2' }))!;
    const merge = await apply(a, [{ upsert: rec('shop', '3', [phone(1), phone(2)]) }], '2026-01-03T00:00:00.000Z');
    expect(merge.removed).toEqual([{ customerId: younger, mergedInto: older }]);

    const heard = await eventually(() => (heardByB.length === 3 ? heardByB : undefined));
    expect(heard).toEqual([[older], [younger], [older, younger]]);
    // Notifications on a connection arrive in commit order: once A hears B's later change, it has heard all of its own.
    await apply(b, [{ upsert: rec('crm', '4', [phone(4)]) }], '2026-01-04T00:00:00.000Z');
    const fromB = (await b.findCustomerIdByRecord({ source: 'crm', recordId: '4' }))!;
    await eventually(() => (heardByA.length > 0 ? true : undefined));
    expect(heardByA).toEqual([[fromB]]);
  });

  test('a forget on one store reaches the others, by the asked-for ID and the survivor', async () => {
    const schema = schemas.next();
    const [a, b] = await Promise.all([openStore(schema), openStore(schema)]);
    await apply(a, [{ upsert: rec('crm', '1', [phone(1)]) }], '2026-01-01T00:00:00.000Z');
    await apply(a, [{ upsert: rec('support', '2', [phone(2)]) }], '2026-01-02T00:00:00.000Z');
    const alias = (await a.findCustomerIdByRecord({ source: 'support', recordId: '2' }))!;
    await apply(a, [{ upsert: rec('shop', '3', [phone(1), phone(2)]) }], '2026-01-03T00:00:00.000Z');
    const heardByB: (string[] | 'all')[] = [];
    b.onInvalidate((ids) => heardByB.push(ids));
    const forgotten = (await a.forgetCustomer(alias))!;
    expect(await eventually(() => heardByB[0])).toEqual([forgotten.customerId, alias]);
  });

  test('a replica whose LISTEN connection drops reconnects, drops everything it cached, and hears later changes', async () => {
    const schema = schemas.next();
    const a = await openStore(schema);
    const applicationName = `${schema}_b`;
    // Silent: the dropped connection is logged as a warning, which is the point here, not news.
    const b = await PostgresLinkStore.open({ url: TEST_DATABASE_URL, schema, applicationName, logger: pino({ level: 'silent' }) });
    opened.push(b);
    const heardByB: (string[] | 'all')[] = [];
    b.onInvalidate((ids) => heardByB.push(ids));
    const [listener] = await schemas.query<{ pid: number }>(schema, "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'", [applicationName]);
    await schemas.query(schema, 'SELECT pg_terminate_backend($1)', [listener!.pid]);
    // Whatever was sent while it was down is lost, so the first thing it hears from itself is "everything".
    expect(await eventually(() => heardByB[0])).toBe('all');
    await apply(a, [{ upsert: rec('crm', '1', [phone(1)]) }], '2026-01-01T00:00:00.000Z');
    const id = (await a.findCustomerIdByRecord({ source: 'crm', recordId: '1' }))!;
    expect(await eventually(() => heardByB[1])).toEqual([id]);
  });

  test('a change too large to list tells the other replicas to drop everything', async () => {
    const schema = schemas.next();
    const [a, b] = await Promise.all([openStore(schema), openStore(schema)]);
    const heardByB: (string[] | 'all')[] = [];
    b.onInvalidate((ids) => heardByB.push(ids));
    const records = Array.from({ length: 6_000 }, (_, i) => ({ upsert: rec('crm', String(i), []) }));
    await apply(a, records, '2026-01-01T00:00:00.000Z');
    expect(await eventually(() => heardByB[0])).toBe('all');
    expect(heardByB).toEqual(['all']);
  });

  test('the link lock lets one replica plan at a time, so concurrent records sharing a phone become one customer', async () => {
    const schema = schemas.next();
    const [a, b] = await Promise.all([openStore(schema), openStore(schema)]);
    const events: string[] = [];
    let bDone: Promise<void> | undefined;
    await a.withLinkLock(async () => {
      events.push('a locked');
      bDone = b.withLinkLock(async () => {
        events.push('b locked');
      });
      // B is now waiting on the advisory lock in PostgreSQL, not merely not yet scheduled.
      await eventually(async () => {
        const [row] = await schemas.query<{ waiting: number }>(schema, "SELECT COUNT(*)::int AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
        return row!.waiting > 0 ? true : undefined;
      });
      events.push('a unlocking');
    });
    await bDone;
    expect(events).toEqual(['a locked', 'a unlocking', 'b locked']);

    // Each round: two replicas link a record with the same new phone at once.
    for (let round = 0; round < 5; round += 1) {
      await Promise.all([
        a.withLinkLock(() => apply(a, [{ upsert: rec('crm', `a${round}`, [phone(round)]) }], '2026-01-01T00:00:00.000Z')),
        b.withLinkLock(() => apply(b, [{ upsert: rec('shop', `b${round}`, [phone(round)]) }], '2026-01-01T00:00:00.000Z')),
      ]);
    }
    expect(await a.countCustomers()).toBe(5);
    for (let round = 0; round < 5; round += 1) {
      const [customerId] = await a.findCustomerIdsByIdentifier('phone', phone(round).value);
      expect((await a.getCustomers([customerId!])).get(customerId!)!.links).toHaveLength(2);
    }
  });
});

describe('PostgreSQL invalidation payloads', () => {
  test('stay under the 8000-byte NOTIFY limit, listing every ID once across chunks', () => {
    const ids = Array.from({ length: 1_000 }, (_, i) => `cus_${String(i).padStart(16, '0')}`);
    const payloads = invalidationPayloads('origin-1', 'public', [...ids, ...ids]);
    expect(payloads.length).toBeGreaterThan(1);
    for (const payload of payloads) expect(Buffer.byteLength(payload)).toBeLessThan(8_000);
    expect(payloads.flatMap((p) => (JSON.parse(p) as { ids: string[] }).ids)).toEqual(ids);
  });

  test('become one "everything" message when listing would take too many', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `cus_${String(i).padStart(16, '0')}`);
    expect(invalidationPayloads('origin-1', 'public', ids).map((p) => JSON.parse(p))).toEqual([{ origin: 'origin-1', schema: 'public', ids: '*' }]);
  });
});

describe('PostgreSQL selection', () => {
  test('DATABASE_URL selects PostgreSQL when the config names no link store, and never overrides one it names', () => {
    const url = 'postgres://rosetta@db.internal:5432/links';
    expect(parseConfig({ sources: {} }, { DATABASE_URL: url }).linkStore).toEqual({ kind: 'postgres', url });
    expect(parseConfig({ linkStore: { kind: 'sqlite', path: 'x.sqlite' }, sources: {} }, { DATABASE_URL: url }).linkStore).toEqual({ kind: 'sqlite', path: 'x.sqlite' });
    expect(parseConfig({ sources: {} }, {}).linkStore.kind).toBe('sqlite');
  });
});

/**
 * Every customer, walked page by page, as the sorted keys of the records it holds. IDs, rules and evidence
 * are left out on purpose: entities sync in parallel, and which record arrives first names the customer
 * and decides which identifier the others were linked by, in either store.
 */
async function recordGroups(store: LinkStore): Promise<string[]> {
  const groups: string[] = [];
  let after: string | null = null;
  for (;;) {
    const page: { customers: CustomerLinks[]; hasNextPage: boolean } = await store.pageCustomers(100, after);
    for (const c of page.customers) groups.push(c.links.map((l) => `${l.source}:${l.entity}:${l.recordId}`).sort().join(' '));
    if (!page.hasNextPage) return groups.sort();
    after = page.customers.at(-1)!.customerId;
  }
}

test('a sync of the demo data into PostgreSQL groups exactly the records a sync into SQLite does', async () => {
  const systems = await startSimulatedSystems({ people: 300, seed: 7, latencyMs: 0 });
  try {
    const config = demoConfig(systems.urls, { PORT: '0', LINK_DB: ':memory:' });
    const sync = async (store: LinkStore) => {
      const services = createServices(config, store);
      const summary = await syncLinks({ registry: services.registry, links: services.links, store });
      await services.registry.close();
      return { summary, customers: await recordGroups(store) };
    };
    const sqlite = new SqliteLinkStore(':memory:');
    const inSqlite = await sync(sqlite);
    await sqlite.close();
    const inPostgres = await sync(await openStore());
    expect(inPostgres.summary.records).toBe(inSqlite.summary.records);
    expect(inPostgres.summary.customers).toBe(inSqlite.summary.customers);
    expect(inPostgres.customers).toHaveLength(inSqlite.summary.customers);
    expect(inPostgres.customers).toEqual(inSqlite.customers);
  } finally {
    await systems.close();
  }
});
