// The link store interface every backend (SQLite, PostgreSQL) implements and one contract suite tests.
import type { CustomerChangeTransport } from './change-feed.js';
import type { Conflict, LinkChanges, LinkGraph, LinkHistoryEntry, RecordVersion } from './link-planner.js';
import type { CustomerLinks, IdentifierKind, IdentifierToken, Link, RecordKey } from './model.js';

/** Record-cache invalidations to and from the OTHER processes sharing a store. */
export interface RecordInvalidations {
  /** Tells the other processes these records changed; resolves once told. */
  publish(records: readonly RecordKey[]): Promise<void>;
  /** Subscribes to the other processes' (`all` when they cannot be listed, or some may have been missed); returns the unsubscribe. */
  subscribe(listener: (records: RecordKey[] | 'all') => void): () => void;
}

export interface CustomerPage {
  customers: CustomerLinks[];
  hasNextPage: boolean;
}

/** Where a sync of one source entity stands: the page to resume from, and when the pass began. */
export interface SyncCursor {
  source: string;
  entity: string;
  /** Opaque pagination state for the source's list endpoint; null when the last pass completed. */
  cursor: string | null;
  passStartedAt: string;
  completedAt: string | null;
  /** The modified-since value this pass sends (an incremental pass, `sync.modifiedSince`); null or absent on a full pass. */
  since?: string | null;
  /** The latest change time (ISO) the passes have read of the entity: a completed pass's is the next incremental pass's `since`. */
  watermark?: string | null;
  /** When the last complete full pass finished: `sync.fullEvery` counts from it. */
  fullCompletedAt?: string | null;
}

/** What a forget removed: the operator must erase these records in their source systems too. */
export interface ForgottenCustomer {
  customerId: string;
  /** The customer's own records, no longer linked. */
  records: RecordKey[];
  /** Records of other customers, or of refused merges, that held one of the customer's identifiers (email, phone, email hash). */
  alsoHeldBy: RecordKey[];
}

/** A reviewer's decision on a suspected shared value: it links again (ALLOW) or never (BLOCK). */
export type SharedValueDecision = 'ALLOW' | 'BLOCK';

export interface StoredConflict extends Conflict {
  id: number;
}

/** What the audit log records: a read of personal data, a forget, a change to a customer's links, or a lookup by personal data. */
export type AuditAction = 'PII_READ' | 'FORGET' | 'LINK_CHANGE' | 'LOOKUP' | 'WRITE';

export interface AuditEntry {
  at: string;
  requestId: string;
  /** Who: `api-key:<name>`, `jwt:<sub>`, `anonymous` on an open hub, or the process that acted (e.g. `sync`). */
  actor: string;
  roles: readonly string[];
  action: AuditAction;
  customerId: string | null;
  /** Schema coordinates of the fields read (`Profile.email`); empty for actions. */
  fields: readonly string[];
  detail: string | null;
}

export interface StoredAuditEntry extends AuditEntry {
  seq: number;
}

export interface AuditQuery {
  customerId?: string | null;
  actor?: string | null;
  action?: AuditAction | null;
  /** Entries at or after this ISO time. */
  since?: string | null;
  first: number;
  /** Newest first: entries with a sequence number below this one. */
  beforeSeq?: number | null;
}

/** The append-only audit log every link store keeps beside the links: entries are added and pruned, never changed. */
export interface AuditLog {
  appendAudit(entries: readonly AuditEntry[]): Promise<void>;
  readAudit(query: AuditQuery): Promise<{ entries: StoredAuditEntry[]; hasNextPage: boolean }>;
  /** Deletes entries older than `before` (ISO time); returns how many. */
  pruneAudit(before: string): Promise<number>;
}

/** An idempotency key as a write-back mutation takes it: per caller, for one request (its hash), until `expiresAt`. */
export interface WriteKeyClaim {
  actor: string;
  key: string;
  /** A hash of the request the key was first used for: the same key with another request is refused. */
  requestHash: string;
  at: string;
  /** A claim whose writes never finished (the process died) frees the key at this time. */
  expiresAt: string;
}

/** What a claim found: the key is now this request's, another request holds it still, or it has its first receipt. */
export type WriteKeyState = { state: 'claimed' } | { state: 'pending'; requestHash: string } | { state: 'done'; requestHash: string; receipt: string };

/**
 * Write-back receipts kept under their idempotency keys, beside the links so every replica sharing the store sees
 * the same first receipt. A claim is atomic across processes: of two requests with one key, one writes.
 */
export interface WriteReceipts {
  claimWriteKey(claim: WriteKeyClaim): Promise<WriteKeyState>;
  /** Keeps the receipt (without request bodies) until `expiresAt`. */
  completeWriteKey(actor: string, key: string, receipt: string, expiresAt: string): Promise<void>;
  /** Frees a claim whose request failed before it wrote anything. */
  releaseWriteKey(actor: string, key: string): Promise<void>;
  /** Deletes keys expired at `now`; returns how many. */
  pruneWriteKeys(now: string): Promise<number>;
}

export interface StoredLinkHistoryEntry extends LinkHistoryEntry {
  seq: number;
}

/**
 * Why a store cannot serve; `ok` when it can. `notifications_lost`: a PostgreSQL store whose LISTEN connection is down,
 * so other replicas' changes do not reach this process's caches until it is re-established.
 */
export type StoreCondition = 'ok' | 'unreachable' | 'read_only' | 'schema_missing' | 'schema_outdated' | 'audit_unavailable' | 'notifications_lost';

export interface StoreHealth {
  condition: StoreCondition;
  /** The underlying error's message, for the log (never for a client). */
  cause?: string;
}

/** A probe row for the audit log: written inside a transaction that is always rolled back. */
export const HEALTH_PROBE_AUDIT: AuditEntry = { at: new Date(0).toISOString(), requestId: 'readiness-probe', actor: 'readiness-probe', roles: [], action: 'PII_READ', customerId: null, fields: [], detail: null };

/**
 * The rows a bulk write brings the store to (what changed since the last one, by key: each key is upserted or
 * deleted, never both) and the rows it appends, in the order the plans made them.
 */
export interface BulkLinkRows {
  customers: { upsert: { id: string; createdAt: string }[]; delete: string[] };
  links: { upsert: { link: Link; nameKey: string | null }[]; delete: RecordKey[] };
  identifiers: { upsert: { token: IdentifierToken; record: RecordKey; position: number; customerId: string }[]; delete: { token: IdentifierToken; record: RecordKey }[] };
  aliases: { upsert: { aliasId: string; customerId: string; mergedAt: string }[]; delete: string[] };
  versions: RecordVersion[];
  sharedValues: { token: IdentifierToken; changedAt: string }[];
  conflicts: Conflict[];
  history: LinkHistoryEntry[];
  audit: AuditEntry[];
  /** Each entity's cursor after its last page written: a crash resumes after it. */
  cursors: SyncCursor[];
  /** Customers changed (live or gone), for other processes' caches. */
  touched: string[];
}

/**
 * Writes a first sync's plans in bulk (first-sync.ts): granted only while nothing a plan reads is stored, and, where
 * other processes could write between two bulk writes (PostgreSQL), holding the link lock until `close`.
 */
export interface BulkLinkWriter {
  /**
   * Writes the rows (and the sync cursor and audit entries they bring) in one transaction under the link lock; false,
   * writing nothing, when another process changed the table since the writer was granted or last wrote.
   */
  write(rows: BulkLinkRows): Promise<boolean>;
  /** Ends the bulk phase (PostgreSQL: releases the link lock). */
  close(): Promise<void>;
}

export interface LinkStore extends AuditLog, WriteReceipts {
  /**
   * A bulk writer when nothing a plan reads is stored (no customers, aliases, record versions, shared values,
   * forgotten records or webhook events): a first sync. Null otherwise, or when the store has no bulk path.
   */
  bulkWriter?(): Promise<BulkLinkWriter | null>;
  /** Customers by ID (merged-away IDs resolve to their survivor), keyed by the ID asked for. One read. */
  getCustomers(ids: readonly string[]): Promise<Map<string, CustomerLinks>>;
  /**
   * Customers in ID order after `afterId`, each with its links. One read. `held` answers the links the caller already
   * holds for a customer ID (the directory's cache), or undefined: a store may then read only the page's IDs and the
   * links of the customers not held, and answer the held ones as given. A store is free to ignore it.
   */
  pageCustomers(first: number, afterId: string | null, held?: (customerId: string) => CustomerLinks | undefined): Promise<CustomerPage>;
  countCustomers(): Promise<number>;
  findCustomerIdsByIdentifier(kind: IdentifierKind, value: string): Promise<string[]>;
  /** The customer holding a record; `entity` may be omitted when the caller knows only "source:recordId". */
  findCustomerIdByRecord(key: Omit<RecordKey, 'entity'> & { entity?: string }): Promise<string | null>;

  /** Every customer holding any of the tokens, with all its records; and which candidate IDs are taken. */
  loadGraph(query: { tokens: readonly IdentifierToken[]; candidateIds: readonly string[] }): Promise<LinkGraph>;
  /** Writes a plan atomically, with the sync cursor it brings the entity to (so a crash never skips a page). */
  applyChanges(changes: LinkChanges, cursor?: SyncCursor): Promise<void>;
  getSyncCursor(source: string, entity: string): Promise<SyncCursor | null>;
  saveSyncCursor(cursor: SyncCursor): Promise<void>;
  listConflicts(limit: number): Promise<StoredConflict[]>;

  /** The version each of these records was last applied at (keyed by `source:entity:recordId`); unversioned records are absent. */
  getRecordVersions(records: readonly RecordKey[]): Promise<Map<string, RecordVersion>>;
  /** Which of these event IDs of `source` were applied and are still within their replay window at `now`. */
  seenEvents(source: string, eventIds: readonly string[], now: string): Promise<Set<string>>;
  /** IDs of an entity's linked records linked before `linkedBefore` (ISO time), in ID order: reconciliation's candidates. */
  listLinkedRecordIds(source: string, entity: string, linkedBefore: string): Promise<string[]>;
  /** Merges and splits of these customers (live or merged-away IDs), newest first. */
  readLinkHistory(customerIds: readonly string[], first: number): Promise<StoredLinkHistoryEntry[]>;
  /**
   * Runs `work` while no other process sharing the store runs a sync (PostgreSQL: an advisory lock held by its
   * own connection, so a process that dies mid-sync frees it). Waits for the running one to finish.
   */
  withSyncLock<T>(work: () => Promise<T>): Promise<T>;
  /**
   * Records a reviewer's decision on the value of a SUSPECTED_SHARED_VALUE conflict and closes that value's
   * suspicion conflicts; null when there is no such conflict.
   */
  decideSharedValue(conflictId: number, decision: SharedValueDecision): Promise<{ token: IdentifierToken; closed: number } | null>;
  /**
   * Removes a customer's links, identifiers, aliases and the conflict rows naming it or its identifiers; remembers
   * its records (as keyed hashes) so they are not linked again until their source deletes them. Null when there is
   * no such customer. Throws when the store has no forget secret to key those hashes with.
   */
  forgetCustomer(customerId: string): Promise<ForgottenCustomer | null>;

  /**
   * Runs `work` holding the link table's write lock across every process sharing the store: a plan reads
   * the graph and then writes it, so two plans interleaved would each miss the other's links.
   */
  withLinkLock<T>(work: () => Promise<T>): Promise<T>;
  /**
   * Subscribes to link changes made by OTHER processes sharing the store (`all` when they cannot be
   * listed, or some may have been missed), so each can drop what it cached; returns the unsubscribe.
   */
  onInvalidate?(listener: (customerIds: string[] | 'all') => void): () => void;
  /**
   * Carries record-cache invalidations between the processes sharing the store, when it can (PostgreSQL's
   * LISTEN/NOTIFY): each process's caches are its own, but a webhook reaches only one of them.
   */
  readonly recordInvalidations?: RecordInvalidations;
  /** Carries customer change events to live subscribers on the other processes sharing the store (PostgreSQL NOTIFY). */
  readonly customerChanges?: CustomerChangeTransport;

  /** Cheap liveness check. */
  ping(): Promise<void>;
  /**
   * What /readyz needs to know: the store answers reads, takes writes, has the current schema and its audit log
   * accepts rows (a probe row written and rolled back). Never throws: a failure is a condition with its cause.
   */
  checkHealth(): Promise<StoreHealth>;
  /** Runs the migrations again (the database was dropped and recreated empty); resolves once the schema is current. */
  repairSchema(): Promise<void>;
  /** Reads served so far (counted so tests can assert the hot path's cost exactly). */
  readonly reads: number;
  /** Link-table rows (customers, links, identifiers, aliases) plans inserted, updated or deleted so far: a plan writes only what changed. */
  readonly rowsWritten: number;
  close(): Promise<void>;
}

/**
 * The link table's reads a request answers straight from the store, past the directory's cache: a customer's link
 * history, the customer count, open conflicts, the customer a record is linked to. Resolvers and write-back get this
 * view of the store, not the store: whatever changes links goes through the link service.
 */
export type LinkTableReader = Pick<LinkStore, 'readLinkHistory' | 'countCustomers' | 'listConflicts' | 'findCustomerIdByRecord'>;
