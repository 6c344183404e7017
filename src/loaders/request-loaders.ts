// Per-request DataLoaders, one per (source, entity, operation): every key asked for in one tick goes out together.
import DataLoader from 'dataloader';
import type { MappedRecord } from '../sources/connector.js';
import type { CallObserver } from '../sources/http-client.js';
import { Deadline } from '../sources/policies/deadline.js';
import type { SourceRegistry } from '../sources/registry.js';

export class RequestLoaders {
  private readonly recordLoaders = new Map<string, DataLoader<string, MappedRecord | null>>();
  private readonly childLoaders = new Map<string, DataLoader<string, MappedRecord[]>>();

  constructor(
    private readonly registry: SourceRegistry,
    private readonly observe?: CallObserver,
    /** The request's time budget: every upstream call its loaders make ends by then. */
    readonly deadline: Deadline = Deadline.none(),
  ) {}

  /** Records of a linked entity by record ID (profile, marketing). */
  records(source: string, entity: string): DataLoader<string, MappedRecord | null> {
    const key = `${source}.${entity}`;
    let loader = this.recordLoaders.get(key);
    if (!loader) {
      const reader = this.registry.reader(source, entity);
      // DataLoader splits a tick's keys into maxBatchSize chunks: ceil(keys / max) upstream calls, sent in parallel.
      // Without a batch endpoint the reader makes one call per distinct key under its concurrency cap.
      loader = new DataLoader((ids) => reader.fetchRecords(ids, this.observe, this.deadline), { maxBatchSize: reader.config.batch ? reader.maxBatchSize : Infinity });
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
      loader = new DataLoader((parentIds) => reader.fetchChildren(parentIds, this.observe, this.deadline), { maxBatchSize: reader.config.batch ? reader.maxBatchSize : Infinity });
      this.childLoaders.set(key, loader);
    }
    return loader;
  }
}
