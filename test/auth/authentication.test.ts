// With auth configured, only a valid API key or JWT gets in; everything else is a 401 with no data, before any upstream call.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub-harness.js';
import { AUDIENCE, bearer, createJwtIssuer, ISSUER, keyHeader, withAuth, type JwtIssuer } from './auth-fixture.js';

let t: TestHub;
let issuer: JwtIssuer;
let customerId: string;
const PROFILE_QUERY = 'query($id: ID!) { customer(id: $id) { id profile { name } } }';

beforeAll(async () => {
  issuer = await createJwtIssuer();
  t = await startTestHub({ people: 40, config: withAuth(issuer) });
  customerId = (await t.store.pageCustomers(1, null)).customers[0]!.customerId;
});
afterAll(() => t.close());

async function ask(headers: Record<string, string>) {
  t.resetStats();
  const response = await t.graphql(PROFILE_QUERY, { variables: { id: customerId }, headers });
  return { ...response, upstream: t.systems.totalRequests() };
}

describe('API keys', () => {
  test('a valid key for each role is let in', async () => {
    for (const role of ['support', 'marketing', 'analytics', 'admin'] as const) {
      const response = await ask(keyHeader(role));
      expect(response.status, role).toBe(200);
      expect(response.data.customer.id).toBe(customerId);
    }
  });

  test.each([
    ['a missing key', {}, 'credentials are required'],
    ['a wrong key', { 'x-api-key': 'rk_test_support_9f3c1e0a7b5d4c2e8f6b' }, 'API key is not valid'],
    ['an empty key', { 'x-api-key': '' }, 'credentials are required'],
    ['a key and a bearer token at once', { 'x-api-key': 'rk_test_admin_8c1f4a7e2d5b9c3f6a0e', authorization: 'Bearer x.y.z' }, 'not both'],
  ])('%s gets 401, no data and no upstream call', async (_case, headers, message) => {
    const response = await ask(headers);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('Bearer');
    expect(response.data).toBeUndefined();
    expect(response.errors).toEqual([{ message: expect.stringContaining(message), extensions: { code: 'UNAUTHENTICATED', requestId: expect.any(String) } }]);
    expect(response.upstream).toBe(0);
  });

  test('an unauthenticated request is refused before its body is read, however large it says it is', async () => {
    const response = await fetch(t.hub.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `{ __typename }`, variables: { pad: 'x'.repeat(3 * 1024 * 1024) } }) });
    expect(response.status).toBe(401);
  });
});

describe('JWT bearer tokens', () => {
  test('a token signed by the published key, for this issuer and audience, is let in with its roles', async () => {
    const response = await ask(bearer(await issuer.sign({ roles: ['analytics'] })));
    expect(response.status).toBe(200);
    expect(response.data.customer.profile.name).toBeNull();
    expect(response.extensions?.masked).toEqual([{ path: 'customer.profile.name', requires: 'pii:name' }]);
  });

  test('roles may come as one space-separated string, as some issuers send scopes', async () => {
    const response = await ask(bearer(await issuer.sign({ roles: 'analytics support' })));
    expect(response.status).toBe(200);
    expect(response.data.customer.profile.name).not.toBeNull();
  });

  test.each<[string, () => Promise<string>, string]>([
    ['an expired token', () => issuer.sign({ exp: Math.floor(Date.now() / 1000) - 60 }), 'expired'],
    ['a token for another audience', () => issuer.sign({ aud: 'some-other-api' }), '"aud" claim'],
    ['a token from another issuer', () => issuer.sign({ iss: 'https://evil.example' }), '"iss" claim'],
    ['a token signed by a key not in the JWKS (same key ID)', () => issuer.sign({}, { key: issuer.foreignKey }), 'not valid'],
    ['a token naming a key the JWKS does not have', () => issuer.sign({}, { kid: 'unknown-key' }), 'not valid'],
    ['a token without an expiry', () => issuer.sign({}, { omitExp: true }), '"exp" claim'],
    ['a token not yet valid', () => issuer.sign({ nbf: Math.floor(Date.now() / 1000) + 600 }), '"nbf" claim'],
    ['an unsigned token (alg none)', async () => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'x', roles: ['admin'], iss: ISSUER, aud: AUDIENCE, exp: 9999999999 })).toString('base64url')}.`, 'not valid'],
    ['garbage', async () => 'not-a-jwt', 'not valid'],
  ])('%s gets 401 and no data', async (_case, token, message) => {
    const response = await ask(bearer(await token()));
    expect(response.status).toBe(401);
    expect(response.data).toBeUndefined();
    expect(response.errors).toEqual([{ message: expect.stringContaining(message), extensions: { code: 'UNAUTHENTICATED', requestId: expect.any(String) } }]);
    expect(response.upstream).toBe(0);
  });

  test('a valid token whose roles this hub does not know gets 403 and no data', async () => {
    const response = await ask(bearer(await issuer.sign({ roles: ['superuser'] })));
    expect(response.status).toBe(403);
    expect(response.data).toBeUndefined();
    expect(response.errors).toEqual([{ message: 'the credentials grant no role of this hub', extensions: { code: 'FORBIDDEN', requestId: expect.any(String) } }]);
  });

  test('an Authorization header that is not a bearer token gets 401', async () => {
    const response = await ask({ authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` });
    expect(response.status).toBe(401);
  });
});

describe('what stays open', () => {
  test('/healthz needs no credentials', async () => {
    const response = await fetch(t.hub.url.replace('/graphql', '/healthz'));
    expect(response.status).toBe(200);
  });
});
