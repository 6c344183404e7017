// The graph's scalars (schema/scalars.graphql), implemented by graphql-scalars rather than by hand.
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';

export const scalars = { DateTime: DateTimeResolver, JSON: JSONResolver };
