// A source that answers 503 with Retry-After: 3600: the circuit stays open the whole hour (no probe every halfOpenAfterMs), and /readyz shows HALF_OPEN once it is over.
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub-harness.js';
import { clearFaults, customersWith, requestsTo, tuneSources, type LinkedCustomer } from './support.js';

const PROFILE = 'query($id: ID!) { customer(id: $id) { profile { email } } }';
const CONTACTS = 'GET /contacts';
const HALF_OPEN_AFTER_MS = 5_000;

let t: TestHub;
let customers: LinkedCustomer[];

beforeAll(async () => {
  t = await startTestHub({
    people: 200,
    seed: 13,
    config: (config) =>
      tuneSources(config, (source) => {
        source.resilience.retry.maxRetries = 0;
        source.resilience.circuitBreaker = { failureRate: 0.5, windowMs: 60_000, minimumRequests: 4, halfOpenAfterMs: HALF_OPEN_AFTER_MS, maxRetryAfterMs: 3_600_000 };
      }),
  });
  customers = await customersWith(t, ['crm']);
  t.resetStats();
});
afterEach(() => {
  vi.useRealTimers();
});
afterAll(() => t.close());

const codes = async (i: number) => ((await t.graphql(PROFILE, { variables: { id: customers[i]!.id } })).errors ?? []).map((e) => e.extensions?.code);
const crmCircuit = async () => ((await (await fetch(t.hub.url.replace('/graphql', '/readyz'))).json()) as { sources: { crm: { circuit: string } } }).sources.crm.circuit;

describe('Retry-After on the breaker', () => {
  test('four 503s with Retry-After: 3600 open the circuit for the hour: no probe at 5 s, 1 min or 59:59; HALF_OPEN at 60:00 with no traffic; then one probe', async () => {
    t.systems.systems.crm.faults.set([{ kind: 'status', status: 503, retryAfter: '3600', route: CONTACTS }]);
    for (let i = 0; i < 4; i++) expect(await codes(i)).toEqual(['SOURCE_UNAVAILABLE']);
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(4);
    expect(await crmCircuit()).toBe('OPEN');

    // Only Date moves: the breaker and the deadlines read it; sockets and timers keep real time.
    const openedAt = Date.now();
    vi.useFakeTimers({ toFake: ['Date'], now: openedAt });
    for (const [i, afterMs] of [[4, HALF_OPEN_AFTER_MS], [5, 60_000], [6, 3_599_000]] as const) {
      vi.setSystemTime(openedAt + afterMs);
      expect(await codes(i)).toEqual(['CIRCUIT_OPEN']);
      expect(await crmCircuit()).toBe('OPEN');
    }
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(4);

    clearFaults(t);
    vi.setSystemTime(openedAt + 3_600_500);
    expect(await crmCircuit()).toBe('HALF_OPEN');
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(4);
    expect(await codes(7)).toEqual([]);
    expect(requestsTo(t, 'crm', CONTACTS)).toBe(5);
    expect(await crmCircuit()).toBe('CLOSED');
  });
});
