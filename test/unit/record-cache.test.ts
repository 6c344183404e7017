// The record cache's own rules, on an injected clock: fresh, stale-while-revalidate and miss; one refresh per key;
// misses batched; errors never kept; invalidation beats a read in flight; a miss joins a read of its key in flight;
// refreshes go out a bounded number of keys at a time; the config section and its errors.
import { describe, expect, test } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import type { KeyResult } from '../../src/sources/connector.js';
import { SourceUnavailableError } from '../../src/sources/errors.js';
import { Deadline } from '../../src/sources/policies/deadline.js';
import { CachedOperation, type CacheLookup, type CacheResult, type ReadScope, type RecordCacheMetrics } from '../../src/sources/record-cache.js';

const TTL = 1_000;
const SWR = 5_000;

/** A source of string values by key that records every read it is asked for. */
class FakeSource {
  readonly values = new Map<string, string | null>();
  readonly reads: string[][] = [];
  readonly deadlines: Deadline[] = [];
  failure: Error | null = null;
  /** When set, reads wait for it (to hold one in flight). */
  gate: Promise<void> | null = null;

  fetch = async (keys: readonly string[], { observe, deadline }: ReadScope): Promise<KeyResult<string | null>[]> => {
    this.reads.push([...keys]);
    this.deadlines.push(deadline);
    // As the HTTP client does for every call it makes.
    observe?.({ source: 'fake', operation: 'contact.batch', keys: keys.length, status: 200, ms: 0 });
    const values = keys.map((key) => (this.values.has(key) ? this.values.get(key)! : new SourceUnavailableError('fake', `${key} failed`)));
    if (this.gate) await this.gate;
    if (this.failure) throw this.failure;
    return values;
  };
}

class CountingMetrics implements RecordCacheMetrics {
  readonly lookups: Record<CacheResult, number> = { fresh: 0, stale: 0, miss: 0, shared: 0 };
  readonly refreshes = { ok: 0, failed: 0 };
  upstreamCalls = 0;
  recordCacheLookups(_source: string, _entity: string, result: CacheResult, keys: number) {
    this.lookups[result] += keys;
  }
  recordCacheRefreshes(_source: string, _entity: string, outcome: 'ok' | 'failed', keys: number) {
    this.refreshes[outcome] += keys;
  }
  recordUpstream() {
    this.upstreamCalls += 1;
  }
}

function setup(options: { chunkSize?: number; swr?: number; maxEntries?: number; failChunkWith?: string; refreshKeysAtOnce?: number } = {}) {
  const source = new FakeSource();
  const metrics = new CountingMetrics();
  const clock = { now: 0 };
  const cache = new CachedOperation<string | null>({
    source: 'crm',
    entity: 'contact',
    policy: { ttlMs: TTL, staleWhileRevalidateMs: options.swr ?? SWR, maxEntries: options.maxEntries ?? 100 },
    chunkSize: options.chunkSize ?? 100,
    fetch: (keys, scope) =>
      options.failChunkWith && keys.includes(options.failChunkWith) ? Promise.reject(new SourceUnavailableError('fake', 'down')) : source.fetch(keys, scope),
    refreshDeadlineMs: 2_000,
    refreshKeysAtOnce: options.refreshKeysAtOnce,
    metrics,
    now: () => clock.now,
  });
  return { source, metrics, clock, cache };
}

describe('record cache', () => {
  test('a fresh hit makes no read; only misses are read', async () => {
    const { source, metrics, cache } = setup();
    source.values.set('a', 'A1').set('b', 'B1').set('c', 'C1');
    expect(await cache.load(['a', 'b'])).toEqual(['A1', 'B1']);
    const lookups: CacheLookup[] = [];
    expect(await cache.load(['b', 'c', 'a'], {}, (l) => lookups.push(l))).toEqual(['B1', 'C1', 'A1']);
    expect(source.reads).toEqual([['a', 'b'], ['c']]);
    expect(lookups).toEqual([{ source: 'crm', entity: 'contact', fresh: 2, stale: 0, misses: 1, shared: 0 }]);
    expect(metrics.lookups).toEqual({ fresh: 2, stale: 0, miss: 3, shared: 0 });
  });

  test('the misses among cached keys go out in ceil(misses / chunkSize) reads, in the order asked', async () => {
    const { source, cache } = setup({ chunkSize: 3 });
    for (const key of 'abcdefghij') source.values.set(key, key.toUpperCase());
    await cache.load(['a', 'c', 'e', 'g', 'i']);
    source.reads.length = 0;
    // Split before the lookup, this would be 4 reads of 3 keys, each holding a miss.
    expect(await cache.load([...'abcdefghij'])).toEqual([...'ABCDEFGHIJ']);
    expect(source.reads).toEqual([['b', 'd', 'f'], ['h', 'j']]);
  });

  test('a read that fails as a whole fails only the keys of its own chunk, and none of them is kept', async () => {
    const { source, cache } = setup({ chunkSize: 2, failChunkWith: 'x' });
    source.values.set('a', 'A').set('b', 'B').set('x', 'X').set('y', 'Y');
    const results = await cache.load(['a', 'b', 'x', 'y']);
    expect(results.slice(0, 2)).toEqual(['A', 'B']);
    expect(results[2]).toBeInstanceOf(SourceUnavailableError);
    expect(results[3]).toBe(results[2]);
    expect(['a', 'b', 'x', 'y'].map((key) => cache.has(key))).toEqual([true, true, false, false]);
  });

  test('after the ttl, with no stale window, a key is a miss and read again', async () => {
    const { source, clock, cache } = setup({ swr: 0 });
    source.values.set('a', 'A1');
    await cache.load(['a']);
    clock.now = TTL - 1;
    await cache.load(['a']);
    expect(source.reads).toHaveLength(1);
    source.values.set('a', 'A2');
    clock.now = TTL;
    expect(await cache.load(['a'])).toEqual(['A2']);
    expect(source.reads).toHaveLength(2);
  });

  test('a stale key is served at once and refreshed once, in one read with the other stale keys of the tick', async () => {
    const { source, metrics, clock, cache } = setup();
    source.values.set('a', 'A1').set('b', 'B1');
    await cache.load(['a', 'b']);
    source.values.set('a', 'A2').set('b', 'B2');
    clock.now = TTL + 10;
    // Two requests in the same tick find both keys stale: both are answered with the old values, no read waits.
    const [first, second] = await Promise.all([cache.load(['a']), cache.load(['a', 'b'])]);
    expect(first).toEqual(['A1']);
    expect(second).toEqual(['A1', 'B1']);
    expect(source.reads).toHaveLength(1);
    expect(metrics.lookups.stale).toBe(3);
    await cache.idle();
    expect(source.reads).toEqual([['a', 'b'], ['a', 'b']]);
    expect(metrics.refreshes).toEqual({ ok: 2, failed: 0 });
    // The refresh belongs to no request: its calls are reported to the metrics (the requests passed no observer).
    expect(metrics.upstreamCalls).toBe(1);
    // The refreshed values are fresh from when the refresh began.
    expect(await cache.load(['a', 'b'])).toEqual(['A2', 'B2']);
    expect(metrics.lookups.fresh).toBe(2);
    expect(source.reads).toHaveLength(2);
    // The refresh has a budget of its own, not the (absent) one of the query that found the key stale.
    expect(source.deadlines[1]!.at).toBeLessThan(Infinity);
  });

  test('a key is never refreshed twice at once', async () => {
    const { source, clock, cache } = setup();
    source.values.set('a', 'A1');
    await cache.load(['a']);
    clock.now = TTL + 1;
    let open!: () => void;
    source.gate = new Promise((resolve) => (open = resolve));
    await cache.load(['a']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(source.reads).toHaveLength(2);
    // Stale again in later ticks while the refresh is still in flight: no second refresh.
    await cache.load(['a']);
    await new Promise((resolve) => setImmediate(resolve));
    await cache.load(['a']);
    expect(source.reads).toHaveLength(2);
    open();
    await cache.idle();
    expect(source.reads).toHaveLength(2);
  });

  test('a failed refresh keeps the stale value until ttl + window, counted; then the key is a miss', async () => {
    const { source, metrics, clock, cache } = setup();
    source.values.set('a', 'A1');
    await cache.load(['a']);
    source.failure = new SourceUnavailableError('fake', 'down');
    clock.now = TTL + 1;
    expect(await cache.load(['a'])).toEqual(['A1']);
    await cache.idle();
    expect(metrics.refreshes).toEqual({ ok: 0, failed: 1 });
    clock.now = TTL + SWR - 1;
    expect(await cache.load(['a'])).toEqual(['A1']);
    await cache.idle();
    expect(metrics.refreshes.failed).toBe(2);
    expect(source.reads).toHaveLength(3);
    clock.now = TTL + SWR;
    const [result] = await cache.load(['a']);
    expect(result).toBeInstanceOf(SourceUnavailableError);
    expect(source.reads).toHaveLength(4);
    expect(metrics.lookups).toEqual({ fresh: 0, stale: 2, miss: 2, shared: 0 });
  });

  test('errors are never kept; "the source has no such record" (null) is', async () => {
    const { source, cache } = setup();
    source.values.set('gone', null);
    const [missing] = await cache.load(['broken']);
    expect(missing).toBeInstanceOf(Error);
    expect(await cache.load(['gone'])).toEqual([null]);
    await cache.load(['broken', 'gone']);
    expect(source.reads).toEqual([['broken'], ['gone'], ['broken']]);
  });

  test('an invalidated key is read again, and a read in flight when it was invalidated does not put the old value back', async () => {
    const { source, cache } = setup();
    source.values.set('a', 'A1').set('b', 'B1');
    await cache.load(['a', 'b']);
    cache.invalidate('a');
    expect(cache.has('a')).toBe(false);
    expect(cache.has('b')).toBe(true);

    let open!: () => void;
    source.gate = new Promise((resolve) => (open = resolve));
    const inFlight = cache.load(['a']);
    await new Promise((resolve) => setImmediate(resolve));
    // The source changes and says so while the read that saw the old value is still on its way.
    cache.invalidate('a');
    source.values.set('a', 'A2');
    open();
    expect(await inFlight).toEqual(['A1']);
    expect(cache.has('a')).toBe(false);
    source.gate = null;
    expect(await cache.load(['a'])).toEqual(['A2']);
    expect(cache.has('a')).toBe(true);
    expect(source.reads).toEqual([['a', 'b'], ['a'], ['a']]);
  });

  test('a miss of a key another load is reading joins that read: one read, both answered, the lookup counted as shared', async () => {
    const { source, metrics, cache } = setup();
    source.values.set('a', 'A1').set('b', 'B1');
    let open!: () => void;
    source.gate = new Promise((resolve) => (open = resolve));
    const first = cache.load(['a']);
    const second = cache.load(['a', 'b']);
    open();
    expect(await first).toEqual(['A1']);
    expect(await second).toEqual(['A1', 'B1']);
    expect(source.reads).toEqual([['a'], ['b']]);
    // Two keys were read from the source; the second load's `a` cost no call of its own.
    expect(metrics.lookups.miss).toBe(2);
    expect(metrics.lookups.shared).toBe(1);
    // Once the read settled the key is cached, not in flight: the next load is a fresh hit.
    expect(await cache.load(['a'])).toEqual(['A1']);
    expect(source.reads).toHaveLength(2);
  });

  test("a joined read's error is shared, unless that read ran out of its own budget while the joiner has time left", async () => {
    const { source, cache } = setup();
    let open!: () => void;
    source.gate = new Promise((resolve) => (open = resolve));
    // The source's own answer (here: no such key, an error) is the same for both: asked once.
    const [owner, joiner] = [cache.load(['x']), cache.load(['x'])];
    open();
    expect((await owner)[0]).toBeInstanceOf(SourceUnavailableError);
    expect((await joiner)[0]).toBe((await owner)[0]);
    expect(source.reads).toEqual([['x']]);

    source.reads.length = 0;
    source.gate = new Promise((resolve) => (open = resolve));
    const expiredOwner = cache.load(['y'], { deadline: Deadline.after(0) });
    const patientJoiner = cache.load(['y']);
    source.values.set('y', 'Y1');
    open();
    expect((await expiredOwner)[0]).toBeInstanceOf(Error);
    expect(await patientJoiner).toEqual(['Y1']);
    expect(source.reads).toEqual([['y'], ['y']]);
  });

  test('a read in flight when its key was invalidated is not joined', async () => {
    const { source, cache } = setup();
    source.values.set('a', 'A1');
    let open!: () => void;
    source.gate = new Promise((resolve) => (open = resolve));
    const before = cache.load(['a']);
    cache.invalidate('a');
    source.values.set('a', 'A2');
    const after = cache.load(['a']);
    open();
    expect(await before).toEqual(['A1']);
    expect(await after).toEqual(['A2']);
    expect(source.reads).toEqual([['a'], ['a']]);
  });

  test('refreshes go out refreshKeysAtOnce keys per read, one read at a time, behind the misses read meanwhile', async () => {
    const { source, metrics, clock, cache } = setup({ refreshKeysAtOnce: 2 });
    for (const key of 'abcde') source.values.set(key, key.toUpperCase());
    await cache.load([...'abcde']);
    clock.now = TTL + 1;
    let open!: () => void;
    source.gate = new Promise((resolve) => (open = resolve));
    expect(await cache.load([...'abcde'])).toEqual([...'ABCDE']);
    await new Promise((resolve) => setImmediate(resolve));
    // The first refresh is in flight; the other stale keys wait in the cache, not at the source.
    expect(source.reads).toEqual([[...'abcde'], ['a', 'b']]);
    source.values.set('m', 'M');
    const miss = cache.load(['m']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(source.reads).toHaveLength(3);
    open();
    expect(await miss).toEqual(['M']);
    await cache.idle();
    expect(source.reads).toEqual([[...'abcde'], ['a', 'b'], ['m'], ['c', 'd'], ['e']]);
    expect(metrics.refreshes).toEqual({ ok: 5, failed: 0 });
  });

  test('a key that expired while it waited for its refresh is not refreshed: it is a miss now', async () => {
    const { source, clock, cache } = setup({ refreshKeysAtOnce: 1 });
    source.values.set('a', 'A1').set('b', 'B1');
    await cache.load(['a']);
    clock.now = 10;
    await cache.load(['b']);
    clock.now = TTL + 10;
    let open!: () => void;
    source.gate = new Promise((resolve) => (open = resolve));
    await cache.load(['a', 'b']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(source.reads.at(-1)).toEqual(['a']);
    // 'b' was read at 10: stale until TTL + SWR + 10, expired by the time the refresh of 'a' is answered.
    clock.now = TTL + SWR + 10;
    open();
    await cache.idle();
    expect(source.reads).toEqual([['a'], ['b'], ['a']]);
    expect(cache.has('b')).toBe(false);
  });

  test('at most maxEntries keys are kept, least recently used out first', async () => {
    const { source, cache } = setup({ maxEntries: 2 });
    source.values.set('a', 'A').set('b', 'B').set('c', 'C');
    await cache.load(['a', 'b']);
    await cache.load(['a']);
    await cache.load(['c']);
    expect([cache.has('a'), cache.has('b'), cache.has('c')]).toEqual([true, false, true]);
  });
});

describe('record cache config', () => {
  const contact = (cache: unknown, extra: Record<string, unknown> = {}) => ({
    sources: {
      crm: {
        baseUrl: 'http://127.0.0.1:9',
        entities: {
          contact: {
            provides: 'profile',
            batch: { method: 'GET', path: '/contacts', query: { ids: '{ids}' }, maxBatchSize: 100, envelope: 'contacts' },
            ...(cache === undefined ? {} : { cache }),
          },
          ...extra,
        },
      },
    },
  });

  function problems(raw: unknown): { path: string; message: string }[] {
    try {
      parseConfig(raw, {});
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return [...(error as ConfigError).problems];
    }
    throw new Error('expected a ConfigError');
  }

  test('absent means no cache; present gets its defaults', () => {
    expect(parseConfig(contact(undefined), {}).sources.crm!.entities.contact!.cache).toBeUndefined();
    expect(parseConfig(contact({ ttlMs: 500 }), {}).sources.crm!.entities.contact!.cache).toEqual({ ttlMs: 500, staleWhileRevalidateMs: 0, maxEntries: 10_000 });
  });

  test.each([
    ['a ttl of 0', { ttlMs: 0 }, 'sources.crm.entities.contact.cache.ttlMs'],
    ['no ttl', { staleWhileRevalidateMs: 10 }, 'sources.crm.entities.contact.cache.ttlMs'],
    ['a fractional ttl', { ttlMs: 1.5 }, 'sources.crm.entities.contact.cache.ttlMs'],
    ['a negative stale window', { ttlMs: 10, staleWhileRevalidateMs: -1 }, 'sources.crm.entities.contact.cache.staleWhileRevalidateMs'],
    ['no room', { ttlMs: 10, maxEntries: 0 }, 'sources.crm.entities.contact.cache.maxEntries'],
    ['a typo', { ttlMs: 10, tllMs: 10 }, 'sources.crm.entities.contact.cache'],
  ])('%s is reported at its path', (_name, cache, path) => {
    expect(problems(contact(cache)).map((p) => p.path)).toContain(path);
  });

  test('a cache on an entity that is never read at query time is refused at its path', () => {
    const device = { device: { batch: { method: 'GET', path: '/devices', query: { ids: '{ids}' }, maxBatchSize: 10, envelope: 'devices' }, cache: { ttlMs: 10 } } };
    expect(problems(contact(undefined, device))).toEqual([{ path: 'sources.crm.entities.device.cache', message: expect.stringMatching(/nothing to cache/) }]);
  });
});
