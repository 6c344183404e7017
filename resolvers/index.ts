// The resolver map, one module per type group, typed by codegen from schema/.
import type { Resolvers } from '../src/generated/graphql.js';
import { Customer, CustomerConnection } from './customer.js';
import { Query } from './query.js';
import { AnalyticsEvent, Marketing, Order, Ticket } from './records.js';

export const resolvers: Resolvers = { Query, Customer, CustomerConnection, Order, Ticket, Marketing, AnalyticsEvent };
