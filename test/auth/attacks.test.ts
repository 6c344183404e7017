// What a security reviewer would try against the shipped default limits: each is refused before any upstream call,
// and the hub answers an ordinary query right after. Every payload is bounded in size.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub-harness.js';
import { keyHeader, withAuth } from './auth-fixture.js';

let t: TestHub;
let customerId: string;
beforeAll(async () => {
  t = await startTestHub({ people: 30, config: withAuth(null) });
  customerId = (await t.store.pageCustomers(1, null)).customers[0]!.customerId;
});
afterAll(() => t.close());

const ADMIN = { 'content-type': 'application/json', ...keyHeader('admin') };

async function post(body: string): Promise<{ status: number; body: any; upstream: number }> {
  t.resetStats();
  const response = await fetch(t.hub.url, { method: 'POST', headers: ADMIN, body });
  return { status: response.status, body: await response.json(), upstream: t.systems.totalRequests() };
}

const query = (text: string, variables?: unknown) => post(JSON.stringify({ query: text, variables }));

async function expectStillServing(): Promise<void> {
  const response = await query('query($id: ID!) { customer(id: $id) { id profile { name } } }', { id: customerId });
  expect(response.status).toBe(200);
  expect(response.body.data.customer).toMatchObject({ id: customerId, profile: { name: expect.any(String) } });
}

describe('rejected before execution', () => {
  test('an alias bomb (150 aliases of one field) is refused by the alias limit', async () => {
    const aliases = Array.from({ length: 150 }, (_, i) => `a${i}: sources { name }`).join(' ');
    const response = await query(`{ ${aliases} }`);
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([expect.objectContaining({ message: 'Aliases limit of 15 exceeded, found 150.', extensions: expect.objectContaining({ limit: 'maxAliases' }) })]);
    expect(response.upstream).toBe(0);
    await expectStillServing();
  });

  test('an alias bomb of expensive fields (1000 customer pages) is refused while parsing, by the token limit', async () => {
    const aliases = Array.from({ length: 1000 }, (_, i) => `c${i}: customers(first: 100) { edges { node { orders { id } } } }`).join(' ');
    const response = await query(`{ ${aliases} }`);
    expect(response.status).toBe(400);
    expect(response.body.errors[0]).toMatchObject({ message: 'Syntax Error: Document contains more that 2000 tokens. Parsing aborted.', extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
    expect(response.upstream).toBe(0);
    await expectStillServing();
  });

  test('a fragment bomb (each of 16 fragments spreading the next twice: 65,536 copies) is refused by the depth limit', async () => {
    const fragments = Array.from({ length: 16 }, (_, i) => `fragment F${i} on Customer { ...F${i + 1} ...F${i + 1} }`).join(' ');
    const response = await query(`{ customers(first: 100) { edges { node { ...F0 } } } } ${fragments} fragment F16 on Customer { id profile { email } }`);
    expect(response.status).toBe(400);
    const limits = response.body.errors.map((e: any) => e.extensions.limit).sort();
    expect(limits).toEqual(['maxDepth']);
    expect(response.upstream).toBe(0);
    await expectStillServing();
  });

  test('a wide fragment bomb kept shallow (10 × 10 spreads, depth 7) is refused by cost', async () => {
    const response = await query(
      `{ customers(first: 100) { edges { node { ...F0 } } } } fragment F0 on Customer { ${'...F1 '.repeat(10)}} fragment F1 on Customer { ${'...F2 '.repeat(10)}} fragment F2 on Customer { id }`,
    );
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/^Query Cost limit of 1000000 exceeded, found \d+/), extensions: expect.objectContaining({ limit: 'maxCost' }) })]);
    expect(response.upstream).toBe(0);
    await expectStillServing();
  });

  test('a field-duplication bomb (400 unaliased copies of one field) is refused by the repeated-fields limit', async () => {
    const response = await query(`{ ${'sources { name } '.repeat(400)}}`);
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([expect.objectContaining({ message: 'Field "sources" is selected more than 25 times.', extensions: expect.objectContaining({ limit: 'maxRepeatedFields' }) })]);
    expect(response.upstream).toBe(0);
    await expectStillServing();
  });

  test('a deeply nested query (600 levels) is refused by the depth limit', async () => {
    const response = await query(`{ ${'customers { '.repeat(600)}id ${'} '.repeat(600)}}`);
    expect(response.status).toBe(400);
    expect(response.body.errors.map((e: any) => e.message)).toEqual(['Query depth limit of 10 exceeded, found 601.', 'Field "customers" is selected more than 25 times.']);
    expect(response.upstream).toBe(0);
    await expectStillServing();
  });

  test('nesting too deep for the token limit (5,000 braces) is refused while parsing', async () => {
    const response = await query(`${'{ '.repeat(5000)}${'} '.repeat(5000)}`);
    expect(response.status).toBe(400);
    expect(response.body.errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    await expectStillServing();
  });

  test('a huge variable payload (5 MiB) gets 413 without being read', async () => {
    const response = await query('query($v: String) { __typename }', { v: 'x'.repeat(5 * 1024 * 1024) });
    expect(response.status).toBe(413);
    expect(response.upstream).toBe(0);
    await expectStillServing();
  });

  test('variables nested 300,000 levels deep (600 KB, under the size limit) are refused before JSON parsing', async () => {
    const body = `{"query":"query($v: String) { __typename }","variables":{"v":${'['.repeat(300_000)}${']'.repeat(300_000)}}}`;
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ errors: [{ message: 'request body nests deeper than 64 levels', extensions: { code: 'BAD_REQUEST', requestId: expect.any(String) } }] });
    await expectStillServing();
  });

  test('a batched-operation flood (500 operations in one POST) is refused whole', async () => {
    const batch = Array.from({ length: 500 }, () => ({ query: `query($id: ID!) { customer(id: $id) { profile { email } orders { id } } }`, variables: { id: customerId } }));
    const response = await post(JSON.stringify(batch));
    expect(response.status).toBe(400);
    expect(response.body.errors[0].message).toBe('Operation batching disabled.');
    expect(response.upstream).toBe(0);
    await expectStillServing();
  });

  test('a document of 300 operations runs at most the one it names', async () => {
    const operations = Array.from({ length: 300 }, (_, i) => `query q${i} { sources { name } }`).join(' ');
    const response = await post(JSON.stringify({ query: operations, operationName: 'q7' }));
    expect(response.status).toBe(400);
    expect(response.body.errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    await expectStillServing();
  });
});

describe('CSRF prevention', () => {
  test('a GET query without a preflight-forcing header is refused', async () => {
    const response = await fetch(`${t.hub.url}?query=${encodeURIComponent('{ __typename }')}`, { headers: keyHeader('admin') });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('CSRF');
  });

  test('a simple (text/plain) POST is refused', async () => {
    const response = await fetch(t.hub.url, { method: 'POST', headers: { 'content-type': 'text/plain', ...keyHeader('admin') }, body: JSON.stringify({ query: '{ __typename }' }) });
    expect(response.status).toBe(400);
  });

  test('a GET with apollo-require-preflight is served', async () => {
    const response = await fetch(`${t.hub.url}?query=${encodeURIComponent('{ __typename }')}`, { headers: { ...keyHeader('admin'), 'apollo-require-preflight': '1' } });
    expect(response.status).toBe(200);
  });
});
