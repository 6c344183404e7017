// The graph's scalars (schema/scalars.graphql), implemented by graphql-scalars rather than by hand.
import { GraphQLScalarType } from 'graphql';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { isCanonicalUtc } from '../src/sources/transforms.js';

/**
 * graphql-scalars' DateTime, with one shortcut: a value that is already `toISOString` text (what the date transform
 * and every timestamp the hub writes produce) is sent as it is. The library validates it, builds a Date and leaves
 * JSON to print the same text again; on a page of orders that was about 2% of the hub's CPU. Anything else (other
 * offsets, no milliseconds, Dates, numbers, invalid text) takes the library's path unchanged.
 */
const DateTime = new GraphQLScalarType({
  ...DateTimeResolver.toConfig(),
  serialize: (value) => (typeof value === 'string' && isCanonicalUtc(value) ? value : DateTimeResolver.serialize(value)),
});

export const scalars = { DateTime, JSON: JSONResolver };
