// Reads a sample of raw records from a configured source entity, for mapping suggestions.
import type { EntityConfig, HubConfig } from '../config/schema.js';
import { compileSingularPath } from '../expressions/json-path.js';
import { SourceBadResponseError } from '../sources/errors.js';
import { Deadline } from '../sources/policies/deadline.js';
import { SourceRegistry } from '../sources/registry.js';
import { SampleUnavailableError } from './errors.js';

export interface RecordSample {
  records: unknown[];
  /** Where they came from, for the suggestion's header, e.g. `list GET /customers`. */
  from: string;
}

/** The config with every list page no longer than the sample: a sample of 20 should not read pages of 1,000. */
function withPageSizeAtMost(config: HubConfig, size: number): HubConfig {
  const sources = Object.fromEntries(
    Object.entries(config.sources).map(([name, source]) => [
      name,
      { ...source, entities: Object.fromEntries(Object.entries(source.entities).map(([entityName, e]) => [entityName, e.list ? { ...e, list: { ...e.list, pageSize: Math.min(e.list.pageSize, size) } } : e])) },
    ]),
  );
  return { ...config, sources };
}

/** The item array at `envelope` (the body itself without one), or null when the response has none there. */
function itemsAt(body: unknown, envelope: string | undefined): unknown[] | null {
  const items = envelope ? compileSingularPath(envelope)(body) : body;
  return Array.isArray(items) ? items : null;
}

async function listSample(registry: SourceRegistry, source: string, entity: string, size: number): Promise<unknown[]> {
  const records: unknown[] = [];
  for await (const page of registry.reader(source, entity).listPages()) {
    records.push(...page.items);
    if (records.length >= size) break;
  }
  return records.slice(0, size);
}

/** Child items of sampled parents, read raw through the child's batch endpoint (one call) or per-parent endpoint. */
async function childSample(config: HubConfig, registry: SourceRegistry, source: string, entity: string, parentIds: readonly string[], size: number): Promise<{ items: unknown[]; parentsRead: number }> {
  const entityConfig: EntityConfig = config.sources[source]!.entities[entity]!;
  const client = registry.connectors.get(source)!.client;
  const reader = registry.reader(source, entity);
  const operation = `${entity}.sample`;
  // Each read gets its own deadline (the query deadline the hub would allow), like a query's reads do.
  const deadline = () => Deadline.after(config.server.queryDeadlineMs);
  if (entityConfig.batch) {
    const batch = entityConfig.batch;
    const ids = parentIds.slice(0, reader.keysPerCall);
    const body = await client.requestJson({ ...reader.batchReadRequest(ids), operation, deadline: deadline() });
    const groups = itemsAt(body, batch.envelope);
    if (!groups) throw new SourceBadResponseError(source, `${operation}: no array at "${batch.envelope}"`);
    const items = batch.group ? groups.flatMap((group: unknown) => itemsAt(group, batch.group!.items) ?? []) : groups;
    return { items: items.slice(0, size), parentsRead: ids.length };
  }
  const single = entityConfig.single!;
  const items: unknown[] = [];
  let parentsRead = 0;
  // Parents in rounds of `concurrency` (the source's declared cap), stopping once enough items are in.
  while (parentsRead < parentIds.length && items.length < size) {
    const round = parentIds.slice(parentsRead, parentsRead + single.concurrency);
    const bodies = await Promise.all(round.map((id) => client.requestJson({ ...reader.singleReadRequest(id), operation, deadline: deadline() })));
    for (const body of bodies) if (body !== null) items.push(...(itemsAt(body, single.envelope) ?? []));
    parentsRead += round.length;
  }
  return { items: items.slice(0, size), parentsRead };
}

/**
 * Up to `size` raw records of `source.entity`: from its list endpoint, or, for child entities (orders,
 * tickets, events) that have none, from the children of up to `size` records listed from the parent.
 */
export async function sampleRecords(config: HubConfig, source: string, entity: string, size: number): Promise<RecordSample> {
  const entityConfig = config.sources[source]?.entities[entity];
  if (!entityConfig) throw new SampleUnavailableError(source, entity, 'no such source entity in the config');
  const registry = new SourceRegistry(withPageSizeAtMost(config, size));
  try {
    if (entityConfig.list) {
      return { records: await listSample(registry, source, entity, size), from: `list ${entityConfig.list.method} ${entityConfig.list.path}` };
    }
    const parent = entityConfig.parent;
    const parentConfig = parent ? config.sources[source]!.entities[parent] : undefined;
    if (!parent || !parentConfig?.list) throw new SampleUnavailableError(source, entity, 'it has no list endpoint, and no parent entity with one');
    if (!entityConfig.batch && !entityConfig.single) throw new SampleUnavailableError(source, entity, 'it has no batch or single endpoint to read children with');
    const parentReader = registry.reader(source, parent);
    const parentIds = (await listSample(registry, source, parent, size)).map((raw) => parentReader.recordIdOf(raw)).filter((id): id is string => id !== null);
    const { items, parentsRead } = await childSample(config, registry, source, entity, parentIds, size);
    const endpoint = entityConfig.batch ? `${entityConfig.batch.method} ${entityConfig.batch.path}` : `${entityConfig.single!.method} ${entityConfig.single!.path}`;
    return { records: items, from: `${endpoint} for ${parentsRead} ${parent} records` };
  } finally {
    await registry.close();
  }
}
