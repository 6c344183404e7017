// Simulated Intercom API (contacts) after developers.intercom.com: starting_after pages, POST search over a query tree, Intercom-Version, error lists.
import type { IncomingHttpHeaders } from 'node:http';
import { decodeCursor, encodeCursor, HttpError } from '../http-app.js';
import { phoneKey } from '../identifiers.js';
import { idFrom, type VendorData, type VendorPerson } from './people.js';
import { VendorApp, bearerToken, intParam, rateLimitGuard, vendorError, type VendorOptions, type VendorRateLimit } from './vendor-app.js';

export const INTERCOM_TEST_TOKEN = 'dG9rOjRmYjVlMzE0X3Jvc2V0dGFfc2ltOjE6MA==';
const INTERCOM_VERSIONS = ['2.7', '2.8', '2.9', '2.10', '2.11', 'Unstable'] as const;
const INTERCOM_LIST_MAX = 150;
/** 10,000 calls a minute per app, which Intercom spreads evenly over 10-second windows: 1,666 per 10 s. */
export const INTERCOM_RATE_LIMIT: VendorRateLimit = { kind: 'window', max: 1_666, windowMs: 10_000 };

export interface IntercomOptions extends VendorOptions {
  token?: string;
}

let requests = 0;
const intercomError = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  vendorError(status, { type: 'error.list', request_id: `000${(++requests).toString(16).padStart(17, '0')}`, errors: [{ code, message }] }, headers);
const parameterInvalid = (message: string) => intercomError(400, 'parameter_invalid', message);

function contactOf(holder: VendorPerson, id: string) {
  const { person } = holder;
  return {
    type: 'contact',
    id,
    workspace_id: 'rsim4x2q',
    external_id: null,
    role: holder.index % 4 === 0 ? 'lead' : 'user',
    email: holder.email,
    email_domain: holder.email?.split('@')[1]?.toLowerCase() ?? null,
    phone: holder.phone,
    formatted_phone: holder.phone === null ? null : `+1${phoneKey(holder.phone)}`,
    name: `${person.firstName} ${person.lastName}`,
    avatar: null,
    owner_id: null,
    social_profiles: { type: 'list', data: [] },
    has_hard_bounced: false,
    marked_email_as_spam: false,
    unsubscribed_from_emails: holder.index % 5 === 0,
    created_at: holder.createdAt,
    updated_at: holder.updatedAt,
    signed_up_at: holder.createdAt,
    last_seen_at: holder.updatedAt,
    last_replied_at: null,
    last_contacted_at: null,
    last_email_opened_at: null,
    last_email_clicked_at: null,
    language_override: null,
    browser: 'chrome',
    browser_version: '120.0.0',
    browser_language: 'en',
    os: 'OS X 14',
    location: { type: 'location', country: 'United States', region: null, city: person.address.city, country_code: 'USA', continent_code: 'NA' },
    android_app_name: null,
    ios_app_name: null,
    custom_attributes: {},
    tags: { type: 'list', data: [], url: `/contacts/${id}/tags`, total_count: 0, has_more: false },
    notes: { type: 'list', data: [], url: `/contacts/${id}/notes`, total_count: 0, has_more: false },
    companies: { type: 'list', data: [], url: `/contacts/${id}/companies`, total_count: 0, has_more: false },
  };
}

type Contact = ReturnType<typeof contactOf>;

/** The envelope every contact list and search answers with: `pages.next.starting_after` while more remain. */
function listPage(all: readonly Contact[], perPage: number, startingAfter: string | undefined, kind: string) {
  let start = 0;
  if (startingAfter !== undefined) {
    try {
      start = decodeCursor(startingAfter, kind, 'starting_after');
    } catch (error) {
      if (error instanceof HttpError) throw parameterInvalid('starting_after is invalid');
      throw error;
    }
  }
  const page = all.slice(start, start + perPage);
  const totalPages = Math.max(1, Math.ceil(all.length / perPage));
  const pageNumber = Math.floor(start / perPage) + 1;
  return {
    type: 'list',
    data: page,
    total_count: all.length,
    pages: {
      type: 'pages',
      ...(start + perPage < all.length ? { next: { page: pageNumber + 1, starting_after: encodeCursor(kind, start + perPage) } } : {}),
      page: pageNumber,
      per_page: perPage,
      total_pages: totalPages,
    },
  };
}

interface Query {
  field?: string;
  operator: string;
  value: unknown;
}

const FIELDS: Record<string, (c: Contact) => unknown> = {
  id: (c) => c.id,
  email: (c) => c.email,
  email_domain: (c) => c.email_domain,
  phone: (c) => c.phone,
  name: (c) => c.name,
  role: (c) => c.role,
  external_id: (c) => c.external_id,
  created_at: (c) => c.created_at,
  updated_at: (c) => c.updated_at,
};

/** Evaluates a search query node: `{field, operator, value}` or `{operator: AND|OR, value: [nodes]}`. */
function evaluate(node: Query, contact: Contact): boolean {
  if (node.operator === 'AND' || node.operator === 'OR') {
    if (!Array.isArray(node.value)) throw parameterInvalid(`${node.operator} needs an array of queries`);
    const children = node.value as Query[];
    return node.operator === 'AND' ? children.every((c) => evaluate(c, contact)) : children.some((c) => evaluate(c, contact));
  }
  const read = node.field === undefined ? undefined : FIELDS[node.field];
  if (!read) throw parameterInvalid(`${String(node.field)} is not a searchable field`);
  const actual = read(contact);
  const norm = (v: unknown) => (node.field === 'phone' && typeof v === 'string' ? phoneKey(v) : typeof v === 'string' ? v.toLowerCase() : v);
  const a = norm(actual);
  const v = norm(node.value);
  switch (node.operator) {
    case '=': return actual !== null && a === v;
    case '!=': return a !== v;
    case 'IN': return Array.isArray(node.value) && node.value.map(norm).includes(a);
    case 'NIN': return !Array.isArray(node.value) || !node.value.map(norm).includes(a);
    case '~': return typeof a === 'string' && typeof v === 'string' && a.includes(v);
    case '!~': return typeof a !== 'string' || typeof v !== 'string' || !a.includes(v);
    case '^': return typeof a === 'string' && typeof v === 'string' && a.startsWith(v);
    case '$': return typeof a === 'string' && typeof v === 'string' && a.endsWith(v);
    case '>': return typeof a === 'number' && a > Number(v);
    case '<': return typeof a === 'number' && a < Number(v);
    default: throw parameterInvalid(`${node.operator} is not a valid operator`);
  }
}

function authenticate(headers: IncomingHttpHeaders, token: string): void {
  if (bearerToken(headers) !== token) throw intercomError(401, 'unauthorized', 'Access Token Invalid');
  const version = headers['intercom-version'];
  // Absent, the workspace's default version answers; an unknown one is refused.
  if (version !== undefined && !(INTERCOM_VERSIONS as readonly string[]).includes(String(version))) {
    throw intercomError(400, 'intercom_version_invalid', 'The requested version could not be found');
  }
}

export function createIntercomServer(data: VendorData, options: IntercomOptions = {}): VendorApp {
  const token = options.token ?? INTERCOM_TEST_TOKEN;
  const now = options.now ?? Date.now;
  const holders = data.holders.intercom;
  const contacts = holders.map((holder) => contactOf(holder, (holder.createdAt.toString(16) + idFrom(holder.index, 5, 16, '0123456789abcdef')).slice(0, 24)));
  const byId = new Map(contacts.map((c) => [c.id, c]));

  const app = new VendorApp('intercom', options, contacts.map((c, i) => ({ id: c.id, personId: holders[i]!.person.personId })), (url) => ({ INTERCOM_URL: url, INTERCOM_TOKEN: token }));
  return app
    .guard(({ headers }) => authenticate(headers, token))
    // Intercom sends no Retry-After: X-RateLimit-Reset says (in epoch seconds) when the window refills.
    .guard(
      rateLimitGuard(options, (waitMs, { limit }) =>
        intercomError(429, 'rate_limit_exceeded', 'Rate Limit Exceeded', {
          'x-ratelimit-limit': String(limit.kind === 'window' ? limit.max : limit.capacity),
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(Math.ceil((now() + waitMs) / 1000)),
        }),
      ),
    )
    .get('/contacts', ({ query }) => {
      const perPage = intParam(query.get('per_page'), 50, 1, INTERCOM_LIST_MAX, (m) => parameterInvalid(`per_page ${m}`));
      return listPage(contacts, perPage, query.get('starting_after') ?? undefined, 'contacts');
    })
    .get('/contacts/:id', ({ params }) => {
      const contact = byId.get(params.id);
      if (!contact) throw intercomError(404, 'not_found', 'User Not Found');
      return contact;
    })
    .post('/contacts/search', ({ body }) => {
      const request = (typeof body === 'object' && body !== null ? body : {}) as { query?: Query; pagination?: { per_page?: unknown; starting_after?: unknown } };
      if (typeof request.query !== 'object' || request.query === null) throw parameterInvalid('query is required');
      const perPage = intParam(request.pagination?.per_page === undefined ? null : String(request.pagination.per_page), 50, 1, INTERCOM_LIST_MAX, (m) => parameterInvalid(`per_page ${m}`));
      const after = request.pagination?.starting_after;
      const hits = contacts.filter((c) => evaluate(request.query!, c));
      return listPage(hits, perPage, typeof after === 'string' ? after : undefined, 'search');
    });
}
