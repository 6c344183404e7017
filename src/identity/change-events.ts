// Turns one applied batch of record changes (the planner's input, the graph before it and the plan) into the
// customer change events live subscribers receive.
import type { CustomerChange } from './change-feed.js';
import type { LinkChanges, LinkGraph, RecordChange } from './link-planner.js';
import { recordKeyString, type IdentifierToken, type RecordKey } from './model.js';

/** Which customer held each record of the graph, and the identifiers it carried, before a plan changed them. */
export type RecordOwners = Map<string, { customerId: string; tokens: readonly IdentifierToken[] }>;

/** Taken before `planLinks`: the graph as the table held it. */
export function recordOwners(graph: LinkGraph): RecordOwners {
  const owners: RecordOwners = new Map();
  for (const customer of graph.customers.values()) {
    for (const [key, record] of customer.records) owners.set(key, { customerId: customer.id, tokens: record.tokens });
  }
  return owners;
}

/** Review tokens (`merge`, `split`) are a reviewer's rule on the record, not its source values: a review's own event says it. */
const REVIEW_TOKENS = new Set<IdentifierToken['kind']>(['merge', 'split']);

const signature = (tokens: readonly IdentifierToken[]) =>
  tokens
    .filter((t) => !REVIEW_TOKENS.has(t.kind))
    .map((t) => `${t.kind}\u0000${t.value}`)
    .sort()
    .join('\u0001');

/**
 * One UPSERT per upserted record that is new, whose identifiers changed, or that moved to another customer for a
 * reason other than this plan's own MERGE or SPLIT (those events say it); also one for every upserted record the
 * source announced as changed, `announced`: a webhook, or a newer version a sync found (the record's values changed
 * even when its links did not). One DELETE per removed record, one MERGE per customer merged away, one SPLIT per
 * customer records were split off (a reviewed unmerge, or evidence that is gone). A sync that finds nothing new
 * emits nothing; a review emits its MERGE or SPLIT alone.
 */
export function customerChangesOf(changes: readonly RecordChange[], before: RecordOwners, plan: LinkChanges, announced: boolean | ReadonlySet<string>, at = new Date().toISOString()): CustomerChange[] {
  // What the table holds of each record the plan rewrote: identifiers it holds aside (shared values) are not in it.
  const after: RecordOwners = new Map();
  for (const customer of plan.upserted) for (const [key, record] of customer.records) after.set(key, { customerId: customer.id, tokens: record.tokens });
  // Moves the plan's merges and splits explain: `from -> to`.
  const explained = new Set<string>();
  for (const { customerId, mergedInto } of plan.removed) if (mergedInto) explained.add(`${customerId}->${mergedInto}`);
  for (const split of plan.events ?? []) if (split.kind === 'SPLIT') explained.add(`${split.customerId}->${split.otherCustomerId}`);
  const wasAnnounced = (key: string) => (typeof announced === 'boolean' ? announced : announced.has(key));
  const event = (kind: CustomerChange['kind'], customerId: string, record: RecordKey | null, survivorId: string | null = null, splitOffId: string | null = null): CustomerChange => ({
    kind,
    customerId,
    survivorId,
    splitOffId,
    source: record?.source ?? null,
    entity: record?.entity ?? null,
    recordId: record?.recordId ?? null,
    at,
  });
  const events: CustomerChange[] = [];
  for (const change of changes) {
    if ('upsert' in change) {
      const key = recordKeyString(change.upsert);
      const previous = before.get(key);
      // A record the plan left as it was is not in `upserted`: its owner is the one it had, its identifiers unchanged.
      const now = after.get(key);
      const customerId = now?.customerId ?? previous?.customerId;
      const moved = previous !== undefined && previous.customerId !== customerId && !explained.has(`${previous.customerId}->${customerId}`);
      const changed = !previous || moved || (now !== undefined && signature(previous.tokens) !== signature(now.tokens));
      // No owner at all: a forgotten record the planner refused to link again.
      if (customerId && (changed || wasAnnounced(key))) events.push(event('UPSERT', customerId, change.upsert));
    } else {
      const previous = before.get(recordKeyString(change.remove));
      if (previous) events.push(event('DELETE', previous.customerId, change.remove));
    }
  }
  for (const { customerId, mergedInto } of plan.removed) if (mergedInto) events.push(event('MERGE', customerId, null, mergedInto));
  for (const split of plan.events ?? []) if (split.kind === 'SPLIT') events.push(event('SPLIT', split.customerId, null, null, split.otherCustomerId));
  return events;
}
