// A slow source cannot take more than its share: its concurrency is capped, and no wait outlasts the query's deadline.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub-harness.js';
import { clearFaults, customersWith, requestsTo, tuneSources, type LinkedCustomer } from './support.js';

const QUERY_DEADLINE_MS = 2_000;
const PROFILE = 'query($id: ID!) { customer(id: $id) { profile { email provenance { source } } } }';
const CONTACTS = 'GET /contacts';

let t: TestHub;
let customers: LinkedCustomer[];

beforeAll(async () => {
  t = await startTestHub({
    people: 200,
    seed: 9,
    config: (config) => {
      config.server.queryDeadlineMs = QUERY_DEADLINE_MS;
      tuneSources(config, (source) => {
        // Longer than the deadline: in this file only the deadline ends a wait.
        source.timeoutMs = 5_000;
        source.resilience.retry = { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 5 };
        source.resilience.circuitBreaker.minimumRequests = 1_000_000;
      });
      // The support desk has no batch endpoint: a page of customers is one request per user, many at once.
      config.sources.support!.resilience.bulkhead = { maxConcurrent: 2, maxQueued: 1_000 };
      // The CRM gets one slot and no queue, so a second concurrent call has nowhere to wait.
      config.sources.crm!.resilience.bulkhead = { maxConcurrent: 1, maxQueued: 0 };
      config.sources.crm!.resilience.retry.maxRetries = 0;
      return config;
    },
  });
  customers = await customersWith(t, ['crm', 'support']);
  t.resetStats();
});
afterEach(() => {
  clearFaults(t);
  t.resetStats();
});
afterAll(() => t.close());

describe('bulkhead', () => {
  test('a page of 30 customers sends every support request, never more than 2 at once, and all succeed', async () => {
    t.systems.systems.support.faults.set([{ kind: 'latency', ms: 10 }]);
    const response = await t.graphql('{ customers(first: 30) { edges { node { id identities { source } profile { email } } } } }');
    expect(response.errors).toBeUndefined();
    const supportUsers = response.data.customers.edges.flatMap((e: { node: { identities: { source: string }[] } }) => e.node.identities.filter((i) => i.source === 'support')).length;
    expect(supportUsers).toBeGreaterThan(2);
    expect(requestsTo(t, 'support', 'GET /users/:id')).toBe(supportUsers);
    expect(t.systems.systems.support.peakConcurrency()).toBe(2);
  });

  test('with its one slot taken and no queue, concurrent queries fail at once with SOURCE_UNAVAILABLE: 1 request reaches the source', async () => {
    // Long enough that all three queries arrive while the first holds the slot, short of the deadline.
    t.systems.systems.crm.faults.set([{ kind: 'latency', ms: 800, route: CONTACTS }]);
    const responses = await Promise.all(customers.slice(0, 3).map((c) => t.graphql(PROFILE, { variables: { id: c.id } })));
    const codes = responses.map((r) => (r.errors ?? []).map((e) => e.extensions?.code).join(',')).sort();
    expect(codes).toEqual(['', 'SOURCE_UNAVAILABLE', 'SOURCE_UNAVAILABLE']);
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(1);
  });
});

describe('query deadline', () => {
  test('a hanging source is cut off at the deadline, not retried past it: 1 request, SOURCE_TIMEOUT', async () => {
    t.systems.systems.crm.faults.set([{ kind: 'hang', route: CONTACTS }]);
    const response = await t.graphql(PROFILE, { variables: { id: customers[0]!.id } });
    expect(response.errors).toEqual([
      { message: 'source "crm" did not answer in time', path: ['customer', 'profile'], extensions: expect.objectContaining({ code: 'SOURCE_TIMEOUT', source: 'crm', retryable: true }) },
    ]);
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(1);
    // The other sources answered in time and fill the profile.
    const sources = new Set(response.data.customer.profile.provenance.map((p: { source: string }) => p.source));
    expect(sources.size).toBeGreaterThan(0);
    expect(sources.has('crm')).toBe(false);
  });

  test('a 503 whose Retry-After (5 s) does not fit in the deadline fails fast: 1 request', async () => {
    t.systems.systems.support.faults.set([{ kind: 'status', status: 503, retryAfter: '5' }]);
    const response = await t.graphql(PROFILE, { variables: { id: customers[0]!.id } });
    expect(response.errors?.map((e) => e.extensions)).toEqual([expect.objectContaining({ code: 'SOURCE_UNAVAILABLE', source: 'support', retryable: true })]);
    expect(requestsTo(t, 'support', 'GET /users/:id')).toBe(1);
  });

  test('requests queued behind a hanging source end at the deadline too, and are never sent', async () => {
    t.systems.systems.support.faults.set([{ kind: 'hang' }]);
    const response = await t.graphql('{ customers(first: 30) { edges { node { profile { email } } } } }');
    const codes = new Set((response.errors ?? []).map((e) => `${e.extensions?.source}:${e.extensions?.code}`));
    expect(codes).toEqual(new Set(['support:SOURCE_TIMEOUT']));
    // Two slots: the two hanging requests; everything queued behind them timed out without being sent.
    expect(requestsTo(t, 'support', 'GET /users/:id')).toBe(2);
  });
});
