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

const signature = (tokens: readonly IdentifierToken[]) => tokens.map((t) => `${t.kind}\u0000${t.value}`).sort().join('\u0001');

/**
 * One UPSERT per upserted record that is new or whose identifiers changed (or every upserted record the source
 * announced itself, `announced`: a webhook says the record's values changed even when its links did not), one
 * DELETE per removed record, one MERGE per customer merged away, one SPLIT per customer records were split off
 * (a reviewed unmerge, or evidence that is gone). A sync that finds nothing new emits nothing.
 */
export function customerChangesOf(changes: readonly RecordChange[], before: RecordOwners, plan: LinkChanges, announced: boolean, at = new Date().toISOString()): CustomerChange[] {
  const ownerAfter = new Map<string, string>();
  for (const customer of plan.upserted) for (const key of customer.records.keys()) ownerAfter.set(key, customer.id);
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
      const changed = !previous || previous.customerId !== ownerAfter.get(key) || signature(previous.tokens) !== signature(change.upsert.tokens);
      const customerId = ownerAfter.get(key) ?? previous?.customerId;
      // No owner at all: a forgotten record the planner refused to link again.
      if (customerId && (changed || announced)) events.push(event('UPSERT', customerId, change.upsert));
    } else {
      const previous = before.get(recordKeyString(change.remove));
      if (previous) events.push(event('DELETE', previous.customerId, change.remove));
    }
  }
  for (const { customerId, mergedInto } of plan.removed) if (mergedInto) events.push(event('MERGE', customerId, null, mergedInto));
  for (const split of plan.events ?? []) if (split.kind === 'SPLIT') events.push(event('SPLIT', split.customerId, null, null, split.otherCustomerId));
  return events;
}
