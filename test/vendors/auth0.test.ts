// The simulated Auth0 Management API: client-credentials tokens that expire, users paged with totals, lookups by email and id.
import { describe, expect, test } from 'vitest';
import { AUTH0_TEST_CLIENT_ID, AUTH0_TEST_CLIENT_SECRET, createAuth0Server } from '../../src/demo/vendors/auth0.js';
import { call, manualClock, serveVendor, vendorData } from './helpers.js';

const clock = manualClock();
const auth0 = serveVendor(createAuth0Server(vendorData, { tokenTtlSeconds: 600, now: clock.now }));

async function token(form = { grant_type: 'client_credentials', client_id: AUTH0_TEST_CLIENT_ID, client_secret: AUTH0_TEST_CLIENT_SECRET, audience: `${auth0.url}/api/v2/` }) {
  return call(`${auth0.url}/oauth/token`, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
}

describe('Auth0 Management API', () => {
  test('issues a bearer token for client credentials, and refuses a wrong secret with access_denied', async () => {
    const issued = await token();
    expect(issued.status).toBe(200);
    expect(issued.body).toMatchObject({ token_type: 'Bearer', expires_in: 600, access_token: expect.any(String) });
    const wrong = await token({ grant_type: 'client_credentials', client_id: AUTH0_TEST_CLIENT_ID, client_secret: 'nope', audience: `${auth0.url}/api/v2/` });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: 'access_denied', error_description: 'Unauthorized' });
  });

  test('pages every user with page/per_page and include_totals', async () => {
    const { access_token } = (await token()).body;
    const headers = { authorization: `Bearer ${access_token}` };
    const seen: string[] = [];
    for (let page = 0; ; page++) {
      const { body } = await call(`${auth0.url}/api/v2/users?page=${page}&per_page=100&include_totals=true`, { headers });
      expect(body).toMatchObject({ start: page * 100, limit: 100, total: auth0.customers.length });
      seen.push(...body.users.map((u: { user_id: string }) => u.user_id));
      if (body.start + body.length >= body.total) break;
    }
    expect(seen).toEqual(auth0.customers.map((c) => c.id));
    const bare = await call(`${auth0.url}/api/v2/users?per_page=2`, { headers });
    expect(bare.body.map((u: { user_id: string }) => u.user_id)).toEqual(seen.slice(0, 2));
    const one = await call(`${auth0.url}/api/v2/users/${encodeURIComponent(seen[0]!)}`, { headers });
    expect(one.body.user_id).toBe(seen[0]);
    const holder = vendorData.holders.auth0.find((h) => h.email)!;
    const byEmail = await call(`${auth0.url}/api/v2/users-by-email?email=${encodeURIComponent(holder.person.email)}`, { headers });
    expect(byEmail.body.map((u: { user_id: string }) => u.user_id)).toEqual([auth0.customers.find((c) => c.personId === holder.person.personId)!.id]);
    const q = await call(`${auth0.url}/api/v2/users?q=${encodeURIComponent(`user_id:("${seen[1]}" OR "${seen[0]}")`)}&include_totals=true`, { headers });
    expect(q.body.users.map((u: { user_id: string }) => u.user_id)).toEqual(seen.slice(0, 2));
  });

  test('refuses an expired token with 401, and one never issued', async () => {
    const { access_token } = (await token()).body;
    const headers = { authorization: `Bearer ${access_token}` };
    expect((await call(`${auth0.url}/api/v2/users?per_page=1`, { headers })).status).toBe(200);
    clock.advance(600_000);
    const expired = await call(`${auth0.url}/api/v2/users?per_page=1`, { headers });
    expect(expired.status).toBe(401);
    expect(expired.body).toMatchObject({ statusCode: 401, error: 'Unauthorized', message: 'Expired token received for JSON Web Token validation' });
    const forged = await call(`${auth0.url}/api/v2/users`, { headers: { authorization: 'Bearer forged' } });
    expect(forged.body.message).toBe('Invalid token');
    expect(auth0.stats().routes['POST /oauth/token']).toBe(4);
  });
});
