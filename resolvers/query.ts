// Root fields: find customers through the link directory; everything below resolves through loaders.
import type { QueryResolvers } from '../src/generated/graphql.js';
import { normalizeEmail, normalizePhone } from '../src/sources/normalize.js';
import { customerBySourceRecord, RecordLookupUnsupportedError } from '../src/identity/record-lookup.js';
import { customerRef } from '../src/customer/model.js';
import { badInput } from '../src/request/errors.js';
import { reportPartial } from './partial.js';

const MAX_PAGE = 100;

const encodeCursor = (customerId: string) => Buffer.from(customerId, 'utf8').toString('base64url');
/** Customer IDs are `cus_` and 16 hex digits (deriveCustomerId); anything else was not a cursor this query returned. */
const CUSTOMER_ID = /^cus_[0-9a-f]{16}$/;
function decodeCursor(cursor: string): string {
  const customerId = Buffer.from(cursor, 'base64url').toString('utf8');
  // An unknown cursor used to read as "after everything": an empty page, no error, and a client that stops paging.
  if (!CUSTOMER_ID.test(customerId) || encodeCursor(customerId) !== cursor) throw badInput('after is not a cursor this query returned', 'after');
  return customerId;
}

/**
 * Longest identifier values a lookup accepts: an email address is at most 254 characters (RFC 5321), a phone number
 * far fewer; longer text is the caller's mistake, refused before any source is asked (it used to come back as the
 * source's SOURCE_UNAVAILABLE).
 */
const MAX_VALUE_LENGTH = { EMAIL: 254, PHONE: 32, SOURCE_RECORD: 512 } as const;

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
    if (value.length > MAX_VALUE_LENGTH[kind]) throw badInput(`value is longer than ${MAX_VALUE_LENGTH[kind]} characters`, 'value');
    switch (kind) {
      case 'EMAIL':
      case 'PHONE': {
        const identifier = kind === 'EMAIL' ? 'email' : 'phone';
        const valid = identifier === 'email' ? normalizeEmail(value) : normalizePhone(value, context.config.identity.defaultPhoneRegion);
        if (!valid) throw badInput(identifier === 'email' ? 'value is not an email address' : 'value is not a valid phone number', 'value');
        const { customer, errors } = await context.links.lookup(identifier, value, context.requestId, context.loaders.scope, context.directory);
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
