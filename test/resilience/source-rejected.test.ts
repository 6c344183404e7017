// A read the source refuses as sent (a 4xx other than 401, 403, 404, 408, 429): SOURCE_REJECTED with the source's own
// reason, sanitised; sent once, and never counted by the breaker, since the source is not in trouble.
import { pino } from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import { SourceError, SourceRejectedError } from '../../src/sources/errors.js';
import { SourceHttpClient } from '../../src/sources/http-client.js';
import { apiSource, startLoopbackSource, type LoopbackSource } from '../support/loopback-source.js';

const silent = pino({ level: 'silent' });

let server: LoopbackSource | undefined;
let client: SourceHttpClient | undefined;
afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

/** A client over a source answering every request with `status` and `body`; retries on, breaker opening after 4 failures of 4. */
async function answering(status: number, body: unknown) {
  server = await startLoopbackSource(() => ({ status, body }));
  client = new SourceHttpClient(
    'api',
    apiSource(server.url, {
      resilience: { retry: { maxRetries: 2, initialDelayMs: 1, maxDelayMs: 2 }, circuitBreaker: { minimumRequests: 4, failureRate: 0.5, windowMs: 60_000 } },
    }),
    { logger: silent },
  );
  return client;
}

const list = (c: SourceHttpClient) => c.requestJson({ method: 'GET', path: '/contacts', query: { per_page: '500' }, operation: 'contact.list', keys: 0 });

async function failure(run: Promise<unknown>): Promise<SourceError> {
  const error = await run.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SourceError);
  return error as SourceError;
}

describe('a read the source refuses as sent', () => {
  test("is SOURCE_REJECTED with the vendor's reason, sanitised, and is sent once", async () => {
    const c = await answering(400, { type: 'error.list', errors: [{ code: 'parameter_invalid', message: 'per_page must be between 1 and 150, got 500; ask jane.doe@example.com or see https://internal.example/x' }] });
    const error = await failure(list(c));
    expect(error).toBeInstanceOf(SourceRejectedError);
    expect({ code: error.code, retryable: error.retryable, status: (error as SourceRejectedError).status }).toEqual({ code: 'SOURCE_REJECTED', retryable: false, status: 400 });
    expect(error.publicMessage).toBe('source "api" refused the read (HTTP 400): per_page must be between 1 and 150, got 500; ask <email> or see <url>');
    expect(server!.received).toHaveLength(1);
  });

  test('twenty refused reads all reach the source: the breaker does not count them', async () => {
    const c = await answering(422, { message: 'unknown filter' });
    const errors = await Promise.all(Array.from({ length: 20 }, () => failure(list(c))));
    expect(new Set(errors.map((e) => e.code))).toEqual(new Set(['SOURCE_REJECTED']));
    expect(server!.received).toHaveLength(20);
  });

  test('the same twenty reads against a source failing with 500 open the circuit (what the test above rules out)', async () => {
    const c = await answering(500, { message: 'boom' });
    const errors: SourceError[] = [];
    for (let i = 0; i < 20; i++) errors.push(await failure(list(c)));
    expect(errors.at(-1)!.code).toBe('CIRCUIT_OPEN');
    expect(server!.received.length).toBeLessThan(20);
  });

  test.each([
    [400, 'SOURCE_REJECTED'],
    [405, 'SOURCE_REJECTED'],
    [409, 'SOURCE_REJECTED'],
    [422, 'SOURCE_REJECTED'],
    [401, 'SOURCE_AUTH_FAILED'],
    [403, 'SOURCE_AUTH_FAILED'],
    [404, 'SOURCE_UNAVAILABLE'],
    [408, 'SOURCE_UNAVAILABLE'],
    [429, 'SOURCE_RATE_LIMITED'],
    [503, 'SOURCE_UNAVAILABLE'],
  ])('HTTP %i on a read is %s', async (status, code) => {
    const c = await answering(status, { message: 'no' });
    expect((await failure(list(c))).code).toBe(code);
  });

  test('a refusal without a readable message says its status', async () => {
    const c = await answering(400, '<html>Bad Request</html>');
    expect((await failure(list(c))).publicMessage).toBe('source "api" refused the read (HTTP 400): HTTP 400');
  });
});
