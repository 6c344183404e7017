// Simulated CRM (HubSpot-like): string contact IDs, batch read by `ids`, `after` cursors, search by email or phone.
import type { Dataset } from './dataset.js';
import { HttpApp, intQuery, listQuery, notFound, badRequest, stringQuery } from './http-app.js';
import type { SimulatedSource, SourceOptions } from './http-app.js';
import { normalizeEmail, phoneKey } from './identifiers.js';
import { firstIndexAfter, indexMany, indexUnique, pickExisting, toWire } from './record-index.js';

export const CRM_MAX_BATCH_IDS = 100;
export const CRM_MAX_PAGE_SIZE = 500;

export function createCrmServer(data: Dataset, options: SourceOptions = {}): SimulatedSource {
  // Generated in ID order; the `after` cursor relies on it.
  const contacts = data.crm.contacts;
  const byId = indexUnique(contacts, (c) => c.id);
  const byEmail = indexMany(contacts, (c) => c.primary_email && normalizeEmail(c.primary_email));
  const byPhone = indexMany(contacts, (c) => c.phone && phoneKey(c.phone));

  return new HttpApp('crm', options)
    .get('/contacts', ({ query }) => {
      const ids = listQuery(query, 'ids', { max: CRM_MAX_BATCH_IDS });
      if (ids) return { contacts: pickExisting(ids, byId).map(toWire) };

      const limit = intQuery(query, 'limit', { fallback: 100, min: 1, max: CRM_MAX_PAGE_SIZE });
      const after = stringQuery(query, 'after');
      const start = after === undefined ? 0 : firstIndexAfter(contacts, after, (c) => c.id);
      const page = contacts.slice(start, start + limit);
      const last = page[page.length - 1];
      const hasMore = start + limit < contacts.length;
      return { contacts: page.map(toWire), next_cursor: hasMore && last ? last.id : null };
    })
    .get('/contacts/search', ({ query }) => {
      const email = stringQuery(query, 'email');
      const phone = stringQuery(query, 'phone');
      if (email !== undefined) return { contacts: (byEmail.get(normalizeEmail(email)) ?? []).map(toWire) };
      if (phone !== undefined) return { contacts: (byPhone.get(phoneKey(phone)) ?? []).map(toWire) };
      throw badRequest('search needs an email or phone parameter');
    })
    .get('/contacts/:id', ({ params }) => {
      const contact = byId.get(params.id);
      if (!contact) throw notFound(`contact ${params.id} does not exist`);
      return { contact: toWire(contact) };
    });
}
