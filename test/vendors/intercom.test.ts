// The simulated Intercom contacts API: pages.next.starting_after, POST search over a query tree, Intercom-Version, error lists, 429.
import { describe, expect, test } from 'vitest';
import { INTERCOM_TEST_TOKEN, createIntercomServer } from '../../src/demo/vendors/intercom.js';
import { call, manualClock, serveVendor, vendorData } from './helpers.js';

const intercom = serveVendor(createIntercomServer(vendorData));
const headers = { authorization: `Bearer ${INTERCOM_TEST_TOKEN}`, 'intercom-version': '2.11' };
const api = (path: string, body?: unknown) => call(`${intercom.url}${path}`, { headers, ...(body !== undefined ? { body } : {}) });

describe('Intercom contacts', () => {
  test('pages every contact with starting_after until pages.next is absent', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const { status, body } = await api(`/contacts?per_page=150${after ? `&starting_after=${after}` : ''}`);
      expect(status).toBe(200);
      expect(body).toMatchObject({ type: 'list', total_count: intercom.customers.length, pages: { type: 'pages', per_page: 150 } });
      seen.push(...body.data.map((c: { id: string }) => c.id));
      if (!body.pages.next) break;
      after = body.pages.next.starting_after;
    }
    expect(seen).toEqual(intercom.customers.map((c) => c.id));
    expect((await api('/contacts?per_page=151')).body).toMatchObject({ type: 'error.list', errors: [{ code: 'parameter_invalid' }] });
  });

  test('search matches a query tree; = ignores the case of an email', async () => {
    const holder = vendorData.holders.intercom.find((h) => h.email && h.phone)!;
    const id = intercom.customers.find((c) => c.personId === holder.person.personId)!.id;
    const simple = await api('/contacts/search', { query: { field: 'email', operator: '=', value: holder.person.email.toUpperCase() } });
    expect(simple.body).toMatchObject({ type: 'list', total_count: 1, data: [{ id, type: 'contact' }] });
    const nested = await api('/contacts/search', { query: { operator: 'OR', value: [{ field: 'phone', operator: '=', value: holder.person.phone }, { field: 'email', operator: '=', value: 'nobody@nowhere.example' }] } });
    expect(nested.body.data.map((c: { id: string }) => c.id)).toEqual([id]);
    expect((await api('/contacts/search', { query: { field: 'shoe_size', operator: '=', value: 1 } })).status).toBe(400);
    expect((await api(`/contacts/${id}`)).body.id).toBe(id);
    expect((await api('/contacts/000000000000000000000000')).body).toMatchObject({ type: 'error.list', errors: [{ code: 'not_found' }] });
  });

  test('refuses a wrong token with 401 and an unknown Intercom-Version with 400', async () => {
    const wrong = await call(`${intercom.url}/contacts`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ type: 'error.list', errors: [{ code: 'unauthorized', message: 'Access Token Invalid' }] });
    const version = await call(`${intercom.url}/contacts`, { headers: { ...headers, 'intercom-version': '1.0' } });
    expect(version.status).toBe(400);
    expect(version.body.errors[0].code).toBe('intercom_version_invalid');
  });

  test('answers 429 rate_limit_exceeded with X-RateLimit-Reset and no Retry-After', async () => {
    const clock = manualClock();
    const limited = createIntercomServer(vendorData, { requestsPerSecond: 1, now: clock.now });
    await limited.listen(0);
    try {
      expect((await call(`${limited.url}/contacts?per_page=1`, { headers })).status).toBe(200);
      const refused = await call(`${limited.url}/contacts?per_page=1`, { headers });
      expect(refused.status).toBe(429);
      expect(refused.body.errors[0].code).toBe('rate_limit_exceeded');
      expect(refused.headers.get('x-ratelimit-reset')).toBe(String(Math.ceil((clock.now() + 1000) / 1000)));
      expect(refused.headers.get('retry-after')).toBeNull();
    } finally {
      await limited.close();
    }
  });
});
