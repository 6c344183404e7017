// A cross-request cache of source records, opt-in per entity: fresh hits cost no upstream call, stale ones are served at
// once and refreshed in the background, and only the misses go to the source, in as few calls as its batch size allows.
// A miss of a key some other query is already reading joins that read; refreshes take a bounded share of the source.
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { RecordCacheConfig } from '../config/schema.js';
import type { KeyResult, MappedRecord } from './connector.js';
import type { UpstreamScope } from './upstream-scope.js';
import { SourceError, SourceTimeoutError } from './errors.js';
import type { UpstreamCall } from './http-client.js';
import { Deadline } from './policies/deadline.js';
import type { SourceRegistry } from './registry.js';

/** `shared`: a miss that joined a read of the same key already in flight, so it cost no call of its own. */
export type CacheResult = 'fresh' | 'stale' | 'miss' | 'shared';

/** What one loader batch found in the cache: explain shows it beside the upstream calls the batch made. */
export interface CacheLookup {
  source: string;
  entity: string;
  fresh: number;
  stale: number;
  /** Keys read from the source by this batch. */
  misses: number;
  /** Missing keys that waited for a read another query already had in flight. */
  shared: number;
}

export type CacheLookupObserver = (lookup: CacheLookup) => void;

/** Where the cache reports itself (the hub's HubMetrics). */
export interface RecordCacheMetrics {
  recordCacheLookups(source: string, entity: string, result: CacheResult, keys: number): void;
  recordCacheRefreshes(source: string, entity: string, outcome: 'ok' | 'failed', keys: number): void;
  /** The upstream calls of background refreshes, which belong to no request. */
  recordUpstream(call: UpstreamCall): void;
}

/** Reads keys from the source: one result per key, in order. */
type FetchKeys<V> = (keys: readonly string[], scope: ReadScope) => Promise<KeyResult<V>[]>;

/** A read's upstream scope, always with a deadline (a query's, or a refresh's own). */
export type ReadScope = UpstreamScope & { deadline: Deadline };

export interface CachedOperationOptions<V> {
  source: string;
  entity: string;
  policy: RecordCacheConfig;
  /** Keys one upstream call may carry; Infinity where `fetch` already makes one call per key. */
  chunkSize: number;
  fetch: FetchKeys<V>;
  /** A background refresh belongs to no query, so it gets a budget of its own. */
  refreshDeadlineMs: number;
  /**
   * Keys background refreshes may have in flight at once (default: what one upstream call carries). Refreshes wait for
   * their turn here, not in the source's queue, where every call of theirs would sit ahead of the queries' reads.
   */
  refreshKeysAtOnce?: number | undefined;
  metrics?: RecordCacheMetrics | undefined;
  logger?: Logger | undefined;
  /** Monotonic milliseconds; injectable so tests need not wait. */
  now?: (() => number) | undefined;
}

interface Entry<V> {
  value: V;
  /** When the read that produced the value began: the value is at least this old. */
  readAt: number;
}

/** One key of a read in flight, for a later miss of the same key to join. */
interface InFlightKey<V> {
  results: Promise<KeyResult<V>[]>;
  index: number;
  /** The budget the read runs under: a query joining it may have more time left. */
  deadline: Deadline;
}

/** A failing source fails every refresh: one warning per interval is enough to see it, the counter has the rest. */
const WARNING_INTERVAL_MS = 10_000;

/** One cached read operation: the records of one entity, or the child lists of one child entity by parent ID. */
export class CachedOperation<V> {
  readonly source: string;
  readonly entity: string;
  private readonly entries: LRUCache<string, Entry<V>>;
  private readonly now: () => number;
  /** Stale keys waiting for a refresh, in the order they were found; `refreshKeysAtOnce` go out per read, one read at a time. */
  private readonly pendingRefresh = new Set<string>();
  private readonly refreshKeysAtOnce: number;
  private refreshScheduled = false;
  /** Keys whose refresh is pending or in flight: at most one each. */
  private readonly refreshing = new Set<string>();
  private readonly refreshes = new Set<Promise<void>>();
  /** Keys being read now (by a query or a refresh), until the read settles or the key is invalidated. */
  private readonly inFlight = new Map<string, InFlightKey<V>>();
  /**
   * A read that began before its key was invalidated may carry the old value: it is returned, never stored.
   * `invalidatedAt` holds each key's last invalidation while reads are in flight (nothing else needs it, so it is
   * emptied whenever none is); reads older than `floor` are all treated as invalidated when it had to be dropped.
   */
  private generation = 0;
  private floor = 0;
  private readonly invalidatedAt = new Map<string, number>();
  private readsInFlight = 0;
  private failedSinceWarning = 0;
  private lastWarningAt = -Infinity;

  constructor(private readonly options: CachedOperationOptions<V>) {
    this.source = options.source;
    this.entity = options.entity;
    this.now = options.now ?? (() => performance.now());
    this.refreshKeysAtOnce = options.refreshKeysAtOnce ?? (Number.isFinite(options.chunkSize) ? options.chunkSize : 1);
    // Age is judged here against ttl + stale window; the LRU only bounds how many entries are kept.
    this.entries = new LRUCache({ max: options.policy.maxEntries });
  }

  /** Values for `keys` in order: fresh and stale ones from the cache, the misses read from the source within `scope`. */
  async load(keys: readonly string[], given: UpstreamScope = {}, onLookup?: CacheLookupObserver): Promise<KeyResult<V>[]> {
    const scope: ReadScope = { ...given, deadline: given.deadline ?? Deadline.none() };
    const { ttlMs, staleWhileRevalidateMs } = this.options.policy;
    const now = this.now();
    const results = new Array<KeyResult<V>>(keys.length);
    const missed: number[] = [];
    const joined: number[] = [];
    let stale = 0;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const entry = this.entries.get(key);
      const age = entry ? now - entry.readAt : Infinity;
      if (age < ttlMs) {
        results[i] = entry!.value;
      } else if (age < ttlMs + staleWhileRevalidateMs) {
        results[i] = entry!.value;
        stale += 1;
        this.refreshLater(key);
      } else {
        if (entry) this.entries.delete(key);
        // Another read of this key is on its way: a second call would queue behind it at the source for the same answer.
        (this.inFlight.has(key) ? joined : missed).push(i);
      }
    }
    this.reportLookups(keys.length - stale - missed.length - joined.length, stale, missed.length, joined.length, onLookup);
    if (missed.length + joined.length === 0) return results;
    const reads = joined.map(async (i) => {
      results[i] = await this.join(keys[i]!, this.inFlight.get(keys[i]!)!, scope);
    });
    if (missed.length > 0) {
      const read = this.read(
        missed.map((i) => keys[i]!),
        scope,
      );
      reads.push(read.then((values) => missed.forEach((index, j) => (results[index] = values[j]!))));
    }
    await Promise.all(reads);
    return results;
  }

  /** Whether a value for `key` is held, fresh or stale (without touching its recency). */
  has(key: string): boolean {
    const entry = this.entries.peek(key);
    return entry !== undefined && this.now() - entry.readAt < this.options.policy.ttlMs + this.options.policy.staleWhileRevalidateMs;
  }

  /** Drops `key`, and keeps any read already in flight from putting back what it read before. */
  invalidate(key: string): void {
    this.entries.delete(key);
    // A read that began before the invalidation may carry the old value: later misses must not join it.
    this.inFlight.delete(key);
    if (this.pendingRefresh.delete(key)) this.refreshing.delete(key);
    if (this.readsInFlight === 0) return;
    this.generation += 1;
    if (this.invalidatedAt.size >= this.options.policy.maxEntries) {
      this.invalidatedAt.clear();
      this.floor = this.generation;
    } else {
      this.invalidatedAt.set(key, this.generation);
    }
  }

  /** Drops every key, and keeps every read already in flight from putting back what it read before. */
  clear(): void {
    this.entries.clear();
    this.inFlight.clear();
    for (const key of this.pendingRefresh) this.refreshing.delete(key);
    this.pendingRefresh.clear();
    if (this.readsInFlight === 0) return;
    this.generation += 1;
    this.invalidatedAt.clear();
    this.floor = this.generation;
  }

  /** Settles once no background refresh is pending or in flight. */
  async idle(): Promise<void> {
    while (this.refreshScheduled || this.refreshes.size > 0) {
      if (this.refreshes.size > 0) await Promise.allSettled([...this.refreshes]);
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Reads keys from the source, and lets a later miss of any of them join this read until it settles. */
  private read(keys: readonly string[], scope: ReadScope): Promise<KeyResult<V>[]> {
    const results = this.readFromSource(keys, scope);
    const reading = keys.map((key, index) => {
      const inFlight: InFlightKey<V> = { results, index, deadline: scope.deadline };
      this.inFlight.set(key, inFlight);
      return inFlight;
    });
    const settled = () => {
      keys.forEach((key, i) => {
        if (this.inFlight.get(key) === reading[i]) this.inFlight.delete(key);
      });
    };
    results.then(settled, settled);
    return results;
  }

  /** A key's result from a read already in flight, within this query's own deadline. */
  private async join(key: string, inFlight: InFlightKey<V>, scope: ReadScope): Promise<KeyResult<V>> {
    const { deadline } = scope;
    let result: KeyResult<V>;
    try {
      const results = await deadline.race(inFlight.results, () => new SourceTimeoutError(this.source, `${this.entity}: the query's deadline passed (waiting for a read of the same key already in flight)`));
      result = results[inFlight.index]!;
    } catch (error) {
      return error as Error;
    }
    // The joined read may have run out of its own, earlier budget: with time left, this query asks for the key itself.
    if (result instanceof Error && inFlight.deadline.expired && !deadline.expired) return (await this.read([key], scope))[0]!;
    return result;
  }

  /** Reads keys in calls of at most `chunkSize` keys, sent together, and keeps every value (never an error) that came back. */
  private async readFromSource(keys: readonly string[], scope: ReadScope): Promise<KeyResult<V>[]> {
    const readAt = this.now();
    const generation = this.generation;
    this.readsInFlight += 1;
    try {
      const chunks: (readonly string[])[] = [];
      for (let i = 0; i < keys.length; i += this.options.chunkSize) chunks.push(keys.slice(i, i + this.options.chunkSize));
      const settled = await Promise.all(chunks.map((chunk) => this.options.fetch(chunk, scope).catch((error: unknown) => chunk.map(() => error as Error))));
      const results: KeyResult<V>[] = [];
      for (const chunkResults of settled) results.push(...chunkResults);
      keys.forEach((key, i) => {
        const result = results[i];
        // An error is never kept: the next query asks the source again.
        if (result !== undefined && !(result instanceof Error) && !this.invalidatedSince(key, generation)) this.entries.set(key, { value: result, readAt });
      });
      return results;
    } finally {
      this.readsInFlight -= 1;
      if (this.readsInFlight === 0) this.invalidatedAt.clear();
    }
  }

  private invalidatedSince(key: string, generation: number): boolean {
    return generation < this.floor || (this.invalidatedAt.get(key) ?? -1) > generation;
  }

  private refreshLater(key: string): void {
    if (this.refreshing.has(key)) return;
    this.refreshing.add(key);
    this.pendingRefresh.add(key);
    this.scheduleRefresh();
  }

  private scheduleRefresh(): void {
    // One refresh read at a time: the next one queues at the source behind the reads queries made meanwhile, so a
    // query's miss never waits behind more than `refreshKeysAtOnce` keys of refreshes, however many keys went stale.
    if (this.refreshScheduled || this.refreshes.size > 0 || this.pendingRefresh.size === 0) return;
    this.refreshScheduled = true;
    // After this turn of the event loop, so the stale keys every request of the tick found go out in one read.
    setImmediate(() => this.refreshPending());
  }

  private refreshPending(): void {
    this.refreshScheduled = false;
    const keys = this.takeRefreshKeys();
    if (keys.length === 0) return;
    const refresh = this.refresh(keys)
      .catch((error: unknown) => this.options.logger?.error({ source: this.source, entity: this.entity, err: error }, 'record cache: background refresh crashed'))
      .finally(() => {
        this.refreshes.delete(refresh);
        this.scheduleRefresh();
      });
    this.refreshes.add(refresh);
  }

  /** The next keys to refresh, oldest first; a key that expired while it waited is a miss now, for a query to read. */
  private takeRefreshKeys(): string[] {
    const { ttlMs, staleWhileRevalidateMs } = this.options.policy;
    const now = this.now();
    const keys: string[] = [];
    for (const key of this.pendingRefresh) {
      if (keys.length === this.refreshKeysAtOnce) break;
      this.pendingRefresh.delete(key);
      const entry = this.entries.peek(key);
      if (entry && now - entry.readAt < ttlMs + staleWhileRevalidateMs) keys.push(key);
      else this.refreshing.delete(key);
    }
    return keys;
  }

  /** Reads stale keys again under the source's own policies; a failure leaves the stale value in place until it expires. */
  private async refresh(keys: readonly string[]): Promise<void> {
    const { metrics } = this.options;
    try {
      const deadline = Deadline.backgroundAfter(this.options.refreshDeadlineMs);
      const results = await this.read(keys, metrics ? { deadline, observe: (call) => metrics.recordUpstream(call) } : { deadline });
      const failures = results.filter((r): r is Error => r instanceof Error);
      if (keys.length > failures.length) metrics?.recordCacheRefreshes(this.source, this.entity, 'ok', keys.length - failures.length);
      if (failures.length > 0) {
        metrics?.recordCacheRefreshes(this.source, this.entity, 'failed', failures.length);
        this.warnRefreshFailed(failures);
      }
    } finally {
      for (const key of keys) this.refreshing.delete(key);
    }
  }

  private warnRefreshFailed(failures: readonly Error[]): void {
    this.failedSinceWarning += failures.length;
    const now = this.now();
    if (now - this.lastWarningAt < WARNING_INTERVAL_MS) return;
    this.lastWarningAt = now;
    const first = failures[0]!;
    this.options.logger?.warn(
      {
        source: this.source,
        entity: this.entity,
        failedKeys: this.failedSinceWarning,
        code: first instanceof SourceError ? first.code : first.name,
        detail: first instanceof SourceError ? first.detail : first.message,
      },
      'record cache: background refresh failed; the stale values are served until they expire',
    );
    this.failedSinceWarning = 0;
  }

  private reportLookups(fresh: number, stale: number, misses: number, shared: number, onLookup: CacheLookupObserver | undefined): void {
    const { metrics } = this.options;
    if (metrics) {
      if (fresh > 0) metrics.recordCacheLookups(this.source, this.entity, 'fresh', fresh);
      if (stale > 0) metrics.recordCacheLookups(this.source, this.entity, 'stale', stale);
      if (misses > 0) metrics.recordCacheLookups(this.source, this.entity, 'miss', misses);
      if (shared > 0) metrics.recordCacheLookups(this.source, this.entity, 'shared', shared);
    }
    onLookup?.({ source: this.source, entity: this.entity, fresh, stale, misses, shared });
  }
}

/** A source record by its key, as webhooks and forgets name it. */
export interface RecordRef {
  source: string;
  entity: string;
  recordId: string;
}

export interface RecordCacheOptions {
  refreshDeadlineMs: number;
  metrics?: RecordCacheMetrics;
  logger?: Logger;
  now?: () => number;
}

/**
 * The share of a per-key source's concurrency cap that background refreshes may hold (at least one call): the rest of
 * its slots, and every place in its queue but these, stay with the queries.
 */
const PER_KEY_REFRESH_SHARE = 1 / 8;

/** The hub's record cache: one cached operation per entity whose config has a `cache` section, none otherwise. */
export class RecordCache {
  private readonly recordOperations = new Map<string, CachedOperation<MappedRecord | null>>();
  private readonly childOperations = new Map<string, CachedOperation<MappedRecord[]>>();
  /** `source.entity` of a parent → the cached child lists keyed by its record IDs. */
  private readonly childrenByParent = new Map<string, CachedOperation<MappedRecord[]>[]>();
  private readonly invalidationListeners = new Set<(records: readonly RecordRef[]) => void>();

  constructor(registry: SourceRegistry, options: RecordCacheOptions) {
    for (const [source, connector] of registry.connectors) {
      for (const [entity, reader] of connector.entities) {
        const policy = reader.config.cache;
        if (!policy) continue;
        // The reader's own chunk: a batch's worth, or everything where it already makes one call per key.
        const chunkSize = reader.chunkSize;
        // A batch endpoint's refresh is one call; a per-key source's, a few of its slots.
        const refreshKeysAtOnce = reader.config.batch ? reader.keysPerCall : Math.max(1, Math.floor((reader.config.single?.concurrency ?? 1) * PER_KEY_REFRESH_SHARE));
        const common = { ...options, source, entity, policy, chunkSize, refreshKeysAtOnce };
        const parent = reader.config.parent;
        if (parent) {
          const operation = new CachedOperation<MappedRecord[]>({ ...common, fetch: (keys, scope) => reader.fetchChildren(keys, scope) });
          this.childOperations.set(`${source}.${entity}`, operation);
          const parentKey = `${source}.${parent}`;
          this.childrenByParent.set(parentKey, [...(this.childrenByParent.get(parentKey) ?? []), operation]);
        } else {
          this.recordOperations.set(`${source}.${entity}`, new CachedOperation<MappedRecord | null>({ ...common, fetch: (keys, scope) => reader.fetchRecords(keys, scope) }));
        }
      }
    }
  }

  /** The cached record reads of an entity; undefined when its records are not cached. */
  records(source: string, entity: string): CachedOperation<MappedRecord | null> | undefined {
    return this.recordOperations.get(`${source}.${entity}`);
  }

  /** The cached child-list reads of a child entity; undefined when they are not cached. */
  children(source: string, entity: string): CachedOperation<MappedRecord[]> | undefined {
    return this.childOperations.get(`${source}.${entity}`);
  }

  /** Drops what was read of these records: each record and the child lists keyed by it. */
  invalidate(records: readonly RecordRef[]): void {
    for (const { source, entity, recordId } of records) {
      this.recordOperations.get(`${source}.${entity}`)?.invalidate(recordId);
      for (const children of this.childrenByParent.get(`${source}.${entity}`) ?? []) children.invalidate(recordId);
    }
    for (const listener of this.invalidationListeners) listener(records);
  }

  /** Whether anything read of this record may be held: the record itself, or child lists keyed by it. */
  caches({ source, entity }: RecordRef): boolean {
    const key = `${source}.${entity}`;
    return this.recordOperations.has(key) || this.childrenByParent.has(key);
  }

  /**
   * Drops everything held, telling no listener: for a process that may have missed other processes' invalidations,
   * which they have already told everyone else.
   */
  clear(): void {
    for (const operation of [...this.recordOperations.values(), ...this.childOperations.values()]) operation.clear();
  }

  /** Other processes holding caches of their own (cluster workers) hear of this one's invalidations through here; returns the unsubscribe. */
  onInvalidate(listener: (records: readonly RecordRef[]) => void): () => void {
    this.invalidationListeners.add(listener);
    return () => this.invalidationListeners.delete(listener);
  }

  /** Settles once no background refresh is pending or in flight. */
  async idle(): Promise<void> {
    await Promise.all([...this.recordOperations.values(), ...this.childOperations.values()].map((operation) => operation.idle()));
  }
}
