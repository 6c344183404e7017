// Each fault a source can have, through real HTTP: what the hub retries, how many requests it sends, and what the client sees.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startTestHub, type GraphQLResponse, type TestHub } from '../support/hub-harness.js';
import { clearFaults, customersWith, requestsTo, tuneSources, type LinkedCustomer } from './support.js';

const PROFILE = 'query($id: ID!) { customer(id: $id) { profile { email provenance { field source } } } }';
const CONTACTS = 'GET /contacts';

let t: TestHub;
let customer: LinkedCustomer;

beforeAll(async () => {
  t = await startTestHub({
    people: 200,
    seed: 11,
    config: (config) => {
      tuneSources(config, (source) => {
        // Short enough to keep the hang tests quick, long enough that a busy machine never times out a healthy call.
        source.timeoutMs = 800;
        source.resilience.retry = { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 5 };
        // This file counts retries; a breaker opening half-way through would change the counts (breaker.test.ts covers it).
        source.resilience.circuitBreaker.minimumRequests = 1_000_000;
      });
      config.sources.shop!.entities.order!.batch!.idempotent = false;
      return config;
    },
  });
  [customer] = await customersWith(t, ['crm', 'shop', 'support'], { withOrders: true }) as [LinkedCustomer];
});
afterEach(() => {
  clearFaults(t);
  t.resetStats();
});
afterAll(() => t.close());

const crm = () => t.systems.systems.crm.faults;
const shop = () => t.systems.systems.shop.faults;

/** The response's errors, after checking none of them leaks an address, a status line or a stack. */
function clientErrors(response: GraphQLResponse): NonNullable<GraphQLResponse['errors']> {
  const text = JSON.stringify(response.errors ?? []);
  expect(text).not.toMatch(/127\.0\.0\.1|localhost|HTTP \d|ECONN|stack|\bat \w+ \(|within \d+ ms|Bearer|token/i);
  return response.errors ?? [];
}

const profileSources = (response: GraphQLResponse) => new Set(response.data.customer.profile.provenance.map((p: { source: string }) => p.source));

/** One error for one source at one path (list fields that fail whole also carry `locations`). */
const sourceError = (source: string, code: string, retryable: boolean, path: (string | number)[]) =>
  expect.objectContaining({ message: expect.stringMatching(new RegExp(`^source "${source}" `)), path, extensions: expect.objectContaining({ code, source, retryable }) });
const crmError = (code: string, retryable: boolean, path: (string | number)[] = ['customer', 'profile']) => sourceError('crm', code, retryable, path);

describe('faults a retry cures', () => {
  test('a 503 with Retry-After: 0 is retried exactly twice, then served: 3 requests, no error', async () => {
    crm().set([{ kind: 'status', status: 503, retryAfter: '0', times: 2, route: CONTACTS }]);
    const response = await t.graphql(PROFILE, { variables: { id: customer.id }, headers: { 'x-rosetta-explain': '1' } });
    expect(clientErrors(response)).toEqual([]);
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(3);
    expect(profileSources(response).has('crm')).toBe(true);
    const attempts = response.extensions!.explain.upstream.filter((call: { source: string }) => call.source === 'crm');
    expect(attempts.map((call: { status: number }) => call.status)).toEqual([503, 503, 200]);
  });

  test('a connection reset is retried: 2 requests, no error', async () => {
    crm().set([{ kind: 'reset', times: 1, route: CONTACTS }]);
    const response = await t.graphql(PROFILE, { variables: { id: customer.id } });
    expect(clientErrors(response)).toEqual([]);
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(2);
  });

  test('a truncated body is retried: truncated twice, then served: 3 requests, no error', async () => {
    crm().set([{ kind: 'truncate', times: 2, route: CONTACTS }]);
    const response = await t.graphql(PROFILE, { variables: { id: customer.id } });
    expect(clientErrors(response)).toEqual([]);
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(3);
    expect(profileSources(response).has('crm')).toBe(true);
  });

  test('added latency and jitter within the timeout cost nothing but time: 1 request, no error', async () => {
    crm().set([{ kind: 'latency', ms: 20, jitterMs: 20, route: CONTACTS }]);
    const response = await t.graphql(PROFILE, { variables: { id: customer.id } });
    expect(clientErrors(response)).toEqual([]);
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(1);
  });

  test('a POST batch read the source declares idempotent is retried like a GET: 3 requests', async () => {
    shop().set([{ kind: 'status', status: 503, times: 2, route: 'POST /customers/batch' }]);
    const response = await t.graphql(PROFILE, { variables: { id: customer.id } });
    expect(clientErrors(response)).toEqual([]);
    expect(requestsTo(t, 'shop', 'POST /customers/batch')).toBe(3);
  });
});

describe('faults that outlast the retries: partial data and one error naming the source', () => {
  test('500 on every attempt: 3 requests, then SOURCE_UNAVAILABLE at the profile; the other sources fill it and the other fields', async () => {
    crm().set([{ kind: 'status', status: 500, route: CONTACTS }]);
    const response = await t.graphql('query($id: ID!) { customer(id: $id) { profile { email provenance { field source } } tickets { id } orders { id } } }', { variables: { id: customer.id } });
    expect(response.status).toBe(200);
    expect(clientErrors(response)).toEqual([crmError('SOURCE_UNAVAILABLE', true)]);
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(3);
    expect(profileSources(response)).toEqual(new Set(['shop', 'support']));
    expect(Array.isArray(response.data.customer.tickets)).toBe(true);
    expect(response.data.customer.orders.length).toBeGreaterThan(0);
  });

  test('a 429 with Retry-After: 0 that persists: 3 requests, then SOURCE_RATE_LIMITED', async () => {
    crm().set([{ kind: 'status', status: 429, retryAfter: '0', route: CONTACTS }]);
    const response = await t.graphql(PROFILE, { variables: { id: customer.id } });
    expect(clientErrors(response)).toEqual([crmError('SOURCE_RATE_LIMITED', true)]);
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(3);
  });

  test.each([
    [429, 'SOURCE_RATE_LIMITED'],
    [503, 'SOURCE_UNAVAILABLE'],
  ])('a %i whose Retry-After outlasts the query deadline fails fast: 1 request, %s', async (status, code) => {
    crm().set([{ kind: 'status', status, retryAfter: '3600', route: CONTACTS }]);
    const response = await t.graphql(PROFILE, { variables: { id: customer.id } });
    expect(clientErrors(response)).toEqual([crmError(code, true)]);
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(1);
  });

  test('a hanging response times out on every attempt: 3 requests, then SOURCE_TIMEOUT', async () => {
    crm().set([{ kind: 'hang', route: CONTACTS }]);
    const response = await t.graphql(PROFILE, { variables: { id: customer.id } });
    expect(clientErrors(response)).toEqual([crmError('SOURCE_TIMEOUT', true)]);
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(3);
    expect(profileSources(response).has('shop')).toBe(true);
  });

  test('latency beyond the per-request timeout is a timeout: 3 requests, then SOURCE_TIMEOUT', async () => {
    crm().set([{ kind: 'latency', ms: 3_000, route: CONTACTS }]);
    const response = await t.graphql(PROFILE, { variables: { id: customer.id } });
    expect(clientErrors(response)).toEqual([crmError('SOURCE_TIMEOUT', true)]);
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(3);
  });

  test('a POST batch read not declared idempotent is never retried: 1 request, SOURCE_UNAVAILABLE at the orders', async () => {
    shop().set([{ kind: 'status', status: 503, route: 'POST /orders/batch' }]);
    const response = await t.graphql('query($id: ID!) { customer(id: $id) { orders { id } tickets { id } } }', { variables: { id: customer.id } });
    expect(clientErrors(response)).toEqual([sourceError('shop', 'SOURCE_UNAVAILABLE', true, ['customer', 'orders'])]);
    expect(requestsTo(t, 'shop', 'POST /orders/batch')).toBe(1);
    expect(response.data.customer.orders).toBeNull();
    expect(Array.isArray(response.data.customer.tickets)).toBe(true);
  });
});

describe('bad responses are caught at the connector and reported, never retried, never a crash', () => {
  test('malformed JSON: 1 request, SOURCE_BAD_RESPONSE, not retryable', async () => {
    crm().set([{ kind: 'malformed', route: CONTACTS }]);
    const response = await t.graphql(PROFILE, { variables: { id: customer.id } });
    expect(clientErrors(response)).toEqual([crmError('SOURCE_BAD_RESPONSE', false)]);
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(1);
    expect(profileSources(response).has('shop')).toBe(true);
  });

  test('the wrong shape (no item array where the config says): 1 request, SOURCE_BAD_RESPONSE', async () => {
    crm().set([{ kind: 'body', body: { results: 'none' }, route: CONTACTS }]);
    const response = await t.graphql(PROFILE, { variables: { id: customer.id } });
    expect(clientErrors(response)).toEqual([crmError('SOURCE_BAD_RESPONSE', false)]);
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(1);
  });

  test('a word where a number was mapped fails that value alone: each total is null with an error naming the shop and field', async () => {
    shop().set([{ kind: 'field', field: 'total_cents', value: 'twelve', route: 'POST /orders/batch' }]);
    const response = await t.graphql('query($id: ID!) { customer(id: $id) { profile { provenance { source } } orders { id total { amountMinor } } } }', { variables: { id: customer.id } });
    const orders = response.data.customer.orders as { id: string; total: unknown }[];
    expect(orders.length).toBeGreaterThan(0);
    expect(orders.map((o) => o.total)).toEqual(orders.map(() => null));
    expect(clientErrors(response)).toEqual(
      orders.map((order, i) =>
        expect.objectContaining({
          message: expect.stringMatching(/^source "shop" order \S+: Order\.total \(from mapped field "totalMinor"\) could not be read/),
          path: ['customer', 'orders', i, 'total'],
          extensions: expect.objectContaining({ code: 'SOURCE_VALUE_INVALID', source: 'shop', recordId: order.id, field: 'Order.total' }),
        }),
      ),
    );
    // The shop's customer batch was read and is not in error: only the orders are.
    expect(requestsTo(t, 'shop', 'POST /customers/batch')).toBe(1);
  });

  test('a batch that leaves out one linked record fails that record alone: one error, every other profile complete', async () => {
    const page = await customersWith(t, []);
    const first50 = page.slice(0, 50);
    const withCrm = first50.filter((c) => c.identities.some((i) => i.source === 'crm'));
    const victim = withCrm[3]!;
    const omitted = victim.identities.find((i) => i.source === 'crm')!.recordId;
    crm().set([{ kind: 'omit', field: 'id', value: omitted, route: CONTACTS }]);
    const response = await t.graphql('{ customers(first: 50) { edges { node { id profile { provenance { source recordId } } } } } }');
    const index = first50.indexOf(victim);
    expect(clientErrors(response)).toEqual([crmError('SOURCE_BAD_RESPONSE', false, ['customers', 'edges', index, 'node', 'profile'])]);
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(1);
    const nodes = response.data.customers.edges.map((e: { node: unknown }) => e.node) as { id: string; profile: { provenance: { source: string; recordId: string }[] } }[];
    const crmRecordsServed = new Set(nodes.flatMap((n) => n.profile.provenance.filter((p) => p.source === 'crm').map((p) => `${n.id}:${p.recordId}`)));
    for (const other of withCrm.filter((c) => c !== victim)) {
      const expected = other.identities.filter((i) => i.source === 'crm').some((i) => crmRecordsServed.has(`${other.id}:${i.recordId}`));
      expect(expected, `crm values of ${other.id}`).toBe(true);
    }
  });
});
