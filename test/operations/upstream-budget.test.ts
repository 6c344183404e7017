// One request's upstream calls are bounded (`limits.maxUpstreamCalls`): the 14-alias request of the attack run is
// refused before it calls anything, a request within the estimate but over the budget at run time fails only the
// facets past it, and a caller over `limits.perCaller` is refused with 429 while others are served.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { HubConfig } from '../../src/config/schema.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

const FACETS = 'profile { name } orders { id } tickets { id } events { id }';
const FOURTEEN_ALIASES = `query Wide { ${Array.from({ length: 14 }, (_, i) => `c${i}: customers(first: 100) { edges { node { id ${FACETS} } } }`).join(' ')} }`;

function upstreamCalls(t: TestHub): number {
  return Object.values(t.systems.systems).reduce((sum, system) => sum + system.stats().total, 0);
}

describe('the 14-alias request', () => {
  let unlimited: TestHub;
  let limited: TestHub;
  beforeAll(async () => {
    // The cost limit alone would refuse it (cost 1,026,812): raised, so only the upstream budget decides.
    unlimited = await startTestHub({ people: 300, seed: 12, config: (c: HubConfig) => ({ ...c, limits: { ...c.limits, maxCost: 10_000_000, maxUpstreamCalls: 1_000_000 } }) });
    limited = await startTestHub({ people: 300, seed: 12, config: (c: HubConfig) => ({ ...c, limits: { ...c.limits, maxCost: 10_000_000 } }) });
  }, 60_000);
  afterAll(async () => {
    await unlimited?.close();
    await limited?.close();
  });

  test('is refused before any upstream call under the default budget', async () => {
    unlimited.resetStats();
    const wide = await unlimited.graphql(FOURTEEN_ALIASES);
    expect(wide.errors, JSON.stringify(wide.errors)).toBeUndefined();
    const before = upstreamCalls(unlimited);

    limited.resetStats();
    const refused = await limited.graphql(FOURTEEN_ALIASES);
    const after = upstreamCalls(limited);
    console.log(`upstream calls of the 14-alias request: ${before} without a budget, ${after} with limits.maxUpstreamCalls ${limited.config.limits.maxUpstreamCalls}`);
    expect(refused.status).toBe(400);
    expect(refused.errors).toMatchObject([{ extensions: { code: 'UPSTREAM_BUDGET_EXCEEDED', limit: 1_000, estimate: expect.any(Number) } }]);
    expect(refused.errors![0]!.extensions!.estimate as number).toBeGreaterThan(1_000);
    expect(after).toBe(0);
    expect(before).toBeGreaterThan(0);
  });

  test('one page with the same facets stays within the budget and is served', async () => {
    limited.resetStats();
    const page = await limited.graphql(`{ customers(first: 100) { edges { node { id ${FACETS} } } } }`);
    expect(page.errors).toBeUndefined();
    expect(page.data.customers.edges).toHaveLength(100);
  });
});

describe('per-caller limits', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ people: 30, seed: 12, config: (c: HubConfig) => ({ ...c, limits: { ...c.limits, perCaller: { maxConcurrent: 1, requestsPerSecond: 1_000 } } }) });
  });
  afterAll(() => t?.close());

  test('a caller with a request in flight is refused a second one with 429 RATE_LIMITED; once answered, it is served again', async () => {
    const { customers } = await t.store.pageCustomers(30, null);
    const id = customers.find((c) => c.links.some((l) => l.source === 'support'))!.customerId;
    t.systems.systems.support.latencyMs = 1_000;
    t.resetStats();
    const slow = t.graphql(`{ customer(id: "${id}") { tickets { id } } }`);
    await expect.poll(() => t.systems.systems.support.stats().total, { timeout: 10_000, interval: 10 }).toBe(1);
    const second = await t.graphql('{ sources { name } }');
    expect(second.status).toBe(429);
    expect(second.errors).toMatchObject([{ extensions: { code: 'RATE_LIMITED' } }]);
    expect((await slow).errors).toBeUndefined();
    t.systems.systems.support.latencyMs = 0;
    expect((await t.graphql('{ sources { name } }')).status).toBe(200);
  });
});

describe('on-demand lookups spend the same budget', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ people: 30, seed: 12, config: (c: HubConfig) => ({ ...c, limits: { ...c.limits, maxUpstreamCalls: 3 } }) });
  });
  afterAll(() => t?.close());

  const LOOKUP = 'query($v: String!) { customerByIdentity(kind: EMAIL, value: $v) { id } }';

  test('an unknown email probes five sources; with a budget of 3 exactly 3 probes go out and the answer says why it is incomplete', async () => {
    t.resetStats();
    const answer = await t.graphql(LOOKUP, { variables: { v: 'nobody-here@nowhere.example' } });
    expect(upstreamCalls(t)).toBe(3);
    expect(answer.data).toEqual({ customerByIdentity: null });
    expect(answer.errors).toMatchObject([{ path: ['customerByIdentity'], extensions: { code: 'UPSTREAM_BUDGET_EXCEEDED', retryable: false } }]);
    // Not remembered as a miss: two sources were never asked, so the next request asks again (and is stopped again).
    t.resetStats();
    await t.graphql(LOOKUP, { variables: { v: 'nobody-here@nowhere.example' } });
    expect(upstreamCalls(t)).toBe(3);
  });

  test('two ticket-number lookups in one request with a budget of 1: one ticket is read, the other is refused', async () => {
    const hub = await startTestHub({ people: 30, seed: 12, config: (c: HubConfig) => ({ ...c, limits: { ...c.limits, maxUpstreamCalls: 1 } }) });
    try {
      const [first, second] = hub.systems.dataset.support.tickets;
      hub.resetStats();
      const answer = await hub.graphql('query($a: String!, $b: String!) { a: customerByIdentity(kind: SOURCE_RECORD, value: $a) { id } b: customerByIdentity(kind: SOURCE_RECORD, value: $b) { id } }', {
        variables: { a: `support:ticket:${first!.id}`, b: `support:ticket:${second!.id}` },
      });
      expect(upstreamCalls(hub)).toBe(1);
      expect(answer.data.a.id).toMatch(/^cus_/);
      expect(answer.data.b).toBeNull();
      expect(answer.errors).toMatchObject([{ path: ['b'], extensions: { code: 'UPSTREAM_BUDGET_EXCEEDED' } }]);
    } finally {
      await hub.close();
    }
  });
});
