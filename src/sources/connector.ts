// A configured source's read operations (batch, per-key, list) turning HTTP responses into mapped records.
import pLimit, { type LimitFunction } from 'p-limit';
import type { EntityConfig, SearchKind, SourceConfig } from '../config/schema.js';
import { compileEntityRequests, type EntityRequests } from '../expressions/endpoint-requests.js';
import { EntityWriter } from './entity-writer.js';
import { SourceBadResponseError, SourceTimeoutError } from './errors.js';
import type { JsonRequest, SourceHttpClient } from './http-client.js';
import { compileQuery, compileSingularPath, type Accessor } from '../expressions/json-path.js';
import { compileEntity, type CompiledEntity, type UnifiedValues } from './mapping.js';
import { ListPager } from './pagination.js';
import { TransformError, type TransformContext } from './transforms.js';
import type { UpstreamScope } from './upstream-scope.js';

/** One source record in unified form, with where and when it was read. */
export interface MappedRecord {
  source: string;
  entity: string;
  recordId: string;
  values: UnifiedValues;
  fetchedAt: string;
  /** Fields whose source value the mapping could not read (null in `values`), with why: their resolvers report it. */
  invalid?: Record<string, string>;
}

/** Per key: the value, or the error that keeps only that key from resolving. */
export type KeyResult<T> = T | Error;

/** A request as an operation sends it, before the operation's name, deadline and observer are added. */
export type RequestShape = Omit<JsonRequest, 'operation' | 'observe' | 'deadline'>;

/** What a child record's lookup found: its own id and its parent's record id. */
interface ChildLookup {
  recordId: string | null;
  parentId: string;
}

class EntityReader {
  private readonly compiled: CompiledEntity;
  /** Request templates, compiled once. */
  readonly requests: EntityRequests;
  /** How many keys one upstream call carries: the batch endpoint's maxBatchSize, or 1 per key. */
  readonly keysPerCall: number;
  /**
   * How many keys a caller hands the reader at once: a batch's worth (each hand-over is one call), or without a batch
   * endpoint all of them (the reader makes one call per key under its own concurrency cap).
   */
  readonly chunkSize: number;
  private readonly envelopes: { batch?: Accessor; single?: Accessor; list?: Accessor; lookup?: Accessor; search: Map<SearchKind, Accessor> };
  private readonly missingIds: ((body: unknown) => unknown[]) | undefined;
  private readonly group: { key: Accessor; items: Accessor } | undefined;
  private readonly lookupParent: ((raw: unknown) => string | null) | undefined;
  private readonly pager: ListPager | undefined;
  private readonly perKeyLimit: LimitFunction | undefined;

  constructor(
    private readonly client: SourceHttpClient,
    readonly name: string,
    readonly config: EntityConfig,
    context: TransformContext,
    baseUrl: string,
  ) {
    this.compiled = compileEntity(config, context);
    this.requests = compileEntityRequests(config);
    const { batch, single, list, lookup } = config;
    this.keysPerCall = batch ? batch.maxBatchSize : 1;
    this.chunkSize = batch ? batch.maxBatchSize : Infinity;
    const at = (path: string | undefined) => (path === undefined ? undefined : compileSingularPath(path));
    this.envelopes = {
      ...(batch ? { batch: at(batch.envelope)! } : {}),
      ...(single?.envelope ? { single: at(single.envelope)! } : {}),
      ...(list ? { list: at(list.envelope)! } : {}),
      ...(lookup?.envelope ? { lookup: at(lookup.envelope)! } : {}),
      search: new Map(Object.entries(config.search ?? {}).map(([kind, endpoint]) => [kind as SearchKind, compileSingularPath(endpoint!.envelope)])),
    };
    this.missingIds = batch?.missing ? compileQuery(batch.missing) : undefined;
    this.group = batch?.group ? { key: compileSingularPath(batch.group.key), items: compileSingularPath(batch.group.items) } : undefined;
    const parentPath = lookup?.parentPath ?? config.parentPath;
    this.lookupParent = lookup && parentPath ? idReader(compileSingularPath(parentPath)) : undefined;
    this.pager = list && this.requests.list ? new ListPager(client.source, name, list, this.requests.list, baseUrl, config.idPath) : undefined;
    // Shared across requests: the cap protects the source, not one query.
    this.perKeyLimit = single ? pLimit(single.concurrency) : undefined;
  }

  get source(): string {
    return this.client.source;
  }

  recordIdOf(raw: unknown): string | null {
    return this.compiled.recordId(raw);
  }

  toRecord(raw: unknown, fetchedAt: string): MappedRecord {
    const recordId = this.compiled.recordId(raw);
    if (recordId === null) throw new SourceBadResponseError(this.source, `${this.name}: item without an id at "${this.config.idPath}"`);
    try {
      const { values, invalid } = this.compiled.map(raw);
      return { source: this.source, entity: this.name, recordId, values, fetchedAt, ...(invalid ? { invalid } : {}) };
    } catch (error) {
      if (error instanceof TransformError) {
        throw new SourceBadResponseError(this.source, `${this.name} ${recordId}: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }

  private items(body: unknown, envelope: Accessor | undefined, operation: string, where: string | undefined): unknown[] {
    const items = envelope ? envelope(body) : body;
    if (!Array.isArray(items)) throw new SourceBadResponseError(this.source, `${operation}: no array at "${where ?? '$'}"`);
    return items;
  }

  private send(request: Omit<JsonRequest, 'deadline' | 'observe'>, scope: UpstreamScope): Promise<unknown> {
    return this.client.requestJson({ ...request, ...(scope.deadline ? { deadline: scope.deadline } : {}), ...(scope.observe ? { observe: scope.observe } : {}) });
  }

  /** The batch read of `ids`, as sent (without operation name, deadline and observer). */
  batchReadRequest(ids: readonly string[]): RequestShape {
    return { ...this.requests.batch!.render({ ids }), keys: ids.length, idempotent: this.config.batch!.idempotent };
  }

  /** The per-key read of `id`; its 404 reads as null. */
  singleReadRequest(id: string): RequestShape {
    return { ...this.requests.single!.render({ id }), keys: 1, notFoundIsNull: true };
  }

  /** The list's first page, `limit` records long. */
  firstListPageRequest(limit: number): RequestShape {
    if (!this.pager) throw new Error(`${this.source}.${this.name} has no list endpoint`);
    return { ...this.pager.firstPageRequest(limit), keys: 0 };
  }

  private batchRequest(ids: readonly string[], operation: string, scope: UpstreamScope) {
    return this.send({ ...this.batchReadRequest(ids), operation }, scope);
  }

  private singleRequest(id: string, operation: string, scope: UpstreamScope) {
    const limited = this.perKeyLimit!(() => this.send({ ...this.singleReadRequest(id), operation }, scope));
    // Waiting for a per-key slot is an upstream wait too: it must not outlast the query's deadline.
    const { deadline } = scope;
    return deadline ? deadline.race(limited, () => new SourceTimeoutError(this.source, `${operation}: the query's deadline passed (queued for a per-key slot, or in flight)`)) : limited;
  }

  /**
   * Records by their own IDs, which come from the link table: each one should exist. A batch response that omits
   * an ID is therefore incomplete, and only that key fails, unless the response itself reports the ID as not found
   * (`batch.missing`): that key reads as null, like a single read's 404. A record the mapping cannot read is an error
   * of that key alone.
   */
  async fetchRecords(ids: readonly string[], scope: UpstreamScope = {}): Promise<KeyResult<MappedRecord | null>[]> {
    const { batch } = this.config;
    if (batch) {
      const operation = `${this.name}.batch`;
      const body = await this.batchRequest(ids, operation, scope);
      const fetchedAt = new Date().toISOString();
      const byId = new Map<string, KeyResult<MappedRecord>>();
      for (const raw of this.items(body, this.envelopes.batch, operation, batch.envelope)) {
        const recordId = this.compiled.recordId(raw);
        if (recordId === null) continue;
        byId.set(recordId, this.settle(() => this.toRecord(raw, fetchedAt)));
      }
      const missing = this.notFound(body);
      return ids.map((id) => byId.get(id) ?? (missing?.has(id) ? null : new SourceBadResponseError(this.source, `${operation}: linked record ${id} is missing from the response`)));
    }
    const operation = `${this.name}.get`;
    return Promise.all(
      ids.map(async (id) => {
        try {
          const body = await this.singleRequest(id, operation, scope);
          if (body === null) return null;
          const raw = this.envelopes.single ? this.envelopes.single(body) : body;
          return raw === undefined || raw === null ? null : this.toRecord(raw, new Date().toISOString());
        } catch (error) {
          return error as Error;
        }
      }),
    );
  }

  /** The ids a batch response reports as not found (`batch.missing`), as strings; undefined when none are declared. */
  private notFound(body: unknown): Set<string> | undefined {
    if (!this.missingIds) return undefined;
    const ids = new Set<string>();
    for (const id of this.missingIds(body)) if (typeof id === 'string' || typeof id === 'number') ids.add(String(id));
    return ids;
  }

  /**
   * One record as the source holds it, unmapped (what the link table takes), through the entity's batch or per-key
   * read; null when the source has no such record. For writes whose answer does not carry the whole record.
   */
  async readRaw(id: string, scope: UpstreamScope = {}): Promise<unknown> {
    const { batch } = this.config;
    if (batch) {
      const operation = `${this.name}.batch`;
      const body = await this.batchRequest([id], operation, scope);
      return this.items(body, this.envelopes.batch, operation, batch.envelope).find((raw) => this.compiled.recordId(raw) === id) ?? null;
    }
    if (!this.config.single) throw new Error(`${this.source}.${this.name} has no read to read a record back with`);
    const body = await this.singleRequest(id, `${this.name}.get`, scope);
    if (body === null) return null;
    return (this.envelopes.single ? this.envelopes.single(body) : body) ?? null;
  }

  /** Child items (orders, tickets, events) of each parent record ID; an item the mapping cannot read fails only its parent's list. */
  async fetchChildren(parentIds: readonly string[], scope: UpstreamScope = {}): Promise<KeyResult<MappedRecord[]>[]> {
    const { batch, single } = this.config;
    if (batch) {
      const operation = `${this.name}.batch`;
      const body = await this.batchRequest(parentIds, operation, scope);
      const fetchedAt = new Date().toISOString();
      const byParent = new Map<string, KeyResult<MappedRecord[]>>(parentIds.map((id) => [id, []]));
      const add = (parentId: string | null, raw: unknown) => {
        const items = parentId === null ? undefined : byParent.get(parentId);
        // A partial list would pass for the whole one: a parent with one unreadable item gets an error instead.
        if (!Array.isArray(items)) return;
        const item = this.settle(() => this.toRecord(raw, fetchedAt));
        if (item instanceof Error) byParent.set(parentId!, item);
        else items.push(item);
      };
      try {
        const group = this.group;
        if (group) {
          for (const entry of this.items(body, this.envelopes.batch, operation, batch.envelope)) {
            const key = group.key(entry);
            const parentId = typeof key === 'string' || typeof key === 'number' ? String(key) : null;
            for (const raw of this.items(entry, group.items, operation, batch.group!.items)) add(parentId, raw);
          }
        } else {
          for (const raw of this.items(body, this.envelopes.batch, operation, batch.envelope)) add(this.compiled.parentId!(raw), raw);
        }
      } catch (error) {
        return parentIds.map(() => error as Error);
      }
      return parentIds.map((id) => byParent.get(id)!);
    }
    const operation = `${this.name}.list`;
    return Promise.all(
      parentIds.map(async (id) => {
        try {
          const body = await this.singleRequest(id, operation, scope);
          if (body === null) return [];
          const fetchedAt = new Date().toISOString();
          return this.items(body, this.envelopes.single, operation, single!.envelope).map((raw) => this.toRecord(raw, fetchedAt));
        } catch (error) {
          return error as Error;
        }
      }),
    );
  }

  private settle<T>(read: () => T): KeyResult<T> {
    try {
      return read();
    } catch (error) {
      return error as Error;
    }
  }

  /**
   * Every raw record, page by page, in the source's declared pagination style. Each page carries the state to resume
   * after it (a cursor, page number, offset or next-page URL, as a string), or null after the last page. A list that
   * cannot be paged to its end (a page that repeats, more promised but unreachable) fails with SourcePaginationError.
   */
  async *listPages(options: { resumeFrom?: string | null; since?: string } & UpstreamScope = {}): AsyncGenerator<ListPage> {
    const list = this.config.list;
    const pager = this.pager;
    if (!list || !pager) throw new Error(`${this.source}.${this.name} has no list endpoint`);
    const operation = `${this.name}.list`;
    const { resumeFrom = null, since, ...scope } = options;
    yield* pager.pages(
      resumeFrom,
      async (request) => {
        let link: string | undefined;
        const body = await this.client.requestJson({
          ...request,
          operation,
          keys: 0,
          ...(pager.wantsLink ? { onLinkHeader: (value: string | undefined) => (link = value) } : {}),
          ...(scope.deadline ? { deadline: scope.deadline } : {}),
          ...(scope.observe ? { observe: scope.observe } : {}),
        });
        return { body, link };
      },
      (body) => this.items(body, this.envelopes.list, operation, list.envelope),
      (item) => this.compiled.recordId(item),
      since,
    );
  }

  /** Raw records whose identifier matches, through the source's search for `kind`; [] when it cannot search by it. */
  async search(kind: SearchKind, value: string, scope: UpstreamScope = {}): Promise<unknown[]> {
    const request = this.requests.search.get(kind);
    if (!request) return [];
    const operation = `${this.name}.search`;
    const body = await this.send({ ...request.render({ value }), operation, keys: 1 }, scope);
    return this.items(body, this.envelopes.search.get(kind), operation, this.config.search![kind]!.envelope);
  }

  /** A child record by the id a user holds (`lookup`), and the parent record it names; null when the source has no such record. */
  async lookup(id: string, scope: UpstreamScope = {}): Promise<ChildLookup | null> {
    const request = this.requests.lookup;
    const lookup = this.config.lookup;
    if (!request || !lookup || !this.lookupParent) throw new Error(`${this.source}.${this.name} declares no lookup`);
    const operation = `${this.name}.lookup`;
    const body = await this.send({ ...request.render({ id }), operation, keys: 1, notFoundIsNull: true }, scope);
    if (body === null) return null;
    let raw = this.envelopes.lookup ? this.envelopes.lookup(body) : body;
    if (Array.isArray(raw)) {
      if (raw.length > 1) throw new SourceBadResponseError(this.source, `${operation}: ${raw.length} records match "${id}"; a lookup must name one`);
      raw = raw[0];
    }
    if (raw === undefined || raw === null) return null;
    const parentId = this.lookupParent(raw);
    if (parentId === null) throw new SourceBadResponseError(this.source, `${operation}: record "${id}" names no parent at "${lookup.parentPath ?? this.config.parentPath}"`);
    return { recordId: this.compiled.recordId(raw), parentId };
  }
}

function idReader(read: Accessor): (raw: unknown) => string | null {
  return (raw) => {
    const value = read(raw);
    return typeof value === 'string' || typeof value === 'number' ? String(value) : null;
  };
}

interface ListPage {
  items: unknown[];
  next: string | null;
  /** The page as the source sent it, and its Link header when the list's style reads one (for `rosetta check`). */
  body?: unknown;
  link?: string | undefined;
}

/** A source: its HTTP client, a reader per configured entity and a writer per entity that declares a write. */
export class SourceConnector {
  readonly entities: ReadonlyMap<string, EntityReader>;
  readonly writers: ReadonlyMap<string, EntityWriter>;

  constructor(
    readonly name: string,
    readonly config: SourceConfig,
    readonly client: SourceHttpClient,
    context: TransformContext,
  ) {
    this.entities = new Map(Object.entries(config.entities).map(([entityName, entity]) => [entityName, new EntityReader(client, entityName, entity, context, config.baseUrl)]));
    this.writers = new Map(Object.entries(config.entities).flatMap(([entityName, entity]) => (entity.write ? [[entityName, new EntityWriter(client, entityName, entity.write)] as const] : [])));
  }

  entity(name: string): EntityReader {
    const reader = this.entities.get(name);
    if (!reader) throw new Error(`source "${this.name}" has no entity "${name}"`);
    return reader;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

export type { EntityReader };
