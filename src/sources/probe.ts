// Reaches every entity of every configured source with its cheapest declared read, reporting status and latency.
import type { HubConfig } from '../config/schema.js';
import type { EntityReader, RequestShape } from './connector.js';
import { SourceAuthFailedError, SourceBadResponseError, SourceError, SourceRejectedError, SourceUnavailableError } from './errors.js';
import { compileSingularPath } from '../expressions/json-path.js';
import { Deadline } from './policies/deadline.js';
import { SourceRegistry } from './registry.js';

/** For a child entity whose parent listed no record: an ID no source should hold, so the read proves only that the endpoint answers. */
const UNKNOWN_ID = '0';

export interface EntityProbe {
  source: string;
  entity: string;
  /** What was sent, e.g. `list GET /contacts` or `batch POST /orders/batch`. */
  request: string;
  /** `ok`, the HTTP status of a refusal, an error code (`SOURCE_UNAVAILABLE`, `SOURCE_TIMEOUT`…), or `skipped`. */
  status: string;
  /** The HTTP exchange's own time (connect to last byte), not time spent waiting in the process. */
  ms: number | null;
  ok: boolean;
  detail?: string;
}

interface Probe {
  label: string;
  request: RequestShape;
  /** Where the response must hold an array; undefined for per-key reads, whose 404 is an answer too. */
  envelope?: string;
}

/**
 * The cheapest read an entity declares: a one-record list page, else a batch of one ID, else one per-key
 * read. Children are read for a record their parent's probe listed: sources may reject IDs that cannot exist.
 */
function probeFor(reader: EntityReader, parentRecordId: string | null): Probe | null {
  const id = parentRecordId ?? UNKNOWN_ID;
  const { list, batch, single } = reader.config;
  if (list) return { label: `list ${list.method} ${list.path}`, request: reader.firstListPageRequest(1), envelope: list.envelope };
  if (batch) return { label: `batch ${batch.method} ${batch.path}`, request: reader.batchReadRequest([id]), envelope: batch.envelope };
  if (single) return { label: `single ${single.method} ${single.path}`, request: reader.singleReadRequest(id) };
  return null;
}

/** A probe reports what one attempt found: retries would hide a flaky source and inflate its latency. */
function withoutRetries(config: HubConfig): HubConfig {
  const sources = Object.fromEntries(
    Object.entries(config.sources).map(([name, s]) => [name, { ...s, resilience: { ...s.resilience, retry: { ...s.resilience.retry, maxRetries: 0 } } }]),
  );
  return { ...config, sources };
}

function statusOf(error: unknown): string {
  if ((error instanceof SourceUnavailableError || error instanceof SourceAuthFailedError || error instanceof SourceRejectedError) && error.status !== undefined) return String(error.status);
  if (error instanceof SourceError) return error.code;
  return 'ERROR';
}

interface Probed {
  result: EntityProbe;
  /** The first record a list probe returned, whose ID the entity's children are probed with. */
  firstRecordId: string | null;
}

async function probeEntity(registry: SourceRegistry, config: HubConfig, source: string, entity: string, parentRecordId: string | null): Promise<Probed> {
  const reader = registry.reader(source, entity);
  const probe = probeFor(reader, parentRecordId);
  if (!probe) return { result: { source, entity, request: '(no read endpoint)', status: 'skipped', ms: null, ok: true }, firstRecordId: null };
  let ms: number | null = null;
  try {
    const body = await registry.connectors.get(source)!.client.requestJson({
      ...probe.request,
      operation: `${entity}.probe`,
      deadline: Deadline.after(config.sources[source]!.timeoutMs),
      observe: (call) => (ms = Math.round(call.ms)),
    });
    const found = probe.envelope === undefined ? undefined : compileSingularPath(probe.envelope)(body);
    const items = Array.isArray(found) ? found : null;
    if (probe.envelope !== undefined && items === null) throw new SourceBadResponseError(source, `no array at "${probe.envelope}"`);
    const first = items?.[0];
    return { result: { source, entity, request: probe.label, status: 'ok', ms, ok: true }, firstRecordId: first === undefined ? null : reader.recordIdOf(first) };
  } catch (error) {
    const detail = error instanceof SourceError ? error.detail : String(error);
    return { result: { source, entity, request: probe.label, status: statusOf(error), ms, ok: false, detail }, firstRecordId: null };
  }
}

/** One request per entity of every source: linked entities all at once, then their children; a failing source is reported, never thrown. */
export async function probeSources(config: HubConfig): Promise<EntityProbe[]> {
  const probing = withoutRetries(config);
  const registry = new SourceRegistry(probing);
  try {
    const entities = Object.entries(config.sources).flatMap(([source, s]) => Object.entries(s.entities).map(([entity, e]) => ({ source, entity, parent: e.parent })));
    const probed = new Map<string, Probed>();
    await Promise.all(
      entities.filter((e) => !e.parent).map(async ({ source, entity }) => probed.set(`${source}.${entity}`, await probeEntity(registry, probing, source, entity, null))),
    );
    await Promise.all(
      entities.filter((e) => e.parent).map(async ({ source, entity, parent }) => {
        const parentId = probed.get(`${source}.${parent}`)?.firstRecordId ?? null;
        probed.set(`${source}.${entity}`, await probeEntity(registry, probing, source, entity, parentId));
      }),
    );
    // Reported in config order, whichever phase probed them.
    return entities.map(({ source, entity }) => probed.get(`${source}.${entity}`)!.result);
  } finally {
    await registry.close();
  }
}
