// The benchmark's three queries, each with the unified facets it reads so the ideal upstream cost can be derived.
import type { UnifiedTarget } from '../src/config/schema.js';

export type QueryName = 'context' | 'page' | 'field';

export interface BenchQuery {
  name: QueryName;
  title: string;
  document: string;
  /** The facets the document selects under each customer; each one costs upstream calls, nothing else does. */
  facets: readonly UnifiedTarget[];
}

/** (1) One customer's full context, looked up by email as a support tool would. */
export const CONTEXT_QUERY: BenchQuery = {
  name: 'context',
  title: '1. full context by email',
  facets: ['profile', 'orders', 'tickets', 'marketing', 'events'],
  document: `query CustomerContext($email: String!) {
  customerByIdentity(kind: EMAIL, value: $email) {
    id
    identities { source entity recordId linkedBy { rule value } }
    profile { name email phone address { line1 city postalCode country } provenance { field source recordId } }
    orders(first: 5) { number placedAt total { formatted currency } lineItems { title quantity } }
    tickets(status: [OPEN, PENDING]) { subject status priority createdAt }
    marketing { status emailConsent lists }
    events(first: 10) { name occurredAt deviceId }
  }
}`,
};

/** (2) A page of 50 customers for a list view: profile, orders and open tickets. */
export const PAGE_QUERY: BenchQuery = {
  name: 'page',
  title: '2. page of 50 customers',
  facets: ['profile', 'orders', 'tickets'],
  document: `query CustomerPage($after: String) {
  customers(first: 50, after: $after) {
    edges { node { id profile { name email phone } orders(first: 3) { number placedAt total { formatted } } tickets(status: [OPEN]) { subject priority } } }
    pageInfo { hasNextPage endCursor }
  }
}`,
};

/** (3) A single field of one customer by ID. */
export const FIELD_QUERY: BenchQuery = {
  name: 'field',
  title: '3. one field by ID',
  facets: ['profile'],
  document: `query CustomerEmail($id: ID!) {
  customer(id: $id) { profile { email } }
}`,
};

export const BENCH_QUERIES: readonly BenchQuery[] = [CONTEXT_QUERY, PAGE_QUERY, FIELD_QUERY];

/** The page size PAGE_QUERY asks for; cursors are cut at this stride. */
export const PAGE_SIZE = 50;

/** The cursor both servers hand out for a customer: the ID, base64url-encoded (as `resolvers/query.ts` does). */
export const customerCursor = (customerId: string): string => Buffer.from(customerId, 'utf8').toString('base64url');
