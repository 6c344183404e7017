// The embedded link store: one SQLite file (better-sqlite3), migrated in place, no server to run.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { CustomerLinks, Identifier, Link, LinkRule, LinkSnapshot, RecordKey } from './model.js';
import { recordKeyString } from './model.js';
import type { Assignment, CustomerPage, LinkStore, ReplaceSummary } from './store.js';

/** Versioned, append-only: a released migration is never edited, only followed by a new one. */
const MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE customers (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE links (
        source TEXT NOT NULL,
        entity TEXT NOT NULL,
        record_id TEXT NOT NULL,
        customer_id TEXT NOT NULL REFERENCES customers(id),
        rule TEXT NOT NULL,
        evidence TEXT,
        linked_at TEXT NOT NULL,
        PRIMARY KEY (source, entity, record_id)
      ) WITHOUT ROWID;
      CREATE INDEX links_by_customer ON links (customer_id);
      CREATE INDEX links_by_source_record ON links (source, record_id);
      CREATE TABLE identifiers (
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        source TEXT NOT NULL,
        entity TEXT NOT NULL,
        record_id TEXT NOT NULL,
        customer_id TEXT NOT NULL REFERENCES customers(id),
        PRIMARY KEY (kind, value, source, entity, record_id)
      ) WITHOUT ROWID;
      CREATE INDEX identifiers_by_customer ON identifiers (customer_id);
    `,
  },
];

interface LinkRow {
  source: string;
  entity: string;
  record_id: string;
  customer_id: string;
  rule: string;
  evidence: string | null;
  linked_at: string;
}

function toLink(row: LinkRow): Link {
  return {
    source: row.source,
    entity: row.entity,
    recordId: row.record_id,
    customerId: row.customer_id,
    rule: row.rule as LinkRule,
    evidence: row.evidence,
    linkedAt: row.linked_at,
  };
}

/** Groups rows (ordered by customer) into customers, keeping the order they came in. */
function groupByCustomer(rows: readonly LinkRow[]): Map<string, CustomerLinks> {
  const customers = new Map<string, CustomerLinks>();
  for (const row of rows) {
    let customer = customers.get(row.customer_id);
    if (!customer) {
      customer = { customerId: row.customer_id, links: [] };
      customers.set(row.customer_id, customer);
    }
    customer.links.push(toLink(row));
  }
  return customers;
}

export class SqliteLinkStore implements LinkStore {
  private readonly db: Database.Database;
  reads = 0;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    const applied = new Set(this.db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      this.db.transaction(() => {
        this.db.exec(migration.sql);
        this.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(migration.version, new Date().toISOString());
      })();
    }
  }

  get schemaVersion(): number {
    return this.db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get() as number;
  }

  async getCustomers(ids: readonly string[]): Promise<Map<string, CustomerLinks>> {
    this.reads += 1;
    if (ids.length === 0) return new Map();
    const rows = this.db
      .prepare(`SELECT * FROM links WHERE customer_id IN (SELECT value FROM json_each(?)) ORDER BY customer_id, source, entity, record_id`)
      .all(JSON.stringify(ids)) as LinkRow[];
    return groupByCustomer(rows);
  }

  async pageCustomers(first: number, afterId: string | null): Promise<CustomerPage> {
    this.reads += 1;
    // One statement: the page of customer IDs (plus one to know if there is a next page) and their links.
    const rows = this.db
      .prepare(
        `WITH page AS (SELECT id FROM customers WHERE id > ? ORDER BY id LIMIT ?)
         SELECT l.* FROM page p JOIN links l ON l.customer_id = p.id ORDER BY l.customer_id, l.source, l.entity, l.record_id`,
      )
      .all(afterId ?? '', first + 1) as LinkRow[];
    const customers = [...groupByCustomer(rows).values()];
    return { customers: customers.slice(0, first), hasNextPage: customers.length > first };
  }

  async countCustomers(): Promise<number> {
    this.reads += 1;
    return this.db.prepare('SELECT COUNT(*) FROM customers').pluck().get() as number;
  }

  async findCustomerIdsByIdentifier(kind: Identifier['kind'], value: string): Promise<string[]> {
    this.reads += 1;
    return this.db.prepare('SELECT DISTINCT customer_id FROM identifiers WHERE kind = ? AND value = ? ORDER BY customer_id').pluck().all(kind, value) as string[];
  }

  async findCustomerIdByRecord(key: Omit<RecordKey, 'entity'> & { entity?: string }): Promise<string | null> {
    this.reads += 1;
    const row = key.entity
      ? this.db.prepare('SELECT customer_id FROM links WHERE source = ? AND entity = ? AND record_id = ?').pluck().get(key.source, key.entity, key.recordId)
      : this.db.prepare('SELECT customer_id FROM links WHERE source = ? AND record_id = ? ORDER BY entity LIMIT 1').pluck().get(key.source, key.recordId);
    return (row as string | undefined) ?? null;
  }

  async currentAssignments(): Promise<Map<string, Assignment>> {
    this.reads += 1;
    const rows = this.db.prepare('SELECT source, entity, record_id, customer_id, linked_at FROM links').all() as LinkRow[];
    return new Map(rows.map((row) => [recordKeyString({ source: row.source, entity: row.entity, recordId: row.record_id }), { customerId: row.customer_id, linkedAt: row.linked_at }]));
  }

  async replaceAll(snapshot: LinkSnapshot): Promise<ReplaceSummary> {
    const existingCreatedAt = new Map(
      (this.db.prepare('SELECT id, created_at FROM customers').all() as { id: string; created_at: string }[]).map((r) => [r.id, r.created_at]),
    );
    const now = new Date().toISOString();
    const customerIds = new Set(snapshot.links.map((link) => link.customerId));
    this.db.transaction(() => {
      this.db.exec('DELETE FROM identifiers; DELETE FROM links; DELETE FROM customers;');
      const insertCustomer = this.db.prepare('INSERT INTO customers (id, created_at) VALUES (?, ?)');
      for (const id of customerIds) insertCustomer.run(id, existingCreatedAt.get(id) ?? now);
      const insertLink = this.db.prepare('INSERT INTO links (source, entity, record_id, customer_id, rule, evidence, linked_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
      for (const l of snapshot.links) insertLink.run(l.source, l.entity, l.recordId, l.customerId, l.rule, l.evidence, l.linkedAt);
      const insertIdentifier = this.db.prepare('INSERT OR IGNORE INTO identifiers (kind, value, source, entity, record_id, customer_id) VALUES (?, ?, ?, ?, ?, ?)');
      for (const i of snapshot.identifiers) insertIdentifier.run(i.kind, i.value, i.source, i.entity, i.recordId, i.customerId);
    })();
    return { customers: customerIds.size, links: snapshot.links.length, identifiers: snapshot.identifiers.length };
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
