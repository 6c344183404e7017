// The physical limit of a query's upstream cost: what any hub must send to the sources for a given set of customers.
import type { UnifiedTarget } from '../src/config/schema.js';
import type { CustomerLinks } from '../src/identity/model.js';
import type { EntityReader } from '../src/sources/connector.js';
import type { SourceRegistry } from '../src/sources/registry.js';

/** Upstream requests per source operation (`source.entity`), only operations that have keys. */
export type OperationCounts = Record<string, number>;

/**
 * A batchable operation needs ceil(keys / maxBatchSize) requests, however many customers ask; an operation
 * whose source has no batch endpoint needs one request per distinct key, the least that source allows.
 */
function requestsFor(reader: EntityReader, keys: number): number {
  return reader.config.batch ? Math.ceil(keys / reader.config.batch.maxBatchSize) : keys;
}

function distinctRecordIds(customers: readonly CustomerLinks[], source: string, entity: string): number {
  const ids = new Set<string>();
  for (const customer of customers) {
    for (const link of customer.links) if (link.source === source && link.entity === entity) ids.add(link.recordId);
  }
  return ids.size;
}

/** Ideal upstream requests for one query that selects `facets` under `customers`, per source operation. */
export function idealOperations(registry: SourceRegistry, customers: readonly CustomerLinks[], facets: readonly UnifiedTarget[]): OperationCounts {
  const counts: OperationCounts = {};
  const add = (source: string, entity: string, reader: EntityReader, keys: number) => {
    if (keys > 0) counts[`${source}.${entity}`] = (counts[`${source}.${entity}`] ?? 0) + requestsFor(reader, keys);
  };
  for (const facet of new Set(facets)) {
    for (const { source, entity, reader } of registry.recordProviders(facet)) add(source, entity, reader, distinctRecordIds(customers, source, entity));
    for (const { source, entity, reader, parentEntity } of registry.childProviders(facet)) add(source, entity, reader, distinctRecordIds(customers, source, parentEntity));
  }
  return counts;
}

export function idealRequests(registry: SourceRegistry, customers: readonly CustomerLinks[], facets: readonly UnifiedTarget[]): number {
  return Object.values(idealOperations(registry, customers, facets)).reduce((sum, n) => sum + n, 0);
}

/** The ideal upstream requests of `sent` requests rotating through the items from `offset`, as load.ts sends them. */
export function idealOfSent(idealByItem: readonly number[], offset: number, sent: number): number {
  if (idealByItem.length === 0) return 0;
  const perRotation = idealByItem.reduce((sum, n) => sum + n, 0);
  let total = Math.floor(sent / idealByItem.length) * perRotation;
  for (let k = 0; k < sent % idealByItem.length; k++) total += idealByItem[(offset + k) % idealByItem.length]!;
  return total;
}

/**
 * Levels of upstream calls a query must wait for one after the other. Links come from the local table and every
 * facet is keyed by linked record IDs, so all of this benchmark's queries are one level deep.
 */
export const DEPENDENCY_DEPTH = 1;

/**
 * The p50 a closed loop of `concurrency` callers cannot beat when each upstream request holds one of the source's
 * slots for `latencyMs`: a source serving at most `cap` requests at once completes cap ÷ L of them per ms, so a
 * query needing n of them waits at least concurrency × n × L ÷ cap. The caps are the config's promises to each
 * source (per-key concurrency for sources without a batch endpoint, the source's bulkhead for all its requests).
 */
export function sourceCapFloorMs(registry: SourceRegistry, operationsPerQuery: OperationCounts, concurrency: number, latencyMs: number): number {
  let floor = 0;
  const perSource = new Map<string, number>();
  for (const [operation, count] of Object.entries(operationsPerQuery)) {
    const [source = '', entity = ''] = operation.split('.');
    const single = registry.reader(source, entity).config.single;
    if (!registry.reader(source, entity).config.batch && single) floor = Math.max(floor, (concurrency * count * latencyMs) / single.concurrency);
    perSource.set(source, (perSource.get(source) ?? 0) + count);
  }
  for (const [source, count] of perSource) {
    const config = registry.connectors.get(source)!.config;
    const cap = config.resilience.bulkhead.maxConcurrent ?? config.connections;
    floor = Math.max(floor, (concurrency * count * latencyMs) / cap);
  }
  return Math.round(floor * 10) / 10;
}

/**
 * The least latency one query alone can see when each upstream request holds one of its source's slots for
 * `latencyMs`: n calls to an operation capped at c calls at once go out in ceil(n / c) waves, and a source's bulkhead
 * caps all its operations together. An open loop below saturation sends each query into mostly idle sources, so this,
 * not the closed loop's queue (sourceCapFloorMs), is what its latency is judged against.
 */
export function openLoopCapFloorMs(registry: SourceRegistry, operationsPerQuery: OperationCounts, latencyMs: number): number {
  let waves = 0;
  const perSource = new Map<string, number>();
  for (const [operation, count] of Object.entries(operationsPerQuery)) {
    const [source = '', entity = ''] = operation.split('.');
    const reader = registry.reader(source, entity);
    if (!reader.config.batch && reader.config.single) waves = Math.max(waves, Math.ceil(count / reader.config.single.concurrency));
    else if (count > 0) waves = Math.max(waves, 1);
    perSource.set(source, (perSource.get(source) ?? 0) + count);
  }
  for (const [source, count] of perSource) {
    const config = registry.connectors.get(source)!.config;
    waves = Math.max(waves, Math.ceil(count / (config.resilience.bulkhead.maxConcurrent ?? config.connections)));
  }
  return waves * latencyMs;
}

/**
 * The share of its slots the busiest capped source is kept busy by `ratePerSecond` queries each sending
 * `operationsPerQuery`: near 1 a queue forms and no hub can hold the open-loop floor.
 */
export function sourceUtilisation(registry: SourceRegistry, operationsPerQuery: OperationCounts, ratePerSecond: number, latencyMs: number): number {
  let busiest = 0;
  const perSource = new Map<string, number>();
  for (const [operation, count] of Object.entries(operationsPerQuery)) {
    const [source = '', entity = ''] = operation.split('.');
    const reader = registry.reader(source, entity);
    if (!reader.config.batch && reader.config.single) busiest = Math.max(busiest, (ratePerSecond * count * latencyMs) / 1000 / reader.config.single.concurrency);
    perSource.set(source, (perSource.get(source) ?? 0) + count);
  }
  for (const [source, count] of perSource) {
    const config = registry.connectors.get(source)!.config;
    busiest = Math.max(busiest, (ratePerSecond * count * latencyMs) / 1000 / (config.resilience.bulkhead.maxConcurrent ?? config.connections));
  }
  return Math.round(busiest * 100) / 100;
}
