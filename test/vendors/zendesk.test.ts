// The simulated Zendesk Support API: cursor and offset pages, show_many, both searches, requested tickets, {email}/token auth, 429 Retry-After.
import { describe, expect, test } from 'vitest';
import { ZENDESK_TEST_EMAIL, ZENDESK_TEST_TOKEN, createZendeskServer } from '../../src/demo/vendors/zendesk.js';
import { basic, call, manualClock, serveVendor, vendorData } from './helpers.js';

const zendesk = serveVendor(createZendeskServer(vendorData));
const headers = { authorization: basic(`${ZENDESK_TEST_EMAIL}/token`, ZENDESK_TEST_TOKEN) };
const get = (pathOrUrl: string) => call(pathOrUrl.startsWith('http') ? pathOrUrl : `${zendesk.url}${pathOrUrl}`, { headers });

describe('Zendesk users', () => {
  test('cursor pagination: page[size] pages follow links.next until meta.has_more is false', async () => {
    const seen: number[] = [];
    let next: string | null = '/api/v2/users.json?page[size]=100';
    while (next) {
      const { status, body }: { status: number; body: any } = await get(next);
      expect(status).toBe(200);
      seen.push(...body.users.map((u: { id: number }) => u.id));
      expect(body.links.next === null).toBe(!body.meta.has_more);
      next = body.links.next;
    }
    expect(seen.map(String)).toEqual(zendesk.customers.map((c) => c.id));
    expect((await get('/api/v2/users.json?page[size]=101')).status).toBe(400);
  });

  test('offset pagination: next_page is a full URL until the last page, with the count', async () => {
    const seen: number[] = [];
    let next: string | null = '/api/v2/users.json?per_page=100';
    while (next) {
      const { body }: { body: any } = await get(next);
      expect(body.count).toBe(zendesk.customers.length);
      seen.push(...body.users.map((u: { id: number }) => u.id));
      next = body.next_page;
    }
    expect(seen.map(String)).toEqual(zendesk.customers.map((c) => c.id));
  });

  test('show_many returns the users it knows, leaves unknown IDs out, and takes at most 100', async () => {
    const ids = zendesk.customers.slice(0, 3).map((c) => c.id);
    const { body } = await get(`/api/v2/users/show_many.json?ids=${[...ids, '1'].join(',')}`);
    expect(body.users.map((u: { id: number }) => String(u.id))).toEqual(ids);
    expect((await get(`/api/v2/users/show_many.json?ids=${Array.from({ length: 101 }, (_, i) => i + 1).join(',')}`)).status).toBe(400);
  });

  test('finds a user by email through users/search and the unified search, and reads their requested tickets', async () => {
    const holder = vendorData.holders.zendesk.find((h) => h.email && h.children > 0)!;
    const id = Number(zendesk.customers.find((c) => c.personId === holder.person.personId)!.id);
    const viaUsers = await get(`/api/v2/users/search.json?query=${encodeURIComponent(`email:${holder.person.email}`)}`);
    expect(viaUsers.body.users.map((u: { id: number }) => u.id)).toEqual([id]);
    const viaSearch = await get(`/api/v2/search.json?query=${encodeURIComponent(`type:user email:${holder.person.email.toUpperCase()}`)}`);
    expect(viaSearch.body.results).toEqual([expect.objectContaining({ id, result_type: 'user' })]);
    const tickets = await get(`/api/v2/users/${id}/tickets/requested.json`);
    expect(tickets.body.tickets).toHaveLength(holder.children);
    expect(tickets.body.tickets.every((t: { requester_id: number }) => t.requester_id === id)).toBe(true);
    const one = await get(`/api/v2/tickets/${tickets.body.tickets[0].id}.json`);
    expect(one.body.ticket.id).toBe(tickets.body.tickets[0].id);
    expect((await get('/api/v2/users/1.json')).body).toEqual({ error: 'RecordNotFound', description: 'Not found' });
  });

  test('refuses the password, or a token sent without "/token", with 401', async () => {
    for (const authorization of [basic(ZENDESK_TEST_EMAIL, ZENDESK_TEST_TOKEN), basic(`${ZENDESK_TEST_EMAIL}/token`, 'wrong'), `Bearer ${ZENDESK_TEST_TOKEN}`]) {
      const { status, body } = await call(`${zendesk.url}/api/v2/users.json`, { headers: { authorization } });
      expect(status).toBe(401);
      expect(body.error).toBe("Couldn't authenticate you");
    }
  });

  test('throttles beyond N requests a second with 429, Retry-After and a plain-text body', async () => {
    const clock = manualClock();
    const limited = createZendeskServer(vendorData, { requestsPerSecond: 2, now: clock.now });
    await limited.listen(0);
    try {
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await call(`${limited.url}/api/v2/users.json?page[size]=1`, { headers }));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 429]);
      expect(answers[2]!.headers.get('retry-after')).toBe('1');
      expect(answers[2]!.text).toBe('Number of allowed API requests per minute exceeded');
      clock.advance(1000);
      expect((await call(`${limited.url}/api/v2/users.json?page[size]=1`, { headers })).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
