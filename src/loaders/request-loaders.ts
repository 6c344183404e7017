// Per-request DataLoaders, one per (source, entity, operation): every key asked for in one tick goes out together.
import DataLoader from 'dataloader';
import type { MappedRecord } from '../sources/connector.js';
import type { UpstreamScope } from '../sources/upstream-scope.js';
import type { CallObserver } from '../sources/http-client.js';
import { Deadline } from '../sources/policies/deadline.js';
import type { CacheLookupObserver, RecordCache } from '../sources/record-cache.js';
import type { SourceRegistry } from '../sources/registry.js';
import { callsFor, type UpstreamBudget } from './upstream-budget.js';

export interface LoaderCacheOptions {
  /** The hub's cross-request record cache; entities it does not cache are read live. */
  cache?: RecordCache;
  /** Told what each batch found in the cache (explain). */
  onCacheLookup?: CacheLookupObserver;
  /** The request's upstream-call budget, spent before each call goes out (a cached entity's as if every key missed). */
  budget?: UpstreamBudget;
}

export class RequestLoaders {
  private readonly recordLoaders = new Map<string, DataLoader<string, MappedRecord | null>>();
  private readonly childLoaders = new Map<string, DataLoader<string, MappedRecord[]>>();
  /** The request's deadline, observer and budget, carried by every upstream call it makes (loaders and on-demand lookups). */
  readonly scope: UpstreamScope & { deadline: Deadline };

  constructor(
    private readonly registry: SourceRegistry,
    observe?: CallObserver,
    /** The request's time budget: every upstream call its loaders make ends by then. */
    readonly deadline: Deadline = Deadline.none(),
    private readonly caching: LoaderCacheOptions = {},
  ) {
    this.scope = { deadline, ...(observe ? { observe } : {}), ...(caching.budget ? { budget: caching.budget } : {}) };
  }

  /** Records of a linked entity by record ID (profile, marketing). */
  records(source: string, entity: string): DataLoader<string, MappedRecord | null> {
    const key = `${source}.${entity}`;
    let loader = this.recordLoaders.get(key);
    if (!loader) {
      const reader = this.registry.reader(source, entity);
      const cached = this.caching.cache?.records(source, entity);
      // DataLoader splits a tick's keys into the reader's chunks: ceil(keys / max) upstream calls, sent in parallel.
      // Without a batch endpoint the reader makes one call per distinct key under its concurrency cap.
      // A cached entity's loader hands the cache the whole tick, which splits only its misses: ceil(misses / max)
      // calls (split before the lookup, a call would go out for every chunk holding a single miss).
      const spend = (keys: number) => this.caching.budget?.spend(source, callsFor(reader, keys));
      if (cached) loader = new DataLoader(async (ids) => (spend(ids.length), cached.load(ids, this.scope, this.caching.onCacheLookup)), { maxBatchSize: Infinity });
      else loader = new DataLoader(async (ids) => (spend(ids.length), reader.fetchRecords(ids, this.scope)), { maxBatchSize: reader.chunkSize });
      this.recordLoaders.set(key, loader);
    }
    return loader;
  }

  /** Child items (orders, tickets, events) by their parent record's ID. */
  children(source: string, entity: string): DataLoader<string, MappedRecord[]> {
    const key = `${source}.${entity}`;
    let loader = this.childLoaders.get(key);
    if (!loader) {
      const reader = this.registry.reader(source, entity);
      const cached = this.caching.cache?.children(source, entity);
      const spend = (keys: number) => this.caching.budget?.spend(source, callsFor(reader, keys));
      if (cached) loader = new DataLoader(async (parentIds) => (spend(parentIds.length), cached.load(parentIds, this.scope, this.caching.onCacheLookup)), { maxBatchSize: Infinity });
      else loader = new DataLoader(async (parentIds) => (spend(parentIds.length), reader.fetchChildren(parentIds, this.scope)), { maxBatchSize: reader.chunkSize });
      this.childLoaders.set(key, loader);
    }
    return loader;
  }
}
