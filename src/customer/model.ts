// The internal models GraphQL resolvers receive as parents (codegen maps schema types onto these).
import type { Link } from '../identity/model.js';
import type { MappedRecord } from '../sources/connector.js';

/** A unified customer as the link table knows it: the ID and every linked source record. */
export interface CustomerRef {
  id: string;
  links: readonly Link[];
  /** IDs of customers merged into this one. */
  mergedIds: string[];
}

export type MarketingRecord = MappedRecord;
export type OrderRecord = MappedRecord;
export type TicketRecord = MappedRecord;
export type EventRecord = MappedRecord;
