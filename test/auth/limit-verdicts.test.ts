// The query limits judge a repeated query once: a cached verdict is the one a fresh check gives, and the caches stay bounded.
import { ApolloServer } from '@apollo/server';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LimitsSection } from '../../src/config/schema.js';
import { costLimitPlugin, createQueryGuard, type VerdictCacheBounds } from '../../src/server/limits.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

/** graphql-js's validate, counting its calls: each call is a verdict computed rather than taken from a cache. */
function countedValidate(): { readonly calls: number; validate: typeof validate } {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    validate: (...args) => {
      calls += 1;
      return validate(...args);
    },
  };
}

const ROOMY: VerdictCacheBounds = { maxEntries: 100, maxTotalChars: 100_000, maxKeyChars: 10_000 };

describe('the HTTP query guard (maxAliases 3, maxDepth 6)', () => {
  const LIMITS: LimitsSection = { maxDepth: 6, maxAliases: 3, maxDirectives: 3, maxRepeatedFields: 4, maxTokens: 200, maxCost: 1000, maxBodyBytes: 4096, maxUpstreamCalls: 1_000 };
  const guardWith = (cache: VerdictCacheBounds = ROOMY) => {
    const counted = countedValidate();
    return { counted, guard: createQueryGuard(LIMITS, { cache, validate: counted.validate }) };
  };
  const messages = (errors: readonly { message: string }[]) => errors.map((error) => error.message);

  test.each([
    ['a passing query', '{ a: sources { name } b: sources { name } }', []],
    ['an alias bomb', '{ a: sources { name } b: sources { name } c: sources { name } d: sources { name } }', ['Aliases limit of 3 exceeded, found 4.']],
    ['a depth bomb', '{ a { b { c { d { e { f { g } } } } } } }', ['Query depth limit of 6 exceeded, found 7.']],
  ])('%s sent three times is validated once, with the same verdict each time', (_case, query, expected) => {
    const { counted, guard } = guardWith();
    const verdicts = [guard(query), guard(query), guard(query)];
    expect(verdicts.map(messages)).toEqual([expected, expected, expected]);
    expect(verdicts[1]!.map((error) => error.extensions)).toEqual(verdicts[0]!.map((error) => error.extensions));
    expect(counted.calls).toBe(1);
  });

  test('a cached refusal is not weakened by a passing query of nearly the same text', () => {
    const { counted, guard } = guardWith();
    const bomb = '{ a: sources { name } b: sources { name } c: sources { name } d: sources { name } }';
    expect(messages(guard(bomb))).toEqual(['Aliases limit of 3 exceeded, found 4.']);
    expect(guard(bomb.replace(' d: sources { name }', ''))).toEqual([]);
    expect(messages(guard(bomb))).toEqual(['Aliases limit of 3 exceeded, found 4.']);
    expect(counted.calls).toBe(2);
  });

  test('a flood of distinct queries evicts: with room for 3 verdicts, the oldest of 4 is validated again', () => {
    const { counted, guard } = guardWith({ ...ROOMY, maxEntries: 3 });
    const queries = [1, 2, 3, 4].map((n) => `{ a${n}: sources { name } }`);
    for (const query of queries) guard(query);
    expect(counted.calls).toBe(4);
    guard(queries[3]!);
    expect(counted.calls).toBe(4);
    guard(queries[0]!);
    expect(counted.calls).toBe(5);
  });

  test('the total length of cached text is bounded too: room for 2 texts of this length keeps 2', () => {
    const queries = ['a', 'b', 'c'].map((name) => `{ ${name}: sources { name } }`);
    const { counted, guard } = guardWith({ ...ROOMY, maxTotalChars: 2 * queries[0]!.length });
    for (const query of queries) guard(query);
    guard(queries[2]!);
    guard(queries[1]!);
    expect(counted.calls).toBe(3);
    guard(queries[0]!);
    expect(counted.calls).toBe(4);
  });

  test('a query longer than maxKeyChars is never cached: validated on every request', () => {
    const query = `{ sources { name } ${' '.repeat(100)}}`;
    const { counted, guard } = guardWith({ ...ROOMY, maxKeyChars: 100 });
    expect([guard(query), guard(query)]).toEqual([[], []]);
    expect(counted.calls).toBe(2);
  });

  test('a text over the token limit is still left to Apollo (no verdict) when it comes from the cache', () => {
    const { counted, guard } = guardWith();
    const query = `{ ${'__typename '.repeat(199)}}`;
    expect([guard(query), guard(query)]).toEqual([[], []]);
    expect(counted.calls).toBe(0);
  });
});

describe('the cost limit (maxCost 100: a customer weighs 3.5, a page of n weighs 3.5 × n)', () => {
  const schema = makeExecutableSchema({
    typeDefs: /* GraphQL */ `
      type Query {
        customers(first: Int = 20): [Customer!]!
        customer(id: ID!): Customer
      }
      type Customer {
        id: ID!
      }
    `,
    resolvers: { Query: { customers: () => [], customer: (_: unknown, { id }: { id: string }) => ({ id }) } },
  });

  let counted: ReturnType<typeof countedValidate>;
  let server: ApolloServer;
  async function startServer(cache: VerdictCacheBounds = ROOMY): Promise<void> {
    await server?.stop();
    counted = countedValidate();
    server = new ApolloServer({ schema, plugins: [costLimitPlugin(100, { cache, validate: counted.validate })] });
    await server.start();
  }
  afterAll(() => server.stop());

  /** The error messages of one execution ([] when it ran). */
  async function run(query: string, variables?: Record<string, unknown>, operationName?: string): Promise<string[]> {
    const response = await server.executeOperation({ query, ...(variables ? { variables } : {}), ...(operationName ? { operationName } : {}) });
    if (response.body.kind !== 'single') throw new Error('expected a single result');
    return (response.body.singleResult.errors ?? []).map((error) => error.message);
  }

  const PAGE = 'query Page($n: Int!, $id: ID!) { customers(first: $n) { id } customer(id: $id) { id } }';
  /** A page of 28 and one customer (PAGE), or a page of 29 alone. */
  const OVER = ['Query Cost limit of 100 exceeded, found 101.5.'];

  test('a repeated operation with the same list sizes is validated once, whatever its other variables', async () => {
    await startServer();
    for (const id of ['a', 'b', 'c']) expect(await run(PAGE, { n: 27, id })).toEqual([]);
    expect(counted.calls).toBe(1);
  });

  test.each([
    ['passing (27 customers, cost 98)', 27, []],
    ['refused (28 customers, cost 101.5)', 28, OVER],
  ])('a cache hit gives the verdict of the miss: %s', async (_case, n, expected) => {
    await startServer();
    expect(await run(PAGE, { n, id: 'a' })).toEqual(expected);
    expect(await run(PAGE, { n, id: 'b' })).toEqual(expected);
    expect(counted.calls).toBe(1);
  });

  test('each list size is judged on its own: 27 passes, 28 is refused, and each again from the cache', async () => {
    await startServer();
    const verdicts = [];
    for (const n of [27, 28, 27, 28]) verdicts.push(await run(PAGE, { n, id: 'a' }));
    expect(verdicts).toEqual([[], OVER, [], OVER]);
    expect(counted.calls).toBe(2);
  });

  test("an absent or null size takes the operation's default (29, refused) from the cache; 28 is judged apart", async () => {
    await startServer();
    const DEFAULTED = 'query($n: Int = 29) { customers(first: $n) { id } }';
    expect(await run(DEFAULTED)).toEqual(OVER);
    expect(await run(DEFAULTED, { n: null })).toEqual(OVER);
    expect(counted.calls).toBe(1);
    expect(await run(DEFAULTED, { n: 28 })).toEqual([]);
    expect(counted.calls).toBe(2);
  });

  test('two operations of one text are judged apart: their variable defaults differ', async () => {
    await startServer();
    const TWO = 'query Small($n: Int = 1) { customers(first: $n) { id } } query Large($n: Int = 29) { customers(first: $n) { id } }';
    const verdicts = [];
    for (const name of ['Small', 'Large', 'Small', 'Large']) verdicts.push(await run(TWO, undefined, name));
    // armor weighs every operation of the document with the chosen operation's variable defaults bound in all of them.
    expect(verdicts).toEqual([[], OVER, [], OVER]);
    expect(counted.calls).toBe(2);
  });

  test('a flood of distinct list sizes evicts: with room for 3 verdicts, the oldest of 4 is validated again', async () => {
    await startServer({ ...ROOMY, maxEntries: 3 });
    for (const n of [1, 2, 3, 4]) await run(PAGE, { n, id: 'a' });
    expect(counted.calls).toBe(4);
    await run(PAGE, { n: 4, id: 'b' });
    expect(counted.calls).toBe(4);
    await run(PAGE, { n: 1, id: 'b' });
    expect(counted.calls).toBe(5);
  });
});

describe('through the hub (maxAliases 3, maxCost 1000), a repeated request gets the same answer', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ people: 30, config: (config) => ({ ...config, limits: { maxAliases: 3, maxCost: 1000 } }) });
  });
  afterAll(() => t.close());

  /** The request's answers, sent twice; each request's own ID left out. */
  async function twice(query: string, variables?: Record<string, unknown>) {
    const responses = [];
    for (let i = 0; i < 2; i++) {
      t.resetStats();
      const { status, data, errors } = await t.graphql(query, { variables });
      const withoutRequestId = errors?.map(({ extensions: { requestId: _requestId, ...extensions } = {}, ...error }) => ({ ...error, extensions }));
      responses.push({ status, data, errors: withoutRequestId, upstream: t.systems.totalRequests() });
    }
    return responses;
  }

  const PAGE = 'query($n: Int!) { customers(first: $n) { edges { node { id } } } }';

  test('a page of 77 customers (cost 991.375) is served both times', async () => {
    const [first, second] = await twice(PAGE, { n: 77 });
    expect(first!.errors).toBeUndefined();
    expect(first!.data.customers.edges).toHaveLength(30);
    expect(second).toEqual(first);
  });

  test('a page of 78 (cost 1004.25) is refused both times, before any upstream call', async () => {
    const [first, second] = await twice(PAGE, { n: 78 });
    expect(first).toEqual({ status: 400, data: undefined, upstream: 0, errors: [{ message: 'Query Cost limit of 1000 exceeded, found 1004.25.', extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'maxCost' }) }] });
    expect(second).toEqual(first);
  });

  test('an alias bomb is refused by the guard both times', async () => {
    const [first, second] = await twice('{ a: sources { name } b: sources { name } c: sources { name } d: sources { name } }');
    expect(first).toEqual({ status: 400, data: undefined, upstream: 0, errors: [{ message: 'Aliases limit of 3 exceeded, found 4.', extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit: 'maxAliases' } }] });
    expect(second).toEqual(first);
  });
});
