// The variables each benchmark query rotates through, with the customers each request touches (for its ideal cost).
import type { Dataset } from '../src/demo/dataset.js';
import type { CustomerLinks } from '../src/identity/model.js';
import { normalizeEmail } from '../src/sources/normalize.js';
import type { LinkStore } from '../src/identity/store.js';
import { customerCursor, PAGE_SIZE, type QueryName } from './queries.js';

export interface WorkItem {
  variables: Record<string, unknown>;
  /** The customers the request's answer holds. */
  customers: CustomerLinks[];
}

export type Workloads = Record<QueryName, WorkItem[]>;

/** Every `stride`-th item, so a sample spreads over the whole dataset instead of its first IDs. */
function spread<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  const stride = items.length / count;
  return Array.from({ length: count }, (_, i) => items[Math.floor(i * stride)]!);
}

/**
 * Emails are the CRM's as typed (mixed case, stray spaces): the hub must normalise them like a support tool's
 * search box input. Pages start at every 50th customer, so each request reads a different page.
 */
export async function buildWorkloads(dataset: Dataset, store: LinkStore, options: { lookups: number }): Promise<Workloads> {
  const all = (await store.pageCustomers(Number.MAX_SAFE_INTEGER - 1, null)).customers;
  const byId = new Map(all.map((customer) => [customer.customerId, customer]));

  const context: WorkItem[] = [];
  for (const contact of spread(dataset.crm.contacts.filter((c) => c.primary_email !== null), options.lookups)) {
    const email = normalizeEmail(contact.primary_email);
    // Blocked placeholder emails link nobody; a lookup by them is a miss, not a customer's context.
    const [customerId] = email ? await store.findCustomerIdsByIdentifier('email', email) : [];
    const customer = customerId === undefined ? undefined : byId.get(customerId);
    if (customer) context.push({ variables: { email: contact.primary_email }, customers: [customer] });
  }

  const page: WorkItem[] = [];
  for (let start = 0; start < all.length; start += PAGE_SIZE) {
    const before = all[start - 1];
    page.push({ variables: { after: before ? customerCursor(before.customerId) : null }, customers: all.slice(start, start + PAGE_SIZE) });
  }

  const field = spread(all, options.lookups).map((customer) => ({ variables: { id: customer.customerId }, customers: [customer] }));
  return { context, page, field };
}
