// Simulated HubSpot CRM v3 contacts after developers.hubspot.com: paging.next.after, batch read with 207 per-item errors, filterGroups search.
import type { IncomingHttpHeaders } from 'node:http';
import { Reply, encodeCursor, decodeCursor, HttpError } from '../http-app.js';
import { phoneKey } from '../identifiers.js';
import { isoSeconds, type VendorData, type VendorPerson } from './people.js';
import { VendorApp, bearerToken, intParam, rateLimitGuard, vendorError, type Refusal, type VendorOptions, type VendorRateLimit } from './vendor-app.js';

export const HUBSPOT_TEST_TOKEN = 'pat-na1-5f1c0de0-0000-4000-8000-rosettasim001';
const HUBSPOT_LIST_MAX = 100;
const HUBSPOT_BATCH_MAX = 100;
const HUBSPOT_SEARCH_MAX = 200;
/** Private apps on Free and Starter: 100 requests per rolling 10 seconds (Professional and Enterprise: 190). */
export const HUBSPOT_RATE_LIMIT: VendorRateLimit = { kind: 'window', max: 100, windowMs: 10_000 };

export interface HubSpotOptions extends VendorOptions {
  token?: string;
}

/** Properties every read returns, whatever was asked for, as HubSpot does. */
const ALWAYS = ['createdate', 'hs_object_id', 'lastmodifieddate'] as const;
/** Returned when no `properties` are asked for. */
const DEFAULT_PROPERTIES = ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'] as const;

let correlation = 0;
const correlationId = () => `5f1c0de0-0000-4000-8000-${String(++correlation).padStart(12, '0')}`;

const hubspotError = (status: number, category: string, message: string, extra: Record<string, unknown> = {}) =>
  vendorError(status, { status: 'error', message, correlationId: correlationId(), category, ...extra });
const validation = (message: string) => hubspotError(400, 'VALIDATION_ERROR', message);

/** HubSpot's 429: the policy that refused (per second, or the rolling ten seconds of private apps) and its X-HubSpot-RateLimit-* headers. */
function rateLimited({ limit }: Refusal) {
  const windowMs = limit.kind === 'window' ? limit.windowMs : 1000;
  const max = limit.kind === 'window' ? limit.max : limit.capacity;
  const [policy, name] = windowMs === 1000 ? ['SECONDLY', 'secondly'] : ['TEN_SECONDLY_ROLLING', 'ten_secondly_rolling'];
  const body = { status: 'error', message: `You have reached your ${name} limit.`, errorType: 'RATE_LIMIT', correlationId: correlationId(), policyName: policy };
  return vendorError(429, body, {
    'x-hubspot-ratelimit-interval-milliseconds': String(windowMs),
    'x-hubspot-ratelimit-max': String(max),
    'x-hubspot-ratelimit-remaining': '0',
  });
}

interface Contact {
  id: string;
  /** Every property the portal holds for the contact; values are strings or null, as HubSpot sends them. */
  values: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
}

function contactOf(holder: VendorPerson, id: string): Contact {
  const { person } = holder;
  const createdAt = isoSeconds(holder.createdAt).replace('Z', '.000Z');
  const updatedAt = isoSeconds(holder.updatedAt).replace('Z', '.000Z');
  const stages = ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer'];
  return {
    id,
    createdAt,
    updatedAt,
    values: {
      createdate: createdAt,
      email: holder.email,
      firstname: person.firstName,
      hs_object_id: id,
      lastmodifieddate: updatedAt,
      lastname: person.lastName,
      phone: holder.phone,
      mobilephone: null,
      lifecyclestage: stages[holder.index % stages.length]!,
      city: person.address.city,
      zip: person.address.postalCode,
      address: person.address.street,
      country: 'United States',
    },
  };
}

function wire(contact: Contact, properties: readonly string[] | undefined) {
  const names = properties && properties.length > 0 ? [...new Set([...properties, ...ALWAYS])] : DEFAULT_PROPERTIES;
  return {
    id: contact.id,
    properties: Object.fromEntries(names.map((name) => [name, contact.values[name] ?? null])),
    createdAt: contact.createdAt,
    updatedAt: contact.updatedAt,
    archived: false,
  };
}

function propertyList(raw: unknown): string[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw) || !raw.every((p) => typeof p === 'string')) throw validation('Invalid input JSON: "properties" must be an array of strings');
  return raw;
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw validation('Invalid input JSON on line 1, column 1: Cannot build request body');
  return body as Record<string, unknown>;
}

interface Filter {
  propertyName: string;
  operator: string;
  value?: string;
  values?: string[];
}

/** One filter against a contact; string comparisons ignore case, as HubSpot's search does for emails. */
function matches(contact: Contact, filter: Filter): boolean {
  const actual = contact.values[filter.propertyName] ?? null;
  const norm = (v: string) => (filter.propertyName === 'phone' || filter.propertyName === 'mobilephone' ? phoneKey(v) : v.trim().toLowerCase());
  switch (filter.operator) {
    case 'EQ': return actual !== null && filter.value !== undefined && norm(actual) === norm(String(filter.value));
    case 'NEQ': return actual === null || filter.value === undefined || norm(actual) !== norm(String(filter.value));
    case 'IN': return actual !== null && (filter.values ?? []).some((v) => norm(actual) === norm(String(v)));
    case 'HAS_PROPERTY': return actual !== null && actual !== '';
    case 'NOT_HAS_PROPERTY': return actual === null || actual === '';
    case 'CONTAINS_TOKEN': return actual !== null && filter.value !== undefined && new RegExp(`^${String(filter.value).toLowerCase().replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(actual.toLowerCase());
    default: throw validation(`Unsupported operator: ${filter.operator}`);
  }
}

function filterGroups(raw: unknown): Filter[][] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw validation('Invalid input JSON: "filterGroups" must be an array');
  if (raw.length > 5) throw validation('Too many filter groups: at most 5');
  return raw.map((group) => {
    const filters = (group as { filters?: unknown })?.filters;
    if (!Array.isArray(filters)) throw validation('Invalid input JSON: every filter group needs "filters"');
    for (const f of filters as Filter[]) {
      if (typeof f?.propertyName !== 'string' || typeof f?.operator !== 'string') throw validation('Invalid input JSON: a filter needs propertyName and operator');
    }
    return filters as Filter[];
  });
}

function authenticate(headers: IncomingHttpHeaders, token: string): void {
  const given = bearerToken(headers);
  if (given === undefined) {
    throw hubspotError(401, 'INVALID_AUTHENTICATION', 'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview');
  }
  if (given !== token) throw hubspotError(401, 'INVALID_AUTHENTICATION', 'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview');
}

export function createHubSpotServer(data: VendorData, options: HubSpotOptions = {}): VendorApp {
  const token = options.token ?? HUBSPOT_TEST_TOKEN;
  const holders = data.holders.hubspot;
  // Record IDs are integers HubSpot hands out in creation order, sent as strings.
  const contacts = holders.map((holder, i) => contactOf(holder, String(1001 + i * 50 + (holder.index % 50))));
  const byId = new Map(contacts.map((c) => [c.id, c]));
  const limitOf = (raw: unknown, max: number) => intParam(raw === undefined || raw === null ? null : String(raw), 10, 1, max, (m) => validation(`limit ${m}`));

  const app = new VendorApp('hubspot', options, contacts.map((c, i) => ({ id: c.id, personId: holders[i]!.person.personId })), (url) => ({ HUBSPOT_URL: url, HUBSPOT_TOKEN: token }));
  return app
    .guard(({ headers }) => authenticate(headers, token))
    .guard(rateLimitGuard(options, (_wait, refusal) => rateLimited(refusal)))
    .get('/crm/v3/objects/contacts', ({ query, baseUrl }) => {
      const limit = limitOf(query.get('limit'), HUBSPOT_LIST_MAX);
      const after = query.get('after');
      const start = after === null ? 0 : decodeHubSpotCursor(after);
      const properties = query.get('properties')?.split(',').filter((p) => p !== '');
      const page = contacts.slice(start, start + limit);
      const next = start + limit < contacts.length ? encodeCursor('contacts', start + limit) : undefined;
      return {
        results: page.map((c) => wire(c, properties)),
        ...(next ? { paging: { next: { after: next, link: `${baseUrl}/crm/v3/objects/contacts?after=${next}` } } } : {}),
      };
    })
    .get('/crm/v3/objects/contacts/:id', ({ params, query }) => {
      const contact = byId.get(params.id);
      if (!contact) throw hubspotError(404, 'OBJECT_NOT_FOUND', 'resource not found');
      return wire(contact, query.get('properties')?.split(','));
    })
    // PATCH /crm/v3/objects/contacts/{id} with { properties }: the properties sent change; the answer carries those
    // and the always-present ones, not the whole contact.
    .route('PATCH', '/crm/v3/objects/contacts/:id', ({ params, body }) => {
      const contact = byId.get(params.id);
      if (!contact) throw hubspotError(404, 'OBJECT_NOT_FOUND', 'resource not found');
      const properties = objectBody(body).properties;
      if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) throw validation('Invalid input JSON: "properties" must be an object');
      const changes = Object.entries(properties as Record<string, unknown>);
      for (const [name, value] of changes) {
        if (!Object.hasOwn(contact.values, name) || (ALWAYS as readonly string[]).includes(name)) throw validation(`Property values were not valid: [{"isValid":false,"message":"Property \\"${name}\\" does not exist","error":"PROPERTY_DOESNT_EXIST","name":"${name}"}]`);
        if (typeof value !== 'string') throw validation(`Property values were not valid: [{"isValid":false,"message":"${name} must be a string","error":"INVALID_STRING","name":"${name}"}]`);
        if (name === 'email' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) throw validation(`Property values were not valid: [{"isValid":false,"message":"Email address ${value} is invalid","error":"INVALID_EMAIL","name":"email"}]`);
      }
      const updatedAt = new Date().toISOString();
      for (const [name, value] of changes) contact.values[name] = value as string;
      contact.values.lastmodifieddate = updatedAt;
      contact.updatedAt = updatedAt;
      return wire(contact, changes.map(([name]) => name));
    })
    .post('/crm/v3/objects/contacts/batch/read', ({ body }) => {
      const request = objectBody(body);
      const inputs = request.inputs;
      if (!Array.isArray(inputs)) throw validation('Invalid input JSON on line 1: "inputs" is required');
      if (inputs.length > HUBSPOT_BATCH_MAX) throw validation(`Too many inputs: ${inputs.length}, the limit is ${HUBSPOT_BATCH_MAX}`);
      const ids = inputs.map((input) => {
        const id = (input as { id?: unknown })?.id;
        if (typeof id !== 'string' && typeof id !== 'number') throw validation('Invalid input JSON: every input needs an "id"');
        return String(id);
      });
      const idProperty = request.idProperty;
      if (idProperty !== undefined && idProperty !== 'email' && idProperty !== 'hs_object_id') throw validation(`Unknown idProperty: ${String(idProperty)}`);
      const properties = propertyList(request.properties);
      const lookup = (id: string) => (idProperty === 'email' ? contacts.find((c) => c.values.email?.toLowerCase() === id.toLowerCase()) : byId.get(id));
      const found = [...new Set(ids)].map((id) => [id, lookup(id)] as const);
      const results = found.flatMap(([, c]) => (c ? [wire(c, properties)] : []));
      const missing = found.filter(([, c]) => !c).map(([id]) => id);
      const at = new Date().toISOString();
      if (missing.length === 0) return { status: 'COMPLETE', results, startedAt: at, completedAt: at };
      // Multi-status: the found records beside one error naming every missing ID.
      return new Reply(207, {
        status: 'COMPLETE',
        results,
        numErrors: 1,
        errors: [{ status: 'error', category: 'OBJECT_NOT_FOUND', message: 'Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.', context: { ids: missing }, errors: [], links: {} }],
        startedAt: at,
        completedAt: at,
      });
    })
    .post('/crm/v3/objects/contacts/search', ({ body }) => {
      const request = objectBody(body);
      const groups = filterGroups(request.filterGroups);
      const limit = limitOf(request.limit, HUBSPOT_SEARCH_MAX);
      const start = request.after === undefined ? 0 : intParam(String(request.after), 0, 0, 10_000, (m) => validation(`after ${m}`));
      const properties = propertyList(request.properties);
      // No groups: everything; otherwise groups are ORed, the filters within one ANDed.
      const hits = contacts.filter((c) => groups.length === 0 || groups.some((filters) => filters.every((f) => matches(c, f))));
      const page = hits.slice(start, start + limit);
      return {
        total: hits.length,
        results: page.map((c) => wire(c, properties)),
        ...(start + limit < hits.length ? { paging: { next: { after: String(start + limit) } } } : {}),
      };
    });
}

function decodeHubSpotCursor(after: string): number {
  try {
    return decodeCursor(after, 'contacts', 'after');
  } catch (error) {
    if (error instanceof HttpError) throw validation(`Invalid after cursor: ${after}`);
    throw error;
  }
}
