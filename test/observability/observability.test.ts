// What an operator sees of a running hub: Prometheus metrics, JSON logs with request IDs, and the explain plan.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub-harness.js';
import { memoryLogger } from '../support/memory-logger.js';

const { logger: memoryLog, lines: logLines } = memoryLogger();

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ people: 200, seed: 4, logger: memoryLog });
});
afterAll(() => t.close());

async function scrape(): Promise<string> {
  const response = await fetch(t.hub.url.replace('/graphql', '/metrics'));
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/text\/plain/);
  return response.text();
}

/** The value of one sample line, e.g. `rosetta_x{a="b"} 3`. */
function sample(metrics: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.indexOf('}'));
    const have = labelText.split(',');
    if (wanted.every((w) => have.includes(w)) && have.length === wanted.length) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

const PAGE = 'query Page { customers(first: 30) { edges { node { profile { email } orders { id } } } } }';

describe('metrics', () => {
  test('/metrics counts upstream requests, batch sizes, operations, cache use and breaker state', async () => {
    const before = await scrape();
    const crmBefore = sample(before, 'rosetta_upstream_requests_total', { source: 'crm', operation: 'contact.batch', outcome: '2xx' }) ?? 0;
    t.resetStats();
    const response = await t.graphql(PAGE);
    expect(response.errors).toBeUndefined();
    const after = await scrape();
    const crmCalls = t.routes('crm')['GET /contacts']!;
    expect(sample(after, 'rosetta_upstream_requests_total', { source: 'crm', operation: 'contact.batch', outcome: '2xx' })).toBe(crmBefore + crmCalls);
    expect(sample(after, 'rosetta_upstream_requests_total', { source: 'shop', operation: 'order.batch', outcome: '2xx' })).toBe(t.routes('shop')['POST /orders/batch']);
    expect(sample(after, 'rosetta_upstream_batch_size_count', { source: 'shop', operation: 'order.batch' })).toBe(t.routes('shop')['POST /orders/batch']);
    expect(sample(after, 'rosetta_graphql_operations_total', { operation: 'Page', outcome: 'success' })).toBe(1);
    expect(sample(after, 'rosetta_source_circuit_state', { source: 'crm', state: 'CLOSED' })).toBe(1);
    expect(sample(after, 'rosetta_source_circuit_state', { source: 'crm', state: 'OPEN' })).toBe(0);
    expect(after).toMatch(/^rosetta_process_resident_memory_bytes \d+/m);
  });

  test('rosetta_link_cache_lookups counts each lookup once: a page none, a cold customer one miss, the same customer again one hit', async () => {
    const lookups = async () => {
      const metrics = await scrape();
      return { hit: sample(metrics, 'rosetta_link_cache_lookups', { result: 'hit' }), miss: sample(metrics, 'rosetta_link_cache_lookups', { result: 'miss' }) };
    };
    const { customers } = await t.store.pageCustomers(1, null);
    const id = customers[0]!.customerId;
    // Whatever an earlier test read of this customer is forgotten: the first lookup below is a miss.
    t.hub.services.directory.invalidate([id]);
    const start = await lookups();
    expect(start.hit).toBeTypeOf('number');
    expect(start.miss).toBeTypeOf('number');
    const byId = 'query One($id: ID!) { customer(id: $id) { id } }';

    expect((await t.graphql(PAGE)).errors).toBeUndefined();
    // A page reads the store (its order and next cursor come from there), not the cache.
    expect(await lookups()).toEqual(start);
    t.hub.services.directory.invalidate([id]);
    expect((await t.graphql(byId, { variables: { id } })).data).toEqual({ customer: { id } });
    expect(await lookups()).toEqual({ hit: start.hit, miss: start.miss! + 1 });
    expect((await t.graphql(byId, { variables: { id } })).data).toEqual({ customer: { id } });
    expect(await lookups()).toEqual({ hit: start.hit! + 1, miss: start.miss! + 1 });
  });

  test('a failing operation is counted with its outcome', async () => {
    await t.graphql('query Broken { customer(id: "x") { nope } }');
    expect(sample(await scrape(), 'rosetta_graphql_operations_total', { operation: 'anonymous', outcome: 'error' })).toBeGreaterThanOrEqual(1);
  });
});

describe('request IDs and logs', () => {
  test('every response carries a request ID, which errors repeat and the log line records', async () => {
    const response = await t.graphql('query Lookup { customerByIdentity(kind: EMAIL, value: "not-an-email") { id } }');
    const requestId = response.headers.get('x-request-id');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.errors![0]!.extensions!.requestId).toBe(requestId);
    const line = logLines.find((l) => l.requestId === requestId);
    expect(line).toMatchObject({ msg: 'graphql operation', operation: 'Lookup', outcome: 'partial', level: 30 });
  });

  test('a request ID sent by the caller is kept, so a trace can span systems', async () => {
    const response = await t.graphql('{ sources { name } }', { headers: { 'x-request-id': 'caller-chosen-id-42' } });
    expect(response.headers.get('x-request-id')).toBe('caller-chosen-id-42');
    expect(logLines.some((l) => l.requestId === 'caller-chosen-id-42')).toBe(true);
  });
});

describe('explain', () => {
  test("the link-cache counts are this request's own lookups, whatever other requests did before", async () => {
    const first = await t.graphql('{ customers(first: 1) { edges { node { id } } } }');
    const id = first.data.customers.edges[0].node.id as string;
    // Two known lookups (the page above cached the customer) and two of an ID no table holds, which is never cached.
    const query = `{ a: customer(id: "${id}") { id } b: customer(id: "${id}") { id } c: customer(id: "nobody") { id } d: customer(id: "nobody") { id } }`;
    for (let round = 0; round < 2; round++) {
      const response = await t.graphql(query, { headers: { 'x-rosetta-explain': '1' } });
      expect(response.data).toEqual({ a: { id }, b: { id }, c: null, d: null });
      expect(response.extensions!.explain.linkCache).toEqual({ hits: 2, misses: 2 });
    }
  });

  test('the plan is a tree of the resolved fields with the upstream calls each caused', async () => {
    t.resetStats();
    const response = await t.graphql(PAGE, { headers: { 'x-rosetta-explain': '1' } });
    const explain = response.extensions!.explain;
    expect(explain.totalMs).toBeGreaterThan(0);
    // A page is one store read (order and cursor come from there); the links it takes from the cache are no lookups.
    expect(explain.linkCache).toEqual({ hits: 0, misses: 0 });
    const [customers] = explain.plan;
    expect(customers).toMatchObject({ field: 'customers', path: 'customers', resolutions: 1 });
    const node = customers.children.find((c: { field: string }) => c.field === 'edges').children.find((c: { field: string }) => c.field === 'node');
    const profile = node.children.find((c: { field: string }) => c.field === 'profile');
    const orders = node.children.find((c: { field: string }) => c.field === 'orders');
    expect(profile.resolutions).toBe(30);
    expect(profile.upstream).toEqual(expect.arrayContaining([expect.objectContaining({ source: 'crm', operation: 'contact.batch', calls: t.routes('crm')['GET /contacts'] })]));
    expect(orders.upstream).toEqual([expect.objectContaining({ source: 'shop', operation: 'order.batch', calls: t.routes('shop')['POST /orders/batch'] })]);
    // Each flat upstream entry names the field that caused it.
    expect(explain.upstream.every((call: { field: string | null }) => call.field !== null)).toBe(true);
  });
});
