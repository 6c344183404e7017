// The hot path's view of the link table: customer lookups through an in-memory LRU cache in front of the store.
import { LRUCache } from 'lru-cache';
import type { CustomerLinks, Identifier } from './model.js';
import type { CustomerPage, LinkStore } from './store.js';

export interface LinkCacheOptions {
  maxEntries: number;
  ttlMs: number;
}

export class LinkDirectory {
  private readonly byCustomer: LRUCache<string, CustomerLinks>;
  private readonly byIdentifier: LRUCache<string, string>;
  hits = 0;
  misses = 0;

  constructor(
    readonly store: LinkStore,
    options: LinkCacheOptions,
  ) {
    this.byCustomer = new LRUCache({ max: options.maxEntries, ttl: options.ttlMs });
    this.byIdentifier = new LRUCache({ max: options.maxEntries, ttl: options.ttlMs });
  }

  async customer(id: string): Promise<CustomerLinks | null> {
    const cached = this.byCustomer.get(id);
    if (cached) {
      this.hits += 1;
      return cached;
    }
    this.misses += 1;
    const found = (await this.store.getCustomers([id])).get(id) ?? null;
    if (found) this.byCustomer.set(id, found);
    return found;
  }

  /** A page always reads the store (the order and the next page come from there) and warms the cache. */
  async page(first: number, afterId: string | null): Promise<CustomerPage> {
    const page = await this.store.pageCustomers(first, afterId);
    for (const customer of page.customers) this.byCustomer.set(customer.customerId, customer);
    return page;
  }

  async customerByIdentifier(kind: Identifier['kind'], value: string): Promise<CustomerLinks | null> {
    const key = `${kind}\u0000${value}`;
    const cachedId = this.byIdentifier.get(key);
    if (cachedId !== undefined) {
      this.hits += 1;
      return this.customer(cachedId);
    }
    this.misses += 1;
    const [customerId] = await this.store.findCustomerIdsByIdentifier(kind, value);
    if (customerId === undefined) return null;
    this.byIdentifier.set(key, customerId);
    return this.customer(customerId);
  }

  async customerByRecord(source: string, recordId: string): Promise<CustomerLinks | null> {
    const key = `record\u0000${source}\u0000${recordId}`;
    const cachedId = this.byIdentifier.get(key);
    if (cachedId !== undefined) {
      this.hits += 1;
      return this.customer(cachedId);
    }
    this.misses += 1;
    const customerId = await this.store.findCustomerIdByRecord({ source, recordId });
    if (customerId === null) return null;
    this.byIdentifier.set(key, customerId);
    return this.customer(customerId);
  }

  /** Drops every cached entry: after a sync rewrote the table. */
  clear(): void {
    this.byCustomer.clear();
    this.byIdentifier.clear();
  }
}
