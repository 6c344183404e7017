// Builds one connector per configured source and answers which source entities feed which unified shape.
import type { Logger } from 'pino';
import type { FacetTarget, HubConfig } from '../config/schema.js';
import { createLogger } from '../logging/logger.js';
import { SourceConnector, type EntityReader } from './connector.js';
import { SourceHttpClient } from './http-client.js';
import { SharedRateLimits } from './shared-rate-limits.js';

export interface EntityRef {
  source: string;
  entity: string;
  reader: EntityReader;
}

export interface ChildEntityRef extends EntityRef {
  /** The linked entity whose record IDs key the children. */
  parentEntity: string;
}

export class SourceRegistry {
  readonly connectors: ReadonlyMap<string, SourceConnector>;
  private readonly recordProvidersByTarget = new Map<FacetTarget, readonly EntityRef[]>();
  private readonly childProvidersByTarget = new Map<FacetTarget, readonly ChildEntityRef[]>();

  /** The Redis connection the sources' rate-limit buckets share with other replicas, if `rateLimits.redis` is set. */
  readonly sharedRateLimits: SharedRateLimits | undefined;

  constructor(config: HubConfig, options: { logger?: Logger } = {}) {
    const context = { defaultPhoneRegion: config.identity.defaultPhoneRegion };
    const redis = config.rateLimits.redis;
    const logger = options.logger ?? createLogger();
    const shared = redis && Object.values(config.sources).some((source) => source.rateLimit) ? new SharedRateLimits({ url: redis.url, keyPrefix: redis.keyPrefix, logger }) : undefined;
    this.sharedRateLimits = shared;
    this.connectors = new Map(
      Object.entries(config.sources).map(([name, source]) => {
        const rateLimitBucket = source.rateLimit && shared ? shared.bucket(name, source.rateLimit) : undefined;
        const client = new SourceHttpClient(name, source, { logger, ...(rateLimitBucket ? { rateLimitBucket } : {}) });
        return [name, new SourceConnector(name, source, client, context)];
      }),
    );
  }

  private *allEntities(): Generator<EntityRef> {
    for (const [source, connector] of this.connectors) {
      for (const [entity, reader] of connector.entities) yield { source, entity, reader };
    }
  }

  /** Entities whose records are linked to customers (those that are not children of another entity). */
  linkedEntities(): EntityRef[] {
    return [...this.allEntities()].filter((e) => !e.reader.config.parent);
  }

  /** Linked entities that provide a per-record shape (profile, marketing). */
  recordProviders(target: FacetTarget): readonly EntityRef[] {
    // Asked on every facet of every customer resolved; the sources are fixed for the registry's life.
    let providers = this.recordProvidersByTarget.get(target);
    if (!providers) {
      providers = [...this.allEntities()].filter((e) => e.reader.config.provides === target && !e.reader.config.parent);
      this.recordProvidersByTarget.set(target, providers);
    }
    return providers;
  }

  /** Child entities (orders, tickets, events, extension lists such as Customer.subscriptions) and the linked entity that keys them. */
  childProviders(target: FacetTarget): readonly ChildEntityRef[] {
    let providers = this.childProvidersByTarget.get(target);
    if (!providers) {
      providers = [...this.allEntities()].flatMap((e) => (e.reader.config.provides === target && e.reader.config.parent ? [{ ...e, parentEntity: e.reader.config.parent }] : []));
      this.childProvidersByTarget.set(target, providers);
    }
    return providers;
  }

  reader(source: string, entity: string): EntityReader {
    const connector = this.connectors.get(source);
    if (!connector) throw new Error(`no source "${source}"`);
    return connector.entity(entity);
  }

  async close(): Promise<void> {
    await Promise.all([...this.connectors.values()].map((c) => c.close()));
    await this.sharedRateLimits?.close();
  }
}
