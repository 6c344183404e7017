// The simulated HubSpot CRM v3 contacts API: paging.next.after, batch read (200, and 207 naming missing ids), filterGroups search, auth, rate limit.
import { describe, expect, test } from 'vitest';
import { HUBSPOT_TEST_TOKEN, createHubSpotServer } from '../../src/demo/vendors/hubspot.js';
import { call, manualClock, serveVendor, vendorData } from './helpers.js';

const hubspot = serveVendor(createHubSpotServer(vendorData));
const headers = { authorization: `Bearer ${HUBSPOT_TEST_TOKEN}` };
const api = (path: string, body?: unknown) => call(`${hubspot.url}/crm/v3/objects/contacts${path}`, { headers, ...(body !== undefined ? { body } : {}) });

describe('HubSpot contacts', () => {
  test('pages every contact through paging.next.after, with the default properties', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const { status, body } = await api(`?limit=100${after ? `&after=${after}` : ''}`);
      expect(status).toBe(200);
      seen.push(...body.results.map((c: { id: string }) => c.id));
      if (!body.paging) break;
      expect(body.paging.next.link).toBe(`${hubspot.url}/crm/v3/objects/contacts?after=${body.paging.next.after}`);
      after = body.paging.next.after;
    }
    expect(seen).toEqual(hubspot.customers.map((c) => c.id));
    const first = (await api('?limit=1')).body.results[0];
    expect(Object.keys(first.properties).sort()).toEqual(['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname']);
    expect(first).toMatchObject({ id: hubspot.customers[0]!.id, archived: false, createdAt: expect.any(String), updatedAt: expect.any(String) });
    expect((await api('?limit=101')).body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
  });

  test('batch read answers 200 with every record, or 207 with the found ones and errors[].context.ids naming the missing', async () => {
    const ids = hubspot.customers.slice(0, 3).map((c) => c.id);
    const ok = await api('/batch/read', { properties: ['email', 'phone'], inputs: ids.map((id) => ({ id })) });
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe('COMPLETE');
    expect(ok.body.results.map((c: { id: string }) => c.id)).toEqual(ids);
    expect(Object.keys(ok.body.results[0].properties).sort()).toEqual(['createdate', 'email', 'hs_object_id', 'lastmodifieddate', 'phone']);

    const partial = await api('/batch/read', { properties: ['email'], inputs: [{ id: ids[0] }, { id: '999' }, { id: '998' }] });
    expect(partial.status).toBe(207);
    expect(partial.body.results.map((c: { id: string }) => c.id)).toEqual([ids[0]]);
    expect(partial.body.numErrors).toBe(1);
    expect(partial.body.errors).toEqual([expect.objectContaining({ status: 'error', category: 'OBJECT_NOT_FOUND', context: { ids: ['999', '998'] } })]);

    const tooMany = await api('/batch/read', { inputs: Array.from({ length: 101 }, (_, i) => ({ id: String(i) })) });
    expect(tooMany.status).toBe(400);
    // The shape a plain id array would have: refused, not read as an empty batch.
    expect((await api('/batch/read', { ids })).status).toBe(400);
  });

  test('search finds a contact by email (any case) or phone through filterGroups, at most 200 a page', async () => {
    const holder = vendorData.holders.hubspot.find((h) => h.email && h.phone)!;
    const id = hubspot.customers.find((c) => c.personId === holder.person.personId)!.id;
    const byEmail = await api('/search', { filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: holder.person.email.toUpperCase() }] }], properties: ['email'], limit: 10 });
    expect(byEmail.body).toMatchObject({ total: 1, results: [{ id }] });
    const byPhone = await api('/search', { filterGroups: [{ filters: [{ propertyName: 'phone', operator: 'EQ', value: holder.person.phone }] }] });
    expect(byPhone.body.results.map((c: { id: string }) => c.id)).toEqual([id]);
    const all = await api('/search', { limit: 150 });
    expect(all.body).toMatchObject({ total: hubspot.customers.length, paging: { next: { after: '150' } } });
    expect((await api('/search', { limit: 200, after: 150 })).body.results).toHaveLength(hubspot.customers.length - 150);
    expect((await api('/search', { limit: 201 })).status).toBe(400);
  });

  test('refuses a wrong token with 401 INVALID_AUTHENTICATION', async () => {
    const { status, body } = await call(`${hubspot.url}/crm/v3/objects/contacts`, { headers: { authorization: 'Bearer pat-na1-wrong' } });
    expect(status).toBe(401);
    expect(body).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION', correlationId: expect.any(String) });
  });

  test('answers 429 RATE_LIMIT beyond its secondly limit', async () => {
    const clock = manualClock();
    const limited = createHubSpotServer(vendorData, { requestsPerSecond: 2, now: clock.now });
    await limited.listen(0);
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push(await call(`${limited.url}/crm/v3/objects/contacts?limit=1`, { headers }));
      expect(statuses.map((s) => s.status)).toEqual([200, 200, 429]);
      expect(statuses[2]!.body).toMatchObject({ status: 'error', errorType: 'RATE_LIMIT', policyName: 'SECONDLY' });
    } finally {
      await limited.close();
    }
  });
});
