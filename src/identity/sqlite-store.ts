// The embedded link store: one SQLite file (better-sqlite3), migrated in place, no server to run.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Conflict, GraphCustomer, LinkChanges, LinkGraph, RecordVersion, SharedValueStatus } from './link-planner.js';
import pLimit from 'p-limit';
import { ErrorCode } from '../errors/catalogue.js';
import type { CustomerLinks, IdentifierKind, IdentifierToken, Link, LinkRule, RecordKey } from './model.js';
import { recordKeyString, tokenString } from './model.js';
import { HEALTH_PROBE_AUDIT, type WriteKeyClaim, type WriteKeyState, type AuditAction, type AuditEntry, type AuditQuery, type BulkLinkRows, type BulkLinkWriter, type CustomerPage, type ForgottenCustomer, type LinkStore, type SharedValueDecision, type StoreHealth, type StoredAuditEntry, type StoredConflict, type StoredLinkHistoryEntry, type SyncCursor } from './store.js';
import { conflictFromRow, type ConflictRow } from './conflict-row.js';
import { ForgetSecretMissingError, ForgottenKeys } from './forgotten-keys.js';
import { GroupCommit } from './group-commit.js';

/** Versioned, append-only: a released migration is never edited, only followed by a new one. */
const SQLITE_MIGRATIONS: readonly { version: number; sql: string }[] = [
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
        position INTEGER NOT NULL,
        customer_id TEXT NOT NULL REFERENCES customers(id),
        PRIMARY KEY (kind, value, source, entity, record_id)
      ) WITHOUT ROWID;
      CREATE INDEX identifiers_by_customer ON identifiers (customer_id);
      CREATE TABLE customer_aliases (
        alias_id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL,
        merged_at TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX aliases_by_customer ON customer_aliases (customer_id);
      CREATE TABLE link_conflicts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        detected_at TEXT NOT NULL,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL,
        token_kind TEXT NOT NULL,
        token_value TEXT NOT NULL,
        source TEXT NOT NULL,
        entity TEXT NOT NULL,
        record_id TEXT NOT NULL,
        customer_id TEXT,
        other_customer_id TEXT NOT NULL
      );
      CREATE TABLE sync_cursors (
        source TEXT NOT NULL,
        entity TEXT NOT NULL,
        cursor TEXT,
        pass_started_at TEXT NOT NULL,
        completed_at TEXT,
        PRIMARY KEY (source, entity)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    // The audit log: rows are appended and pruned by age, never changed (the trigger refuses updates).
    sql: `
      CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        request_id TEXT NOT NULL,
        actor TEXT NOT NULL,
        roles TEXT NOT NULL,
        action TEXT NOT NULL,
        customer_id TEXT,
        fields TEXT NOT NULL,
        detail TEXT
      );
      CREATE INDEX audit_log_by_at ON audit_log (at);
      CREATE INDEX audit_log_by_customer ON audit_log (customer_id, seq);
      CREATE TRIGGER audit_log_is_append_only BEFORE UPDATE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    `,
  },
  {
    version: 3,
    // Forgotten records stay unlinkable (sync, lookups, webhooks) until their source deletes them.
    sql: `
      CREATE TABLE forgotten_records (
        source TEXT NOT NULL,
        entity TEXT NOT NULL,
        record_id TEXT NOT NULL,
        forgotten_at TEXT NOT NULL,
        PRIMARY KEY (source, entity, record_id)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 4,
    // The link table as derived state: record versions (stale events ignored), webhook event IDs within their
    // replay window, and the history of merges and splits with their causes.
    sql: `
      CREATE TABLE record_versions (
        source TEXT NOT NULL,
        entity TEXT NOT NULL,
        record_id TEXT NOT NULL,
        version TEXT NOT NULL,
        deleted INTEGER NOT NULL,
        PRIMARY KEY (source, entity, record_id)
      ) WITHOUT ROWID;
      CREATE TABLE webhook_events (
        source TEXT NOT NULL,
        event_id TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        PRIMARY KEY (source, event_id)
      ) WITHOUT ROWID;
      CREATE INDEX webhook_events_by_expiry ON webhook_events (expires_at);
      CREATE TABLE link_history (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        other_customer_id TEXT NOT NULL,
        rule TEXT,
        actor TEXT NOT NULL,
        request_id TEXT NOT NULL,
        reason TEXT
      );
      CREATE INDEX link_history_by_customer ON link_history (customer_id, seq);
      CREATE INDEX link_history_by_other ON link_history (other_customer_id, seq);
      CREATE INDEX links_by_linked_at ON links (source, entity, linked_at);
    `,
  },
  {
    version: 5,
    // Names (as short hashes) beside links, to tell people apart; values suspected of being shared and reviewers'
    // decisions on them; forgotten records as keyed hashes (forgotten_records keeps rows forgotten before, until
    // their sources delete them).
    sql: `
      ALTER TABLE links ADD COLUMN name_key TEXT;
      CREATE TABLE shared_values (
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        status TEXT NOT NULL,
        changed_at TEXT NOT NULL,
        PRIMARY KEY (kind, value)
      ) WITHOUT ROWID;
      CREATE TABLE forgotten_keys (
        key_hash TEXT PRIMARY KEY,
        forgotten_at TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 6,
    // Write-back receipts under their idempotency keys (per caller); a row without a receipt is a write in progress.
    sql: `
      CREATE TABLE write_receipts (
        actor TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        receipt TEXT,
        claimed_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        PRIMARY KEY (actor, idempotency_key)
      ) WITHOUT ROWID;
      CREATE INDEX write_receipts_by_expiry ON write_receipts (expires_at);
    `,
  },
  {
    version: 7,
    // Incremental syncs: the modified-since value of the pass under way, the latest change time read, and when the
    // last full pass (the one that reconciles deletions) finished.
    sql: `
      ALTER TABLE sync_cursors ADD COLUMN since TEXT;
      ALTER TABLE sync_cursors ADD COLUMN watermark TEXT;
      ALTER TABLE sync_cursors ADD COLUMN full_completed_at TEXT;
    `,
  },
];

interface AuditRow {
  seq: number;
  at: string;
  request_id: string;
  actor: string;
  roles: string;
  action: string;
  customer_id: string | null;
  fields: string;
  detail: string | null;
}

interface LinkRow {
  source: string;
  entity: string;
  record_id: string;
  customer_id: string;
  rule: string;
  evidence: string | null;
  linked_at: string;
  name_key: string | null;
}

interface IdentifierRow {
  kind: IdentifierKind;
  value: string;
  source: string;
  entity: string;
  record_id: string;
  position: number;
  customer_id: string;
}

/** An identifier row's primary key as one string (NUL never occurs in a token or record key). */
const identifierKey = (row: IdentifierRow) => `${row.kind}\u0000${row.value}\u0000${recordKeyString({ source: row.source, entity: row.entity, recordId: row.record_id })}`;

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

/** Groups rows into customers under `keyOf(row)`, keeping the order they came in. */
function groupRows<R extends LinkRow>(rows: readonly R[], keyOf: (row: R) => string, merged: ReadonlyMap<string, string[]>): Map<string, CustomerLinks> {
  const customers = new Map<string, CustomerLinks>();
  for (const row of rows) {
    const key = keyOf(row);
    let customer = customers.get(key);
    if (!customer) {
      customer = { customerId: row.customer_id, links: [], mergedIds: merged.get(row.customer_id) ?? [] };
      customers.set(key, customer);
    }
    customer.links.push(toLink(row));
  }
  return customers;
}

const json = (values: readonly unknown[]) => JSON.stringify(values);

/** `source:entity:recordId` → its three parts; source and entity names hold no colon, record IDs may. */
function refParts(ref: string): [string, string, string] {
  const first = ref.indexOf(':');
  const second = ref.indexOf(':', first + 1);
  return [ref.slice(0, first), ref.slice(first + 1, second), ref.slice(second + 1)];
}

/** A customer's link and identifier rows as read under the write lock, by customer ID (customers known to hold none included). */
class HeldRows {
  private readonly byCustomer = new Map<string, { links: LinkRow[]; identifiers: IdentifierRow[] }>();

  remember(customerIds: readonly string[], links: readonly LinkRow[], identifiers: readonly IdentifierRow[]): void {
    for (const id of customerIds) this.byCustomer.set(id, { links: [], identifiers: [] });
    for (const row of links) this.byCustomer.get(row.customer_id)?.links.push(row);
    for (const row of identifiers) this.byCustomer.get(row.customer_id)?.identifiers.push(row);
  }

  /** The rows held of these customers, and which of them were never read. */
  of(customerIds: readonly string[]): { links: LinkRow[]; identifiers: IdentifierRow[]; unknown: string[] } {
    const result = { links: [] as LinkRow[], identifiers: [] as IdentifierRow[], unknown: [] as string[] };
    for (const id of new Set(customerIds)) {
      const held = this.byCustomer.get(id);
      if (!held) {
        result.unknown.push(id);
        continue;
      }
      result.links.push(...held.links);
      result.identifiers.push(...held.identifiers);
    }
    return result;
  }

  clear(): void {
    this.byCustomer.clear();
  }
}

export interface SqliteLinkStoreOptions {
  /** Keys the hashes a forget keeps of forgotten records (`identity.forget.secret`); without it, forgets are refused. */
  forgetSecret?: string;
}

/** The page cache (KiB, negative): a sync page's working set. */
const CACHE_SIZE = -65_536;
/** During a first sync: the tables of 100,000 people (about 300 MB) mostly in memory, so random inserts rarely read. */
const BULK_CACHE_SIZE = -524_288;

/** The link tables' secondary indexes (as the migrations create them): a first sync builds them after its rows. */
const LINK_INDEXES = [
  { name: 'links_by_customer', on: 'links (customer_id)' },
  { name: 'links_by_source_record', on: 'links (source, record_id)' },
  { name: 'links_by_linked_at', on: 'links (source, entity, linked_at)' },
  { name: 'identifiers_by_customer', on: 'identifiers (customer_id)' },
] as const;

/** How long a plan waits for another process's write to finish before it fails (a sync page takes well under this). */
const LINK_LOCK_TIMEOUT_MS = 30_000;

/** The link table breaks its own invariants (rows naming a customer that does not exist): a bug, reported, never repaired silently. */
export class LinkTableIntegrityError extends Error {
  readonly code = ErrorCode.INTERNAL_SERVER_ERROR;
}

export class SqliteLinkStore implements LinkStore {
  private readonly db: Database.Database;
  private readonly forgottenKeys: ForgottenKeys | null;
  reads = 0;
  rowsWritten = 0;

  constructor(path: string, options: SqliteLinkStoreOptions = {}) {
    this.forgottenKeys = options.forgetSecret ? new ForgottenKeys(options.forgetSecret) : null;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    // A sync page dirties thousands of pages spread at random over the identifier and customer indexes. In the
    // default 2 MiB cache they spilled to the WAL mid-transaction and B-tree descents re-read their leaves from the
    // file; and as each commit passed the default 1,000 WAL pages, each was followed by a checkpoint that copied it
    // back and synced the file. A sync of 30,000 people (an 86 MB file) read 6.4 GB and wrote 5.1 GB; with a cache
    // that holds a page's working set (it grows only as used) and a checkpoint every 10,000 WAL pages, which copies
    // a page several commits dirtied once, 1.3 GB and 3.7 GB.
    this.db.pragma(`cache_size = ${CACHE_SIZE}`);
    this.db.pragma('wal_autocheckpoint = 10000');
    this.migrate();
    this.ensureLinkIndexes();
  }

  /**
   * The rows loadGraph read while this process holds the write lock (null outside it): until the plan is written, no
   * one else can change them, so applyChanges compares the plan with them rather than reading them a second time.
   */
  private heldRows: HeldRows | null = null;

  /** Statements are prepared once per SQL text: preparing costs more than running most of these. */
  private readonly statements = new Map<string, Database.Statement>();

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    const applied = new Set(this.db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
    for (const migration of SQLITE_MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      this.db.transaction(() => {
        this.db.exec(migration.sql);
        this.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(migration.version, new Date().toISOString());
      })();
    }
  }

  get schemaVersion(): number {
    return this.statement('SELECT MAX(version) FROM schema_migrations').pluck().get() as number;
  }

  private mergedIdsOf(customerIds: readonly string[]): Map<string, string[]> {
    const rows = this.statement('SELECT alias_id, customer_id FROM customer_aliases WHERE customer_id IN (SELECT value FROM json_each(?)) ORDER BY merged_at, alias_id')
      .all(json(customerIds)) as { alias_id: string; customer_id: string }[];
    const merged = new Map<string, string[]>();
    for (const row of rows) merged.set(row.customer_id, [...(merged.get(row.customer_id) ?? []), row.alias_id]);
    return merged;
  }

  async getCustomers(ids: readonly string[]): Promise<Map<string, CustomerLinks>> {
    this.reads += 1;
    return this.readCustomers(ids);
  }

  private readCustomers(ids: readonly string[]): Map<string, CustomerLinks> {
    if (ids.length === 0) return new Map();
    const rows = this.statement(
        `WITH wanted(id) AS (SELECT value FROM json_each(?)),
         resolved AS (SELECT w.id AS requested, COALESCE(a.customer_id, w.id) AS customer_id FROM wanted w LEFT JOIN customer_aliases a ON a.alias_id = w.id)
         SELECT r.requested, l.* FROM resolved r JOIN links l ON l.customer_id = r.customer_id
         ORDER BY r.requested, l.source, l.entity, l.record_id`,
      )
      .all(json(ids)) as (LinkRow & { requested: string })[];
    const merged = this.mergedIdsOf([...new Set(rows.map((r) => r.customer_id))]);
    return groupRows(rows, (row) => row.requested, merged);
  }

  async pageCustomers(first: number, afterId: string | null, held?: (customerId: string) => CustomerLinks | undefined): Promise<CustomerPage> {
    this.reads += 1;
    if (held) return this.pageThrough(first, afterId, held);
    // One statement: the page of customer IDs (plus one to know if there is a next page) and their links.
    const rows = this.statement(
        // IN (subquery) rather than a join from a CTE: SQLite planned the join as a scan of every link.
        `SELECT l.* FROM links l WHERE l.customer_id IN (SELECT id FROM customers WHERE id > ? ORDER BY id LIMIT ?)
         ORDER BY l.customer_id, l.source, l.entity, l.record_id`,
      )
      .all(afterId ?? '', first + 1) as LinkRow[];
    const ids = [...new Set(rows.map((r) => r.customer_id))];
    const customers = [...groupRows(rows, (row) => row.customer_id, this.mergedIdsOf(ids)).values()];
    return { customers: customers.slice(0, first), hasNextPage: customers.length > first };
  }

  /**
   * The page's IDs, then the links of those `held` does not answer. Reading a page's links costs about 20 times its
   * IDs here (a lookup in the links table per link, ~0.9 ms for 50 customers), so a warm cache makes a page cheap.
   */
  private pageThrough(first: number, afterId: string | null, held: (customerId: string) => CustomerLinks | undefined): CustomerPage {
    const ids = this.statement('SELECT id FROM customers WHERE id > ? ORDER BY id LIMIT ?').pluck().all(afterId ?? '', first + 1) as string[];
    const known = ids.map(held);
    const missing = ids.filter((_, i) => known[i] === undefined);
    const read = this.readCustomers(missing);
    const customers: CustomerLinks[] = [];
    // A customer without links is no one's: the page leaves it out, as the read of every link does.
    for (let i = 0; i < ids.length; i++) {
      const customer = known[i] ?? read.get(ids[i]!);
      if (customer) customers.push(customer);
    }
    return { customers: customers.slice(0, first), hasNextPage: customers.length > first };
  }

  async countCustomers(): Promise<number> {
    this.reads += 1;
    return this.statement('SELECT COUNT(*) FROM customers').pluck().get() as number;
  }

  async findCustomerIdsByIdentifier(kind: IdentifierKind, value: string): Promise<string[]> {
    this.reads += 1;
    return this.statement('SELECT DISTINCT customer_id FROM identifiers WHERE kind = ? AND value = ? ORDER BY customer_id').pluck().all(kind, value) as string[];
  }

  async findCustomerIdByRecord(key: Omit<RecordKey, 'entity'> & { entity?: string }): Promise<string | null> {
    this.reads += 1;
    const row = key.entity
      ? this.statement('SELECT customer_id FROM links WHERE source = ? AND entity = ? AND record_id = ?').pluck().get(key.source, key.entity, key.recordId)
      : this.statement('SELECT customer_id FROM links WHERE source = ? AND record_id = ? ORDER BY entity LIMIT 1').pluck().get(key.source, key.recordId);
    return (row as string | undefined) ?? null;
  }

  async loadGraph(query: { tokens: readonly IdentifierToken[]; candidateIds: readonly string[] }): Promise<LinkGraph> {
    this.reads += 1;
    const customerIds = this.statement(
        `SELECT DISTINCT i.customer_id FROM json_each(?) w
         JOIN identifiers i ON i.kind = json_extract(w.value, '$[0]') AND i.value = json_extract(w.value, '$[1]')`,
      )
      .pluck()
      .all(json(query.tokens.map((t) => [t.kind, t.value]))) as string[];
    const customers = new Map<string, GraphCustomer>();
    if (customerIds.length > 0) {
      const ids = json(customerIds);
      for (const row of this.statement('SELECT id, created_at FROM customers WHERE id IN (SELECT value FROM json_each(?))').all(ids) as { id: string; created_at: string }[]) {
        customers.set(row.id, { id: row.id, createdAt: row.created_at, records: new Map() });
      }
      const linkRows = this.statement('SELECT * FROM links WHERE customer_id IN (SELECT value FROM json_each(?))').all(ids) as LinkRow[];
      for (const row of linkRows) {
        const link = toLink(row);
        customers.get(row.customer_id)!.records.set(recordKeyString(link), { link, tokens: [], nameKey: row.name_key });
      }
      const identifierRows = this.statement('SELECT kind, value, source, entity, record_id, position, customer_id FROM identifiers WHERE customer_id IN (SELECT value FROM json_each(?)) ORDER BY position')
        .all(ids) as IdentifierRow[];
      for (const row of identifierRows) {
        customers.get(row.customer_id)!.records.get(recordKeyString({ source: row.source, entity: row.entity, recordId: row.record_id }))?.tokens.push({ kind: row.kind, value: row.value });
      }
      this.heldRows?.remember(customerIds, linkRows, identifierRows);
    }
    const takenIds = new Set(
      this.statement(
          `SELECT id FROM customers WHERE id IN (SELECT value FROM json_each(@ids))
           UNION SELECT alias_id FROM customer_aliases WHERE alias_id IN (SELECT value FROM json_each(@ids))`,
        )
        .pluck()
        .all({ ids: json(query.candidateIds) }) as string[],
    );
    // Candidate IDs that are no customer hold no rows: a plan that creates one needs not read them back.
    this.heldRows?.remember(query.candidateIds.filter((id) => !takenIds.has(id)), [], []);
    // Every upserted record brings its own `ref` token, so the forgotten ones among them are found by key.
    const refs = query.tokens.flatMap((t) => (t.kind === 'ref' ? [t.value] : []));
    const suppressed = new Set(
      this.statement(
          `SELECT f.source || ':' || f.entity || ':' || f.record_id FROM json_each(?) w
           JOIN forgotten_records f ON f.source = json_extract(w.value, '$[0]') AND f.entity = json_extract(w.value, '$[1]') AND f.record_id = json_extract(w.value, '$[2]')`,
        )
        .pluck()
        .all(json(refs.map(refParts))) as string[],
    );
    if (this.forgottenKeys && refs.length > 0) {
      const byHash = new Map(refs.map((ref) => [this.forgottenKeys!.of(ref), ref]));
      for (const hash of this.statement('SELECT key_hash FROM forgotten_keys WHERE key_hash IN (SELECT value FROM json_each(?))').pluck().all(json([...byHash.keys()])) as string[]) {
        suppressed.add(byHash.get(hash)!);
      }
    }
    const sharedValues = new Map<string, SharedValueStatus>();
    const values = query.tokens.filter((t) => t.kind !== 'ref');
    if (values.length > 0) {
      const rows = this.statement(
          `SELECT s.kind, s.value, s.status FROM json_each(?) w
           JOIN shared_values s ON s.kind = json_extract(w.value, '$[0]') AND s.value = json_extract(w.value, '$[1]')`,
        )
        .all(json(values.map((t) => [t.kind, t.value]))) as { kind: IdentifierKind; value: string; status: SharedValueStatus }[];
      for (const row of rows) sharedValues.set(tokenString({ kind: row.kind, value: row.value }), row.status);
    }
    return { customers, takenIds, suppressed, sharedValues, aliases: this.mergedIdsOf([...customers.keys()]) };
  }

  async applyChanges(changes: LinkChanges, cursor?: SyncCursor): Promise<void> {
    const touched = [...changes.upserted.map((c) => c.id), ...changes.removed.map((r) => r.customerId)];
    const now = new Date().toISOString();
    this.db.transaction(() => {
      let rows = this.writeChangedRows(changes.upserted, touched);
      // The rows remembered no longer are what the table holds.
      this.heldRows?.clear();
      for (const { customerId, mergedInto } of changes.removed) {
        rows += this.statement('DELETE FROM customers WHERE id = ?').run(customerId).changes;
        if (mergedInto) {
          // Flatten: whatever pointed at the merged customer now points at its survivor.
          rows += this.statement('UPDATE customer_aliases SET customer_id = ? WHERE customer_id = ?').run(mergedInto, customerId).changes;
          rows += this.statement('INSERT OR REPLACE INTO customer_aliases (alias_id, customer_id, merged_at) VALUES (?, ?, ?)').run(customerId, mergedInto, now).changes;
        } else {
          rows += this.statement('DELETE FROM customer_aliases WHERE customer_id = ?').run(customerId).changes;
        }
      }
      if (changes.restored?.length) {
        rows += this.statement('DELETE FROM customer_aliases WHERE alias_id IN (SELECT value FROM json_each(?))').run(json(changes.restored)).changes;
      }
      const suspect = this.statement("INSERT INTO shared_values (kind, value, status, changed_at) VALUES (?, ?, 'SUSPECTED', ?) ON CONFLICT (kind, value) DO NOTHING");
      for (const token of changes.suspected ?? []) suspect.run(token.kind, token.value, now);
      this.insertConflicts(changes.conflicts);
      this.writeDerivedState(changes);
      const release = this.statement('DELETE FROM forgotten_records WHERE source = ? AND entity = ? AND record_id = ?');
      const releaseKey = this.statement('DELETE FROM forgotten_keys WHERE key_hash = ?');
      for (const key of changes.released) {
        release.run(key.source, key.entity, key.recordId);
        if (this.forgottenKeys) releaseKey.run(this.forgottenKeys.of(key));
      }
      if (cursor) this.writeCursor(cursor);
      this.rowsWritten += rows;
    })();
  }

  /**
   * Writes the touched customers' links and identifiers as the plan leaves them, touching only rows that changed
   * (as the PostgreSQL store does): a record joining a customer changes one record of it. Each row written dirties
   * a page of a B-tree keyed at random (identifier values, customer IDs), and every dirty page goes to the WAL at
   * commit. Deleting and rewriting every record of each touched customer made a page's writes grow with the
   * records its customers already held: a sync of 10,000 people wrote 537,530 rows to keep 150,018.
   */
  private writeChangedRows(upserted: readonly GraphCustomer[], touched: readonly string[]): number {
    const known = this.heldRows?.of(touched) ?? { links: [], identifiers: [], unknown: touched };
    const unknown = json(known.unknown);
    const linkRows = known.unknown.length === 0 ? known.links : [...known.links, ...(this.statement('SELECT * FROM links WHERE customer_id IN (SELECT value FROM json_each(?))').all(unknown) as LinkRow[])];
    const identifierRows = known.unknown.length === 0
      ? known.identifiers
      : [...known.identifiers, ...(this.statement('SELECT kind, value, source, entity, record_id, position, customer_id FROM identifiers WHERE customer_id IN (SELECT value FROM json_each(?))').all(unknown) as IdentifierRow[])];
    const heldLinks = new Map<string, LinkRow>();
    for (const row of linkRows) heldLinks.set(recordKeyString({ source: row.source, entity: row.entity, recordId: row.record_id }), row);
    const heldIdentifiers = new Map<string, IdentifierRow>();
    for (const row of identifierRows) heldIdentifiers.set(identifierKey(row), row);
    const insertCustomer = this.statement('INSERT OR IGNORE INTO customers (id, created_at) VALUES (?, ?)');
    const upsertLink = this.statement(
      `INSERT INTO links (source, entity, record_id, customer_id, rule, evidence, linked_at, name_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (source, entity, record_id) DO UPDATE SET customer_id = excluded.customer_id, rule = excluded.rule, evidence = excluded.evidence, linked_at = excluded.linked_at, name_key = excluded.name_key`,
    );
    const upsertIdentifier = this.statement(
      `INSERT INTO identifiers (kind, value, source, entity, record_id, position, customer_id) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (kind, value, source, entity, record_id) DO UPDATE SET position = excluded.position, customer_id = excluded.customer_id`,
    );
    let rows = 0;
    const keptLinks = new Set<string>();
    const keptIdentifiers = new Set<string>();
    for (const customer of upserted) {
      rows += insertCustomer.run(customer.id, customer.createdAt).changes;
      for (const [key, { link, tokens, nameKey = null }] of customer.records) {
        keptLinks.add(key);
        const held = heldLinks.get(key);
        if (!held || held.customer_id !== customer.id || held.rule !== link.rule || held.evidence !== link.evidence || held.linked_at !== link.linkedAt || held.name_key !== nameKey) {
          rows += upsertLink.run(link.source, link.entity, link.recordId, customer.id, link.rule, link.evidence, link.linkedAt, nameKey).changes;
        }
        tokens.forEach((token, position) => {
          const row: IdentifierRow = { kind: token.kind, value: token.value, source: link.source, entity: link.entity, record_id: link.recordId, position, customer_id: customer.id };
          const rowKey = identifierKey(row);
          // A token a record carries twice is stored once, at its first position.
          if (keptIdentifiers.has(rowKey)) return;
          keptIdentifiers.add(rowKey);
          const before = heldIdentifiers.get(rowKey);
          if (!before || before.position !== position || before.customer_id !== customer.id) {
            rows += upsertIdentifier.run(row.kind, row.value, row.source, row.entity, row.record_id, row.position, row.customer_id).changes;
          }
        });
      }
    }
    // What the touched customers held and no longer do: tokens a record dropped, records removed, customers gone.
    const deleteIdentifier = this.statement('DELETE FROM identifiers WHERE kind = ? AND value = ? AND source = ? AND entity = ? AND record_id = ?');
    for (const [rowKey, row] of heldIdentifiers) {
      if (!keptIdentifiers.has(rowKey)) rows += deleteIdentifier.run(row.kind, row.value, row.source, row.entity, row.record_id).changes;
    }
    const deleteLink = this.statement('DELETE FROM links WHERE source = ? AND entity = ? AND record_id = ?');
    for (const [key, row] of heldLinks) if (!keptLinks.has(key)) rows += deleteLink.run(row.source, row.entity, row.record_id).changes;
    return rows;
  }

  /**
   * A first sync into an empty table. Its rows land at random places in every index; the secondary ones are dropped
   * and built once at the end (`close`, or the next open after a crash: `ensureLinkIndexes`), and the page cache
   * grows to hold the tables' working set meanwhile. Readers in the meantime find their rows by scanning.
   */
  async bulkWriter(): Promise<BulkLinkWriter | null> {
    if (!this.holdsNothingPlansRead()) return null;
    for (const { name } of LINK_INDEXES) this.db.exec(`DROP INDEX IF EXISTS ${name}`);
    this.db.pragma(`cache_size = ${BULK_CACHE_SIZE}`);
    // Changes committed by another connection (another process sharing the file) move it: the copy in memory is stale then.
    let dataVersion = this.db.pragma('data_version', { simple: true }) as number;
    let closed = false;
    return {
      write: async (rows) => {
        // Without their customer_id indexes, each customer a write deletes (merged away) had its foreign keys checked
        // by scanning links and identifiers whole: 258 deletions cost 15 s of a 100,000-person sync. The bulk
        // transactions run without the checks, and `close` checks every row once. The pragma cannot change inside a
        // transaction, so it is off only from just before this one's BEGIN to its end, all in one synchronous stretch:
        // no other write of this process can run meanwhile.
        try {
          await this.beginImmediate({ foreignKeys: false });
          try {
            if ((this.db.pragma('data_version', { simple: true }) as number) !== dataVersion) {
              this.db.exec('ROLLBACK');
              return false;
            }
            this.writeBulkRows(rows);
            this.db.exec('COMMIT');
          } catch (error) {
            if (this.db.inTransaction) this.db.exec('ROLLBACK');
            throw error;
          }
        } finally {
          this.db.pragma('foreign_keys = ON');
        }
        dataVersion = this.db.pragma('data_version', { simple: true }) as number;
        return true;
      },
      close: async () => {
        if (closed) return;
        closed = true;
        this.ensureLinkIndexes();
        this.db.pragma(`cache_size = ${CACHE_SIZE}`);
      },
    };
  }

  /**
   * Builds the link tables' secondary indexes a first sync dropped (and did not build again: it stopped), then checks
   * the foreign keys its writes did not: a row naming a customer that does not exist is a bug, never left silent.
   */
  private ensureLinkIndexes(): void {
    const missing = LINK_INDEXES.filter(({ name }) => this.statement("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?").get(name) === undefined);
    if (missing.length === 0) return;
    for (const { name, on } of missing) this.db.exec(`CREATE INDEX ${name} ON ${on}`);
    const orphans = this.db.pragma('foreign_key_check') as { table: string; rowid: number | null; parent: string }[];
    if (orphans.length > 0) {
      const tables = [...new Set(orphans.map((o) => `${o.table} → ${o.parent}`))].join(', ');
      throw new LinkTableIntegrityError(`the link table holds ${orphans.length} row(s) naming a missing parent (${tables}) after a first sync's bulk writes`);
    }
  }

  private holdsNothingPlansRead(): boolean {
    this.reads += 1;
    return (
      this.statement(
        `SELECT NOT EXISTS (SELECT 1 FROM customers) AND NOT EXISTS (SELECT 1 FROM customer_aliases) AND NOT EXISTS (SELECT 1 FROM record_versions)
           AND NOT EXISTS (SELECT 1 FROM shared_values) AND NOT EXISTS (SELECT 1 FROM forgotten_records) AND NOT EXISTS (SELECT 1 FROM forgotten_keys)
           AND NOT EXISTS (SELECT 1 FROM webhook_events) AND NOT EXISTS (SELECT 1 FROM links)`,
      ).pluck().get() === 1
    );
  }

  /**
   * A first sync's rows, in an order the foreign keys allow: customers before the rows naming them, and deleted only
   * once nothing names them. Inserts go in key order, so each lands next to the last in the primary-key B-tree.
   */
  private writeBulkRows(rows: BulkLinkRows): void {
    // Each row's sort key made once (not twice per comparison: at 100,000 people that cost 14 s and its garbage).
    const byKey = <T>(rows: readonly T[], key: (row: T) => string): T[] =>
      rows.map((row) => ({ row, key: key(row) })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map(({ row }) => row);
    const customer = this.statement('INSERT INTO customers (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at');
    for (const c of byKey(rows.customers.upsert, (c) => c.id)) customer.run(c.id, c.createdAt);
    const deleteIdentifier = this.statement('DELETE FROM identifiers WHERE kind = ? AND value = ? AND source = ? AND entity = ? AND record_id = ?');
    for (const { token, record } of rows.identifiers.delete) deleteIdentifier.run(token.kind, token.value, record.source, record.entity, record.recordId);
    const deleteLink = this.statement('DELETE FROM links WHERE source = ? AND entity = ? AND record_id = ?');
    for (const r of rows.links.delete) deleteLink.run(r.source, r.entity, r.recordId);
    const upsertLink = this.statement(
      `INSERT INTO links (source, entity, record_id, customer_id, rule, evidence, linked_at, name_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (source, entity, record_id) DO UPDATE SET customer_id = excluded.customer_id, rule = excluded.rule, evidence = excluded.evidence, linked_at = excluded.linked_at, name_key = excluded.name_key`,
    );
    for (const { link, nameKey } of byKey(rows.links.upsert, (l) => recordKeyString(l.link))) upsertLink.run(link.source, link.entity, link.recordId, link.customerId, link.rule, link.evidence, link.linkedAt, nameKey);
    const upsertIdentifier = this.statement(
      `INSERT INTO identifiers (kind, value, source, entity, record_id, position, customer_id) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (kind, value, source, entity, record_id) DO UPDATE SET position = excluded.position, customer_id = excluded.customer_id`,
    );
    for (const i of byKey(rows.identifiers.upsert, (i) => `${i.token.kind}\u0000${i.token.value}\u0000${recordKeyString(i.record)}`)) {
      upsertIdentifier.run(i.token.kind, i.token.value, i.record.source, i.record.entity, i.record.recordId, i.position, i.customerId);
    }
    const deleteCustomer = this.statement('DELETE FROM customers WHERE id = ?');
    for (const id of rows.customers.delete) deleteCustomer.run(id);
    const alias = this.statement('INSERT INTO customer_aliases (alias_id, customer_id, merged_at) VALUES (?, ?, ?) ON CONFLICT (alias_id) DO UPDATE SET customer_id = excluded.customer_id, merged_at = excluded.merged_at');
    for (const a of rows.aliases.upsert) alias.run(a.aliasId, a.customerId, a.mergedAt);
    const deleteAlias = this.statement('DELETE FROM customer_aliases WHERE alias_id = ?');
    for (const id of rows.aliases.delete) deleteAlias.run(id);
    const suspect = this.statement("INSERT INTO shared_values (kind, value, status, changed_at) VALUES (?, ?, 'SUSPECTED', ?) ON CONFLICT (kind, value) DO NOTHING");
    for (const { token, changedAt } of rows.sharedValues) suspect.run(token.kind, token.value, changedAt);
    this.insertConflicts(rows.conflicts);
    this.writeDerivedState({ upserted: [], removed: [], conflicts: [], released: [], versions: rows.versions, history: rows.history });
    const audit = this.statement('INSERT INTO audit_log (at, request_id, actor, roles, action, customer_id, fields, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (const e of rows.audit) audit.run(e.at, e.requestId, e.actor, json(e.roles), e.action, e.customerId, json(e.fields), e.detail);
    for (const cursor of rows.cursors) this.writeCursor(cursor);
    this.rowsWritten += rows.customers.upsert.length + rows.customers.delete.length + rows.links.upsert.length + rows.links.delete.length + rows.identifiers.upsert.length + rows.identifiers.delete.length + rows.aliases.upsert.length + rows.aliases.delete.length;
  }

  /** Versions, event IDs and history entries a plan brings, in the plan's transaction. */
  private writeDerivedState(changes: LinkChanges): void {
    const version = this.statement(
      `INSERT INTO record_versions (source, entity, record_id, version, deleted) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (source, entity, record_id) DO UPDATE SET version = excluded.version, deleted = excluded.deleted`,
    );
    for (const v of changes.versions ?? []) version.run(v.record.source, v.record.entity, v.record.recordId, v.version, v.deleted ? 1 : 0);
    if (changes.seenEvents?.length) {
      const now = new Date().toISOString();
      // Expired IDs go as new ones come: the table holds one tolerance window of events.
      this.statement('DELETE FROM webhook_events WHERE expires_at <= ?').run(now);
      const event = this.statement('INSERT OR REPLACE INTO webhook_events (source, event_id, expires_at) VALUES (?, ?, ?)');
      for (const e of changes.seenEvents) event.run(e.source, e.eventId, e.expiresAt);
    }
    const history = this.statement('INSERT INTO link_history (at, kind, customer_id, other_customer_id, rule, actor, request_id, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (const h of changes.history ?? []) history.run(h.at, h.kind, h.customerId, h.otherCustomerId, h.rule, h.actor, h.requestId, h.reason);
  }

  async getRecordVersions(records: readonly RecordKey[]): Promise<Map<string, RecordVersion>> {
    this.reads += 1;
    const rows = this.statement(
        `SELECT v.* FROM json_each(?) w JOIN record_versions v
         ON v.source = json_extract(w.value, '$[0]') AND v.entity = json_extract(w.value, '$[1]') AND v.record_id = json_extract(w.value, '$[2]')`,
      )
      .all(json(records.map((r) => [r.source, r.entity, r.recordId]))) as { source: string; entity: string; record_id: string; version: string; deleted: number }[];
    return new Map(rows.map((row) => {
      const record = { source: row.source, entity: row.entity, recordId: row.record_id };
      return [recordKeyString(record), { record, version: row.version, deleted: row.deleted === 1 }];
    }));
  }

  async seenEvents(source: string, eventIds: readonly string[], now: string): Promise<Set<string>> {
    this.reads += 1;
    return new Set(this.statement('SELECT event_id FROM webhook_events WHERE source = ? AND event_id IN (SELECT value FROM json_each(?)) AND expires_at > ?').pluck().all(source, json(eventIds), now) as string[]);
  }

  async listLinkedRecordIds(source: string, entity: string, linkedBefore: string): Promise<string[]> {
    this.reads += 1;
    return this.statement('SELECT record_id FROM links WHERE source = ? AND entity = ? AND linked_at < ? ORDER BY record_id').pluck().all(source, entity, linkedBefore) as string[];
  }

  async readLinkHistory(customerIds: readonly string[], first: number): Promise<StoredLinkHistoryEntry[]> {
    this.reads += 1;
    const rows = this.statement(
        `SELECT * FROM link_history WHERE customer_id IN (SELECT value FROM json_each(@ids)) OR other_customer_id IN (SELECT value FROM json_each(@ids))
         ORDER BY seq DESC LIMIT @first`,
      )
      .all({ ids: json(customerIds), first }) as { seq: number; at: string; kind: 'MERGE' | 'SPLIT'; customer_id: string; other_customer_id: string; rule: string | null; actor: string; request_id: string; reason: string | null }[];
    return rows.map((row) => ({
      seq: row.seq, at: row.at, kind: row.kind, customerId: row.customer_id, otherCustomerId: row.other_customer_id,
      rule: row.rule as LinkRule | null, actor: row.actor, requestId: row.request_id, reason: row.reason,
    }));
  }

  /** One process owns the file: its syncs queue here. */
  private readonly syncTurn = pLimit(1);

  withSyncLock<T>(work: () => Promise<T>): Promise<T> {
    return this.syncTurn(work);
  }

  private insertConflicts(conflicts: readonly Conflict[]): void {
    const insert = this.statement(
      `INSERT INTO link_conflicts (detected_at, reason, detail, token_kind, token_value, source, entity, record_id, customer_id, other_customer_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const c of conflicts) insert.run(c.detectedAt, c.reason, c.detail, c.token.kind, c.token.value, c.record.source, c.record.entity, c.record.recordId, c.customerId, c.otherCustomerId);
  }

  private writeCursor(cursor: SyncCursor): void {
    this.statement(
        `INSERT INTO sync_cursors (source, entity, cursor, pass_started_at, completed_at, since, watermark, full_completed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (source, entity) DO UPDATE SET cursor = excluded.cursor, pass_started_at = excluded.pass_started_at, completed_at = excluded.completed_at,
           since = excluded.since, watermark = excluded.watermark, full_completed_at = excluded.full_completed_at`,
      )
      .run(cursor.source, cursor.entity, cursor.cursor, cursor.passStartedAt, cursor.completedAt, cursor.since ?? null, cursor.watermark ?? null, cursor.fullCompletedAt ?? null);
  }

  async getSyncCursor(source: string, entity: string): Promise<SyncCursor | null> {
    this.reads += 1;
    const row = this.statement('SELECT * FROM sync_cursors WHERE source = ? AND entity = ?').get(source, entity) as
      | { source: string; entity: string; cursor: string | null; pass_started_at: string; completed_at: string | null; since: string | null; watermark: string | null; full_completed_at: string | null }
      | undefined;
    return row
      ? { source: row.source, entity: row.entity, cursor: row.cursor, passStartedAt: row.pass_started_at, completedAt: row.completed_at, since: row.since, watermark: row.watermark, fullCompletedAt: row.full_completed_at }
      : null;
  }

  async saveSyncCursor(cursor: SyncCursor): Promise<void> {
    this.writeCursor(cursor);
  }

  async listConflicts(limit: number): Promise<StoredConflict[]> {
    this.reads += 1;
    return (this.statement('SELECT * FROM link_conflicts ORDER BY id DESC LIMIT ?').all(limit) as ConflictRow[]).map(conflictFromRow);
  }

  async decideSharedValue(conflictId: number, decision: SharedValueDecision): Promise<{ token: IdentifierToken; closed: number } | null> {
    this.heldRows?.clear();
    return this.db.transaction(() => {
      const row = this.statement("SELECT token_kind, token_value FROM link_conflicts WHERE id = ? AND reason = 'SUSPECTED_SHARED_VALUE'").get(conflictId) as { token_kind: IdentifierKind; token_value: string } | undefined;
      if (!row) return null;
      this.statement(
          `INSERT INTO shared_values (kind, value, status, changed_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (kind, value) DO UPDATE SET status = excluded.status, changed_at = excluded.changed_at`,
        )
        .run(row.token_kind, row.token_value, decision === 'ALLOW' ? 'ALLOWED' : 'BLOCKED', new Date().toISOString());
      const closed = this.statement("DELETE FROM link_conflicts WHERE reason = 'SUSPECTED_SHARED_VALUE' AND token_kind = ? AND token_value = ?").run(row.token_kind, row.token_value).changes;
      return { token: { kind: row.token_kind, value: row.token_value }, closed };
    })();
  }

  async forgetCustomer(customerId: string): Promise<ForgottenCustomer | null> {
    const keys = this.forgottenKeys;
    if (!keys) throw new ForgetSecretMissingError();
    this.heldRows?.clear();
    return this.db.transaction((): ForgottenCustomer | null => {
      const id = (this.statement('SELECT customer_id FROM customer_aliases WHERE alias_id = ?').pluck().get(customerId) as string | undefined) ?? customerId;
      const links = this.statement('SELECT * FROM links WHERE customer_id = ? ORDER BY source, entity, record_id').all(id) as LinkRow[];
      if (links.length === 0) return null;
      const ids = json([id, ...(this.statement('SELECT alias_id FROM customer_aliases WHERE customer_id = ?').pluck().all(id) as string[])]);
      // The person's identifiers (not record references): other records holding them are on the receipt too.
      const values = json(this.statement("SELECT DISTINCT kind, value FROM identifiers WHERE customer_id = ? AND kind <> 'ref'").raw().all(id));
      const others = this.statement(
          `SELECT DISTINCT source, entity, record_id FROM (
             SELECT i.source, i.entity, i.record_id FROM json_each(@values) w
             JOIN identifiers i ON i.kind = json_extract(w.value, '$[0]') AND i.value = json_extract(w.value, '$[1]') WHERE i.customer_id <> @id
             UNION SELECT c.source, c.entity, c.record_id FROM link_conflicts c
             WHERE c.customer_id IN (SELECT value FROM json_each(@ids)) OR c.other_customer_id IN (SELECT value FROM json_each(@ids))
                OR EXISTS (SELECT 1 FROM json_each(@values) w WHERE c.token_kind = json_extract(w.value, '$[0]') AND c.token_value = json_extract(w.value, '$[1]'))
           ) ORDER BY source, entity, record_id`,
        )
        .all({ values, ids, id }) as { source: string; entity: string; record_id: string }[];
      this.statement(
          `DELETE FROM link_conflicts WHERE customer_id IN (SELECT value FROM json_each(@ids)) OR other_customer_id IN (SELECT value FROM json_each(@ids))
             OR EXISTS (SELECT 1 FROM json_each(@values) w WHERE token_kind = json_extract(w.value, '$[0]') AND token_value = json_extract(w.value, '$[1]'))`,
        )
        .run({ ids, values });
      this.statement('DELETE FROM identifiers WHERE customer_id = ?').run(id);
      this.statement('DELETE FROM links WHERE customer_id = ?').run(id);
      this.statement('DELETE FROM customer_aliases WHERE customer_id = ?').run(id);
      this.statement('DELETE FROM customers WHERE id = ?').run(id);
      const forgottenAt = new Date().toISOString();
      const remember = this.statement('INSERT OR REPLACE INTO forgotten_keys (key_hash, forgotten_at) VALUES (?, ?)');
      const own = links.map((row) => ({ source: row.source, entity: row.entity, recordId: row.record_id }));
      for (const key of own) remember.run(keys.of(key), forgottenAt);
      const ownKeys = new Set(own.map(recordKeyString));
      const alsoHeldBy = others.map((row) => ({ source: row.source, entity: row.entity, recordId: row.record_id })).filter((key) => !ownKeys.has(recordKeyString(key)));
      return { customerId: id, records: own, alsoHeldBy };
    })();
  }

  /** Audit rows appended in one turn of the event loop share one transaction (group-commit.ts). */
  private readonly auditGroup = new GroupCommit<AuditEntry>(
    (entries) => {
      const insert = this.statement('INSERT INTO audit_log (at, request_id, actor, roles, action, customer_id, fields, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
      this.db.transaction(() => {
        for (const e of entries) insert.run(e.at, e.requestId, e.actor, json(e.roles), e.action, e.customerId, json(e.fields), e.detail);
      })();
    },
    () => this.db.inTransaction,
  );

  appendAudit(entries: readonly AuditEntry[]): Promise<void> {
    return this.auditGroup.append(entries);
  }

  async readAudit(query: AuditQuery): Promise<{ entries: StoredAuditEntry[]; hasNextPage: boolean }> {
    const rows = this.statement(
        `SELECT * FROM audit_log
         WHERE (@customerId IS NULL OR customer_id = @customerId) AND (@actor IS NULL OR actor = @actor)
           AND (@action IS NULL OR action = @action) AND (@since IS NULL OR at >= @since) AND (@beforeSeq IS NULL OR seq < @beforeSeq)
         ORDER BY seq DESC LIMIT @limit`,
      )
      .all({
        customerId: query.customerId ?? null,
        actor: query.actor ?? null,
        action: query.action ?? null,
        since: query.since ?? null,
        beforeSeq: query.beforeSeq ?? null,
        limit: query.first + 1,
      }) as AuditRow[];
    const entries = rows.slice(0, query.first).map((row) => ({
      seq: row.seq,
      at: row.at,
      requestId: row.request_id,
      actor: row.actor,
      roles: JSON.parse(row.roles) as string[],
      action: row.action as AuditAction,
      customerId: row.customer_id,
      fields: JSON.parse(row.fields) as string[],
      detail: row.detail,
    }));
    return { entries, hasNextPage: rows.length > query.first };
  }

  async pruneAudit(before: string): Promise<number> {
    return this.statement('DELETE FROM audit_log WHERE at < ?').run(before).changes;
  }

  async claimWriteKey(claim: WriteKeyClaim): Promise<WriteKeyState> {
    // One synchronous transaction: no other request of this process runs inside it, and SQLite's lock keeps other processes out.
    return this.db.transaction((): WriteKeyState => {
      const row = this.statement('SELECT request_hash, receipt, expires_at FROM write_receipts WHERE actor = ? AND idempotency_key = ?').get(claim.actor, claim.key) as { request_hash: string; receipt: string | null; expires_at: string } | undefined;
      if (row && row.expires_at > claim.at) return row.receipt === null ? { state: 'pending', requestHash: row.request_hash } : { state: 'done', requestHash: row.request_hash, receipt: row.receipt };
      this.statement('INSERT OR REPLACE INTO write_receipts (actor, idempotency_key, request_hash, receipt, claimed_at, expires_at) VALUES (?, ?, ?, NULL, ?, ?)').run(claim.actor, claim.key, claim.requestHash, claim.at, claim.expiresAt);
      return { state: 'claimed' };
    }).immediate();
  }

  async completeWriteKey(actor: string, key: string, receipt: string, expiresAt: string): Promise<void> {
    this.statement('UPDATE write_receipts SET receipt = ?, expires_at = ? WHERE actor = ? AND idempotency_key = ?').run(receipt, expiresAt, actor, key);
  }

  async releaseWriteKey(actor: string, key: string): Promise<void> {
    this.statement('DELETE FROM write_receipts WHERE actor = ? AND idempotency_key = ? AND receipt IS NULL').run(actor, key);
  }

  async pruneWriteKeys(now: string): Promise<number> {
    return this.statement('DELETE FROM write_receipts WHERE expires_at <= ?').run(now).changes;
  }

  /**
   * SQLite's own write lock around a plan and its writes: `BEGIN IMMEDIATE` takes the lock before the graph is read,
   * so a plan never builds on a graph another process (a cluster worker sharing the file) is about to change, and the
   * writes inside (`db.transaction`) become savepoints of this one transaction. `work` must not wait on I/O: every
   * statement here is synchronous, so no other request of this process runs inside the transaction.
   */
  async withLinkLock<T>(work: () => Promise<T>): Promise<T> {
    await this.beginImmediate();
    this.heldRows = new HeldRows();
    try {
      const result = await work();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw error;
    } finally {
      this.heldRows = null;
    }
  }

  /**
   * better-sqlite3 waits for a busy lock inside SQLite, blocking the event loop (every request of the process) for up
   * to its timeout; the lock is asked for without waiting and the wait between tries is spent here, asynchronously.
   */
  private async beginImmediate(options: { foreignKeys?: false } = {}): Promise<void> {
    const started = Date.now();
    const busyTimeout = this.db.pragma('busy_timeout', { simple: true }) as number;
    for (let attempt = 0; ; attempt++) {
      this.db.pragma('busy_timeout = 0');
      // Off only for the transaction about to begin: back on before waiting, when other writes of this process may run.
      if (options.foreignKeys === false) this.db.pragma('foreign_keys = OFF');
      try {
        this.db.exec('BEGIN IMMEDIATE');
        return;
      } catch (error) {
        if (options.foreignKeys === false) this.db.pragma('foreign_keys = ON');
        if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
        if (Date.now() - started > LINK_LOCK_TIMEOUT_MS) throw new Error(`the link table's write lock was held by another process for over ${LINK_LOCK_TIMEOUT_MS} ms`, { cause: error });
      } finally {
        this.db.pragma(`busy_timeout = ${busyTimeout}`);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(2 ** attempt, 50)));
    }
  }

  async ping(): Promise<void> {
    this.statement('SELECT 1').get();
  }

  async checkHealth(): Promise<StoreHealth> {
    const latest = SQLITE_MIGRATIONS.at(-1)!.version;
    try {
      const version = this.db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get() as number | null;
      if (version === null) return { condition: 'schema_missing', cause: 'no migration recorded' };
      if (version < latest) return { condition: 'schema_outdated', cause: `schema version ${version}, expected ${latest}` };
      this.db.prepare('SELECT 1 FROM customers LIMIT 1').get();
    } catch (error) {
      const cause = (error as Error).message;
      return { condition: /no such table/.test(cause) ? 'schema_missing' : 'unreachable', cause };
    }
    // A probe row in a savepoint always rolled back: the audit log is append-only, and the probe must leave no trace.
    try {
      this.db.exec('SAVEPOINT readiness_probe');
      try {
        const e = HEALTH_PROBE_AUDIT;
        this.db.prepare('INSERT INTO audit_log (at, request_id, actor, roles, action, customer_id, fields, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(e.at, e.requestId, e.actor, json(e.roles), e.action, e.customerId, json(e.fields), e.detail);
      } finally {
        this.db.exec('ROLLBACK TO readiness_probe');
        this.db.exec('RELEASE readiness_probe');
      }
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      return { condition: code.startsWith('SQLITE_READONLY') ? 'read_only' : 'audit_unavailable', cause: (error as Error).message };
    }
    return { condition: 'ok' };
  }

  async repairSchema(): Promise<void> {
    // Statements prepared against the tables that are gone would keep failing.
    this.statements.clear();
    this.migrate();
  }

  async close(): Promise<void> {
    // Audit rows still waiting for their turn's commit are written, not dropped with the connection.
    this.auditGroup.flush();
    this.db.close();
  }
}
