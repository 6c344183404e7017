// Customer fields: each asks the loaders for the records its linked sources hold; nothing is fetched unless selected.
import type { CustomerConnectionResolvers, CustomerResolvers } from '../src/generated/graphql.js';
import { loadMarketing, loadNewestChildren, loadProfile } from '../src/customer/facets.js';
import { identitiesOf } from '../src/customer/model.js';
import { profileValuesSelected } from '../src/customer/profile-selection.js';
import { reportUnreadable } from '../src/customer/typed-values.js';
import { badInput } from '../src/request/errors.js';
import { reportPartial } from './partial.js';

const MAX_ITEMS = 100;

function checkFirst(first: number): number {
  if (first < 0 || first > MAX_ITEMS) throw badInput(`first must be between 0 and ${MAX_ITEMS}`, 'first');
  return first;
}

export const Customer: CustomerResolvers = {
  id: (customer) => customer.id,

  mergedIds: (customer) => customer.mergedIds,

  identities: identitiesOf,

  profile: async (customer, _args, context, info) => {
    const { values, errors, records } = await loadProfile(context, customer, profileValuesSelected(info));
    reportPartial(errors, context, info);
    // A value a source's mapping could not read lost its place in the merge: say so rather than let another win silently.
    for (const record of records) if (record.invalid) reportUnreadable(record, Object.keys(record.invalid), context, info);
    return { ...values[0]!, id: customer.id };
  },

  marketing: async (customer, _args, context, info) => {
    const { values, errors } = await loadMarketing(context, customer);
    reportPartial(errors, context, info);
    return values[0] ? { ...values[0], customerId: customer.id } : null;
  },

  orders: (customer, { first }, context) => loadNewestChildren(context, customer, 'orders', 'placedAt', checkFirst(first)),

  tickets: (customer, { status, first }, context) => {
    const wanted = status && status.length > 0 ? new Set<string>(status) : null;
    return loadNewestChildren(context, customer, 'tickets', 'createdAt', checkFirst(first), (ticket) => !wanted || wanted.has(String(ticket.values.status)));
  },

  events: (customer, { first }, context) => loadNewestChildren(context, customer, 'events', 'occurredAt', checkFirst(first)),

  linkHistory: async (customer, { first }, context) => {
    const entries = await context.linkTable.readLinkHistory([customer.id, ...customer.mergedIds], checkFirst(first));
    return entries.map(({ seq: _seq, ...entry }) => entry);
  },
};

export const CustomerConnection: CustomerConnectionResolvers = {
  totalCount: (_connection, _args, context) => context.linkTable.countCustomers(),
};

