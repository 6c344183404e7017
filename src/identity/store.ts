// The link store interface every backend (SQLite, PostgreSQL) implements and one contract suite tests.
import type { Conflict, LinkChanges, LinkGraph } from './link-planner.js';
import type { CustomerLinks, IdentifierKind, IdentifierToken, RecordKey } from './model.js';

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
}

/** What a forget removed: the operator must erase these records in their source systems too. */
export interface ForgottenCustomer {
  customerId: string;
  records: RecordKey[];
}

export interface StoredConflict extends Conflict {
  id: number;
}

export interface LinkStore {
  /** Customers by ID (merged-away IDs resolve to their survivor), keyed by the ID asked for. One read. */
  getCustomers(ids: readonly string[]): Promise<Map<string, CustomerLinks>>;
  /** Customers in ID order after `afterId`, each with its links. One read. */
  pageCustomers(first: number, afterId: string | null): Promise<CustomerPage>;
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
  /** Removes a customer's links, identifiers and aliases; null when there is no such customer. */
  forgetCustomer(customerId: string): Promise<ForgottenCustomer | null>;

  /** Cheap liveness check for /readyz. */
  ping(): Promise<void>;
  /** Reads served so far (counted so tests can assert the hot path's cost exactly). */
  readonly reads: number;
  close(): Promise<void>;
}
