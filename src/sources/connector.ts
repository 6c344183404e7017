// A configured source's read operations (batch, per-key, list) turning HTTP responses into mapped records.
import pLimit, { type LimitFunction } from 'p-limit';
import type { BatchEndpoint, EntityConfig, ListEndpoint, SearchKind, SingleEndpoint, SourceConfig } from '../config/schema.js';
import { SourceBadResponseError, SourceTimeoutError } from './errors.js';
import type { CallObserver, SourceHttpClient } from './http-client.js';
import type { Deadline } from './policies/deadline.js';
import { batchReadRequest, listPageRequest, singleReadRequest } from './endpoint-requests.js';
import { compileEntity, compilePath, type CompiledEntity, type UnifiedValues } from './mapping.js';
import { TransformError, type TransformContext } from './transforms.js';

/** One source record in unified form, with where and when it was read. */
export interface MappedRecord {
  source: string;
  entity: string;
  recordId: string;
  values: UnifiedValues;
  fetchedAt: string;
}

/** Per key: the value, or the error that keeps only that key from resolving. */
export type KeyResult<T> = T | Error;

class EntityReader {
  private readonly compiled: CompiledEntity;
  /** Response paths (envelopes, group keys, cursors) compiled once each, not on every response. */
  private readonly paths = new Map<string, (raw: unknown) => unknown>();
  private readonly perKeyLimit: LimitFunction | undefined;

  constructor(
    private readonly client: SourceHttpClient,
    readonly name: string,
    readonly config: EntityConfig,
    context: TransformContext,
  ) {
    this.compiled = compileEntity(config, context);
    // Shared across requests: the cap protects the source, not one query.
    this.perKeyLimit = config.single ? pLimit(config.single.concurrency) : undefined;
  }

  get source(): string {
    return this.client.source;
  }

  /** How many keys one upstream call may carry; 1 where the source has no batch endpoint. */
  get maxBatchSize(): number {
    return this.config.batch?.maxBatchSize ?? 1;
  }

  recordIdOf(raw: unknown): string | null {
    return this.compiled.recordId(raw);
  }

  toRecord(raw: unknown, fetchedAt: string): MappedRecord {
    const recordId = this.compiled.recordId(raw);
    if (recordId === null) throw new SourceBadResponseError(this.source, `${this.name}: item without an id at "${this.config.idPath}"`);
    try {
      return { source: this.source, entity: this.name, recordId, values: this.compiled.map(raw), fetchedAt };
    } catch (error) {
      if (error instanceof TransformError) {
        throw new SourceBadResponseError(this.source, `${this.name} ${recordId}: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }

  private read(path: string, body: unknown): unknown {
    let reader = this.paths.get(path);
    if (!reader) this.paths.set(path, (reader = compilePath(path)));
    return reader(body);
  }

  private items(body: unknown, envelope: string | undefined, operation: string): unknown[] {
    const items = envelope ? this.read(envelope, body) : body;
    if (!Array.isArray(items)) throw new SourceBadResponseError(this.source, `${operation}: no array at "${envelope ?? '(body)'}"`);
    return items;
  }

  private batchRequest(batch: BatchEndpoint, ids: readonly string[], observe: CallObserver | undefined, operation: string, deadline: Deadline | undefined) {
    return this.client.requestJson({ ...batchReadRequest(batch, ids), operation, ...(deadline ? { deadline } : {}), ...(observe ? { observe } : {}) });
  }

  private singleRequest(single: SingleEndpoint, id: string, observe: CallObserver | undefined, operation: string, deadline: Deadline | undefined) {
    const limited = this.perKeyLimit!(() =>
      this.client.requestJson({ ...singleReadRequest(single, id), operation, ...(deadline ? { deadline } : {}), ...(observe ? { observe } : {}) }),
    );
    // Waiting for a per-key slot is an upstream wait too: it must not outlast the query's deadline.
    return deadline ? deadline.race(limited, () => new SourceTimeoutError(this.source, `${operation}: the query's deadline passed (queued for a per-key slot, or in flight)`)) : limited;
  }

  /**
   * Records by their own IDs, which come from the link table: each one should exist. A batch response that omits
   * an ID is therefore incomplete, and only that key fails; a single read's 404 is the source saying the record is
   * gone, and reads as null. A record the mapping cannot read is an error of that key alone.
   */
  async fetchRecords(ids: readonly string[], observe?: CallObserver, deadline?: Deadline): Promise<KeyResult<MappedRecord | null>[]> {
    const { batch, single } = this.config;
    if (batch) {
      const operation = `${this.name}.batch`;
      const body = await this.batchRequest(batch, ids, observe, operation, deadline);
      const fetchedAt = new Date().toISOString();
      const byId = new Map<string, KeyResult<MappedRecord>>();
      for (const raw of this.items(body, batch.envelope, operation)) {
        const recordId = this.compiled.recordId(raw);
        if (recordId === null) continue;
        byId.set(recordId, this.settle(() => this.toRecord(raw, fetchedAt)));
      }
      return ids.map((id) => byId.get(id) ?? new SourceBadResponseError(this.source, `${operation}: linked record ${id} is missing from the response`));
    }
    const operation = `${this.name}.get`;
    return Promise.all(
      ids.map(async (id) => {
        try {
          const body = await this.singleRequest(single!, id, observe, operation, deadline);
          if (body === null) return null;
          const raw = single!.envelope ? this.read(single!.envelope, body) : body;
          return raw === undefined || raw === null ? null : this.toRecord(raw, new Date().toISOString());
        } catch (error) {
          return error as Error;
        }
      }),
    );
  }

  /** Child items (orders, tickets, events) of each parent record ID; an item the mapping cannot read fails only its parent's list. */
  async fetchChildren(parentIds: readonly string[], observe?: CallObserver, deadline?: Deadline): Promise<KeyResult<MappedRecord[]>[]> {
    const { batch, single } = this.config;
    if (batch) {
      const operation = `${this.name}.batch`;
      const body = await this.batchRequest(batch, parentIds, observe, operation, deadline);
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
        if (batch.group) {
          const group = batch.group;
          const groupKey = (raw: unknown) => this.read(group.key, raw);
          for (const group of this.items(body, batch.envelope, operation)) {
            const key = groupKey(group);
            const parentId = typeof key === 'string' || typeof key === 'number' ? String(key) : null;
            for (const raw of this.items(group, batch.group.items, operation)) add(parentId, raw);
          }
        } else {
          for (const raw of this.items(body, batch.envelope, operation)) add(this.compiled.parentId!(raw), raw);
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
          const body = await this.singleRequest(single!, id, observe, operation, deadline);
          if (body === null) return [];
          const fetchedAt = new Date().toISOString();
          return this.items(body, single!.envelope, operation).map((raw) => this.toRecord(raw, fetchedAt));
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
   * Every raw record, page by page, in the source's own pagination style. Each page carries the state to
   * resume after it (a cursor, page number or offset, as a string), or null after the last page.
   */
  async *listPages(options: { resumeFrom?: string | null; observe?: CallObserver } = {}): AsyncGenerator<ListPage> {
    const list: ListEndpoint | undefined = this.config.list;
    if (!list) throw new Error(`${this.source}.${this.name} has no list endpoint`);
    const operation = `${this.name}.list`;
    const { pagination } = list;
    const resume = options.resumeFrom ?? null;
    let cursor: string | null = pagination.style === 'cursor' ? resume : null;
    let page = pagination.style === 'page' && resume !== null ? Number(resume) : 1;
    let offset = pagination.style === 'offset' && resume !== null ? Number(resume) : 0;
    for (;;) {
      const position = pagination.style === 'cursor' ? cursor : pagination.style === 'page' ? String(page) : String(offset);
      const request = listPageRequest(list, list.pageSize, position);
      const body = await this.client.requestJson({ ...request, operation, ...(options.observe ? { observe: options.observe } : {}) });
      const items = this.items(body, list.envelope, operation);
      let next: string | null;
      if (pagination.style === 'cursor') {
        const value = this.read(pagination.nextCursorPath, body);
        next = typeof value === 'string' && value !== '' ? value : null;
      } else if (pagination.style === 'page') {
        const totalPages = Number(this.read(pagination.totalPagesPath, body));
        next = page < totalPages && items.length > 0 ? String(page + 1) : null;
      } else {
        const total = Number(this.read(pagination.totalPath, body));
        next = offset + items.length < total && items.length > 0 ? String(offset + items.length) : null;
      }
      yield { items, next };
      if (next === null) return;
      if (pagination.style === 'cursor') cursor = next;
      else if (pagination.style === 'page') page = Number(next);
      else offset = Number(next);
    }
  }

  /** Raw records whose identifier matches, through the source's search endpoint; [] when it cannot search by `kind`. */
  async search(kind: SearchKind, value: string, observe?: CallObserver): Promise<unknown[]> {
    const search = this.config.search;
    const param = search?.params[kind];
    if (!search || !param) return [];
    const operation = `${this.name}.search`;
    const body = await this.client.requestJson({ method: 'GET', path: search.path, query: { ...search.query, [param]: value }, operation, keys: 1, ...(observe ? { observe } : {}) });
    return this.items(body, search.envelope, operation);
  }
}

export interface ListPage {
  items: unknown[];
  next: string | null;
}

/** A source: its HTTP client and a reader per configured entity. */
export class SourceConnector {
  readonly entities: ReadonlyMap<string, EntityReader>;

  constructor(
    readonly name: string,
    readonly config: SourceConfig,
    readonly client: SourceHttpClient,
    context: TransformContext,
  ) {
    this.entities = new Map(Object.entries(config.entities).map(([entityName, entity]) => [entityName, new EntityReader(client, entityName, entity, context)]));
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
