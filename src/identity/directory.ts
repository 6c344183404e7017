// The hot path's view of the link table: customer lookups through an in-memory LRU cache in front of the store.
import { LRUCache } from 'lru-cache';
import type { CustomerLinks, IdentifierKind, IdentifierToken } from './model.js';
import { tokenString } from './model.js';
import type { CustomerPage, LinkStore } from './store.js';

export interface LinkCacheOptions {
  maxEntries: number;
  ttlMs: number;
}

/** Told of every invalidation: the customer IDs dropped, or `all` when the whole cache was cleared. */
export type InvalidationListener = (customerIds: readonly string[] | 'all') => void;

/** Customer lookups answered through the cache, and how many of them it held. */
interface LookupCount {
  hits: number;
  lookups: number;
}

/** The cache every view of one directory shares. */
interface SharedCache {
  /** Keyed by the ID asked for, which may be a merged-away alias of the customer cached. */
  byCustomer: LRUCache<string, CustomerLinks>;
  /** Identifier or record token → customer ID. */
  byToken: LRUCache<string, string>;
  misses: LRUCache<string, true>;
  /**
   * Bumped by every invalidation. A store read that began before one may have seen the old links, so its
   * result is returned but not cached: otherwise it would put back what the invalidation just removed.
   */
  generation: number;
  invalidationListeners: Set<InvalidationListener>;
}

export class LinkDirectory {
  private readonly shared: SharedCache;
  /** This view's own lookups; a request's view also counts into the process-wide directory it came from. */
  private readonly count: LookupCount = { hits: 0, lookups: 0 };
  private readonly processWide: LinkDirectory | null;

  /** A directory with a cache of its own (`options`), or one request's view of another's (`forRequest`). */
  constructor(
    readonly store: LinkStore,
    options: LinkCacheOptions | { requestViewOf: LinkDirectory },
  ) {
    if ('requestViewOf' in options) {
      this.processWide = options.requestViewOf.processWide ?? options.requestViewOf;
      this.shared = this.processWide.shared;
      return;
    }
    this.shared = {
      byCustomer: new LRUCache({ max: options.maxEntries, ttl: options.ttlMs }),
      byToken: new LRUCache({ max: options.maxEntries, ttl: options.ttlMs }),
      misses: new LRUCache<string, true>({ max: 10_000, ttlAutopurge: false }),
      generation: 0,
      invalidationListeners: new Set(),
    };
    this.processWide = null;
  }

  /**
   * The same cache, counting one request's lookups apart (explain's `linkCache`): the process-wide counters mix
   * every request since start, so they cannot say what this one cost.
   */
  forRequest(): LinkDirectory {
    return new LinkDirectory(this.store, { requestViewOf: this });
  }

  /** Lookups answered from the cache (the process's, or one request's for a view from `forRequest`). */
  get hits(): number {
    return this.count.hits;
  }

  get lookups(): number {
    return this.count.lookups;
  }

  private counted(hit: boolean): void {
    this.count.lookups += 1;
    if (hit) this.count.hits += 1;
    this.processWide?.counted(hit);
  }

  async customer(id: string): Promise<CustomerLinks | null> {
    const cached = this.shared.byCustomer.get(id);
    this.counted(cached !== undefined);
    if (cached) return cached;
    const readAt = this.shared.generation;
    const found = (await this.store.getCustomers([id])).get(id) ?? null;
    if (found && readAt === this.shared.generation) this.shared.byCustomer.set(id, found);
    return found;
  }

  /**
   * A page's order and its next page come from the store; the links of the customers this cache holds come from it,
   * as `customer(id)` answers them, and the store reads only the others (which then warm the cache). These are not
   * counted as lookups: a page is one store read whatever the cache held. A cached customer is not put back, so a
   * page never extends how long an entry lives.
   */
  async page(first: number, afterId: string | null): Promise<CustomerPage> {
    const readAt = this.shared.generation;
    const cache = this.shared.byCustomer;
    const fromCache = new Set<CustomerLinks>();
    const page = await this.store.pageCustomers(first, afterId, (customerId) => {
      const cached = cache.get(customerId);
      if (cached) fromCache.add(cached);
      return cached;
    });
    if (readAt === this.shared.generation) for (const customer of page.customers) if (!fromCache.has(customer)) cache.set(customer.customerId, customer);
    return page;
  }

  private async byTokenLookup(key: string, find: () => Promise<string | null>): Promise<CustomerLinks | null> {
    const cachedId = this.shared.byToken.get(key);
    if (cachedId !== undefined) {
      const customer = await this.customer(cachedId);
      if (customer) return customer;
    }
    const readAt = this.shared.generation;
    const customerId = await find();
    if (customerId === null) return null;
    if (readAt === this.shared.generation) this.shared.byToken.set(key, customerId);
    return this.customer(customerId);
  }

  customerByIdentifier(kind: IdentifierKind, value: string): Promise<CustomerLinks | null> {
    return this.byTokenLookup(tokenString({ kind, value }), async () => (await this.store.findCustomerIdsByIdentifier(kind, value))[0] ?? null);
  }

  customerByRecord(source: string, recordId: string): Promise<CustomerLinks | null> {
    return this.byTokenLookup(`record\u0000${source}\u0000${recordId}`, () => this.store.findCustomerIdByRecord({ source, recordId }));
  }

  /** Drops what the cache knows of these customers, however they were looked up: after a merge, forget or change. */
  invalidate(customerIds: readonly string[]): void {
    if (customerIds.length === 0) return;
    this.shared.generation += 1;
    const gone = new Set(customerIds);
    for (const [key, customer] of this.shared.byCustomer.entries()) {
      if (gone.has(key) || gone.has(customer.customerId)) this.shared.byCustomer.delete(key);
    }
    for (const [key, customerId] of this.shared.byToken.entries()) {
      if (gone.has(customerId)) this.shared.byToken.delete(key);
    }
    // A change may make a remembered miss findable.
    this.shared.misses.clear();
    for (const listener of this.shared.invalidationListeners) listener(customerIds);
  }

  /** Other processes serving the same link table (cluster workers) hear of this one's changes through here; returns the unsubscribe. */
  onInvalidate(listener: InvalidationListener): () => void {
    this.shared.invalidationListeners.add(listener);
    return () => this.shared.invalidationListeners.delete(listener);
  }

  isKnownMiss(token: IdentifierToken): boolean {
    return this.shared.misses.has(tokenString(token));
  }

  rememberMiss(token: IdentifierToken, ttlMs: number): void {
    if (ttlMs > 0) this.shared.misses.set(tokenString(token), true, { ttl: ttlMs });
  }

  clear(): void {
    this.shared.generation += 1;
    this.shared.byCustomer.clear();
    this.shared.byToken.clear();
    this.shared.misses.clear();
    for (const listener of this.shared.invalidationListeners) listener('all');
  }
}

/**
 * The directory as a request uses it: customers by ID, page, identifier or record through the cache, the misses it
 * remembers, and the counts explain reports. Without the store: a request reads the link table past the cache only
 * through the narrow views on its context (LinkTableReader), and changes links only through the link service.
 */
export type CustomerDirectory = Pick<LinkDirectory, 'customer' | 'page' | 'customerByIdentifier' | 'customerByRecord' | 'isKnownMiss' | 'rememberMiss' | 'hits' | 'lookups'>;
