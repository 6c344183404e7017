// The internal models GraphQL resolvers receive as parents (codegen maps schema types onto these).
import type { CustomerLinks, Link } from '../identity/model.js';
import type { MappedRecord } from '../sources/connector.js';

/** A unified customer as the link table knows it: the ID and every linked source record. */
export interface CustomerRef {
  id: string;
  links: readonly Link[];
  /** IDs of customers merged into this one. */
  mergedIds: string[];
}

/** The resolver parent for a customer the link table returned (or null when it has none). */
export function customerRef(customer: CustomerLinks | null): CustomerRef | null {
  return customer && { id: customer.customerId, links: customer.links, mergedIds: customer.mergedIds };
}

/** `Customer.identities`: each linked record with the evidence that linked it. */
export function identitiesOf(customer: CustomerRef) {
  return customer.links.map((link) => ({
    source: link.source,
    entity: link.entity,
    recordId: link.recordId,
    linkedBy: { rule: link.rule, value: link.evidence, linkedAt: link.linkedAt },
  }));
}

/** The customer's marketing record, with the customer's ID: the facet's identity for client caches. */
export type MarketingRecord = MappedRecord & { customerId: string };
export type OrderRecord = MappedRecord;
export type TicketRecord = MappedRecord;
export type EventRecord = MappedRecord;
