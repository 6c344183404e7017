// A source's rateLimit: at most burst + rate × t requests, queries served before sync, one budget for replicas sharing Redis, a loud fallback without it.
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import type { HubConfig } from '../../src/config/schema.js';
import { SourceHttpClient } from '../../src/sources/http-client.js';
import { Deadline } from '../../src/sources/policies/deadline.js';
import { LocalTokenBucket } from '../../src/sources/policies/token-bucket.js';
import { SourceRegistry } from '../../src/sources/registry.js';
import { apiSource, oneSourceConfig, startLoopbackSource, type LoopbackSource } from '../support/loopback-source.js';

const silent = pino({ level: 'silent' });
const REDIS_URL = 'redis://127.0.0.1:6379';

let server: LoopbackSource | undefined;
const closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0)) await close();
  await server?.close();
  server = undefined;
});

const read = (client: SourceHttpClient, id: string, deadline?: Deadline) =>
  client.requestJson({ method: 'GET', path: `/contacts/${id}`, operation: 'contact.single', keys: 1, ...(deadline ? { deadline } : {}) });

/** Settles every read; the ids the source saw, and how each read ended. */
async function outcomes(reads: Promise<unknown>[]): Promise<string[]> {
  const settled = await Promise.allSettled(reads);
  return settled.map((s) => (s.status === 'fulfilled' ? 'served' : (s.reason as { code: string }).code));
}

describe('token bucket (GCRA), on an injected clock', () => {
  test.each([
    { requestsPerSecond: 10, burst: 5, seconds: 3 },
    { requestsPerSecond: 0.5, burst: 2, seconds: 10 },
    { requestsPerSecond: 100, burst: 1, seconds: 2 },
  ])('a caller taking every token it can over $seconds s at $requestsPerSecond/s, burst $burst, gets exactly burst + rate × t', ({ requestsPerSecond, burst, seconds }) => {
    let now = 1_700_000_000_000;
    const start = now;
    const bucket = new LocalTokenBucket({ requestsPerSecond, burst }, () => now);
    let granted = 0;
    // Every millisecond, take until refused.
    for (; now <= start + seconds * 1_000; now += 1) {
      while (bucket.take().granted) granted += 1;
    }
    expect(granted).toBe(burst + requestsPerSecond * seconds);
  });

  test('an idle bucket fills to burst and no further', () => {
    let now = 0;
    const bucket = new LocalTokenBucket({ requestsPerSecond: 10, burst: 3 }, () => now);
    now += 60_000;
    let granted = 0;
    while (bucket.take().granted) granted += 1;
    expect(granted).toBe(3);
    const refused = bucket.take();
    expect(refused).toEqual({ granted: false, waitMs: 100 });
  });
});

describe('rate limit of one source, over real HTTP', () => {
  test("calls whose wait would outlast their query's deadline fail at once as SOURCE_TIMEOUT: 20 queries, burst 3, the source sees 3", async () => {
    server = await startLoopbackSource(() => ({ body: {} }));
    // One token every 100 s: none comes back within the 2 s deadline.
    const client = new SourceHttpClient('api', apiSource(server.url, { rateLimit: { requestsPerSecond: 0.01, burst: 3 } }), { logger: silent });
    closing.push(() => client.close());
    const deadline = Deadline.after(2_000);
    const ends = await outcomes(Array.from({ length: 20 }, (_, i) => read(client, String(i), deadline)));
    expect(ends.filter((e) => e === 'served')).toHaveLength(3);
    expect(ends.filter((e) => e === 'SOURCE_TIMEOUT')).toHaveLength(17);
    expect(server.count('/contacts/')).toBe(3);
    // Retries (on by default) wait for a token like any attempt: the ones tried here were refused again, none went out.
    expect(client.health().rateLimit).toEqual({ store: 'LOCAL', waiting: 0, granted: 3 });
  });

  test('queries go ahead of sync: of 5 sync reads asked for first, only the one already at the head goes before the 3 queries', async () => {
    server = await startLoopbackSource(() => ({ body: {} }));
    const client = new SourceHttpClient('api', apiSource(server.url, { rateLimit: { requestsPerSecond: 10, burst: 2 } }), { logger: silent });
    closing.push(() => client.close());
    // The sync's reads carry no deadline; all are asked for before any query.
    const sync = ['s1', 's2', 's3', 's4', 's5'].map((id) => read(client, id));
    const queries = ['q1', 'q2', 'q3'].map((id) => read(client, id, Deadline.after(5_000)));
    expect(await outcomes([...sync, ...queries])).toEqual(Array(8).fill('served'));
    // s1 was taking the first token when the queries arrived; the burst's second token and every later one go to queries first.
    const order = server.received.map((r) => r.url.replace('/contacts/', ''));
    expect(new Set(order.slice(0, 2))).toEqual(new Set(['s1', 'q1']));
    expect(order.slice(2)).toEqual(['q2', 'q3', 's2', 's3', 's4', 's5']);
  });

  test('cache refreshes (a background deadline) also wait behind queries', async () => {
    server = await startLoopbackSource(() => ({ body: {} }));
    const client = new SourceHttpClient('api', apiSource(server.url, { rateLimit: { requestsPerSecond: 10, burst: 1 } }), { logger: silent });
    closing.push(() => client.close());
    const refreshes = ['r1', 'r2', 'r3'].map((id) => read(client, id, Deadline.backgroundAfter(5_000)));
    const query = read(client, 'q1', Deadline.after(5_000));
    await outcomes([...refreshes, query]);
    expect(server.received.map((r) => r.url.replace('/contacts/', ''))).toEqual(['r1', 'q1', 'r2', 'r3']);
  });
});

describe('rate limit shared through Redis', () => {
  function redisConfig(baseUrl: string, keyPrefix: string, url = REDIS_URL): HubConfig {
    return oneSourceConfig(baseUrl, { rateLimit: { requestsPerSecond: 0.01, burst: 4 } }, { rateLimits: { redis: { url, keyPrefix } } });
  }

  function hub(config: HubConfig, logger = silent): SourceRegistry {
    const registry = new SourceRegistry(config, { logger });
    closing.push(() => registry.close());
    return registry;
  }

  test('two hub instances with one Redis spend one budget: 2 × 10 queries, burst 4, the source sees 4 (each alone would send 4)', async () => {
    server = await startLoopbackSource(() => ({ body: {} }));
    const config = redisConfig(server.url, `rosetta-test:${randomUUID()}:`);
    const [a, b] = [hub(config), hub(config)].map((registry) => registry.connectors.get('api')!.client);
    const deadline = Deadline.after(2_000);
    const ends = await outcomes(Array.from({ length: 20 }, (_, i) => read(i % 2 === 0 ? a! : b!, String(i), deadline)));
    expect(ends.filter((e) => e === 'served')).toHaveLength(4);
    expect(server.count('/contacts/')).toBe(4);
    expect(a!.health().rateLimit!.granted + b!.health().rateLimit!.granted).toBe(4);
    expect(a!.health().rateLimit!.store).toBe('REDIS');
  });

  test('an unreachable Redis: calls go on under a per-process bucket, logged once as a warning and counted', async () => {
    server = await startLoopbackSource(() => ({ body: {} }));
    const logs: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as { level: number; msg: string }) });
    // Port 9 (discard) is closed on loopback: every connection attempt is refused.
    const registry = hub(redisConfig(server.url, `rosetta-test:${randomUUID()}:`, 'redis://127.0.0.1:9'), logger);
    const client = registry.connectors.get('api')!.client;
    const ends = await outcomes(Array.from({ length: 10 }, (_, i) => read(client, String(i), Deadline.after(2_000))));
    // The local bucket still holds the line: burst 4.
    expect(ends.filter((e) => e === 'served')).toHaveLength(4);
    expect(server.count('/contacts/')).toBe(4);
    expect(client.health().rateLimit!.store).toBe('LOCAL_FALLBACK');
    expect(registry.sharedRateLimits!.fallbacks).toBeGreaterThanOrEqual(4);
    expect(logs.filter((l) => l.msg.startsWith('rate limits: Redis is unreachable'))).toHaveLength(1);
    expect(logs.filter((l) => l.msg.startsWith('rate limits: Redis is unreachable'))[0]!.level).toBe(40);
  });
});

