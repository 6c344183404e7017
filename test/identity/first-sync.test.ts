// A first sync through the bulk path leaves exactly the table the page-by-page path leaves, on SQLite and PostgreSQL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import { startSimulatedSystems, type SimulatedSystems } from '../../src/demo/systems.js';
import { PostgresLinkStore } from '../../src/identity/postgres-store.js';
import { LinkTableIntegrityError, SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import type { LinkStore } from '../../src/identity/store.js';
import { syncLinks, type SyncOptions } from '../../src/identity/sync.js';
import { createServices } from '../../src/server/hub.js';
import { TEST_DATABASE_URL, TestSchemas } from '../support/postgres.js';

const FORGET_SECRET = 'first-sync-test-secret';
let systems: SimulatedSystems;
const schemas = new TestSchemas();
const dir = mkdtempSync(join(tmpdir(), 'rosetta-first-sync-'));
let files = 0;

beforeAll(async () => {
  // Enough people for merges, a split, refused merges (caps, one CRM contact per customer) and shared values (demo config).
  systems = await startSimulatedSystems({ people: 1000, seed: 7, latencyMs: 0 });
});
afterAll(async () => {
  await systems.close();
  await schemas.dropAll();
  rmSync(dir, { recursive: true, force: true });
});
// Every row's times come from the clock: frozen, the two paths write the same times.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-06-01T12:00:00.000Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

interface Opened {
  store: LinkStore;
  dump(): Promise<Record<string, unknown[]>>;
}

interface Kind {
  name: string;
  open(): Promise<Opened>;
}

/** Every table but the migrations' own, every row, in a fixed order. */
function sortedRows(rows: Record<string, unknown>[]): unknown[] {
  return rows.map((row) => JSON.stringify(Object.entries(row).sort(([a], [b]) => (a < b ? -1 : 1)))).sort();
}

const kinds: Kind[] = [
  {
    name: 'SQLite',
    async open() {
      const path = join(dir, `links-${(files += 1)}.sqlite`);
      const store = new SqliteLinkStore(path, { forgetSecret: FORGET_SECRET });
      return {
        store,
        async dump() {
          const db = new Database(path, { readonly: true });
          try {
            const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('schema_migrations', 'sqlite_sequence') ORDER BY name").pluck().all() as string[];
            return Object.fromEntries(tables.map((table) => [table, sortedRows(db.prepare(`SELECT * FROM ${table}`).all() as Record<string, unknown>[])]));
          } finally {
            db.close();
          }
        },
      };
    },
  },
  {
    name: 'PostgreSQL',
    async open() {
      const schema = schemas.next();
      const store = await PostgresLinkStore.open({ url: TEST_DATABASE_URL, schema, forgetSecret: FORGET_SECRET });
      return {
        store,
        async dump() {
          const tables = (await schemas.query<{ table_name: string }>(schema, "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name <> 'schema_migrations' ORDER BY table_name", [schema])).map((r) => r.table_name);
          const dump: Record<string, unknown[]> = {};
          for (const table of tables) dump[table] = sortedRows(await schemas.query(schema, `SELECT * FROM ${table}`));
          return dump;
        },
      };
    },
  },
];

/** Statements sent to PostgreSQL (each a round trip), counted where pool queries go too, as bench/sync-time.ts does. */
let statements = 0;
const query = pg.Client.prototype.query;
beforeAll(() => {
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    statements += 1;
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
});
afterAll(() => {
  pg.Client.prototype.query = query;
});

type Services = ReturnType<typeof createServices>;

/** Syncs into `store`; `watch` sees the services first (their counters, their link service) and may add to the options. */
async function syncInto(store: LinkStore, options: SyncOptions, watch?: (services: Services) => SyncOptions) {
  const config = demoConfig(systems.urls, { PORT: '0' });
  // Small pages, so records arriving on later pages merge and split customers made on earlier ones.
  for (const source of Object.values(config.sources)) for (const entity of Object.values(source.entities)) if (entity.list) entity.list.pageSize = 40;
  const services = createServices(config, store);
  try {
    return await syncLinks({ registry: services.registry, links: services.links, store }, { ...options, ...watch?.(services) });
  } finally {
    await services.registry.close();
  }
}

/** A store for the page-by-page path and one for the bulk path, both of `kind`, closed after `run` whatever it does. */
async function withBothPaths(kind: Kind, run: (paged: Opened, bulk: Opened) => Promise<void>): Promise<void> {
  const paged = await kind.open();
  const bulk = await kind.open();
  try {
    await run(paged, bulk);
  } finally {
    await paged.store.close();
    await bulk.store.close();
  }
}

describe.each(kinds)('first sync into $name', (kind) => {
  test('the bulk path writes the table the page-by-page path writes: customers, links, identifiers, merges, conflicts, shared values, history, audit', () =>
    withBothPaths(kind, async (paged, bulk) => {
      let before = statements;
      const pagedSummary = await syncInto(paged.store, { bulk: false });
      const pagedStatements = statements - before;
      const readsBefore = bulk.store.reads;
      before = statements;
      // Small bulk writes, so rows written by one are changed (merged, moved, split) by a later one.
      const bulkSummary = await syncInto(bulk.store, { bulkWriteEvery: 150 });
      const bulkStatements = statements - before;
      const pages = bulkSummary.entities.reduce((n, e) => n + e.pages, 0);
      expect(pages).toBe(83);
      // PostgreSQL round trips: ~16 a page page by page; the bulk path's are its writes (a statement per table each, here
      // several small ones), the cursors and the count (1.1 a page at 100,000 people, bench:sync).
      if (kind.name === 'PostgreSQL') expect({ pagedStatements, bulkStatements }).toEqual({ pagedStatements: 1301, bulkStatements: 173 });
      const expected = await paged.dump();
      expect(expected.links!.length).toBe(3221);
      expect(expected.link_history!.length).toBe(4);
      expect(expected.customer_aliases!.length).toBeGreaterThan(0);
      expect(expected.link_conflicts!.length).toBeGreaterThan(0);
      expect(expected.shared_values!.length).toBeGreaterThan(0);
      expect(await bulk.dump()).toEqual(expected);
      expect({ ...bulkSummary, ms: 0 }).toEqual({ ...pagedSummary, ms: 0 });
      // No read per page: a cursor per entity (5), the final count, and the check that the table is empty (PostgreSQL
      // checks again once it holds the link lock). Nothing to reconcile is read: every link came from this pass.
      expect(bulkSummary.entities.length).toBe(5);
      expect(bulk.store.reads - readsBefore).toBe(5 + 1 + (kind.name === 'PostgreSQL' ? 2 : 1));
    }));

  test('a bulk write that fails fails the sync with its error, writes nothing after it, and the next run resumes after the last write', async () => {
    const { store, dump } = await kind.open();
    try {
      // The second bulk write fails, as a full disk or a lost connection would make it; the pages after it are planned
      // while it is under way.
      const bulkWriter = store.bulkWriter!.bind(store);
      let writes = 0;
      store.bulkWriter = async () => {
        const writer = await bulkWriter();
        return writer && {
          write: async (rows) => {
            writes += 1;
            if (writes === 2) throw new Error('disk full');
            return writer.write(rows);
          },
          close: () => writer.close(),
        };
      };
      await expect(syncInto(store, { bulkWriteEvery: 150 })).rejects.toThrow('disk full');
      expect(writes).toBe(2);
      const written = (await dump()).links!.length;
      expect(written).toBeGreaterThanOrEqual(150);
      expect(written).toBeLessThan(3221);
      const resumed = await syncInto(store, {});
      expect(resumed.entities.find((e) => e.source === 'crm')?.resumed).toBe(true);
      expect((await dump()).links!.length).toBe(3221);
    } finally {
      await store.close();
    }
  });

  test('a bulk sync stopped after a page resumes after it, and ends with the table a page-by-page sync stopped there ends with', () =>
    withBothPaths(kind, async (paged, bulk) => {
      const stopAt = (pages: number): SyncOptions['onPage'] => (progress) => {
        if (progress.source === 'shop' && progress.pages === pages) throw new Error('crash');
      };
      await expect(syncInto(paged.store, { bulk: false, onPage: stopAt(3) })).rejects.toThrow('crash');
      await expect(syncInto(bulk.store, { bulkWriteEvery: 150, onPage: stopAt(3) })).rejects.toThrow('crash');
      expect(await bulk.dump()).toEqual(await paged.dump());
      const resumedPaged = await syncInto(paged.store, {});
      const resumedBulk = await syncInto(bulk.store, {});
      expect(resumedBulk.entities.find((e) => e.source === 'shop')?.resumed).toBe(true);
      expect({ ...resumedBulk, ms: 0 }).toEqual({ ...resumedPaged, ms: 0 });
      expect(await bulk.dump()).toEqual(await paged.dump());
    }));

  test('a write from elsewhere during the bulk phase ends it: the pages planned on the copy are planned again on the table, and counted once', () =>
    withBothPaths(kind, async (paged, bulk) => {
      // After the CRM's second page (80 records planned, none written yet with writes of 150), this process writes the
      // table through the link service, as a webhook would: a removal of a record nobody holds, which changes no row.
      const interrupt = (counts: { applied: number; stale: number }[], writes: Promise<unknown>[]) => (services: Services): SyncOptions => {
        counts.push(services.links.counters);
        return {
          onPage: (progress) => {
            if (progress.source === 'crm' && progress.pages === 2) writes.push(services.links.apply([{ remove: { source: 'crm', entity: 'contact', recordId: 'nobody' } }]));
          },
        };
      };
      const pagedCounts: { applied: number; stale: number }[] = [];
      const bulkCounts: { applied: number; stale: number }[] = [];
      const writes: Promise<unknown>[] = [];
      const readsBefore = bulk.store.reads;
      const pagedSummary = await syncInto(paged.store, { bulk: false }, interrupt(pagedCounts, writes));
      const bulkSummary = await syncInto(bulk.store, { bulkWriteEvery: 150 }, interrupt(bulkCounts, writes));
      await Promise.all(writes);
      expect(writes).toHaveLength(2);
      if (kind.name === 'SQLite') {
        // The bulk phase ended: the rest of the pass read the table page by page (far more reads than the 7 of a whole bulk pass above).
        expect(bulk.store.reads - readsBefore).toBeGreaterThan(50);
      } else {
        // PostgreSQL: the bulk writer holds the link lock, so the write waited for the bulk phase to end (the 8 reads
        // above, and the removal's two: its record's version and its neighbourhood).
        expect(bulk.store.reads - readsBefore).toBe(8 + 2);
      }
      expect(await bulk.dump()).toEqual(await paged.dump());
      expect({ ...bulkSummary, ms: 0 }).toEqual({ ...pagedSummary, ms: 0 });
      // Every record change counted once: the pages replanned after the write are not counted a second time.
      expect({ applied: bulkCounts[0]!.applied, stale: bulkCounts[0]!.stale }).toEqual({ applied: pagedCounts[0]!.applied, stale: pagedCounts[0]!.stale });
      expect(pagedCounts[0]!.applied).toBe(pagedSummary.records + 1);
    }));

  test('a sync into a table that holds customers goes page by page', async () => {
    const { store } = await kind.open();
    try {
      await syncInto(store, {});
      expect(await store.bulkWriter?.()).toBeNull();
    } finally {
      await store.close();
    }
  });
});

describe('first sync into SQLite', () => {
  // Only SQLite: PostgreSQL's bulk writer holds the link lock, so no one else writes meanwhile.
  test('a pass that ended while the copy was the table is reconciled once the copy is given up: a record the source no longer lists loses its link', async () => {
    const path = join(dir, `links-${(files += 1)}.sqlite`);
    const store = new SqliteLinkStore(path, { forgetSecret: FORGET_SECRET });
    // Another process on the same file (its own connection), linking a CRM contact the CRM does not list.
    const other = new SqliteLinkStore(path, { forgetSecret: FORGET_SECRET });
    const otherServices = createServices(demoConfig(systems.urls, { PORT: '0' }), other);
    const gone = { source: 'crm', entity: 'contact', recordId: 'C-gone' };
    const writes: Promise<unknown>[] = [];
    try {
      const summary = await syncInto(store, {
        // The CRM pass "began" after the other process's link, as a pass that began before a record was deleted would.
        now: () => new Date(Date.now() + 3_600_000),
        bulkWriteEvery: 150,
        onPage: (progress) => {
          if (progress.source !== 'shop' || progress.pages !== 2) return;
          writes.push(otherServices.links.apply([{ upsert: { ...gone, tokens: [{ kind: 'ref', value: 'crm:contact:C-gone' }, { kind: 'email', value: 'gone@example.org' }] } }]));
        },
      });
      await Promise.all(writes);
      expect(writes).toHaveLength(1);
      expect(await store.findCustomerIdByRecord(gone)).toBeNull();
      expect(summary.entities.find((e) => e.source === 'crm')!.reconciled).toBe(1);
    } finally {
      await otherServices.registry.close();
      await other.close();
      await store.close();
    }
  });

  // SQLite writes the bulk phase without foreign-key checks (each deleted customer would scan the tables whole).
  test('rows naming a customer that does not exist fail the bulk phase when it closes, naming the tables', async () => {
    const path = join(dir, `links-${(files += 1)}.sqlite`);
    const store = new SqliteLinkStore(path, { forgetSecret: FORGET_SECRET });
    try {
      const writer = (await store.bulkWriter())!;
      const link = { source: 'crm', entity: 'contact', recordId: 'C-1', customerId: 'cus_nobody', rule: 'SEED' as const, evidence: null, linkedAt: new Date().toISOString() };
      const written = await writer.write({
        customers: { upsert: [], delete: [] }, links: { upsert: [{ link, nameKey: null }], delete: [] }, identifiers: { upsert: [], delete: [] },
        aliases: { upsert: [], delete: [] }, versions: [], sharedValues: [], conflicts: [], history: [], audit: [], cursors: [], touched: [],
      });
      expect(written).toBe(true);
      await expect(writer.close()).rejects.toThrow(new LinkTableIntegrityError("the link table holds 1 row(s) naming a missing parent (links → customers) after a first sync's bulk writes"));
    } finally {
      await store.close();
    }
  });
});
