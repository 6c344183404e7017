// Keeps the record caches of the processes sharing a PostgreSQL link store coherent: a webhook or forget handled by
// one of them drops the records from every other's cache too, as node:cluster's IPC relay does for one machine.
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { RecordCache } from '../sources/record-cache.js';
import type { RecordKey } from './model.js';
import { RECORD_INVALIDATION_CHANNEL, recordInvalidationPayloads, type InvalidationSubscriber, type RecordInvalidationListener } from './postgres-invalidation.js';
import type { RecordInvalidations } from './store.js';

export class PostgresRecordInvalidations implements RecordInvalidations {
  constructor(
    private readonly pool: Pool,
    private readonly subscriber: InvalidationSubscriber,
    /** The store's own origin, so its subscriber skips what this process published. */
    private readonly origin: string,
    private readonly schema: string,
  ) {}

  async publish(records: readonly RecordKey[]): Promise<void> {
    if (records.length === 0) return;
    // One statement: the chunks of a large invalidation are delivered together or not at all.
    await this.pool.query('SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload', [RECORD_INVALIDATION_CHANNEL, recordInvalidationPayloads(this.origin, this.schema, records)]);
  }

  subscribe(listener: RecordInvalidationListener): () => void {
    return this.subscriber.subscribeRecords(listener);
  }
}

/**
 * Publishes this process's record invalidations and applies the other processes'. What is applied from elsewhere is
 * not published again (it would bounce between the replicas for ever), nor are records this process does not cache
 * (a hub without a record cache, the default, then costs the database nothing per webhook).
 */
export function relayRecordInvalidations(cache: RecordCache, invalidations: RecordInvalidations, logger: Logger): void {
  let applyingRemote = false;
  cache.onInvalidate((records) => {
    if (applyingRemote) return;
    const cached = records.filter((record) => cache.caches(record));
    if (cached.length === 0) return;
    invalidations.publish(cached).catch((error: unknown) => {
      logger.warn({ err: error, records: cached.length }, 'record cache invalidation not relayed: other replicas serve these records until their ttl');
    });
  });
  invalidations.subscribe((records) => {
    applyingRemote = true;
    try {
      if (records === 'all') cache.clear();
      else cache.invalidate(records);
    } finally {
      applyingRemote = false;
    }
  });
}
