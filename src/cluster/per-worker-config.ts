// How many hub workers a config asks for, and the config each of them runs with: its share of every source's caps.
import { availableParallelism } from 'node:os';
import type { HubConfig, RateLimitConfig } from '../config/schema.js';

/** `server.workers` as a number: `auto` is one per core this process may use. */
export function workerCount(config: HubConfig, cores: () => number = availableParallelism): number {
  const setting = config.server.workers;
  return setting === 'auto' ? Math.max(1, cores()) : setting;
}

/**
 * Worker `slot`'s share (0-based) of a cap split over `workers`: as even as it can be, the first `cap mod workers`
 * slots one more, so the shares add up to exactly `cap`. A share is never below 1 (a source with a cap of 0 could
 * not be called): a cap smaller than the worker count becomes 1 per worker, `workers` in all.
 */
export function shareOf(cap: number, workers: number, slot: number): number {
  const share = Math.floor(cap / workers) + (slot < cap % workers ? 1 : 0);
  return Math.max(1, share);
}

/** Worker `slot`'s share of a per-process rate limit: the rate split evenly, the burst like any other cap. */
function rateLimitShare(rateLimit: RateLimitConfig, workers: number, slot: number): RateLimitConfig {
  return { requestsPerSecond: rateLimit.requestsPerSecond / workers, burst: shareOf(rateLimit.burst, workers, slot) };
}

/**
 * The config worker `slot` of `workers` runs with. Each worker has its own connection pool, bulkhead and per-key
 * limits, but the caps in the config are promises to the source system about the hub as a whole: `connections`,
 * `resilience.bulkhead.maxConcurrent`, every entity's `single.concurrency` and (without Redis) `rateLimit` are split between the workers so
 * their sum stays the configured cap. Queue lengths (`maxQueued`) bound each worker's own memory and stay as
 * written. Pure: the config passed in is not changed.
 */
export function perWorkerConfig(config: HubConfig, { workers, slot }: { workers: number; slot: number }): HubConfig {
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be a positive integer, got ${workers}`);
  if (!Number.isInteger(slot) || slot < 0 || slot >= workers) throw new RangeError(`slot must be in [0, ${workers}), got ${slot}`);
  if (workers === 1) return config;
  const share = (cap: number) => shareOf(cap, workers, slot);
  const sources = Object.fromEntries(
    Object.entries(config.sources).map(([name, source]) => {
      const { maxConcurrent } = source.resilience.bulkhead;
      const entities = Object.fromEntries(
        Object.entries(source.entities).map(([entityName, entity]) => [
          entityName,
          entity.single ? { ...entity, single: { ...entity.single, concurrency: share(entity.single.concurrency) } } : entity,
        ]),
      );
      return [
        name,
        {
          ...source,
          connections: share(source.connections),
          // A bucket in Redis is one budget for every process already; a per-process bucket takes its share of it.
          ...(source.rateLimit && !config.rateLimits.redis ? { rateLimit: rateLimitShare(source.rateLimit, workers, slot) } : {}),
          resilience: {
            ...source.resilience,
            // Unset, it follows `connections`, whose share is taken above.
            bulkhead: { ...source.resilience.bulkhead, ...(maxConcurrent === undefined ? {} : { maxConcurrent: share(maxConcurrent) }) },
          },
          entities,
        },
      ];
    }),
  );
  return { ...config, sources };
}
