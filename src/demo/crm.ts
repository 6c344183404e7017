// Simulated CRM (HubSpot-like): string contact IDs, batch read by `ids`, `after` cursors, search by email or phone.
import type { Dataset } from './dataset.js';
import { HttpApp, HttpError, Reply, intQuery, listQuery, notFound, badRequest, stringQuery } from './http-app.js';
import type { SimulatedSource, SourceOptions } from './http-app.js';
import { normalizeEmail, phoneKey } from './identifiers.js';
import { firstIndexAfter, indexMany, indexUnique, pickExisting, toWire } from './record-index.js';
import type { CrmContact } from './dataset.js';
import type { WebhookEmitter } from './webhook-emitter.js';
import { IdempotencyKeys } from './idempotency-keys.js';

/** The properties a PATCH may change, as this CRM names them; `address` is patched part by part. */
const PATCHABLE = new Set(['first_name', 'last_name', 'primary_email', 'phone', 'address']);
const ADDRESS_PARTS = new Set(['street', 'city', 'zip', 'country']);

/** HubSpot's validation error envelope: `{ status, message, category }` with a 400. */
function invalid(message: string): HttpError {
  return new HttpError(400, 'validation_error', message, new Reply(400, { status: 'error', message, category: 'VALIDATION_ERROR' }));
}

/** The fields of a PATCH body, checked as the CRM checks them: known properties, strings, an email with an @. */
function patchOf(body: unknown): Partial<Omit<CrmContact, 'address'>> & { address?: Partial<CrmContact['address']> } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('Request body must be a JSON object of contact properties');
  const fields = body as Record<string, unknown>;
  for (const [name, value] of Object.entries(fields)) {
    if (!PATCHABLE.has(name)) throw invalid(`Property "${name}" does not exist`);
    if (name === 'address') {
      if (typeof value !== 'object' || value === null) throw invalid('Property "address" must be an object');
      for (const [part, inner] of Object.entries(value)) {
        if (!ADDRESS_PARTS.has(part)) throw invalid(`Property "address.${part}" does not exist`);
        if (typeof inner !== 'string') throw invalid(`Property "address.${part}" must be a string`);
      }
    } else if (typeof value !== 'string' && !(value === null && (name === 'primary_email' || name === 'phone'))) throw invalid(`Property "${name}" must be a string`);
  }
  if (typeof fields.primary_email === 'string' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(fields.primary_email.trim())) {
    throw invalid(`Property values were not valid: ${fields.primary_email} is not a valid email address (INVALID_EMAIL)`);
  }
  return fields as ReturnType<typeof patchOf>;
}

const CRM_MAX_BATCH_IDS = 100;
const CRM_MAX_PAGE_SIZE = 500;

export function createCrmServer(data: Dataset, options: SourceOptions & { webhooks?: WebhookEmitter } = {}): SimulatedSource {
  // Generated in ID order; the `after` cursor relies on it.
  const contacts = data.crm.contacts;
  const byId = indexUnique(contacts, (c) => c.id);
  const byEmail = indexMany(contacts, (c) => c.primary_email && normalizeEmail(c.primary_email));
  const byPhone = indexMany(contacts, (c) => c.phone && phoneKey(c.phone));

  const unindex = (contact: CrmContact) => {
    const drop = <K>(index: Map<K, CrmContact[]>, key: K | null) => {
      if (key === null) return;
      const left = (index.get(key) ?? []).filter((c) => c.id !== contact.id);
      if (left.length > 0) index.set(key, left);
      else index.delete(key);
    };
    drop(byEmail, contact.primary_email && normalizeEmail(contact.primary_email));
    drop(byPhone, contact.phone && phoneKey(contact.phone));
  };
  const index = (contact: CrmContact) => {
    byId.set(contact.id, contact);
    if (contact.primary_email) byEmail.set(normalizeEmail(contact.primary_email), [...(byEmail.get(normalizeEmail(contact.primary_email)) ?? []), contact]);
    if (contact.phone) byPhone.set(phoneKey(contact.phone), [...(byPhone.get(phoneKey(contact.phone)) ?? []), contact]);
  };

  // HubSpot's `updatedAt` has milliseconds; two writes within one still get distinct, increasing versions here.
  let lastWrite = 0;
  const writeStamp = () => {
    lastWrite = Math.max(Date.now(), lastWrite + 1);
    return new Date(lastWrite).toISOString();
  };

  const idempotency = new IdempotencyKeys();
  /** Replaces a contact (already in the list) with its changed version, re-indexed, and announces it. */
  const save = async (previous: CrmContact, contact: CrmContact) => {
    unindex(previous);
    contacts[contacts.indexOf(previous)] = contact;
    index(contact);
    await options.webhooks?.emit({ type: 'upsert', entity: 'contact', record: toWire(contact) });
  };

  return new HttpApp('crm', options)
    .get('/contacts', ({ query }) => {
      const ids = listQuery(query, 'ids', { max: CRM_MAX_BATCH_IDS });
      if (ids) return { contacts: pickExisting(ids, byId).map(toWire) };

      const limit = intQuery(query, 'limit', { fallback: 100, min: 1, max: CRM_MAX_PAGE_SIZE });
      const after = stringQuery(query, 'after');
      // `updated_since` (ISO-8601, inclusive), as HubSpot's lastmodifieddate GTE filter: an incremental sync reads only what changed.
      const since = stringQuery(query, 'updated_since');
      const sinceMs = since === undefined ? undefined : Date.parse(since);
      if (sinceMs !== undefined && Number.isNaN(sinceMs)) throw badRequest(`updated_since "${since}" is not an ISO-8601 time`);
      const listed = sinceMs === undefined ? contacts : contacts.filter((c) => Date.parse(c.updated_at) >= sinceMs);
      const start = after === undefined ? 0 : firstIndexAfter(listed, after, (c) => c.id);
      const page = listed.slice(start, start + limit);
      const last = page[page.length - 1];
      const hasMore = start + limit < listed.length;
      return { contacts: page.map(toWire), next_cursor: hasMore && last ? last.id : null };
    })
    .get('/contacts/search', ({ query }) => {
      const email = stringQuery(query, 'email');
      const phone = stringQuery(query, 'phone');
      if (email !== undefined) return { contacts: (byEmail.get(normalizeEmail(email)) ?? []).map(toWire) };
      if (phone !== undefined) return { contacts: (byPhone.get(phoneKey(phone)) ?? []).map(toWire) };
      throw badRequest('search needs an email or phone parameter');
    })
    // Writes, so the CRM's data can change while the hub runs; each change is announced by webhook.
    .route('PUT', '/contacts/:id', async ({ params, body }) => {
      const fields = (body ?? {}) as Partial<CrmContact>;
      const previous = byId.get(params.id);
      if (previous) unindex(previous);
      const contact: CrmContact = {
        ...(previous ?? { personId: 'external', first_name: '', last_name: '', primary_email: null, phone: null, lifecycle_stage: 'lead', owner: { name: '', email: '' }, address: { street: '', city: '', zip: '', country: 'US' } }),
        ...fields,
        id: params.id,
        updated_at: writeStamp(),
      } as CrmContact;
      if (!previous) contacts.splice(firstIndexAfter(contacts, contact.id, (c) => c.id), 0, contact);
      else contacts[contacts.indexOf(previous)] = contact;
      index(contact);
      await options.webhooks?.emit({ type: 'upsert', entity: 'contact', record: toWire(contact) });
      return { contact: toWire(contact) };
    })
    // A partial update (HubSpot: PATCH /crm/v3/objects/contacts/{id}): only the properties sent change. Honours
    // Idempotency-Key, so the hub may retry it.
    .route('PATCH', '/contacts/:id', ({ params, body, headers }) =>
      idempotency.once(headers, `PATCH /contacts/${params.id}`, body, async () => {
        const previous = byId.get(params.id);
        if (!previous) throw new HttpError(404, 'not_found', `contact ${params.id} does not exist`, new Reply(404, { status: 'error', message: `resource not found: contact ${params.id}`, category: 'OBJECT_NOT_FOUND' }));
        const { address, ...fields } = patchOf(body);
        const contact: CrmContact = { ...previous, ...fields, address: { ...previous.address, ...address }, updated_at: writeStamp() };
        await save(previous, contact);
        return { contact: toWire(contact) };
      }),
    )
    .route('DELETE', '/contacts/:id', async ({ params }) => {
      const contact = byId.get(params.id);
      if (!contact) throw notFound(`contact ${params.id} does not exist`);
      unindex(contact);
      byId.delete(contact.id);
      contacts.splice(contacts.indexOf(contact), 1);
      // The delete's time is its version: an update sent before it and delivered after it must not bring it back.
      await options.webhooks?.emit({ type: 'delete', entity: 'contact', id: contact.id, version: writeStamp() });
      return { deleted: contact.id };
    })
    .get('/contacts/:id', ({ params }) => {
      const contact = byId.get(params.id);
      if (!contact) throw notFound(`contact ${params.id} does not exist`);
      return { contact: toWire(contact) };
    });
}
