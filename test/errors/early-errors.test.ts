// Requests the hub refuses before GraphQL runs (credentials, CORS, the body, the limits, per-caller limits, CSRF
// prevention) answer as GraphQL over HTTP asks: the media type the client accepts, a 4xx status from the error
// catalogue, no `data`, and the request id of the `x-request-id` header in every error.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { HubConfig } from '../../src/config/schema.js';
import { ERROR_CATALOGUE, type ErrorCode } from '../../src/errors/catalogue.js';
import { errorMediaType } from '../../src/server/http-errors.js';
import { authSection, keyHeader } from '../auth/auth-fixture.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

const ALLOWED_ORIGIN = 'http://app.rosetta.test';
const GRAPHQL_RESPONSE = 'application/graphql-response+json; charset=utf-8';
const JSON_MEDIA = 'application/json; charset=utf-8';

let hub: TestHub;
/** Every caller of this hub may start half a request per second: its first request is already over the rate. */
let throttled: TestHub;

beforeAll(async () => {
  const limited = (perSecond: number | null) => (c: HubConfig) => ({
    ...c,
    auth: authSection(null),
    server: { ...c.server, cors: { origins: [ALLOWED_ORIGIN] } },
    limits: { ...c.limits, maxDepth: 6, maxCost: 1_000, maxBodyBytes: 4_096, maxUpstreamCalls: 5, ...(perSecond === null ? {} : { perCaller: { maxConcurrent: 10, requestsPerSecond: perSecond } }) },
  });
  [hub, throttled] = await Promise.all([startTestHub({ people: 20, seed: 3, config: limited(null) }), startTestHub({ people: 20, seed: 3, config: limited(0.5) })]);
});
afterAll(async () => {
  await hub?.close();
  await throttled?.close();
});

const post = (body: string, headers: Record<string, string> = {}): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json', ...keyHeader('support'), ...headers }, body });
const query = (text: string) => JSON.stringify({ query: text });

type Send = () => { hub: TestHub; path?: string; init: RequestInit };

/** Each refusal: what is sent, to which hub, and the code (and for the query limits, which limit) it must come back with. */
const REFUSALS: [name: string, code: ErrorCode, send: Send, limit?: string][] = [
  ['no credentials', 'UNAUTHENTICATED', () => ({ hub, init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: query('{ sources { name } }') } })],
  ['a wrong API key', 'UNAUTHENTICATED', () => ({ hub, init: post(query('{ sources { name } }'), { 'x-api-key': 'rk_not_a_key_of_this_hub_0000' }) })],
  ['a preflight from an origin not allowed', 'CORS_ORIGIN_NOT_ALLOWED', () => ({ hub, init: { method: 'OPTIONS', headers: { origin: 'http://evil.test', 'access-control-request-method': 'POST' } } })],
  ['a body over limits.maxBodyBytes', 'PAYLOAD_TOO_LARGE', () => ({ hub, init: post(query(`{ sources { name } } # ${'x'.repeat(5_000)}`)) })],
  ['a body that is not JSON', 'BAD_REQUEST', () => ({ hub, init: post('{"query": "{ sources { name } }"') })],
  ['a body nesting 100 levels deep', 'BAD_REQUEST', () => ({ hub, init: post(`{"query":"{ sources { name } }","variables":{"a":${'['.repeat(100)}${']'.repeat(100)}}}`) })],
  ['a GET without a preflight header (CSRF prevention)', 'BAD_REQUEST', () => ({ hub, path: '?query=%7B%20sources%20%7B%20name%20%7D%20%7D', init: { method: 'GET', headers: keyHeader('support') } })],
  // Refused by the HTTP guard before Apollo parses it.
  ['a query deeper than limits.maxDepth', 'GRAPHQL_VALIDATION_FAILED', () => ({ hub, init: post(query('{ customers(first: 1) { edges { node { orders(first: 1) { lineItems { unitPrice { formatted } } } } } } }')) }), 'maxDepth'],
  // Refused by an Apollo plugin, once the list sizes are known.
  ['a page whose cost is over limits.maxCost', 'GRAPHQL_VALIDATION_FAILED', () => ({ hub, init: post(query('{ customers(first: 78) { edges { node { id } } } }')) }), 'maxCost'],
  ['a query estimated over limits.maxUpstreamCalls', 'UPSTREAM_BUDGET_EXCEEDED', () => ({ hub, init: post(query('{ customers(first: 10) { edges { node { profile { name } } } } }')) })],
  ['a caller over limits.perCaller', 'RATE_LIMITED', () => ({ hub: throttled, init: post(query('{ sources { name } }')) })],
];

async function refusal(send: Send, accept: string, requestId?: string) {
  const { hub: target, path = '', init } = send();
  const headers = { ...(init.headers as Record<string, string>), accept, ...(requestId ? { 'x-request-id': requestId } : {}) };
  const response = await fetch(`${target.hub.url}${path}`, { ...init, headers });
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type'), requestId: response.headers.get('x-request-id'), body: JSON.parse(text) as { data?: unknown; errors: { message: string; extensions: Record<string, unknown> }[] } };
}

describe.each([
  ['application/graphql-response+json', GRAPHQL_RESPONSE],
  ['application/json', JSON_MEDIA],
  ['application/graphql-response+json, application/json;q=0.9', GRAPHQL_RESPONSE],
])('Accept: %s', (accept, contentType) => {
  test.each(REFUSALS)('%s: %s with its catalogue status, no data, the request id in every error', async (_name, code, send, limit) => {
    const answer = await refusal(send, accept);
    expect(answer.status).toBe(ERROR_CATALOGUE[code].status);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.contentType).toBe(contentType);
    expect(answer.body).not.toHaveProperty('data');
    expect(answer.body.errors.length).toBeGreaterThan(0);
    expect(answer.requestId).toMatch(/^[0-9a-f-]{36}$/);
    for (const error of answer.body.errors) expect(error.extensions, error.message).toMatchObject({ code, requestId: answer.requestId, ...(limit ? { limit } : {}) });
  });
});

test.each(REFUSALS)("%s: the caller's x-request-id comes back in the header and in the error", async (_name, code, send) => {
  const answer = await refusal(send, 'application/graphql-response+json', `trace-${code.toLowerCase()}`);
  expect(answer.requestId).toBe(`trace-${code.toLowerCase()}`);
  expect(answer.body.errors[0]!.extensions).toMatchObject({ code, requestId: `trace-${code.toLowerCase()}` });
});

test.each([
  [undefined, JSON_MEDIA],
  ['*/*', JSON_MEDIA],
  ['text/html', JSON_MEDIA],
  ['application/graphql-response+json', GRAPHQL_RESPONSE],
  ['application/json, application/graphql-response+json', JSON_MEDIA],
  ['application/graphql-response+json;q=0.5, application/json', JSON_MEDIA],
  ['application/*;q=0.9, application/graphql-response+json', GRAPHQL_RESPONSE],
  ['application/graphql-response+json;q=0, */*', JSON_MEDIA],
])('Accept %s: an early error is sent as %s', (accept, expected) => {
  expect(errorMediaType(accept)).toBe(expected);
});
