// Source auth over real HTTP: OAuth2 client credentials (one token fetch however many wait, renewed before expiry and once on a 401) and API keys in the query.
import { pino } from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import { SourceAuthFailedError, SourceBadResponseError, SourceUnavailableError } from '../../src/sources/errors.js';
import { SourceHttpClient, type CallObserver, type UpstreamCall } from '../../src/sources/http-client.js';
import { apiSource, startLoopbackSource, type LoopbackSource, type ReceivedRequest } from '../support/loopback-source.js';

const CLIENT_ID = 'hub-client';
const CLIENT_SECRET = 's3cr:t%with+odd chars';
const silent = pino({ level: 'silent' });

let server: LoopbackSource | undefined;
let client: SourceHttpClient | undefined;
afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

/** A token endpoint at `/oauth/token` issuing `token-1`, `token-2`, … and an API at `/contacts/:id` that accepts only the tokens in `valid`. */
async function oauthSource(options: { expiresIn?: number; tokenReply?: (request: ReceivedRequest) => { status: number; body: unknown } | undefined; refuseEveryToken?: boolean } = {}) {
  let issued = 0;
  const valid = new Set<string>();
  const source = await startLoopbackSource((request) => {
    if (request.url === '/oauth/token') {
      const override = options.tokenReply?.(request);
      if (override) return override;
      issued += 1;
      const token = `token-${issued}`;
      valid.add(token);
      return { body: { access_token: token, token_type: 'bearer', expires_in: options.expiresIn ?? 3600 } };
    }
    const token = request.headers.authorization?.replace(/^Bearer /, '') ?? '';
    if (options.refuseEveryToken || !valid.has(token)) return { status: 401, body: { error: 'invalid_token' } };
    return { body: { id: request.url.split('/').pop() } };
  });
  return { source, valid, revoke: (token: string) => valid.delete(token) };
}

function oauthClient(baseUrl: string, auth: Record<string, unknown> = {}, now?: () => number) {
  const config = apiSource(baseUrl, {
    auth: { type: 'oauth2ClientCredentials', tokenUrl: `${baseUrl}/oauth/token`, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, scope: 'contacts.read', ...auth },
    resilience: { retry: { maxRetries: 0 } },
  });
  return new SourceHttpClient('api', config, { logger: silent, ...(now ? { now } : {}) });
}

const read = (c: SourceHttpClient, id: number | string, observe?: CallObserver) =>
  c.requestJson({ method: 'GET', path: `/contacts/${id}`, operation: 'contact.single', keys: 1, ...(observe ? { observe } : {}) });
const tokenRequests = (s: LoopbackSource) => s.count('/oauth/token');
const apiRequests = (s: LoopbackSource) => s.count('/contacts/');

describe('OAuth2 client credentials', () => {
  test('20 concurrent requests wait for one token request (RFC 6749 §4.4, form-encoded, HTTP Basic), then all carry it', async () => {
    const oauth = await oauthSource();
    server = oauth.source;
    client = oauthClient(server.url);
    const observed: UpstreamCall[] = [];
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => read(client!, i, (call) => observed.push(call))));
    expect(results).toHaveLength(20);
    expect(tokenRequests(server)).toBe(1);
    // Explain and metrics see the token request once, beside the 20 reads.
    expect(observed.filter((c) => c.operation === 'oauth2.token')).toEqual([expect.objectContaining({ source: 'api', keys: 0, status: 200 })]);
    expect(observed.filter((c) => c.operation === 'contact.single')).toHaveLength(20);
    expect(apiRequests(server)).toBe(20);
    const tokenRequest = server.received.find((r) => r.url === '/oauth/token')!;
    expect(tokenRequest.method).toBe('POST');
    expect(tokenRequest.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(tokenRequest.body))).toEqual({ grant_type: 'client_credentials', scope: 'contacts.read' });
    // RFC 6749 §2.3.1: id and secret form-urlencoded, then Base64.
    const [id, secret] = Buffer.from(tokenRequest.headers.authorization!.replace(/^Basic /, ''), 'base64').toString().split(':');
    expect([id, secret].map((part) => decodeURIComponent(part!.replace(/\+/g, ' ')))).toEqual([CLIENT_ID, CLIENT_SECRET]);
    expect(server.received.filter((r) => r.url.startsWith('/contacts/')).every((r) => r.headers.authorization === 'Bearer token-1')).toBe(true);
  });

  test('authStyle body sends the client id and secret as form fields, with the audience, and no Authorization header', async () => {
    const oauth = await oauthSource();
    server = oauth.source;
    client = oauthClient(server.url, { authStyle: 'body', audience: 'https://api.example.com' });
    await read(client, 1);
    const tokenRequest = server.received.find((r) => r.url === '/oauth/token')!;
    expect(tokenRequest.headers.authorization).toBeUndefined();
    expect(Object.fromEntries(new URLSearchParams(tokenRequest.body))).toEqual({
      grant_type: 'client_credentials',
      scope: 'contacts.read',
      audience: 'https://api.example.com',
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
    });
  });

  test('the token is reused until refreshBeforeExpiryMs before expires_in runs out, then fetched once more', async () => {
    const oauth = await oauthSource({ expiresIn: 3600 });
    server = oauth.source;
    let now = 1_700_000_000_000;
    client = oauthClient(server.url, { refreshBeforeExpiryMs: 60_000 }, () => now);
    await read(client, 1);
    now += 3_540_000 - 1; // 1 ms before the refresh point (expiry less 60 s)
    await read(client, 2);
    expect(tokenRequests(server)).toBe(1);
    now += 1;
    await Promise.all([read(client, 3), read(client, 4), read(client, 5)]);
    expect(tokenRequests(server)).toBe(2);
    expect(server.received.filter((r) => r.url.startsWith('/contacts/')).map((r) => r.headers.authorization)).toEqual([
      'Bearer token-1',
      'Bearer token-1',
      'Bearer token-2',
      'Bearer token-2',
      'Bearer token-2',
    ]);
  });

  test('a token revoked early: 10 concurrent requests get 401 once, one new token is fetched, each request is sent once more and served', async () => {
    const oauth = await oauthSource();
    server = oauth.source;
    client = oauthClient(server.url);
    await read(client, 0);
    oauth.revoke('token-1');
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => read(client!, i + 1)));
    expect(results).toHaveLength(10);
    expect(tokenRequests(server)).toBe(2);
    // 1 before the revocation, 10 refused, 10 sent again.
    expect(apiRequests(server)).toBe(21);
    // A refusal a fresh token cured is routine (rotation, revocation): the credentials never counted as failing.
    expect(client.health()).toMatchObject({ auth: 'OK', authError: null });
  });

  test('a token the source keeps refusing: one refresh, then SOURCE_AUTH_FAILED; two requests, no retries', async () => {
    // The API accepts no token at all (e.g. the client lacks a scope the source wants); retries are on, as by default.
    server = (await oauthSource({ refuseEveryToken: true })).source;
    client = new SourceHttpClient(
      'api',
      apiSource(server.url, { auth: { type: 'oauth2ClientCredentials', tokenUrl: `${server.url}/oauth/token`, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET } }),
      { logger: silent },
    );
    const error = await read(client, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceAuthFailedError);
    expect(error).toMatchObject({ code: 'SOURCE_AUTH_FAILED', status: 401, retryable: false });
    expect(tokenRequests(server)).toBe(2);
    expect(apiRequests(server)).toBe(2);
    expect(client.health()).toMatchObject({ auth: 'FAILED', authError: 'contact.single: HTTP 401' });
  });

  test.each([
    { name: 'invalid_client (400) is SOURCE_AUTH_FAILED, and no API request is sent', status: 400, body: { error: 'invalid_client' }, type: SourceAuthFailedError, detail: 'token endpoint: HTTP 400 invalid_client' },
    { name: 'a 401 from the token endpoint is SOURCE_AUTH_FAILED', status: 401, body: { error: 'invalid_client' }, type: SourceAuthFailedError, detail: 'token endpoint: HTTP 401 invalid_client' },
    { name: 'a 503 from the token endpoint is SOURCE_UNAVAILABLE, retryable', status: 503, body: 'down', type: SourceUnavailableError, detail: 'token endpoint: HTTP 503' },
    { name: 'a 200 without access_token is SOURCE_BAD_RESPONSE', status: 200, body: { token_type: 'bearer' }, type: SourceBadResponseError, detail: 'token endpoint: no access_token in the response' },
    { name: 'a token_type other than Bearer is SOURCE_BAD_RESPONSE', status: 200, body: { access_token: 'x', token_type: 'mac' }, type: SourceBadResponseError, detail: 'token endpoint: token_type "mac" is not Bearer' },
  ])('token endpoint failure: $name', async ({ status, body, type, detail }) => {
    const oauth = await oauthSource({ tokenReply: () => ({ status, body }) });
    server = oauth.source;
    client = oauthClient(server.url);
    const observed: UpstreamCall[] = [];
    const error = await read(client, 1, (call) => observed.push(call)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(type);
    expect(observed).toEqual([expect.objectContaining({ operation: 'oauth2.token', status, errorCode: (error as SourceAuthFailedError).code })]);
    expect((error as SourceAuthFailedError).detail).toBe(detail);
    expect(JSON.stringify(client.health())).not.toContain(CLIENT_SECRET);
    // Nothing reached the API: no request counted against it; a refused client is a refused credential.
    expect(client.health()).toMatchObject({ requests: 0, auth: type === SourceAuthFailedError ? 'FAILED' : 'UNTESTED' });
    expect(tokenRequests(server)).toBe(1);
    expect(apiRequests(server)).toBe(0);
  });
});

describe('API key in a query parameter', () => {
  test('every request carries the key beside its own parameters, and no auth header', async () => {
    server = await startLoopbackSource(() => ({ body: { data: [] } }));
    client = new SourceHttpClient('api', apiSource(server.url, { auth: { type: 'apiKeyQuery', param: 'api_key', value: 'k&y=1' } }), { logger: silent });
    await client.requestJson({ method: 'GET', path: '/contacts', query: { limit: '100' }, operation: 'contact.list', keys: 0 });
    await client.requestJson({ method: 'GET', path: '/contacts/7', operation: 'contact.single', keys: 1 });
    expect(server.received.map((r) => r.url)).toEqual(['/contacts?limit=100&api_key=k%26y%3D1', '/contacts/7?api_key=k%26y%3D1']);
    expect(server.received.map((r) => r.headers.authorization)).toEqual([undefined, undefined]);
  });
});

describe('static headers', () => {
  test('every request carries the source\'s headers (GET and JSON POST alike) beside its credentials; the auth\'s own header wins', async () => {
    server = await startLoopbackSource(() => ({ body: { data: [] } }));
    const config = apiSource(server.url, {
      auth: { type: 'bearer', token: 'real-token' },
      headers: { 'Intercom-Version': '2.11', 'X-Team': 'support', Authorization: 'Bearer stale' },
    });
    client = new SourceHttpClient('api', config, { logger: silent });
    await client.requestJson({ method: 'GET', path: '/contacts', operation: 'contact.list', keys: 0 });
    await client.requestJson({ method: 'POST', path: '/contacts/search', body: { query: {} }, operation: 'contact.search', keys: 0 });
    expect(server.received.map((r) => [r.headers['intercom-version'], r.headers['x-team'], r.headers.authorization])).toEqual([
      ['2.11', 'support', 'Bearer real-token'],
      ['2.11', 'support', 'Bearer real-token'],
    ]);
    expect(server.received[1]!.headers['content-type']).toBe('application/json');
  });

  test('an OAuth2 source sends them with every token it renews, and the token endpoint never sees them', async () => {
    const oauth = await oauthSource();
    server = oauth.source;
    const config = apiSource(server.url, {
      auth: { type: 'oauth2ClientCredentials', tokenUrl: `${server.url}/oauth/token`, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
      headers: { 'X-Api-Version': '7' },
    });
    client = new SourceHttpClient('api', config, { logger: silent });
    await read(client, 1);
    oauth.revoke('token-1');
    await read(client, 2);
    expect(server.received.map((r) => [r.url, r.headers['x-api-version']])).toEqual([
      ['/oauth/token', undefined],
      ['/contacts/1', '7'],
      ['/contacts/2', '7'],
      ['/oauth/token', undefined],
      ['/contacts/2', '7'],
    ]);
  });

  test.each([
    ['Content-Type', 'the hub sets this header itself'],
    ['Host', 'the hub sets this header itself'],
    ['Bad Header', 'must be an HTTP header name (RFC 9110 token)'],
  ])('a header the hub cannot send as written (%s) is a config error at its key', (name, message) => {
    expect(() => apiSource('http://127.0.0.1:9', { headers: { [name]: 'x' } })).toThrow(message);
  });
});
