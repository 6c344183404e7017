// The link store interface every backend (SQLite now, PostgreSQL next) implements and one contract suite tests.
import type { CustomerLinks, Identifier, LinkSnapshot, RecordKey } from './model.js';

export interface Assignment {
  customerId: string;
  linkedAt: string;
}

export interface CustomerPage {
  customers: CustomerLinks[];
  hasNextPage: boolean;
}

export interface ReplaceSummary {
  customers: number;
  links: number;
  identifiers: number;
}

export interface LinkStore {
  /** Customers by ID, each with all its links; unknown IDs are absent from the map. One read. */
  getCustomers(ids: readonly string[]): Promise<Map<string, CustomerLinks>>;
  /** Customers in ID order after `afterId`, each with its links. One read. */
  pageCustomers(first: number, afterId: string | null): Promise<CustomerPage>;
  countCustomers(): Promise<number>;
  findCustomerIdsByIdentifier(kind: Identifier['kind'], value: string): Promise<string[]>;
  /** The customer holding a record; `entity` may be omitted when the caller knows only "source:recordId". */
  findCustomerIdByRecord(key: Omit<RecordKey, 'entity'> & { entity?: string }): Promise<string | null>;
  /** Every record's current customer (by `recordKeyString`), so a re-sync keeps IDs and link times stable. */
  currentAssignments(): Promise<Map<string, Assignment>>;
  /** Atomically replaces the whole table with a freshly linked snapshot. */
  replaceAll(snapshot: LinkSnapshot): Promise<ReplaceSummary>;
  /** Reads served so far (counted so tests can assert the hot path's cost exactly). */
  readonly reads: number;
  close(): Promise<void>;
}
