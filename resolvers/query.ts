// Root fields: find customers through the link directory; everything below resolves through loaders.
import type { QueryResolvers } from '../src/generated/graphql.js';
import { normalizeEmail, normalizePhone } from '../src/identity/normalize.js';
import { customerBySourceRecord, RecordLookupUnsupportedError } from '../src/identity/record-lookup.js';
import { customerRef } from '../src/customer/model.js';
import { badInput } from '../src/server/errors.js';
import { reportPartial } from './partial.js';

const MAX_PAGE = 100;

const encodeCursor = (customerId: string) => Buffer.from(customerId, 'utf8').toString('base64url');
const decodeCursor = (cursor: string) => Buffer.from(cursor, 'base64url').toString('utf8');

export const Query: Omit<QueryResolvers, 'linkConflicts'> = {
  customer: async (_parent, { id }, context) => customerRef(await context.directory.customer(id)),

  customers: async (_parent, { first, after }, context) => {
    if (first < 0 || first > MAX_PAGE) throw badInput(`first must be between 0 and ${MAX_PAGE}`, 'first');
    const page = await context.directory.page(first, after ? decodeCursor(after) : null);
    const edges = page.customers.map((customer) => ({ cursor: encodeCursor(customer.customerId), node: customerRef(customer)! }));
    return {
      edges,
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
      // Resolved lazily by CustomerConnection.totalCount, so a page costs one read unless the count is asked for.
      totalCount: 0,
    };
  },

  customerByIdentity: async (_parent, { kind, value }, context, info) => {
    switch (kind) {
      case 'EMAIL':
      case 'PHONE': {
        const identifier = kind === 'EMAIL' ? 'email' : 'phone';
        const valid = identifier === 'email' ? normalizeEmail(value) : normalizePhone(value, context.config.identity.defaultPhoneRegion);
        if (!valid) throw badInput(identifier === 'email' ? 'value is not an email address' : 'value is not a valid phone number', 'value');
        const { customer, errors } = await context.links.lookup(identifier, value, context.requestId, context.loaders.scope);
        // Found without some source: the answer stands. Not found while a source failed: say so, do not claim absence.
        if (!customer && errors.length > 0) throw errors[0];
        reportPartial(errors, context, info);
        return customerRef(customer);
      }
      case 'SOURCE_RECORD': {
        const separator = value.indexOf(':');
        if (separator <= 0 || separator === value.length - 1) throw badInput('SOURCE_RECORD values look like "source:recordId"', 'value');
        const source = value.slice(0, separator);
        const connector = context.registry.connectors.get(source);
        if (!connector) throw badInput(`no source "${source}"`, 'value');
        try {
          return customerRef(await customerBySourceRecord(connector, context.directory, value.slice(separator + 1), context.loaders.scope));
        } catch (error) {
          if (error instanceof RecordLookupUnsupportedError) throw badInput(error.message, 'value');
          throw error;
        }
      }
    }
  },

  sources: (_parent, _args, context) =>
    [...context.registry.connectors.values()].map((connector) => {
      const url = new URL(connector.config.baseUrl);
      // Credentials in a base URL must never reach a client.
      url.username = '';
      url.password = '';
      return {
        name: connector.name,
        baseUrl: url.toString(),
        entities: [...connector.entities.keys()],
        ...connector.client.health(),
      };
    }),
};
