// A source that keeps failing trips its breaker: the hub stops calling it, says so in /readyz and Query.sources, and probes it back.
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub-harness.js';
import { clearFaults, customersWith, requestsTo, tuneSources, type LinkedCustomer } from './support.js';

// Long enough that no probe falls due between the steps of a test on a busy machine.
const HALF_OPEN_AFTER_MS = 1_500;
const PROFILE = 'query($id: ID!) { customer(id: $id) { profile { email provenance { source } } } }';
const SOURCES = '{ sources { name circuit requests errors recentRequests recentErrors recentErrorRate recentWindowMs inFlight queued } }';
const CONTACTS = 'GET /contacts';

let t: TestHub;
let customers: LinkedCustomer[];

beforeAll(async () => {
  // The breaker times its open state with Date: the tests move Date past halfOpenAfterMs instead of sleeping through it.
  vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
  t = await startTestHub({
    people: 200,
    seed: 5,
    config: (config) =>
      tuneSources(config, (source) => {
        // One request per query, so requests and breaker samples are the same count.
        source.resilience.retry.maxRetries = 0;
        source.resilience.circuitBreaker = { failureRate: 0.5, windowMs: 60_000, minimumRequests: 4, halfOpenAfterMs: HALF_OPEN_AFTER_MS, maxRetryAfterMs: 3_600_000 };
      }),
  });
  customers = await customersWith(t, ['crm', 'shop']);
  t.resetStats();
});
afterAll(async () => {
  await t.close();
  vi.useRealTimers();
});

const readyz = async () => {
  const response = await fetch(t.hub.url.replace('/graphql', '/readyz'));
  return { status: response.status, body: (await response.json()) as { status: string; linkStore: string; sources: Record<string, { circuit: string; recentRequests: number; recentErrorRate: number }> } };
};
const crmStatus = async () => ((await t.graphql(SOURCES)).data.sources as { name: string }[]).find((s) => s.name === 'crm') as Record<string, unknown>;
const codesOf = (errors: { extensions?: Record<string, unknown> }[] | undefined) => (errors ?? []).map((e) => e.extensions?.code);
/** Moves the clock the breaker reads forward by `ms`, at once. */
const pass = (ms: number) => vi.setSystemTime(Date.now() + ms);

// The tests run in order: each one starts from the state the previous one left the breaker in.
describe('the circuit breaker of a failing source', () => {
  test('four failed requests open the circuit; the next query fails fast with CIRCUIT_OPEN and sends nothing', async () => {
    t.systems.systems.crm.faults.set([{ kind: 'status', status: 500, route: CONTACTS }]);
    for (const customer of customers.slice(0, 4)) {
      const response = await t.graphql(PROFILE, { variables: { id: customer.id } });
      expect(codesOf(response.errors)).toEqual(['SOURCE_UNAVAILABLE']);
    }
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(4);

    const response = await t.graphql(PROFILE, { variables: { id: customers[4]!.id } });
    expect(response.errors).toEqual([
      { message: 'source "crm" is failing; the hub is not calling it for now', path: ['customer', 'profile'], extensions: expect.objectContaining({ code: 'CIRCUIT_OPEN', source: 'crm', retryable: true }) },
    ]);
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(4);
    // The shop is not affected: its part of the profile still arrives.
    expect(response.data.customer.profile.provenance.map((p: { source: string }) => p.source)).toContain('shop');
  });

  test('Query.sources and /readyz report the open circuit and the recent error rate; the hub stays ready', async () => {
    expect(await crmStatus()).toEqual({ name: 'crm', circuit: 'OPEN', requests: 4, errors: 4, recentRequests: 4, recentErrors: 4, recentErrorRate: 1, recentWindowMs: 60_000, inFlight: 0, queued: 0 });
    const ready = await readyz();
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ready');
    expect(ready.body.linkStore).toBe('ok');
    expect(ready.body.sources.crm).toMatchObject({ circuit: 'OPEN', recentRequests: 4, recentErrorRate: 1 });
    expect(ready.body.sources.shop).toMatchObject({ circuit: 'CLOSED', recentErrorRate: 0 });
  });

  test('after halfOpenAfterMs one probe is sent; when it fails the circuit opens again', async () => {
    pass(HALF_OPEN_AFTER_MS + 50);
    const probe = await t.graphql(PROFILE, { variables: { id: customers[5]!.id } });
    expect(codesOf(probe.errors)).toEqual(['SOURCE_UNAVAILABLE']);
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(5);
    const after = await t.graphql(PROFILE, { variables: { id: customers[6]!.id } });
    expect(codesOf(after.errors)).toEqual(['CIRCUIT_OPEN']);
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(5);
  });

  test('when the source recovers, the next probe succeeds and closes the circuit', async () => {
    clearFaults(t);
    pass(HALF_OPEN_AFTER_MS + 50);
    const probe = await t.graphql(PROFILE, { variables: { id: customers[7]!.id } });
    expect(probe.errors).toBeUndefined();
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(6);
    expect((await crmStatus()).circuit).toBe('CLOSED');
    const next = await t.graphql(PROFILE, { variables: { id: customers[8]!.id } });
    expect(next.errors).toBeUndefined();
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(7);
  });

  test('/readyz answers 503 when the link store is unreachable', async () => {
    await t.store.close();
    const ready = await readyz();
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: 'not_ready', linkStore: 'unreachable' });
    expect(Object.keys(ready.body.sources)).toEqual(['crm', 'shop', 'support', 'marketing', 'analytics']);
  });
});
