// Live changes: each subscription is a filtered, rate-bounded stream of the process's change feed; its customer is
// resolved live, per event, through the same loaders and protection as a query.
import type { CustomerChangeResolvers, SubscriptionResolvers } from '../src/generated/graphql.js';
import { customerRef } from '../src/customer/model.js';
import type { CustomerChange as Change, DeliveredChange } from '../src/identity/change-feed.js';
import type { RequestContext } from '../src/request/context.js';
import { ErrorCode } from '../src/errors/catalogue.js';
import { fieldError } from '../src/request/errors.js';
import { badInput } from '../src/request/errors.js';

const MAX_IDS = 100;
/** Events waiting for a slow client per subscription; past this the oldest are withheld and counted as `missed`. */
const MAX_QUEUED = 100;

/** The customers asked for, as they are now (a merged-away ID resolves to its survivor); any unknown ID is an error. */
async function watchedIds(context: RequestContext, ids: readonly string[]): Promise<Set<string>> {
  const found = await Promise.all(ids.map((id) => context.directory.customer(id)));
  const unknown = ids.filter((_id, i) => !found[i]);
  if (unknown.length > 0) {
    throw fieldError(ErrorCode.CUSTOMER_NOT_FOUND, `no customer ${unknown.join(', ')}`, { ids: unknown });
  }
  return new Set([...ids, ...found.map((customer) => customer!.customerId)]);
}

/**
 * Keeps the changes of `watched`, following merges: once a watched customer is merged away, its survivor is watched.
 * A split keeps watching the customer it took records from (the split-off one is named in the event).
 */
function following(watched: Set<string> | null): (change: Change) => boolean {
  return (change) => {
    if (!watched) return true;
    if (!watched.has(change.customerId) && !(change.survivorId && watched.has(change.survivorId)) && !(change.splitOffId && watched.has(change.splitOffId))) return false;
    if (change.kind === 'MERGE' && change.survivorId) watched.add(change.survivorId);
    return true;
  };
}

function streamOf(context: RequestContext, accept: (change: Change) => boolean) {
  const limits = context.config.server.subscriptions;
  return context.changes.stream(accept, {
    maxPerSecond: limits.maxEventsPerSecond,
    maxQueued: MAX_QUEUED,
    onWithheld: (count) => context.telemetry.metrics.recordSubscriptionEvents('withheld', count),
  });
}

export const Subscription: SubscriptionResolvers = {
  customerChanged: {
    subscribe: async (_root, { id }, context) => streamOf(context, following(await watchedIds(context, [id]))),
    resolve: (change: DeliveredChange) => change,
  },
  customersChanged: {
    subscribe: async (_root, { ids }, context) => {
      if (ids && (ids.length === 0 || ids.length > MAX_IDS)) throw badInput(`ids must list 1 to ${MAX_IDS} customers, or be omitted for all`, 'ids');
      return streamOf(context, following(ids ? await watchedIds(context, ids) : null));
    },
    resolve: (change: DeliveredChange) => change,
  },
};

export const CustomerChange: CustomerChangeResolvers = {
  customer: async (change, _args, context) => customerRef(await context.directory.customer(change.survivorId ?? change.customerId)),
};
