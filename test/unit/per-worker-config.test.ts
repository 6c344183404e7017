// server.workers and the share of every source's caps each cluster worker runs with.
import { describe, expect, test } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import type { HubConfig } from '../../src/config/schema.js';
import { perWorkerConfig, shareOf, workerCount } from '../../src/cluster/per-worker-config.js';

const URLS = { crm: 'http://127.0.0.1:1', shop: 'http://127.0.0.1:2', support: 'http://127.0.0.1:3', marketing: 'http://127.0.0.1:4', analytics: 'http://127.0.0.1:5' };

function config(workers?: string): HubConfig {
  return demoConfig(URLS, workers === undefined ? {} : { WORKERS: workers });
}

/** Every cap the transform splits, by its path in the config. */
function caps(c: HubConfig): Record<string, number | undefined> {
  const found: Record<string, number | undefined> = {};
  for (const [name, source] of Object.entries(c.sources)) {
    found[`${name}.connections`] = source.connections;
    found[`${name}.maxConcurrent`] = source.resilience.bulkhead.maxConcurrent;
    for (const [entity, e] of Object.entries(source.entities)) if (e.single) found[`${name}.${entity}.single.concurrency`] = e.single.concurrency;
  }
  return found;
}

describe('server.workers', () => {
  test('defaults to 1, reads WORKERS in the demo config, and auto is one per core', () => {
    expect(config().server.workers).toBe(1);
    expect(workerCount(config())).toBe(1);
    expect(workerCount(config('3'))).toBe(3);
    expect(config('auto').server.workers).toBe('auto');
    expect(workerCount(config('auto'), () => 6)).toBe(6);
  });

  test.each([0, -1, 1.5, 'many'])('%s is refused naming server.workers', (workers) => {
    let problems: { path: string }[] = [];
    try {
      parseConfig({ server: { workers }, sources: {} }, {});
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      problems = [...(error as ConfigError).problems];
    }
    expect(problems.map((p) => p.path)).toEqual(['server.workers']);
  });
});

describe('perWorkerConfig', () => {
  test('a cap is split as evenly as it can be, the first workers one more, adding up to the cap', () => {
    expect([0, 1].map((slot) => shareOf(5, 2, slot))).toEqual([3, 2]);
    expect([0, 1, 2].map((slot) => shareOf(64, 3, slot))).toEqual([22, 21, 21]);
    expect([0, 1].map((slot) => shareOf(32, 2, slot))).toEqual([16, 16]);
    for (let cap = 1; cap <= 40; cap++) {
      for (let workers = 1; workers <= cap; workers++) {
        const shares = Array.from({ length: workers }, (_, slot) => shareOf(cap, workers, slot));
        expect(shares.reduce((a, b) => a + b, 0)).toBe(cap);
        expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
      }
    }
  });

  test('a cap smaller than the worker count gives each worker 1 (a share of 0 could never call the source)', () => {
    expect([0, 1, 2, 3].map((slot) => shareOf(2, 4, slot))).toEqual([1, 1, 1, 1]);
  });

  test('connections, bulkhead and per-key concurrency are split; everything else is kept; the input is not changed', () => {
    const whole = config();
    whole.sources.support!.connections = 5;
    whole.sources.shop!.resilience.bulkhead.maxConcurrent = 7;
    const before = structuredClone(whole);
    const shares = [0, 1].map((slot) => perWorkerConfig(whole, { workers: 2, slot }));
    expect(whole).toEqual(before);

    expect(caps(shares[0]!)).toMatchObject({ 'support.connections': 3, 'support.user.single.concurrency': 16, 'support.ticket.single.concurrency': 16, 'shop.maxConcurrent': 4, 'crm.connections': 32 });
    expect(caps(shares[1]!)).toMatchObject({ 'support.connections': 2, 'support.user.single.concurrency': 16, 'shop.maxConcurrent': 3, 'crm.connections': 32 });
    // An unset bulkhead stays unset: it follows the worker's share of connections.
    expect(shares[0]!.sources.crm!.resilience.bulkhead.maxConcurrent).toBeUndefined();
    for (const [path, cap] of Object.entries(caps(whole))) {
      if (cap === undefined) continue;
      expect(caps(shares[0]!)[path]! + caps(shares[1]!)[path]!, path).toBe(cap);
    }
    // Queues bound each worker's own memory, not the source's load: they are not split.
    expect(shares[1]!.sources.shop!.resilience.bulkhead.maxQueued).toBe(whole.sources.shop!.resilience.bulkhead.maxQueued);
    const { sources: _a, ...restWhole } = whole;
    const { sources: _b, ...restShare } = shares[1]!;
    expect(restShare).toEqual(restWhole);
    expect(shares[1]!.sources.crm!.entities).toEqual(whole.sources.crm!.entities);
  });

  test('a per-process rate limit is split between the workers (rates add up to the rate, bursts to the burst); one in Redis is not', () => {
    const limited = (redis: boolean): HubConfig => {
      const c = config();
      c.sources.support!.rateLimit = { requestsPerSecond: 10, burst: 5 };
      if (redis) c.rateLimits = { redis: { url: 'redis://127.0.0.1:6379', keyPrefix: 'rosetta:rate:' } };
      return c;
    };
    const shares = [0, 1, 2].map((slot) => perWorkerConfig(limited(false), { workers: 3, slot }).sources.support!.rateLimit!);
    expect(shares.map((r) => r.burst)).toEqual([2, 2, 1]);
    expect(shares.reduce((sum, r) => sum + r.requestsPerSecond, 0)).toBeCloseTo(10, 10);
    expect(perWorkerConfig(limited(true), { workers: 3, slot: 1 }).sources.support!.rateLimit).toEqual({ requestsPerSecond: 10, burst: 5 });
    expect(perWorkerConfig(limited(false), { workers: 3, slot: 0 }).sources.crm!.rateLimit).toBeUndefined();
  });

  test('one worker runs the config as written', () => {
    const whole = config();
    expect(perWorkerConfig(whole, { workers: 1, slot: 0 })).toBe(whole);
  });

  test('a slot outside the workers is a programming error', () => {
    expect(() => perWorkerConfig(config(), { workers: 2, slot: 2 })).toThrow(RangeError);
    expect(() => perWorkerConfig(config(), { workers: 0, slot: 0 })).toThrow(RangeError);
  });
});
