// Where the record cache's upstream calls queue, end to end: the support desk (no batch endpoint, a per-key cap) sits
// behind a gate that holds every request it receives, so the test can see which calls hold the desk's slots and count
// every call the desk is sent. What is asserted is counted (requests, slots, lookups), never timed.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import type { HubConfig } from '../../src/config/schema.js';
import type { Link } from '../../src/identity/model.js';
import { ManualClock, startTestHub, type TestHub } from '../support/hub-harness.js';

/** The support desk's per-key cap here: a background refresh may hold an eighth of it, i.e. one call. */
const SUPPORT_CAP = 8;
/** Passed by moving the cache's clock, not by sleeping: long, so nothing expires by accident. */
const SHORT_TTL_MS = 60_000;
const PAST_TTL_MS = SHORT_TTL_MS + 1_000;
const PAGE_SIZE = 50;
const PROFILE_PAGE = 'query($first: Int!, $after: String) { customers(first: $first, after: $after) { edges { node { id profile { name } } } } }';

/** A pass-through proxy that records each request's path as it arrives, and while closed holds it there unanswered. */
class GatedProxy {
  target = '';
  /** Paths in the order they arrived (the order the hub sent them), since the last reset. */
  readonly arrived: string[] = [];
  /** Paths received while closed and not yet let through. */
  readonly held: string[] = [];
  private waiting: (() => void)[] = [];
  private closed = false;
  private readonly server: Server = createServer((request, response) => void this.handle(request, response));

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  hold(): void {
    this.closed = true;
  }

  release(): void {
    this.closed = false;
    this.held.length = 0;
    for (const let_through of this.waiting.splice(0)) let_through();
  }

  reset(): void {
    this.arrived.length = 0;
  }

  close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = request.url!;
    this.arrived.push(path);
    if (this.closed) {
      this.held.push(path);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    try {
      const upstream = await fetch(`${this.target}${path}`, { method: request.method! });
      response.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
      response.end(await upstream.text());
    } catch {
      // Only when the test ends with requests still held, after the desk behind it has closed.
      response.writeHead(502).end();
    }
  }
}

/** Waits for a condition the hub reaches by itself (requests arriving, lookups counted); fails rather than hang. */
function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  return vi.waitFor(
    async () => {
      if (!(await condition())) throw new Error(`not yet: ${what}`);
    },
    { timeout: 10_000, interval: 5 },
  );
}

const userPath = (recordId: string) => `/users/${encodeURIComponent(recordId)}`;
const supportUsers = (links: Link[]) => new Set(links.filter((l) => l.source === 'support' && l.entity === 'user').map((l) => l.recordId));
const cursorOf = (customerId: string) => Buffer.from(customerId, 'utf8').toString('base64url');

describe('record cache on a per-key source under contention', () => {
  const proxy = new GatedProxy();
  let t: TestHub;
  /** Consecutive pages of the link table, each read by one test only, so each starts cold. */
  const pages: { after: string | null; users: Set<string> }[] = [];
  const clock = new ManualClock();

  beforeAll(async () => {
    const proxyUrl = await proxy.listen();
    t = await startTestHub({
      people: 400,
      seed: 21,
      recordCacheClock: clock.now,
      config: (config: HubConfig) => {
        const support = config.sources.support!;
        proxy.target = support.baseUrl;
        support.baseUrl = proxyUrl;
        // A held request must never reach its attempt timeout: a retry would be a call the counts do not expect.
        support.timeoutMs = 30_000;
        support.entities.user!.single!.concurrency = SUPPORT_CAP;
        support.entities.user!.cache = { ttlMs: SHORT_TTL_MS, staleWhileRevalidateMs: 600_000, maxEntries: 10_000 };
        return config;
      },
    });
    let lastCustomerId: string | null = null;
    for (let i = 0; i < 3; i++) {
      const page = await t.store.pageCustomers(PAGE_SIZE, lastCustomerId);
      pages.push({ after: lastCustomerId === null ? null : cursorOf(lastCustomerId), users: supportUsers(page.customers.flatMap((c) => c.links)) });
      lastCustomerId = page.customers.at(-1)!.customerId;
    }
    // Every page has more support users than the desk has slots, so calls queue for them.
    for (const page of pages) expect(page.users.size).toBeGreaterThanOrEqual(2 * SUPPORT_CAP);
  });

  afterAll(async () => {
    await t?.close();
    await proxy.close();
  });

  const lookups = async (result: 'miss' | 'shared'): Promise<number> => {
    const line = `rosetta_record_cache_lookups_total{source="support",entity="user",result="${result}"}`;
    const found = (await t.hub.services.telemetry.metrics.render()).split('\n').find((l) => l.startsWith(`${line} `));
    return found ? Number(found.slice(line.length + 1)) : 0;
  };
  const callsFor = (users: Set<string>) => proxy.arrived.filter((path) => [...users].some((id) => path === userPath(id))).length;

  test('a query missing records another query is already reading joins that read: one call per record, not two', async () => {
    const { after, users } = pages[0]!;
    const [missesBefore, sharedBefore] = [await lookups('miss'), await lookups('shared')];
    proxy.reset();
    proxy.hold();
    const first = t.graphql(PROFILE_PAGE, { variables: { first: PAGE_SIZE, after } });
    await until(() => proxy.held.length === SUPPORT_CAP, "the first query's calls hold every slot");
    const second = t.graphql(PROFILE_PAGE, { variables: { first: PAGE_SIZE, after } });
    await until(async () => (await lookups('shared')) === sharedBefore + users.size, 'the second query has looked its records up');
    // The first query's lookups were misses, read from the desk; the second's joined those reads.
    expect(await lookups('miss')).toBe(missesBefore + users.size);
    proxy.release();
    const [one, two] = await Promise.all([first, second]);
    expect(one.errors).toBeUndefined();
    expect(two.errors).toBeUndefined();
    expect(two.data).toEqual(one.data);
    // Each record once: the second query's misses waited for the first query's calls instead of queueing their own.
    expect(callsFor(users)).toBe(users.size);
    expect(proxy.arrived).toHaveLength(users.size);
  });

  test("background refreshes hold one of the desk's slots, so a cold query's calls are not queued behind them", async () => {
    const stalePage = pages[1]!;
    const coldPage = pages[2]!;
    expect((await t.graphql(PROFILE_PAGE, { variables: { first: PAGE_SIZE, after: stalePage.after } })).errors).toBeUndefined();
    clock.pass(PAST_TTL_MS);

    proxy.reset();
    proxy.hold();
    // Every support user of this page is stale now: served at once, and each one due for a refresh.
    const stale = await t.graphql(PROFILE_PAGE, { variables: { first: PAGE_SIZE, after: stalePage.after } });
    expect(stale.errors).toBeUndefined();
    const cold = t.graphql(PROFILE_PAGE, { variables: { first: PAGE_SIZE, after: coldPage.after } });
    await until(() => proxy.held.length === SUPPORT_CAP, "the desk's slots are all taken");
    const heldRefreshes = proxy.held.filter((path) => [...stalePage.users].some((id) => path === userPath(id))).length;
    const heldForQuery = proxy.held.filter((path) => [...coldPage.users].some((id) => path === userPath(id))).length;
    // Without the bound, every slot (and every place in the queue ahead of the query) went to the refreshes.
    expect({ heldRefreshes, heldForQuery }).toEqual({ heldRefreshes: 1, heldForQuery: SUPPORT_CAP - 1 });

    proxy.release();
    expect((await cold).errors).toBeUndefined();
    await t.hub.services.recordCache.idle();
    // Bounded, not dropped: every stale record was refreshed, once, and every cold one read once.
    expect(callsFor(stalePage.users)).toBe(stalePage.users.size);
    expect(callsFor(coldPage.users)).toBe(coldPage.users.size);
    expect(proxy.arrived).toHaveLength(stalePage.users.size + coldPage.users.size);
  });
});
