// Every query limit from config: just under passes, just over fails with an error naming the limit, before any upstream call.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

const LIMITS = { maxDepth: 6, maxAliases: 3, maxDirectives: 3, maxRepeatedFields: 4, maxTokens: 200, maxCost: 1000, maxBodyBytes: 4096 };

let t: TestHub;
let customerId: string;
beforeAll(async () => {
  t = await startTestHub({ people: 30, config: (config) => ({ ...config, limits: LIMITS }) });
  customerId = (await t.store.pageCustomers(1, null)).customers[0]!.customerId;
});
afterAll(() => t.close());

async function limited(query: string, variables?: Record<string, unknown>) {
  t.resetStats();
  const response = await t.graphql(query, { variables });
  return { ...response, upstream: t.systems.totalRequests() };
}

function expectRejected(response: Awaited<ReturnType<typeof limited>>, limit: string, message: string): void {
  expect(response.status).toBe(400);
  expect(response.data).toBeUndefined();
  expect(response.errors).toEqual([{ message, extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED', limit }) }]);
  expect(response.upstream).toBe(0);
}

describe('depth (maxDepth 6)', () => {
  test('a query 6 levels deep passes', async () => {
    const response = await limited('{ customers(first: 1) { edges { node { profile { address { city } } } } } }');
    expect(response.errors).toBeUndefined();
    expect(response.data.customers.edges).toHaveLength(1);
  });

  test('a query 7 levels deep is rejected', async () => {
    expectRejected(await limited('{ customers(first: 1) { edges { node { orders(first: 1) { lineItems { unitPrice { formatted } } } } } } }'), 'maxDepth', 'Query depth limit of 6 exceeded, found 7.');
  });
});

describe('aliases (maxAliases 3)', () => {
  test('3 aliases pass', async () => {
    const response = await limited('{ a: sources { name } b: sources { name } c: sources { name } }');
    expect(response.errors).toBeUndefined();
    expect(Object.keys(response.data)).toEqual(['a', 'b', 'c']);
  });

  test('4 aliases are rejected', async () => {
    expectRejected(await limited('{ a: sources { name } b: sources { name } c: sources { name } d: sources { name } }'), 'maxAliases', 'Aliases limit of 3 exceeded, found 4.');
  });
});

describe('directives (maxDirectives 3)', () => {
  test('3 directives pass', async () => {
    const response = await limited('{ sources @include(if: true) { name @include(if: true) entities @skip(if: false) } }');
    expect(response.errors).toBeUndefined();
  });

  test('4 directives are rejected', async () => {
    expectRejected(await limited('{ sources @include(if: true) { name @include(if: true) @skip(if: false) entities @skip(if: false) } }'), 'maxDirectives', 'Directives limit of 3 exceeded, found 4.');
  });
});

describe('repeated fields (maxRepeatedFields 4)', () => {
  test('a field with a sub-selection selected 4 times (here across fragments) passes', async () => {
    const response = await limited('{ sources { name } ...A ...B ...C } fragment A on Query { sources { entities } } fragment B on Query { sources { requests } } fragment C on Query { sources { errors } }');
    expect(response.errors).toBeUndefined();
    expect(Object.keys(response.data.sources[0]).sort()).toEqual(['entities', 'errors', 'name', 'requests']);
  });

  test('5 times is rejected; scalar fields may repeat freely', async () => {
    expectRejected(await limited(`{ ${'sources { name } '.repeat(5)}}`), 'maxRepeatedFields', 'Field "sources" is selected more than 4 times.');
    const scalars = await limited(`{ sources { ${'name '.repeat(20)}} }`);
    expect(scalars.errors).toBeUndefined();
  });
});

describe('cost (maxCost 1000; list fields weigh their first/last, from literals, variables or defaults)', () => {
  const PAGE = 'query($n: Int!) { customers(first: $n) { edges { node { id } } } }';

  test('a page of 77 customers (cost 991.375) passes, with its size given as a variable', async () => {
    const response = await limited(PAGE, { n: 77 });
    expect(response.errors).toBeUndefined();
    expect(response.data.customers.edges).toHaveLength(30);
  });

  test('a page of 78 customers (cost 1004.25) is rejected', async () => {
    expectRejected(await limited(PAGE, { n: 78 }), 'maxCost', 'Query Cost limit of 1000 exceeded, found 1004.25.');
  });

  test('a list field without first weighs its schema default (orders: 20), not 1', async () => {
    const bare = await limited('{ customers(first: 10) { edges { node { orders { id } } } } }');
    const explicit = await limited('{ customers(first: 10) { edges { node { orders(first: 20) { id } } } } }');
    expect(bare.status).toBe(400);
    expect(bare.errors?.[0]?.message).toBe('Query Cost limit of 1000 exceeded, found 2457.5.');
    expect(explicit.errors?.[0]?.message).toBe(bare.errors?.[0]?.message);
    const small = await limited('{ customers(first: 10) { edges { node { orders(first: 1) { id } } } } }');
    expect(small.errors).toBeUndefined();
  });

  test('a variable left to its default in the operation weighs that default', async () => {
    const response = await limited('query($n: Int = 78) { customers(first: $n) { edges { node { id } } } }');
    expectRejected(response, 'maxCost', 'Query Cost limit of 1000 exceeded, found 1004.25.');
  });
});

describe('tokens (maxTokens 200)', () => {
  // `{`, `}` and one token per field; the 201st token is the closing brace, the document's last character.
  const fields = (n: number) => `{ ${'__typename '.repeat(n)}}`;

  test('a document of exactly 200 tokens passes', async () => {
    const response = await limited(fields(198));
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({ __typename: 'Query' });
  });

  test('201 tokens are rejected while parsing', async () => {
    const response = await limited(fields(199));
    expect(response.status).toBe(400);
    // graphql-js's own wording, "more that", typo included.
    expect(response.errors).toEqual([{ message: 'Syntax Error: Document contains more that 200 tokens. Parsing aborted.', locations: [{ line: 1, column: fields(199).length }], extensions: expect.objectContaining({ code: 'GRAPHQL_PARSE_FAILED' }) }]);
  });
});

describe('request body (maxBodyBytes 4096)', () => {
  /** A valid request body padded to exactly `bytes` bytes with an unused variable. */
  function bodyOf(bytes: number): string {
    const empty = JSON.stringify({ query: '{ __typename }', variables: { pad: '' } });
    return JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(bytes - empty.length) } });
  }
  const post = (body: string | ReadableStream<Uint8Array>) =>
    fetch(t.hub.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit);

  test('a body of exactly 4096 bytes is served', async () => {
    const body = bodyOf(4096);
    expect(Buffer.byteLength(body)).toBe(4096);
    const response = await post(body);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
  });

  test('4097 bytes get 413', async () => {
    const response = await post(bodyOf(4097));
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ errors: [{ message: 'request body too large', extensions: { code: 'PAYLOAD_TOO_LARGE', requestId: expect.any(String) } }] });
  });

  test('a streamed body with no declared length is cut off at the limit too', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        // Bounded: at most 64 KiB is ever offered.
        if (sent >= 64) return controller.close();
        sent += 1;
        controller.enqueue(chunk);
      },
    });
    const response = await post(stream);
    expect(response.status).toBe(413);
  });
});

describe('after any rejection', () => {
  test('the hub goes on serving an ordinary query', async () => {
    const response = await limited('query($id: ID!) { customer(id: $id) { id profile { name } } }', { id: customerId });
    expect(response.errors).toBeUndefined();
    expect(response.data.customer.id).toBe(customerId);
  });
});
