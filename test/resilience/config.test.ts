// The resilience section of a source's config: optional, filled with defaults, and a bad value named by its path.
import { describe, expect, test } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';

const source = (extra: Record<string, unknown> = {}) => ({
  sources: {
    crm: {
      baseUrl: 'http://127.0.0.1:9',
      entities: { contact: { provides: 'profile', batch: { path: '/contacts', query: { ids: '{ids}' }, maxBatchSize: 100, envelope: 'contacts' } } },
      ...extra,
    },
  },
});

describe('resilience config', () => {
  test('a source without the section gets every default, and the server a query deadline', () => {
    const config = parseConfig(source(), {});
    expect(config.server.queryDeadlineMs).toBe(10_000);
    expect(config.sources.crm!.connectTimeoutMs).toBe(2_000);
    expect(config.sources.crm!.resilience).toEqual({
      retry: { maxRetries: 2, initialDelayMs: 50, maxDelayMs: 1_000 },
      circuitBreaker: { failureRate: 0.5, windowMs: 10_000, minimumRequests: 10, halfOpenAfterMs: 5_000, maxRetryAfterMs: 3_600_000 },
      bulkhead: { maxQueued: 1_000 },
    });
  });

  test('a partial section keeps the defaults of the keys it leaves out', () => {
    const config = parseConfig(source({ resilience: { retry: { maxRetries: 0 }, bulkhead: { maxConcurrent: 4 } } }), {});
    expect(config.sources.crm!.resilience.retry).toEqual({ maxRetries: 0, initialDelayMs: 50, maxDelayMs: 1_000 });
    expect(config.sources.crm!.resilience.bulkhead).toEqual({ maxConcurrent: 4, maxQueued: 1_000 });
  });

  test.each([
    ['a failure rate of 0', { circuitBreaker: { failureRate: 0 } }, 'sources.crm.resilience.circuitBreaker.failureRate'],
    ['a negative retry count', { retry: { maxRetries: -1 } }, 'sources.crm.resilience.retry.maxRetries'],
    ['a typo', { bulkhaed: {} }, 'sources.crm.resilience'],
  ])('%s is reported at its path', (_name, resilience, path) => {
    let problems: readonly { path: string }[] = [];
    try {
      parseConfig(source({ resilience }), {});
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems.map((p) => p.path)).toEqual([path]);
  });
});
