// Contract of the simulated CRM: batch read by ids, `after` cursor listing, single reads and identifier search.
import { describe, expect, it } from 'vitest';
import { createCrmServer } from '../../src/demo/crm.js';
import { getJson, serve, smallDataset } from './helpers.js';

const contacts = smallDataset.crm.contacts;
const crm = serve(createCrmServer(smallDataset));

describe('CRM', () => {
  it('batch-reads contacts by ids in request order, omitting unknown ids', async () => {
    const [a, b] = [contacts[5]!, contacts[2]!];
    const { status, body } = await getJson(`${crm.url}/contacts?ids=${a.id},C-999999,${b.id}`);
    expect(status).toBe(200);
    expect(body.contacts.map((c: { id: string }) => c.id)).toEqual([a.id, b.id]);
    const { personId: _, ...wire } = a;
    expect(body.contacts[0]).toEqual(wire);
  });

  it('CRM batch read rejects more than 100 ids', async () => {
    const ids = Array.from({ length: 101 }, (_, i) => `C-${String(i + 1).padStart(6, '0')}`);
    const { status, body } = await getJson(`${crm.url}/contacts?ids=${ids.join(',')}`);
    expect(status).toBe(400);
    expect(body.error).toBe('bad_request');
    expect((await getJson(`${crm.url}/contacts?ids=${ids.slice(0, 100).join(',')}`)).status).toBe(200);
  });

  it('lists every contact once, in id order, through the after cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `&after=${cursor}`;
      const { body } = await getJson(`${crm.url}/contacts?limit=40${query}`);
      seen.push(...body.contacts.map((c: { id: string }) => c.id));
      cursor = body.next_cursor;
    } while (cursor !== null);
    expect(seen).toEqual(contacts.map((c) => c.id));
  });

  it('caps the page size at 500', async () => {
    expect((await getJson(`${crm.url}/contacts?limit=501`)).status).toBe(400);
    expect((await getJson(`${crm.url}/contacts?limit=500`)).body.next_cursor).toBeNull();
  });

  it('reads one contact, or 404s', async () => {
    const contact = contacts[0]!;
    expect((await getJson(`${crm.url}/contacts/${contact.id}`)).body.contact.id).toBe(contact.id);
    const missing = await getJson(`${crm.url}/contacts/C-999999`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('not_found');
  });

  it('searches by email ignoring case and whitespace, and by phone ignoring format', async () => {
    const withBoth = contacts.find((c) => c.primary_email && c.phone)!;
    const email = encodeURIComponent(`  ${withBoth.primary_email!.toUpperCase()} `);
    expect((await getJson(`${crm.url}/contacts/search?email=${email}`)).body.contacts.map((c: { id: string }) => c.id)).toEqual([withBoth.id]);

    const digits = withBoth.phone!.replace(/\D/g, '').slice(-10);
    const formatted = encodeURIComponent(`+1 (${digits.slice(0, 3)}) ${digits.slice(3, 6)}-${digits.slice(6)}`);
    expect((await getJson(`${crm.url}/contacts/search?phone=${formatted}`)).body.contacts.map((c: { id: string }) => c.id)).toEqual([withBoth.id]);

    expect((await getJson(`${crm.url}/contacts/search?email=nobody@nowhere.test`)).body.contacts).toEqual([]);
    expect((await getJson(`${crm.url}/contacts/search`)).status).toBe(400);
  });
});
