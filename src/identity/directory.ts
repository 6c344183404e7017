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

export class LinkDirectory {
  /** Keyed by the ID asked for, which may be a merged-away alias of the customer cached. */
  private readonly byCustomer: LRUCache<string, CustomerLinks>;
  /** Identifier or record token → customer ID. */
  private readonly byToken: LRUCache<string, string>;
  private readonly misses = new LRUCache<string, true>({ max: 10_000, ttlAutopurge: false });
  hits = 0;
  lookups = 0;
  /**
   * Bumped by every invalidation. A store read that began before one may have seen the old links, so its
   * result is returned but not cached: otherwise it would put back what the invalidation just removed.
   */
  private generation = 0;
  private readonly invalidationListeners = new Set<InvalidationListener>();

  constructor(
    readonly store: LinkStore,
    options: LinkCacheOptions,
  ) {
    this.byCustomer = new LRUCache({ max: options.maxEntries, ttl: options.ttlMs });
    this.byToken = new LRUCache({ max: options.maxEntries, ttl: options.ttlMs });
  }

  async customer(id: string): Promise<CustomerLinks | null> {
    this.lookups += 1;
    const cached = this.byCustomer.get(id);
    if (cached) {
      this.hits += 1;
      return cached;
    }
    const readAt = this.generation;
    const found = (await this.store.getCustomers([id])).get(id) ?? null;
    if (found && readAt === this.generation) this.byCustomer.set(id, found);
    return found;
  }

  /** A page always reads the store (the order and the next page come from there) and warms the cache. */
  async page(first: number, afterId: string | null): Promise<CustomerPage> {
    const readAt = this.generation;
    const page = await this.store.pageCustomers(first, afterId);
    if (readAt === this.generation) for (const customer of page.customers) this.byCustomer.set(customer.customerId, customer);
    return page;
  }

  private async byTokenLookup(key: string, find: () => Promise<string | null>): Promise<CustomerLinks | null> {
    const cachedId = this.byToken.get(key);
    if (cachedId !== undefined) {
      const customer = await this.customer(cachedId);
      if (customer) return customer;
    }
    const readAt = this.generation;
    const customerId = await find();
    if (customerId === null) return null;
    if (readAt === this.generation) this.byToken.set(key, customerId);
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
    this.generation += 1;
    const gone = new Set(customerIds);
    for (const [key, customer] of this.byCustomer.entries()) {
      if (gone.has(key) || gone.has(customer.customerId)) this.byCustomer.delete(key);
    }
    for (const [key, customerId] of this.byToken.entries()) {
      if (gone.has(customerId)) this.byToken.delete(key);
    }
    // A change may make a remembered miss findable.
    this.misses.clear();
    for (const listener of this.invalidationListeners) listener(customerIds);
  }

  /** Other processes serving the same link table (cluster workers) hear of this one's changes through here; returns the unsubscribe. */
  onInvalidate(listener: InvalidationListener): () => void {
    this.invalidationListeners.add(listener);
    return () => this.invalidationListeners.delete(listener);
  }

  isKnownMiss(token: IdentifierToken): boolean {
    return this.misses.has(tokenString(token));
  }

  rememberMiss(token: IdentifierToken, ttlMs: number): void {
    if (ttlMs > 0) this.misses.set(tokenString(token), true, { ttl: ttlMs });
  }

  clear(): void {
    this.generation += 1;
    this.byCustomer.clear();
    this.byToken.clear();
    this.misses.clear();
    for (const listener of this.invalidationListeners) listener('all');
  }
}
