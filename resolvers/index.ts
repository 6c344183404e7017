// The resolver map, one module per type group, typed by codegen from schema/.
import type { Resolvers } from '../src/generated/graphql.js';
import { auditQuery } from './audit.js';
import { Customer, CustomerConnection } from './customer.js';
import { identityQuery, Mutation } from './identity.js';
import { Query } from './query.js';
import { AnalyticsEvent, Marketing, Order, Ticket } from './records.js';
import { scalars } from './scalars.js';
import { CustomerChange, Subscription } from './subscription.js';
import { WriteReceipt, writeMutations } from './write.js';

export const resolvers: Resolvers = { ...scalars, Query: { ...Query, ...identityQuery, ...auditQuery }, Mutation: { ...Mutation, ...writeMutations }, Subscription, WriteReceipt, CustomerChange, Customer, CustomerConnection, Order, Ticket, Marketing, AnalyticsEvent };
