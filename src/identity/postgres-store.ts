// The shared link store: PostgreSQL (pg), migrated at open, safe for several hub replicas writing at once.
import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import { Client, escapeIdentifier, Pool, type PoolClient } from 'pg';
import { pino, type Logger } from 'pino';
import { outcomeOf, withSuppressed } from '../errors/secondary-failure.js';
import { conflictFromRow, type ConflictRow } from './conflict-row.js';
import { ForgetSecretMissingError, ForgottenKeys } from './forgotten-keys.js';
import type { Conflict, GraphCustomer, LinkChanges, LinkGraph, RecordVersion, SharedValueStatus } from './link-planner.js';
import type { CustomerLinks, IdentifierKind, IdentifierToken, Link, LinkRule, RecordKey } from './model.js';
import { recordKeyString, tokenString } from './model.js';
import { CHANGE_CHANNEL, changePayloads, InvalidationSubscriber, invalidationPayloads, INVALIDATION_CHANNEL, type InvalidationListener } from './postgres-invalidation.js';
import type { CustomerChangeTransport } from './change-feed.js';
import { PostgresRecordInvalidations } from './postgres-record-invalidation.js';
import { HEALTH_PROBE_AUDIT, type WriteKeyClaim, type WriteKeyState, type AuditAction, type AuditEntry, type AuditQuery, type BulkLinkRows, type BulkLinkWriter, type CustomerPage, type ForgottenCustomer, type LinkStore, type SharedValueDecision, type StoreHealth, type StoredAuditEntry, type StoredConflict, type StoredLinkHistoryEntry, type SyncCursor } from './store.js';

/**
 * Versioned, append-only: a released migration is never edited, only followed by a new one. Versions
 * mean what SQLite's do. Keys are `COLLATE "C"` so ordering and paging are bytewise, as in SQLite;
 * times are ISO-8601 text so they come back exactly as written (the planner compares them as strings).
 */
export const POSTGRES_MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE customers (
        id text COLLATE "C" PRIMARY KEY,
        created_at text COLLATE "C" NOT NULL
      );
      CREATE TABLE links (
        source text COLLATE "C" NOT NULL,
        entity text COLLATE "C" NOT NULL,
        record_id text COLLATE "C" NOT NULL,
        customer_id text COLLATE "C" NOT NULL REFERENCES customers(id),
        rule text NOT NULL,
        evidence text,
        linked_at text NOT NULL,
        PRIMARY KEY (source, entity, record_id)
      );
      CREATE INDEX links_by_customer ON links (customer_id);
      CREATE INDEX links_by_source_record ON links (source, record_id);
      CREATE TABLE identifiers (
        kind text COLLATE "C" NOT NULL,
        value text COLLATE "C" NOT NULL,
        source text COLLATE "C" NOT NULL,
        entity text COLLATE "C" NOT NULL,
        record_id text COLLATE "C" NOT NULL,
        position integer NOT NULL,
        customer_id text COLLATE "C" NOT NULL REFERENCES customers(id),
        PRIMARY KEY (kind, value, source, entity, record_id)
      );
      CREATE INDEX identifiers_by_customer ON identifiers (customer_id);
      CREATE TABLE customer_aliases (
        alias_id text COLLATE "C" PRIMARY KEY,
        customer_id text COLLATE "C" NOT NULL,
        merged_at text COLLATE "C" NOT NULL
      );
      CREATE INDEX aliases_by_customer ON customer_aliases (customer_id);
      CREATE TABLE link_conflicts (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        detected_at text NOT NULL,
        reason text NOT NULL,
        detail text NOT NULL,
        token_kind text NOT NULL,
        token_value text NOT NULL,
        source text NOT NULL,
        entity text NOT NULL,
        record_id text NOT NULL,
        customer_id text,
        other_customer_id text NOT NULL
      );
      CREATE TABLE sync_cursors (
        source text COLLATE "C" NOT NULL,
        entity text COLLATE "C" NOT NULL,
        cursor text,
        pass_started_at text NOT NULL,
        completed_at text,
        PRIMARY KEY (source, entity)
      );
    `,
  },
  {
    version: 2,
    // The audit log: rows are appended and pruned by age, never changed (the trigger refuses updates).
    sql: `
      CREATE TABLE audit_log (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at text COLLATE "C" NOT NULL,
        request_id text NOT NULL,
        actor text COLLATE "C" NOT NULL,
        roles jsonb NOT NULL,
        action text NOT NULL,
        customer_id text COLLATE "C",
        fields jsonb NOT NULL,
        detail text
      );
      CREATE INDEX audit_log_by_at ON audit_log (at);
      CREATE INDEX audit_log_by_customer ON audit_log (customer_id, seq);
      CREATE FUNCTION audit_log_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;
      CREATE TRIGGER audit_log_is_append_only BEFORE UPDATE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_update();
    `,
  },
  {
    version: 3,
    // Forgotten records stay unlinkable (sync, lookups, webhooks) until their source deletes them.
    sql: `
      CREATE TABLE forgotten_records (
        source text COLLATE "C" NOT NULL,
        entity text COLLATE "C" NOT NULL,
        record_id text COLLATE "C" NOT NULL,
        forgotten_at text NOT NULL,
        PRIMARY KEY (source, entity, record_id)
      );
    `,
  },
  {
    version: 4,
    // The link table as derived state: record versions (stale events ignored), webhook event IDs within their
    // replay window, and the history of merges and splits with their causes.
    sql: `
      CREATE TABLE record_versions (
        source text COLLATE "C" NOT NULL,
        entity text COLLATE "C" NOT NULL,
        record_id text COLLATE "C" NOT NULL,
        version text NOT NULL,
        deleted boolean NOT NULL,
        PRIMARY KEY (source, entity, record_id)
      );
      CREATE TABLE webhook_events (
        source text COLLATE "C" NOT NULL,
        event_id text COLLATE "C" NOT NULL,
        expires_at text COLLATE "C" NOT NULL,
        PRIMARY KEY (source, event_id)
      );
      CREATE INDEX webhook_events_by_expiry ON webhook_events (expires_at);
      CREATE TABLE link_history (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at text NOT NULL,
        kind text NOT NULL,
        customer_id text COLLATE "C" NOT NULL,
        other_customer_id text COLLATE "C" NOT NULL,
        rule text,
        actor text NOT NULL,
        request_id text NOT NULL,
        reason text
      );
      CREATE INDEX link_history_by_customer ON link_history (customer_id, seq);
      CREATE INDEX link_history_by_other ON link_history (other_customer_id, seq);
      CREATE INDEX links_by_linked_at ON links (source, entity, linked_at);
    `,
  },
  {
    version: 5,
    // As SQLite's version 5: name hashes beside links, shared values and reviewers' decisions, forgotten records as keyed hashes.
    sql: `
      ALTER TABLE links ADD COLUMN name_key text;
      CREATE TABLE shared_values (
        kind text COLLATE "C" NOT NULL,
        value text COLLATE "C" NOT NULL,
        status text NOT NULL,
        changed_at text NOT NULL,
        PRIMARY KEY (kind, value)
      );
      CREATE TABLE forgotten_keys (
        key_hash text COLLATE "C" PRIMARY KEY,
        forgotten_at text NOT NULL
      );
    `,
  },
  {
    version: 6,
    // As SQLite's version 6: write-back receipts under their idempotency keys, shared by every replica.
    sql: `
      CREATE TABLE write_receipts (
        actor text COLLATE "C" NOT NULL,
        idempotency_key text COLLATE "C" NOT NULL,
        request_hash text NOT NULL,
        receipt text,
        claimed_at text NOT NULL,
        expires_at text COLLATE "C" NOT NULL,
        PRIMARY KEY (actor, idempotency_key)
      );
      CREATE INDEX write_receipts_by_expiry ON write_receipts (expires_at);
    `,
  },
  {
    version: 7,
    // Incremental syncs: the modified-since value of the pass under way, the latest change time read, and when the
    // last full pass (the one that reconciles deletions) finished.
    sql: `
      ALTER TABLE sync_cursors ADD COLUMN since text;
      ALTER TABLE sync_cursors ADD COLUMN watermark text;
      ALTER TABLE sync_cursors ADD COLUMN full_completed_at text;
    `,
  },
];

/** Rows written before the first refresh of the planner's statistics (see refreshStatisticsIfStale). */
const ANALYZE_MIN_ROWS = 5_000;

/** A plain lower-case identifier: it goes into `search_path` and DDL, so nothing needing quotes is accepted. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export interface PostgresLinkStoreOptions {
  /** A libpq connection URL: `postgres://user@host:5432/database`. */
  url: string;
  /** The PostgreSQL schema the tables live in (created if missing); one database can hold several link tables. */
  schema?: string;
  /** Connections in the pool; one more is held for LISTEN. */
  poolSize?: number;
  /** How this process's connections show in `pg_stat_activity` (default `rosetta`). */
  applicationName?: string;
  logger?: Logger;
  /** Keys the hashes a forget keeps of forgotten records (`identity.forget.secret`); without it, forgets are refused. */
  forgetSecret?: string;
}

/** Columns of a link as the JSON arrays the read queries build: [source, entity, record_id, rule, evidence, linked_at]. */
type LinkTuple = [string, string, string, string, string | null, string];
/** An identifier as loadGraph's query builds it: [kind, value, source, entity, record_id]. */
type TokenTuple = [IdentifierKind, string, string, string, string];

const LINK_TUPLE = `json_build_array(l.source, l.entity, l.record_id, l.rule, l.evidence, l.linked_at)`;

/** A customer's links (in key order) and merged-away IDs (oldest merge first), as two JSON columns of one row. */
const CUSTOMER_COLUMNS = (idColumn: string) => `
  (SELECT json_agg(${LINK_TUPLE} ORDER BY l.source, l.entity, l.record_id) FROM links l WHERE l.customer_id = ${idColumn}) AS links,
  ARRAY(SELECT a.alias_id FROM customer_aliases a WHERE a.customer_id = ${idColumn} ORDER BY a.merged_at, a.alias_id) AS merged_ids`;

function toLink(customerId: string, [source, entity, recordId, rule, evidence, linkedAt]: LinkTuple): Link {
  return { source, entity, recordId, customerId, rule: rule as LinkRule, evidence, linkedAt };
}

function toCustomer(row: { customer_id: string; links: LinkTuple[]; merged_ids: string[] }): CustomerLinks {
  return { customerId: row.customer_id, links: row.links.map((tuple) => toLink(row.customer_id, tuple)), mergedIds: row.merged_ids };
}

/**
 * The rows a plan writes, as one array per column: they go in through `unnest`, so a page of a thousand records
 * is a handful of statements, not thousands of round trips.
 */
function columnsOf(upserted: readonly GraphCustomer[]) {
  const customers = { id: [] as string[], createdAt: [] as string[] };
  const links = { source: [] as string[], entity: [] as string[], recordId: [] as string[], customerId: [] as string[], rule: [] as string[], evidence: [] as (string | null)[], linkedAt: [] as string[], nameKey: [] as (string | null)[] };
  const identifiers = { kind: [] as string[], value: [] as string[], source: [] as string[], entity: [] as string[], recordId: [] as string[], position: [] as number[], customerId: [] as string[] };
  for (const customer of upserted) {
    customers.id.push(customer.id);
    customers.createdAt.push(customer.createdAt);
    for (const { link, tokens, nameKey = null } of customer.records.values()) {
      links.nameKey.push(nameKey);
      links.source.push(link.source);
      links.entity.push(link.entity);
      links.recordId.push(link.recordId);
      links.customerId.push(customer.id);
      links.rule.push(link.rule);
      links.evidence.push(link.evidence);
      links.linkedAt.push(link.linkedAt);
      // A token a record carries twice is stored once, at its first position (as SQLite's INSERT OR IGNORE does).
      const seen = new Set<string>();
      tokens.forEach((token, position) => {
        const key = tokenString(token);
        if (seen.has(key)) return;
        seen.add(key);
        identifiers.kind.push(token.kind);
        identifiers.value.push(token.value);
        identifiers.source.push(link.source);
        identifiers.entity.push(link.entity);
        identifiers.recordId.push(link.recordId);
        identifiers.position.push(position);
        identifiers.customerId.push(customer.id);
      });
    }
  }
  return { customers, links, identifiers };
}

/**
 * Where each removed customer's aliases must end up: a plan may merge B into A and then A into C, and
 * an alias must point at a live customer (C), or nowhere when the chain ends in a customer that is gone.
 */
function finalTargets(removed: LinkChanges['removed']): Map<string, string | null> {
  const into = new Map(removed.map((r) => [r.customerId, r.mergedInto]));
  const targets = new Map<string, string | null>();
  for (const { customerId } of removed) {
    let target = into.get(customerId) ?? null;
    const seen = new Set([customerId]);
    while (target !== null && into.has(target) && !seen.has(target)) {
      seen.add(target);
      target = into.get(target) ?? null;
    }
    targets.set(customerId, target);
  }
  return targets;
}

export class PostgresLinkStore implements LinkStore {
  reads = 0;
  rowsWritten = 0;
  /** One advisory-lock holder per store: callers beyond it wait here rather than pin pool connections. */
  private readonly linkLockTurn = pLimit(1);
  private writtenSinceAnalyze = 0;
  private analyzeAfter = ANALYZE_MIN_ROWS;
  readonly recordInvalidations: PostgresRecordInvalidations;
  readonly customerChanges: CustomerChangeTransport;

  private constructor(
    private readonly pool: Pool,
    private readonly subscriber: InvalidationSubscriber,
    /** Names this instance in its notifications, so it can tell its own changes from other processes'. */
    private readonly origin: string,
    readonly schema: string,
    private readonly logger: Logger,
    private readonly forgottenKeys: ForgottenKeys | null,
  ) {
    this.recordInvalidations = new PostgresRecordInvalidations(pool, subscriber, origin, schema);
    this.customerChanges = {
      // After the change committed (the link service publishes once `applyChanges` returned), in one statement.
      publish: async (changes) => {
        if (changes.length > 0) await pool.query('SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload', [CHANGE_CHANNEL, changePayloads(origin, schema, changes)]);
      },
      subscribe: (listener) => subscriber.subscribeChanges(listener),
    };
  }

  /** Connects, migrates the schema (one replica at a time) and starts listening for other replicas' changes. */
  static async open(options: PostgresLinkStoreOptions): Promise<PostgresLinkStore> {
    const schema = options.schema ?? 'public';
    if (!SCHEMA_NAME.test(schema)) throw new Error(`PostgreSQL schema name "${schema}" must match ${SCHEMA_NAME}`);
    const logger = options.logger ?? pino({ name: 'rosetta', level: process.env.LOG_LEVEL ?? 'info' });
    // Every statement probes by key into tables whose working set stays in memory; the default random_page_cost
    // (4, priced for spinning disks) steers the planner to scans and sorts of whole tables instead. With 1.1, the
    // usual setting for SSDs and cached data, a sync of 10,000 people took 8.5 s instead of 11 s.
    const connection = { connectionString: options.url, options: `-c search_path=${schema} -c random_page_cost=1.1`, application_name: options.applicationName ?? 'rosetta' };
    const pool = new Pool({ ...connection, max: options.poolSize ?? 10 });
    // pg emits 'error' on a connection that drops, and the pool listens only while the connection is idle: one that
    // drops while checked out would crash the process. So each gets a listener for life; the pool replaces it on next use.
    pool.on('connect', (client) => client.on('error', (error) => logger.warn({ err: error }, 'link store connection lost')));
    pool.on('error', () => undefined); // the pool re-emits an idle connection's error, which its own listener has logged
    try {
      await PostgresLinkStore.migrate(pool, schema);
      const origin = randomUUID();
      // TCP keep-alive: a LISTEN connection that dies without a FIN (a failover, a dropped NAT entry) only ever reads,
      // and would otherwise look idle, and alive, for ever.
      const subscriber = await InvalidationSubscriber.start({ connect: () => new Client({ ...connection, keepAlive: true }), origin, schema, logger });
      return new PostgresLinkStore(pool, subscriber, origin, schema, logger, options.forgetSecret ? new ForgottenKeys(options.forgetSecret) : null);
    } catch (error) {
      await pool.end();
      throw error;
    }
  }

  /** Applies pending migrations under an advisory lock, so replicas starting together migrate once. */
  private static async migrate(pool: Pool, schema: string): Promise<void> {
    const client = await pool.connect();
    const lockKey = `rosetta.migrate.${schema}`;
    let healthy = false;
    try {
      await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockKey]);
      try {
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${escapeIdentifier(schema)}`);
        await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
        const applied = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
        for (const migration of POSTGRES_MIGRATIONS) {
          if (applied.has(migration.version)) continue;
          await inTransaction(client, async () => {
            await client.query(migration.sql);
            await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [migration.version]);
          });
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockKey]);
        healthy = true;
      }
    } finally {
      client.release(!healthy);
    }
  }

  async schemaVersion(): Promise<number> {
    return (await this.pool.query<{ version: number }>('SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations')).rows[0]!.version;
  }

  /** A connection whose transaction failed is destroyed, not pooled again: it may be the connection that failed. */
  private async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let healthy = false;
    try {
      const result = await inTransaction(client, () => work(client));
      healthy = true;
      return result;
    } finally {
      client.release(!healthy);
    }
  }

  /**
   * Holds a session-level advisory lock on a dedicated connection while `work` runs: a plan reads the
   * graph and then writes it, and two replicas planning at once would each miss the other's links.
   */
  withLinkLock<T>(work: () => Promise<T>): Promise<T> {
    return this.linkLockTurn(async () => {
      const client = await this.pool.connect();
      const lockKey = `rosetta.links.${this.schema}`;
      let healthy = false;
      try {
        await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockKey]);
        try {
          return await work();
        } finally {
          await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockKey]);
          healthy = true;
        }
      } finally {
        // Destroying a connection that failed to lock or unlock ends its session, and with it any lock it held.
        client.release(!healthy);
      }
    });
  }

  onInvalidate(listener: InvalidationListener): () => void {
    return this.subscriber.subscribe(listener);
  }

  /** Queued in the transaction, so other processes hear of a change exactly when (and only if) it commits. */
  private async notifyChanged(client: PoolClient, customerIds: readonly string[]): Promise<void> {
    if (customerIds.length === 0) return;
    await client.query('SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload', [INVALIDATION_CHANNEL, invalidationPayloads(this.origin, this.schema, customerIds)]);
  }

  async getCustomers(ids: readonly string[]): Promise<Map<string, CustomerLinks>> {
    this.reads += 1;
    if (ids.length === 0) return new Map();
    const { rows } = await this.pool.query<{ requested: string; customer_id: string; links: LinkTuple[] | null; merged_ids: string[] }>(
      `WITH wanted AS (SELECT DISTINCT unnest($1::text[]) AS id),
       resolved AS (SELECT w.id AS requested, COALESCE(a.customer_id, w.id) AS customer_id FROM wanted w LEFT JOIN customer_aliases a ON a.alias_id = w.id)
       SELECT r.requested, r.customer_id, ${CUSTOMER_COLUMNS('r.customer_id')} FROM resolved r ORDER BY r.requested`,
      [ids],
    );
    const customers = new Map<string, CustomerLinks>();
    for (const row of rows) if (row.links) customers.set(row.requested, toCustomer({ ...row, links: row.links }));
    return customers;
  }

  async pageCustomers(first: number, afterId: string | null): Promise<CustomerPage> {
    this.reads += 1;
    // One statement: the page of customer IDs (plus one to know if there is a next page) with their links and aliases.
    const { rows } = await this.pool.query<{ customer_id: string; links: LinkTuple[] | null; merged_ids: string[] }>(
      `WITH page AS (SELECT id FROM customers WHERE id > $1 ORDER BY id LIMIT $2)
       SELECT p.id AS customer_id, ${CUSTOMER_COLUMNS('p.id')} FROM page p ORDER BY p.id`,
      [afterId ?? '', first + 1],
    );
    const customers = rows.flatMap((row) => (row.links ? [toCustomer({ ...row, links: row.links })] : []));
    return { customers: customers.slice(0, first), hasNextPage: customers.length > first };
  }

  async countCustomers(): Promise<number> {
    this.reads += 1;
    return (await this.pool.query<{ count: number }>('SELECT COUNT(*)::int AS count FROM customers')).rows[0]!.count;
  }

  async findCustomerIdsByIdentifier(kind: IdentifierKind, value: string): Promise<string[]> {
    this.reads += 1;
    const { rows } = await this.pool.query<{ customer_id: string }>('SELECT DISTINCT customer_id FROM identifiers WHERE kind = $1 AND value = $2 ORDER BY customer_id', [kind, value]);
    return rows.map((r) => r.customer_id);
  }

  async findCustomerIdByRecord(key: Omit<RecordKey, 'entity'> & { entity?: string }): Promise<string | null> {
    this.reads += 1;
    const { rows } = key.entity
      ? await this.pool.query<{ customer_id: string }>('SELECT customer_id FROM links WHERE source = $1 AND entity = $2 AND record_id = $3', [key.source, key.entity, key.recordId])
      : await this.pool.query<{ customer_id: string }>('SELECT customer_id FROM links WHERE source = $1 AND record_id = $2 ORDER BY entity LIMIT 1', [key.source, key.recordId]);
    return rows[0]?.customer_id ?? null;
  }

  async loadGraph(query: { tokens: readonly IdentifierToken[]; candidateIds: readonly string[] }): Promise<LinkGraph> {
    this.reads += 1;
    const refs = query.tokens.flatMap((t) => (t.kind === 'ref' ? [t.value] : []));
    const byHash = new Map(this.forgottenKeys ? refs.map((ref) => [this.forgottenKeys!.of(ref), ref]) : []);
    // One round trip: every customer holding a token, with its records' tokens in their original order; the taken
    // candidate IDs; the forgotten records among the upserted ones (each brings its own `ref` token, so found by key);
    // and the shared-value status of the tokens that have one.
    const { rows } = await this.pool.query<{ customers: { id: string; created_at: string; links: LinkTuple[]; names: (string | null)[]; tokens: TokenTuple[] | null; aliases: string[] | null }[]; taken: string[]; suppressed: string[]; hashed: string[]; shared: [IdentifierKind, string, SharedValueStatus][] }>(
      `WITH wanted AS (SELECT * FROM unnest($1::text[], $2::text[]) AS w(kind, value)),
       hit AS (SELECT DISTINCT i.customer_id FROM wanted w JOIN identifiers i ON i.kind = w.kind AND i.value = w.value)
       SELECT
         (SELECT COALESCE(json_agg(json_build_object(
             'id', c.id,
             'created_at', c.created_at,
             'links', (SELECT json_agg(${LINK_TUPLE} ORDER BY l.source, l.entity, l.record_id) FROM links l WHERE l.customer_id = c.id),
             'names', (SELECT json_agg(l.name_key ORDER BY l.source, l.entity, l.record_id) FROM links l WHERE l.customer_id = c.id),
             'tokens', (SELECT json_agg(json_build_array(i.kind, i.value, i.source, i.entity, i.record_id) ORDER BY i.position) FROM identifiers i WHERE i.customer_id = c.id),
             'aliases', (SELECT json_agg(a.alias_id ORDER BY a.merged_at, a.alias_id) FROM customer_aliases a WHERE a.customer_id = c.id)
           )), '[]') FROM hit h JOIN customers c ON c.id = h.customer_id) AS customers,
         ARRAY(SELECT id FROM customers WHERE id = ANY($3::text[]) UNION SELECT alias_id FROM customer_aliases WHERE alias_id = ANY($3::text[])) AS taken,
         ARRAY(SELECT w.value FROM wanted w JOIN forgotten_records f ON w.kind = 'ref' AND f.source || ':' || f.entity || ':' || f.record_id = w.value) AS suppressed,
         ARRAY(SELECT key_hash FROM forgotten_keys WHERE key_hash = ANY($4::text[])) AS hashed,
         (SELECT COALESCE(json_agg(json_build_array(s.kind, s.value, s.status)), '[]') FROM wanted w JOIN shared_values s ON (s.kind, s.value) = (w.kind, w.value)) AS shared`,
      [query.tokens.map((t) => t.kind), query.tokens.map((t) => t.value), query.candidateIds, [...byHash.keys()]],
    );
    const row = rows[0]!;
    const customers = new Map<string, GraphCustomer>();
    const aliases = new Map<string, string[]>();
    for (const stored of row.customers) {
      if (stored.aliases) aliases.set(stored.id, stored.aliases);
      const customer: GraphCustomer = { id: stored.id, createdAt: stored.created_at, records: new Map() };
      (stored.links ?? []).forEach((tuple, i) => {
        const link = toLink(stored.id, tuple);
        customer.records.set(recordKeyString(link), { link, tokens: [], nameKey: stored.names?.[i] ?? null });
      });
      for (const [kind, value, source, entity, recordId] of stored.tokens ?? []) {
        customer.records.get(recordKeyString({ source, entity, recordId }))?.tokens.push({ kind, value });
      }
      customers.set(customer.id, customer);
    }
    const suppressed = new Set(row.suppressed);
    for (const hash of row.hashed) suppressed.add(byHash.get(hash)!);
    const sharedValues = new Map(row.shared.map(([kind, value, status]) => [tokenString({ kind, value }), status]));
    return { customers, takenIds: new Set(row.taken), suppressed, sharedValues, aliases };
  }

  async applyChanges(changes: LinkChanges, cursor?: SyncCursor): Promise<void> {
    const touched = [...changes.upserted.map((c) => c.id), ...changes.removed.map((r) => r.customerId)];
    const now = new Date().toISOString();
    const { customers, links, identifiers } = columnsOf(changes.upserted);
    const targets = finalTargets(changes.removed);
    const merged = [...targets].filter((entry): entry is [string, string] => entry[1] !== null);
    const dropped = [...targets].filter(([, target]) => target === null).map(([id]) => id);

    const { written, changed } = await this.transaction(async (client) => {
      let rows = 0;
      // Every link-table row inserted, updated or deleted; `rows` (links and identifiers written) paces ANALYZE.
      let changed = 0;
      // A touched customer's rows are upserted, and only those that changed are written: a record joining a customer
      // changes one record of it, and rewriting them all would double the writes and leave the tables bloated.
      if (customers.id.length > 0) {
        changed += await rowCount(client.query('INSERT INTO customers (id, created_at) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (id) DO NOTHING', [customers.id, customers.createdAt]));
      }
      if (touched.length > 0) {
        // What touched customers no longer hold: tokens a record dropped, records removed, customers gone.
        // `held` is materialised so it is read through the customer index: left to itself, the planner walks the
        // whole primary key to merge-join against the new rows (88 ms instead of 13 ms a page at 10,000 people).
        changed += await rowCount(client.query(
          `WITH held AS MATERIALIZED (SELECT kind, value, source, entity, record_id FROM identifiers WHERE customer_id = ANY($1::text[])),
           stale AS (SELECT * FROM held EXCEPT ALL SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]))
           DELETE FROM identifiers i USING stale s WHERE (i.kind, i.value, i.source, i.entity, i.record_id) = (s.kind, s.value, s.source, s.entity, s.record_id)`,
          [touched, identifiers.kind, identifiers.value, identifiers.source, identifiers.entity, identifiers.recordId],
        ));
        changed += await rowCount(client.query(
          `WITH held AS MATERIALIZED (SELECT source, entity, record_id FROM links WHERE customer_id = ANY($1::text[])),
           stale AS (SELECT * FROM held EXCEPT ALL SELECT * FROM unnest($2::text[], $3::text[], $4::text[]))
           DELETE FROM links l USING stale s WHERE (l.source, l.entity, l.record_id) = (s.source, s.entity, s.record_id)`,
          [touched, links.source, links.entity, links.recordId],
        ));
      }
      // Unchanged rows are skipped by ON CONFLICT's WHERE alone. A LEFT JOIN against the table to skip them first was
      // planned as a hash join over the whole table while statistics lagged: at 10,000 people it cost 205 ms a page
      // for identifiers (137 ms without it, on the same loaded machine), and it grew with the table.
      if (links.source.length > 0) {
        rows += await rowCount(client.query(
          `INSERT INTO links AS l (source, entity, record_id, customer_id, rule, evidence, linked_at, name_key)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
           ON CONFLICT (source, entity, record_id) DO UPDATE
             SET customer_id = excluded.customer_id, rule = excluded.rule, evidence = excluded.evidence, linked_at = excluded.linked_at, name_key = excluded.name_key
             WHERE (l.customer_id, l.rule, l.evidence, l.linked_at, l.name_key) IS DISTINCT FROM (excluded.customer_id, excluded.rule, excluded.evidence, excluded.linked_at, excluded.name_key)`,
          [links.source, links.entity, links.recordId, links.customerId, links.rule, links.evidence, links.linkedAt, links.nameKey],
        ));
      }
      if (identifiers.kind.length > 0) {
        rows += await rowCount(client.query(
          `INSERT INTO identifiers AS i (kind, value, source, entity, record_id, position, customer_id)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[])
           ON CONFLICT (kind, value, source, entity, record_id) DO UPDATE
             SET position = excluded.position, customer_id = excluded.customer_id
             WHERE (i.position, i.customer_id) IS DISTINCT FROM (excluded.position, excluded.customer_id)`,
          [identifiers.kind, identifiers.value, identifiers.source, identifiers.entity, identifiers.recordId, identifiers.position, identifiers.customerId],
        ));
      }
      if (targets.size > 0) {
        changed += await rowCount(client.query('DELETE FROM customers WHERE id = ANY($1::text[])', [[...targets.keys()]]));
      }
      if (merged.length > 0) {
        // Flatten: whatever pointed at a merged customer now points at its survivor.
        changed += await rowCount(client.query(
          `UPDATE customer_aliases a SET customer_id = m.survivor FROM unnest($1::text[], $2::text[]) AS m(merged, survivor) WHERE a.customer_id = m.merged`,
          [merged.map(([id]) => id), merged.map(([, survivor]) => survivor)],
        ));
        changed += await rowCount(client.query(
          `INSERT INTO customer_aliases (alias_id, customer_id, merged_at) SELECT m.merged, m.survivor, $3 FROM unnest($1::text[], $2::text[]) AS m(merged, survivor)
           ON CONFLICT (alias_id) DO UPDATE SET customer_id = excluded.customer_id, merged_at = excluded.merged_at`,
          [merged.map(([id]) => id), merged.map(([, survivor]) => survivor), now],
        ));
      }
      if (dropped.length > 0) {
        changed += await rowCount(client.query('DELETE FROM customer_aliases WHERE customer_id = ANY($1::text[])', [dropped]));
      }
      if (changes.restored?.length) {
        changed += await rowCount(client.query('DELETE FROM customer_aliases WHERE alias_id = ANY($1::text[])', [changes.restored]));
      }
      await writeDerivedState(client, changes);
      if (changes.conflicts.length > 0) await insertConflicts(client, changes.conflicts);
      if (changes.released.length > 0) {
        await client.query(
          'DELETE FROM forgotten_records f USING unnest($1::text[], $2::text[], $3::text[]) AS r(source, entity, record_id) WHERE (f.source, f.entity, f.record_id) = (r.source, r.entity, r.record_id)',
          [changes.released.map((k) => k.source), changes.released.map((k) => k.entity), changes.released.map((k) => k.recordId)],
        );
        if (this.forgottenKeys) await client.query('DELETE FROM forgotten_keys WHERE key_hash = ANY($1::text[])', [changes.released.map((k) => this.forgottenKeys!.of(k))]);
      }
      if (changes.suspected?.length) {
        await client.query(
          `INSERT INTO shared_values (kind, value, status, changed_at) SELECT kind, value, 'SUSPECTED', $3 FROM unnest($1::text[], $2::text[]) AS t(kind, value)
           ON CONFLICT (kind, value) DO NOTHING`,
          [changes.suspected.map((t) => t.kind), changes.suspected.map((t) => t.value), now],
        );
      }
      if (cursor) await writeCursor(client, cursor);
      await this.notifyChanged(client, touched);
      return { written: rows, changed: changed + rows };
    });
    this.rowsWritten += changed;
    await this.refreshStatisticsIfStale(written);
  }

  /**
   * Another replica could write between two bulk writes and leave the copy in memory stale, so the writer holds the
   * link lock from here until `close`: their webhooks, lookups and reviews wait for the first sync's bulk phase.
   */
  async bulkWriter(): Promise<BulkLinkWriter | null> {
    if (!(await this.holdsNothingPlansRead())) return null;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let enter!: () => void;
    const entered = new Promise<void>((resolve) => (enter = resolve));
    const held = this.withLinkLock(async () => {
      enter();
      await released;
    });
    // `held` settles first only when the lock could not be taken: its rejection is thrown here.
    await Promise.race([entered, held]);
    const close = async () => {
      release();
      await held;
    };
    if (!(await this.holdsNothingPlansRead())) {
      await close();
      return null;
    }
    return {
      write: async (rows) => {
        await this.writeBulkRows(rows);
        return true;
      },
      close,
    };
  }

  private async holdsNothingPlansRead(): Promise<boolean> {
    this.reads += 1;
    const { rows } = await this.pool.query<{ empty: boolean }>(
      `SELECT NOT EXISTS (SELECT 1 FROM customers) AND NOT EXISTS (SELECT 1 FROM customer_aliases) AND NOT EXISTS (SELECT 1 FROM record_versions)
         AND NOT EXISTS (SELECT 1 FROM shared_values) AND NOT EXISTS (SELECT 1 FROM forgotten_records) AND NOT EXISTS (SELECT 1 FROM forgotten_keys)
         AND NOT EXISTS (SELECT 1 FROM webhook_events) AND NOT EXISTS (SELECT 1 FROM links) AS empty`,
    );
    return rows[0]!.empty;
  }

  /** A first sync's rows in one transaction, a statement per table and kind of change, in an order the foreign keys allow. */
  private async writeBulkRows(rows: BulkLinkRows): Promise<void> {
    const written = await this.transaction(async (client) => {
      let written = 0;
      const { customers, links, identifiers, aliases } = rows;
      if (customers.upsert.length > 0) {
        written += await rowCount(client.query(
          'INSERT INTO customers (id, created_at) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at',
          [customers.upsert.map((c) => c.id), customers.upsert.map((c) => c.createdAt)],
        ));
      }
      if (identifiers.delete.length > 0) {
        const d = identifiers.delete;
        written += await rowCount(client.query(
          'DELETE FROM identifiers i USING unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS s(kind, value, source, entity, record_id) WHERE (i.kind, i.value, i.source, i.entity, i.record_id) = (s.kind, s.value, s.source, s.entity, s.record_id)',
          [d.map((x) => x.token.kind), d.map((x) => x.token.value), d.map((x) => x.record.source), d.map((x) => x.record.entity), d.map((x) => x.record.recordId)],
        ));
      }
      if (links.delete.length > 0) {
        const d = links.delete;
        written += await rowCount(client.query(
          'DELETE FROM links l USING unnest($1::text[], $2::text[], $3::text[]) AS s(source, entity, record_id) WHERE (l.source, l.entity, l.record_id) = (s.source, s.entity, s.record_id)',
          [d.map((x) => x.source), d.map((x) => x.entity), d.map((x) => x.recordId)],
        ));
      }
      if (links.upsert.length > 0) {
        const u = links.upsert;
        written += await rowCount(client.query(
          `INSERT INTO links (source, entity, record_id, customer_id, rule, evidence, linked_at, name_key)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
           ON CONFLICT (source, entity, record_id) DO UPDATE
             SET customer_id = excluded.customer_id, rule = excluded.rule, evidence = excluded.evidence, linked_at = excluded.linked_at, name_key = excluded.name_key`,
          [u.map((x) => x.link.source), u.map((x) => x.link.entity), u.map((x) => x.link.recordId), u.map((x) => x.link.customerId), u.map((x) => x.link.rule), u.map((x) => x.link.evidence), u.map((x) => x.link.linkedAt), u.map((x) => x.nameKey)],
        ));
      }
      if (identifiers.upsert.length > 0) {
        const u = identifiers.upsert;
        written += await rowCount(client.query(
          `INSERT INTO identifiers (kind, value, source, entity, record_id, position, customer_id)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[])
           ON CONFLICT (kind, value, source, entity, record_id) DO UPDATE SET position = excluded.position, customer_id = excluded.customer_id`,
          [u.map((x) => x.token.kind), u.map((x) => x.token.value), u.map((x) => x.record.source), u.map((x) => x.record.entity), u.map((x) => x.record.recordId), u.map((x) => x.position), u.map((x) => x.customerId)],
        ));
      }
      if (customers.delete.length > 0) written += await rowCount(client.query('DELETE FROM customers WHERE id = ANY($1::text[])', [customers.delete]));
      if (aliases.upsert.length > 0) {
        written += await rowCount(client.query(
          `INSERT INTO customer_aliases (alias_id, customer_id, merged_at) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
           ON CONFLICT (alias_id) DO UPDATE SET customer_id = excluded.customer_id, merged_at = excluded.merged_at`,
          [aliases.upsert.map((a) => a.aliasId), aliases.upsert.map((a) => a.customerId), aliases.upsert.map((a) => a.mergedAt)],
        ));
      }
      if (aliases.delete.length > 0) written += await rowCount(client.query('DELETE FROM customer_aliases WHERE alias_id = ANY($1::text[])', [aliases.delete]));
      if (rows.sharedValues.length > 0) {
        const v = rows.sharedValues;
        await client.query(
          `INSERT INTO shared_values (kind, value, status, changed_at) SELECT kind, value, 'SUSPECTED', changed_at FROM unnest($1::text[], $2::text[], $3::text[]) AS t(kind, value, changed_at)
           ON CONFLICT (kind, value) DO NOTHING`,
          [v.map((x) => x.token.kind), v.map((x) => x.token.value), v.map((x) => x.changedAt)],
        );
      }
      if (rows.conflicts.length > 0) await insertConflicts(client, rows.conflicts);
      await writeDerivedState(client, { upserted: [], removed: [], conflicts: [], released: [], versions: rows.versions, history: rows.history });
      if (rows.audit.length > 0) await insertAudit(client, rows.audit);
      for (const cursor of rows.cursors) await writeCursor(client, cursor);
      await this.notifyChanged(client, rows.touched);
      return written;
    });
    this.rowsWritten += written;
    await this.refreshStatisticsIfStale(written);
  }

  /**
   * PostgreSQL plans from statistics only ANALYZE gathers. Autovacuum gathers them eventually, or never where
   * it is off (as on this project's machines), and until then a table filled by a first sync is planned as if
   * empty: whole-table merge joins, 350 ms instead of 40 ms a loadGraph at 100,000 people. So the writer
   * refreshes them itself, once it has written a fifth of the table again (at least `ANALYZE_MIN_ROWS`).
   */
  private async refreshStatisticsIfStale(written: number): Promise<void> {
    this.writtenSinceAnalyze += written;
    if (this.writtenSinceAnalyze < this.analyzeAfter) return;
    this.writtenSinceAnalyze = 0;
    try {
      await this.pool.query('ANALYZE customers, links, identifiers, customer_aliases');
      const { rows } = await this.pool.query<{ estimate: number }>("SELECT reltuples::float8 AS estimate FROM pg_class WHERE oid = 'identifiers'::regclass");
      this.analyzeAfter = Math.max(ANALYZE_MIN_ROWS, Math.round((rows[0]?.estimate ?? 0) * 0.2));
    } catch (error) {
      // The links are written and committed; stale statistics cost speed, not correctness.
      this.logger.warn({ err: error }, 'could not refresh link table statistics');
    }
  }

  async getRecordVersions(records: readonly RecordKey[]): Promise<Map<string, RecordVersion>> {
    this.reads += 1;
    if (records.length === 0) return new Map();
    const { rows } = await this.pool.query<{ source: string; entity: string; record_id: string; version: string; deleted: boolean }>(
      `SELECT v.* FROM unnest($1::text[], $2::text[], $3::text[]) AS w(source, entity, record_id)
       JOIN record_versions v ON (v.source, v.entity, v.record_id) = (w.source, w.entity, w.record_id)`,
      [records.map((r) => r.source), records.map((r) => r.entity), records.map((r) => r.recordId)],
    );
    return new Map(rows.map((row) => {
      const record = { source: row.source, entity: row.entity, recordId: row.record_id };
      return [recordKeyString(record), { record, version: row.version, deleted: row.deleted }];
    }));
  }

  async seenEvents(source: string, eventIds: readonly string[], now: string): Promise<Set<string>> {
    this.reads += 1;
    const { rows } = await this.pool.query<{ event_id: string }>('SELECT event_id FROM webhook_events WHERE source = $1 AND event_id = ANY($2::text[]) AND expires_at > $3', [source, eventIds, now]);
    return new Set(rows.map((r) => r.event_id));
  }

  async listLinkedRecordIds(source: string, entity: string, linkedBefore: string): Promise<string[]> {
    this.reads += 1;
    const { rows } = await this.pool.query<{ record_id: string }>('SELECT record_id FROM links WHERE source = $1 AND entity = $2 AND linked_at < $3 ORDER BY record_id', [source, entity, linkedBefore]);
    return rows.map((r) => r.record_id);
  }

  async readLinkHistory(customerIds: readonly string[], first: number): Promise<StoredLinkHistoryEntry[]> {
    this.reads += 1;
    const { rows } = await this.pool.query<{ seq: string; at: string; kind: 'MERGE' | 'SPLIT'; customer_id: string; other_customer_id: string; rule: string | null; actor: string; request_id: string; reason: string | null }>(
      'SELECT * FROM link_history WHERE customer_id = ANY($1::text[]) OR other_customer_id = ANY($1::text[]) ORDER BY seq DESC LIMIT $2',
      [customerIds, first],
    );
    return rows.map((row) => ({
      seq: Number(row.seq), at: row.at, kind: row.kind, customerId: row.customer_id, otherCustomerId: row.other_customer_id,
      rule: row.rule as LinkRule | null, actor: row.actor, requestId: row.request_id, reason: row.reason,
    }));
  }

  /**
   * One sync at a time across every replica: a session advisory lock on a connection of its own, held for the
   * whole sync; if this process dies the session ends and the lock is freed.
   */
  async withSyncLock<T>(work: () => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const lockKey = `rosetta.sync.${this.schema}`;
    let healthy = false;
    try {
      await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockKey]);
      try {
        return await work();
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockKey]);
        healthy = true;
      }
    } finally {
      client.release(!healthy);
    }
  }

  async getSyncCursor(source: string, entity: string): Promise<SyncCursor | null> {
    this.reads += 1;
    const { rows } = await this.pool.query<{ source: string; entity: string; cursor: string | null; pass_started_at: string; completed_at: string | null; since: string | null; watermark: string | null; full_completed_at: string | null }>(
      'SELECT * FROM sync_cursors WHERE source = $1 AND entity = $2',
      [source, entity],
    );
    const row = rows[0];
    return row
      ? { source: row.source, entity: row.entity, cursor: row.cursor, passStartedAt: row.pass_started_at, completedAt: row.completed_at, since: row.since, watermark: row.watermark, fullCompletedAt: row.full_completed_at }
      : null;
  }

  async saveSyncCursor(cursor: SyncCursor): Promise<void> {
    await writeCursor(this.pool, cursor);
  }

  async listConflicts(limit: number): Promise<StoredConflict[]> {
    this.reads += 1;
    const { rows } = await this.pool.query<ConflictRow>('SELECT * FROM link_conflicts ORDER BY id DESC LIMIT $1', [limit]);
    return rows.map(conflictFromRow);
  }

  async decideSharedValue(conflictId: number, decision: SharedValueDecision): Promise<{ token: IdentifierToken; closed: number } | null> {
    return this.transaction(async (client) => {
      const { rows } = await client.query<{ token_kind: IdentifierKind; token_value: string }>("SELECT token_kind, token_value FROM link_conflicts WHERE id = $1 AND reason = 'SUSPECTED_SHARED_VALUE'", [conflictId]);
      const row = rows[0];
      if (!row) return null;
      await client.query(
        `INSERT INTO shared_values (kind, value, status, changed_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (kind, value) DO UPDATE SET status = excluded.status, changed_at = excluded.changed_at`,
        [row.token_kind, row.token_value, decision === 'ALLOW' ? 'ALLOWED' : 'BLOCKED', new Date().toISOString()],
      );
      const closed = await rowCount(client.query("DELETE FROM link_conflicts WHERE reason = 'SUSPECTED_SHARED_VALUE' AND token_kind = $1 AND token_value = $2", [row.token_kind, row.token_value]));
      return { token: { kind: row.token_kind, value: row.token_value }, closed };
    });
  }

  async forgetCustomer(customerId: string): Promise<ForgottenCustomer | null> {
    const keys = this.forgottenKeys;
    if (!keys) throw new ForgetSecretMissingError();
    return this.transaction(async (client) => {
      const alias = await client.query<{ customer_id: string }>('SELECT customer_id FROM customer_aliases WHERE alias_id = $1', [customerId]);
      const id = alias.rows[0]?.customer_id ?? customerId;
      const own = (await client.query<{ source: string; entity: string; record_id: string }>('SELECT source, entity, record_id FROM links WHERE customer_id = $1 ORDER BY source, entity, record_id', [id])).rows;
      if (own.length === 0) return null;
      // The person's identifiers (not record references): other records holding them are on the receipt too.
      const { rows: others } = await client.query<{ source: string; entity: string; record_id: string }>(
        `WITH ids AS (SELECT $1::text AS id UNION SELECT alias_id FROM customer_aliases WHERE customer_id = $1),
         mine AS (SELECT DISTINCT kind, value FROM identifiers WHERE customer_id = $1 AND kind <> 'ref'),
         conflicting AS (
           DELETE FROM link_conflicts c WHERE c.customer_id IN (SELECT id FROM ids) OR c.other_customer_id IN (SELECT id FROM ids)
             OR (c.token_kind, c.token_value) IN (SELECT kind, value FROM mine)
           RETURNING c.source, c.entity, c.record_id
         )
         SELECT i.source, i.entity, i.record_id FROM mine m JOIN identifiers i ON (i.kind, i.value) = (m.kind, m.value) WHERE i.customer_id <> $1
         UNION SELECT source, entity, record_id FROM conflicting
         ORDER BY source, entity, record_id`,
        [id],
      );
      await client.query('DELETE FROM identifiers WHERE customer_id = $1', [id]);
      await client.query('DELETE FROM links WHERE customer_id = $1', [id]);
      await client.query('DELETE FROM customer_aliases WHERE customer_id = $1', [id]);
      await client.query('DELETE FROM customers WHERE id = $1', [id]);
      const records = own.map((row) => ({ source: row.source, entity: row.entity, recordId: row.record_id }));
      await client.query(
        `INSERT INTO forgotten_keys (key_hash, forgotten_at) SELECT h, $2 FROM unnest($1::text[]) AS h ON CONFLICT (key_hash) DO UPDATE SET forgotten_at = excluded.forgotten_at`,
        [records.map((key) => keys.of(key)), new Date().toISOString()],
      );
      await this.notifyChanged(client, [id, customerId]);
      const ownKeys = new Set(records.map(recordKeyString));
      const alsoHeldBy = others.map((row) => ({ source: row.source, entity: row.entity, recordId: row.record_id })).filter((key) => !ownKeys.has(recordKeyString(key)));
      return { customerId: id, records, alsoHeldBy };
    });
  }

  async appendAudit(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await insertAudit(this.pool, entries);
  }

  async readAudit(query: AuditQuery): Promise<{ entries: StoredAuditEntry[]; hasNextPage: boolean }> {
    const { rows } = await this.pool.query<{
      seq: string;
      at: string;
      request_id: string;
      actor: string;
      roles: string[];
      action: AuditAction;
      customer_id: string | null;
      fields: string[];
      detail: string | null;
    }>(
      `SELECT * FROM audit_log
       WHERE ($1::text IS NULL OR customer_id = $1) AND ($2::text IS NULL OR actor = $2)
         AND ($3::text IS NULL OR action = $3) AND ($4::text IS NULL OR at >= $4) AND ($5::bigint IS NULL OR seq < $5)
       ORDER BY seq DESC LIMIT $6`,
      [query.customerId ?? null, query.actor ?? null, query.action ?? null, query.since ?? null, query.beforeSeq ?? null, query.first + 1],
    );
    const entries = rows.slice(0, query.first).map((row) => ({
      seq: Number(row.seq),
      at: row.at,
      requestId: row.request_id,
      actor: row.actor,
      roles: row.roles,
      action: row.action,
      customerId: row.customer_id,
      fields: row.fields,
      detail: row.detail,
    }));
    return { entries, hasNextPage: rows.length > query.first };
  }

  async pruneAudit(before: string): Promise<number> {
    return (await this.pool.query('DELETE FROM audit_log WHERE at < $1', [before])).rowCount ?? 0;
  }

  async claimWriteKey(claim: WriteKeyClaim): Promise<WriteKeyState> {
    // One statement: of two replicas claiming one key, the primary key lets exactly one insert (or take over an expired row).
    const { rows } = await this.pool.query<{ claimed: boolean }>(
      `INSERT INTO write_receipts (actor, idempotency_key, request_hash, receipt, claimed_at, expires_at) VALUES ($1, $2, $3, NULL, $4, $5)
       ON CONFLICT (actor, idempotency_key) DO UPDATE SET request_hash = EXCLUDED.request_hash, receipt = NULL, claimed_at = EXCLUDED.claimed_at, expires_at = EXCLUDED.expires_at
       WHERE write_receipts.expires_at <= EXCLUDED.claimed_at
       RETURNING true AS claimed`,
      [claim.actor, claim.key, claim.requestHash, claim.at, claim.expiresAt],
    );
    if (rows.length > 0) return { state: 'claimed' };
    this.reads += 1;
    const held = (await this.pool.query<{ request_hash: string; receipt: string | null }>('SELECT request_hash, receipt FROM write_receipts WHERE actor = $1 AND idempotency_key = $2', [claim.actor, claim.key])).rows[0];
    // Pruned between the two statements: the key is free again, so claim it anew.
    if (!held) return this.claimWriteKey(claim);
    return held.receipt === null ? { state: 'pending', requestHash: held.request_hash } : { state: 'done', requestHash: held.request_hash, receipt: held.receipt };
  }

  async completeWriteKey(actor: string, key: string, receipt: string, expiresAt: string): Promise<void> {
    await this.pool.query('UPDATE write_receipts SET receipt = $3, expires_at = $4 WHERE actor = $1 AND idempotency_key = $2', [actor, key, receipt, expiresAt]);
  }

  async releaseWriteKey(actor: string, key: string): Promise<void> {
    await this.pool.query('DELETE FROM write_receipts WHERE actor = $1 AND idempotency_key = $2 AND receipt IS NULL', [actor, key]);
  }

  async pruneWriteKeys(now: string): Promise<number> {
    return (await this.pool.query('DELETE FROM write_receipts WHERE expires_at <= $1', [now])).rowCount ?? 0;
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async checkHealth(): Promise<StoreHealth> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      return { condition: 'unreachable', cause: (error as Error).message };
    }
    let healthy = false;
    const latest = POSTGRES_MIGRATIONS.at(-1)!.version;
    try {
      await client.query('BEGIN');
      const step = async (failing: StoreHealth['condition'], sql: string, values: unknown[] = []) => {
        try {
          return await client.query(sql, values);
        } catch (error) {
          const code = (error as { code?: string }).code;
          // 42P01: undefined table (the schema is gone: a database dropped and recreated); 25006: read-only transaction.
          const condition = code === '42P01' ? 'schema_missing' : code === '25006' ? 'read_only' : code === undefined ? 'unreachable' : failing;
          throw Object.assign(new Error((error as Error).message), { condition });
        }
      };
      const version = (await step('unreachable', 'SELECT MAX(version) AS version FROM schema_migrations')).rows[0]?.version as number | null;
      if (version === null || version === undefined) return { condition: 'schema_missing', cause: 'no migration recorded' };
      if (version < latest) return { condition: 'schema_outdated', cause: `schema version ${version}, expected ${latest}` };
      await step('unreachable', 'SELECT 1 FROM customers LIMIT 1');
      const e = HEALTH_PROBE_AUDIT;
      // Written and rolled back: the audit log is append-only, and the probe must leave no trace.
      await step('audit_unavailable', 'INSERT INTO audit_log (at, request_id, actor, roles, action, customer_id, fields, detail) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7::jsonb, $8)', [
        e.at, e.requestId, e.actor, JSON.stringify(e.roles), e.action, e.customerId, JSON.stringify(e.fields), e.detail,
      ]);
      healthy = true;
      // The store serves, but without LISTEN this process cannot hear other replicas' merges and forgets: it would
      // answer from links they have changed. Checked last, so a store that is down is reported as such.
      const listen = this.subscriber.state;
      if (listen.kind !== 'listening') return { condition: 'notifications_lost', cause: listen.kind === 'closed' ? 'the store is closed' : `since ${listen.since.toISOString()}: ${listen.cause}` };
      return { condition: 'ok' };
    } catch (error) {
      return { condition: (error as { condition?: StoreHealth['condition'] }).condition ?? 'unreachable', cause: (error as Error).message };
    } finally {
      try {
        await client.query('ROLLBACK');
      } catch (error) {
        // The connection is gone with its transaction; it is destroyed below rather than pooled again.
        healthy = false;
        this.logger.debug({ err: error }, 'readiness probe could not roll back');
      }
      client.release(!healthy);
    }
  }

  async repairSchema(): Promise<void> {
    await PostgresLinkStore.migrate(this.pool, this.schema);
  }

  async close(): Promise<void> {
    await this.subscriber.close();
    await this.pool.end();
  }
}

/** Runs `work` in BEGIN…COMMIT on `client`, rolling back when it throws. */
async function inTransaction<T>(client: PoolClient, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  let result: T;
  try {
    result = await work();
  } catch (error) {
    // The work's error is the one worth reporting; a failed ROLLBACK rides along on it (the caller then drops the
    // connection, whose session PostgreSQL rolls back).
    const rollback = await outcomeOf(client.query('ROLLBACK'));
    throw rollback.ok ? error : withSuppressed(error, rollback.error);
  }
  await client.query('COMMIT');
  return result;
}

async function rowCount(result: Promise<{ rowCount: number | null }>): Promise<number> {
  return (await result).rowCount ?? 0;
}

async function insertConflicts(client: PoolClient, c: readonly Conflict[]): Promise<void> {
  await client.query(
    `INSERT INTO link_conflicts (detected_at, reason, detail, token_kind, token_value, source, entity, record_id, customer_id, other_customer_id)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])`,
    [
      c.map((x) => x.detectedAt),
      c.map((x) => x.reason),
      c.map((x) => x.detail),
      c.map((x) => x.token.kind),
      c.map((x) => x.token.value),
      c.map((x) => x.record.source),
      c.map((x) => x.record.entity),
      c.map((x) => x.record.recordId),
      c.map((x) => x.customerId),
      c.map((x) => x.otherCustomerId),
    ],
  );
}

async function insertAudit(db: Pick<Pool, 'query'>, entries: readonly AuditEntry[]): Promise<void> {
  await db.query(
    `INSERT INTO audit_log (at, request_id, actor, roles, action, customer_id, fields, detail)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::text[], $7::jsonb[], $8::text[])`,
    [
      entries.map((e) => e.at),
      entries.map((e) => e.requestId),
      entries.map((e) => e.actor),
      entries.map((e) => JSON.stringify(e.roles)),
      entries.map((e) => e.action),
      entries.map((e) => e.customerId),
      entries.map((e) => JSON.stringify(e.fields)),
      entries.map((e) => e.detail),
    ],
  );
}

/** Versions, event IDs and history entries a plan brings, in the plan's transaction. */
async function writeDerivedState(client: PoolClient, changes: LinkChanges): Promise<void> {
  const versions = changes.versions ?? [];
  if (versions.length > 0) {
    await client.query(
      `INSERT INTO record_versions (source, entity, record_id, version, deleted)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::boolean[])
       ON CONFLICT (source, entity, record_id) DO UPDATE SET version = excluded.version, deleted = excluded.deleted`,
      [versions.map((v) => v.record.source), versions.map((v) => v.record.entity), versions.map((v) => v.record.recordId), versions.map((v) => v.version), versions.map((v) => v.deleted)],
    );
  }
  const events = changes.seenEvents ?? [];
  if (events.length > 0) {
    // Expired IDs go as new ones come: the table holds one tolerance window of events.
    await client.query('DELETE FROM webhook_events WHERE expires_at <= $1', [new Date().toISOString()]);
    await client.query(
      `INSERT INTO webhook_events (source, event_id, expires_at) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
       ON CONFLICT (source, event_id) DO UPDATE SET expires_at = excluded.expires_at`,
      [events.map((e) => e.source), events.map((e) => e.eventId), events.map((e) => e.expiresAt)],
    );
  }
  const history = changes.history ?? [];
  if (history.length > 0) {
    await client.query(
      `INSERT INTO link_history (at, kind, customer_id, other_customer_id, rule, actor, request_id, reason)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])`,
      [history.map((h) => h.at), history.map((h) => h.kind), history.map((h) => h.customerId), history.map((h) => h.otherCustomerId), history.map((h) => h.rule), history.map((h) => h.actor), history.map((h) => h.requestId), history.map((h) => h.reason)],
    );
  }
}

async function writeCursor(db: Pick<Pool, 'query'>, cursor: SyncCursor): Promise<void> {
  await db.query(
    `INSERT INTO sync_cursors (source, entity, cursor, pass_started_at, completed_at, since, watermark, full_completed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (source, entity) DO UPDATE SET cursor = excluded.cursor, pass_started_at = excluded.pass_started_at, completed_at = excluded.completed_at,
       since = excluded.since, watermark = excluded.watermark, full_completed_at = excluded.full_completed_at`,
    [cursor.source, cursor.entity, cursor.cursor, cursor.passStartedAt, cursor.completedAt, cursor.since ?? null, cursor.watermark ?? null, cursor.fullCompletedAt ?? null],
  );
}

