// Simulated Zendesk Support API after developer.zendesk.com: users with cursor or offset pages, show_many, search, requested tickets, {email}/token basic auth.
import type { IncomingHttpHeaders } from 'node:http';
import { decodeCursor, encodeCursor, HttpError } from '../http-app.js';
import { phoneKey } from '../identifiers.js';
import { isoSeconds, type VendorData, type VendorPerson } from './people.js';
import { VendorApp, basicCredentials, intParam, rateLimitGuard, vendorError, type VendorOptions, type VendorRateLimit } from './vendor-app.js';

export const ZENDESK_TEST_EMAIL = 'integrations@rosetta-sim.example';
export const ZENDESK_TEST_TOKEN = '6wiIBWbGkBMo1mRDMuVwkw1EPsNkeUj95PIz2akv';
const ZENDESK_PAGE_MAX = 100;
const ZENDESK_SHOW_MANY_MAX = 100;
/** Suite Enterprise: 700 requests a minute (Team 200, Growth and Professional 400, Enterprise Plus or the High Volume add-on 2,500). */
export const ZENDESK_RATE_LIMIT: VendorRateLimit = { kind: 'window', max: 700, windowMs: 60_000 };

export interface ZendeskOptions extends VendorOptions {
  email?: string;
  apiToken?: string;
}

const zendeskError = (status: number, error: string, description: string) => vendorError(status, { error, description });
const invalid = (description: string) => zendeskError(400, 'InvalidValue', description);

const TICKET_STATUSES = ['new', 'open', 'pending', 'hold', 'solved', 'closed'] as const;
const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
const SUBJECTS = ['Where is my order?', 'Refund request', 'Cannot log in', 'Wrong size delivered', 'Double charged on my card', 'Change shipping address'];

function userOf(holder: VendorPerson, id: number, baseUrl: string) {
  const { person } = holder;
  return {
    id,
    url: `${baseUrl}/api/v2/users/${id}.json`,
    name: `${person.firstName} ${person.lastName}`,
    email: holder.email,
    created_at: isoSeconds(holder.createdAt),
    updated_at: isoSeconds(holder.updatedAt),
    time_zone: 'Pacific Time (US & Canada)',
    iana_time_zone: 'America/Los_Angeles',
    phone: holder.phone,
    shared_phone_number: holder.phone === null ? null : false,
    photo: null,
    locale_id: 1,
    locale: 'en-US',
    organization_id: null,
    role: 'end-user',
    verified: holder.email !== null,
    external_id: null,
    tags: [],
    alias: null,
    active: true,
    shared: false,
    shared_agent: false,
    last_login_at: null,
    two_factor_auth_enabled: false,
    signature: null,
    details: null,
    notes: null,
    role_type: null,
    custom_role_id: null,
    moderator: false,
    ticket_restriction: 'requested',
    only_private_comments: false,
    restricted_agent: true,
    suspended: false,
    default_group_id: null,
    report_csv: false,
    user_fields: {},
  };
}

function ticketOf(holder: VendorPerson, id: number, requesterId: number, n: number, baseUrl: string) {
  const created = holder.createdAt + (n + 1) * 86_400 * 5;
  return {
    url: `${baseUrl}/api/v2/tickets/${id}.json`,
    id,
    external_id: null,
    via: { channel: 'email', source: { from: {}, to: {}, rel: null } },
    created_at: isoSeconds(created),
    updated_at: isoSeconds(created + 3_600 * (n + 2)),
    type: 'question',
    subject: SUBJECTS[(holder.index + n) % SUBJECTS.length]!,
    raw_subject: SUBJECTS[(holder.index + n) % SUBJECTS.length]!,
    description: 'Hello, I need help with my order.',
    priority: PRIORITIES[(holder.index + 2 * n) % PRIORITIES.length]!,
    status: TICKET_STATUSES[(holder.index * 3 + n) % TICKET_STATUSES.length]!,
    recipient: null,
    requester_id: requesterId,
    submitter_id: requesterId,
    assignee_id: 900000000001,
    organization_id: null,
    group_id: 900000000101,
    collaborator_ids: [],
    follower_ids: [],
    has_incidents: false,
    is_public: true,
    due_at: null,
    tags: [],
    custom_fields: [],
    satisfaction_rating: null,
    sharing_agreement_ids: [],
    brand_id: 900000000201,
    allow_channelback: false,
    allow_attachments: true,
  };
}

/**
 * One page of `items` at `path`: cursor pagination when `page[size]` is given (meta.has_more, links.next),
 * otherwise offset pagination (`page`, `per_page`, next_page as a full URL, count).
 */
function paged<T>(items: readonly T[], query: URLSearchParams, baseUrl: string, path: string, key: string, kind: string): Record<string, unknown> {
  const size = query.get('page[size]');
  if (size !== null) {
    const perPage = intParam(size, 100, 1, ZENDESK_PAGE_MAX, (m) => invalid(`page[size] ${m}`));
    const after = query.get('page[after]');
    const start = after === null ? 0 : cursorPosition(after, kind);
    const page = items.slice(start, start + perPage);
    const hasMore = start + perPage < items.length;
    const afterCursor = page.length > 0 ? encodeCursor(kind, start + page.length) : null;
    const beforeCursor = page.length > 0 ? encodeCursor(kind, start) : null;
    const link = (cursorParam: string, cursor: string) => {
      const url = new URL(path, baseUrl);
      url.searchParams.set('page[size]', String(perPage));
      url.searchParams.set(cursorParam, cursor);
      return url.toString();
    };
    return {
      [key]: page,
      meta: { has_more: hasMore, after_cursor: afterCursor, before_cursor: beforeCursor },
      links: { prev: beforeCursor && start > 0 ? link('page[before]', beforeCursor) : null, next: hasMore && afterCursor ? link('page[after]', afterCursor) : null },
    };
  }
  const pageNumber = intParam(query.get('page'), 1, 1, 100_000, (m) => invalid(`page ${m}`));
  const perPage = intParam(query.get('per_page'), 100, 1, ZENDESK_PAGE_MAX, (m) => invalid(`per_page ${m}`));
  const start = (pageNumber - 1) * perPage;
  const pageUrl = (n: number) => {
    const url = new URL(path, baseUrl);
    for (const [name, value] of query) if (name !== 'page') url.searchParams.set(name, value);
    url.searchParams.set('page', String(n));
    return url.toString();
  };
  return {
    [key]: items.slice(start, start + perPage),
    next_page: start + perPage < items.length ? pageUrl(pageNumber + 1) : null,
    previous_page: pageNumber > 1 ? pageUrl(pageNumber - 1) : null,
    count: items.length,
  };
}

function cursorPosition(cursor: string, kind: string): number {
  try {
    return decodeCursor(cursor, kind, 'page[after]');
  } catch (error) {
    if (error instanceof HttpError) throw invalid('page[after] is not a valid cursor');
    throw error;
  }
}

/** `email:x`, `phone:x`, or a bare term matched against email, phone and name, as users/search does. */
function searchUsers<T extends { email: string | null; phone: string | null; name: string }>(users: readonly T[], raw: string): T[] {
  const terms = raw.split(/\s+/).filter((t) => t !== '' && t !== 'type:user');
  return users.filter((user) =>
    terms.every((term) => {
      const [field, value] = /^(email|phone|name):(.+)$/.exec(term)?.slice(1) ?? [undefined, term];
      const plain = value!.replace(/^"|"$/g, '');
      const email = user.email !== null && user.email.trim().toLowerCase() === plain.toLowerCase();
      const phone = user.phone !== null && phoneKey(plain) !== '' && phoneKey(user.phone) === phoneKey(plain);
      if (field === 'email') return email;
      if (field === 'phone') return phone;
      if (field === 'name') return user.name.toLowerCase().includes(plain.toLowerCase());
      return email || phone || user.name.toLowerCase().includes(plain.toLowerCase());
    }),
  );
}

function authenticate(headers: IncomingHttpHeaders, email: string, apiToken: string): void {
  const credentials = basicCredentials(headers);
  // API tokens authenticate as `{email}/token` with the token as the password.
  if (!credentials || credentials.username !== `${email}/token` || credentials.password !== apiToken) {
    throw zendeskError(401, "Couldn't authenticate you", "Couldn't authenticate you");
  }
}

export function createZendeskServer(data: VendorData, options: ZendeskOptions = {}): VendorApp {
  const email = options.email ?? ZENDESK_TEST_EMAIL;
  const apiToken = options.apiToken ?? ZENDESK_TEST_TOKEN;
  const holders = data.holders.zendesk;
  const ids = holders.map((holder, i) => 372_000_000_001 + i * 1_000 + (holder.index % 1_000));
  // Records hold their own URLs, so they are built once the server knows its address.
  let built: { users: ReturnType<typeof userOf>[]; byId: Map<number, ReturnType<typeof userOf>>; tickets: ReturnType<typeof ticketOf>[]; ticketsByUser: Map<number, ReturnType<typeof ticketOf>[]>; ticketById: Map<number, ReturnType<typeof ticketOf>> } | undefined;
  const records = (baseUrl: string) => {
    if (built) return built;
    const users = holders.map((holder, i) => userOf(holder, ids[i]!, baseUrl));
    let ticketId = 1000;
    const tickets = holders.flatMap((holder, i) => Array.from({ length: holder.children }, (_, n) => ticketOf(holder, ++ticketId, ids[i]!, n, baseUrl)));
    const ticketsByUser = new Map<number, ReturnType<typeof ticketOf>[]>();
    for (const t of tickets) ticketsByUser.set(t.requester_id, [...(ticketsByUser.get(t.requester_id) ?? []), t]);
    return (built = { users, byId: new Map(users.map((u) => [u.id, u])), tickets, ticketsByUser, ticketById: new Map(tickets.map((t) => [t.id, t])) });
  };
  const userId = (raw: string) => {
    if (!/^\d+$/.test(raw)) throw zendeskError(404, 'RecordNotFound', 'Not found');
    return Number(raw);
  };

  const app = new VendorApp('zendesk', options, holders.map((holder, i) => ({ id: String(ids[i]), personId: holder.person.personId })), (url) => ({ ZENDESK_URL: url, ZENDESK_EMAIL: email, ZENDESK_API_TOKEN: apiToken }));
  return app
    .guard(({ headers }) => authenticate(headers, email, apiToken))
    // Zendesk answers a throttled request in plain text with the seconds to wait.
    // Retry-After in whole seconds, and the plan's per-minute limit in X-Rate-Limit.
    .guard(
      rateLimitGuard(options, (waitMs, { limit }) =>
        vendorError(
          429,
          'Number of allowed API requests per minute exceeded',
          { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))), 'x-rate-limit': String(limit.kind === 'window' ? limit.max : limit.capacity), 'x-rate-limit-remaining': '0' },
          'text/plain; charset=utf-8',
        ),
      ),
    )
    .get('/api/v2/users.json', ({ query, baseUrl }) => paged(records(baseUrl).users, query, baseUrl, '/api/v2/users.json', 'users', 'users'))
    .get('/api/v2/users/show_many.json', ({ query, baseUrl }) => {
      const raw = query.get('ids');
      if (raw === null || raw === '') throw invalid('ids is required');
      const wanted = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (wanted.length > ZENDESK_SHOW_MANY_MAX) throw invalid(`ids accepts at most ${ZENDESK_SHOW_MANY_MAX} values`);
      const { byId } = records(baseUrl);
      // Unknown IDs are left out, not reported.
      return { users: [...new Set(wanted)].flatMap((id) => (/^\d+$/.test(id) && byId.has(Number(id)) ? [byId.get(Number(id))!] : [])) };
    })
    .get('/api/v2/users/search.json', ({ query, baseUrl }) => {
      const term = query.get('query') ?? query.get('external_id');
      if (term === null || term.trim() === '') throw invalid('query is required');
      return paged(searchUsers(records(baseUrl).users, term), query, baseUrl, '/api/v2/users/search.json', 'users', 'user_search');
    })
    .get('/api/v2/search.json', ({ query, baseUrl }) => {
      const term = query.get('query');
      if (term === null || term.trim() === '') throw invalid('query is required');
      if (!/(^|\s)type:user(\s|$)/.test(term)) return { results: [], facets: null, next_page: null, previous_page: null, count: 0 };
      const hits = searchUsers(records(baseUrl).users, term).map((u) => ({ ...u, result_type: 'user' }));
      const { users, ...page } = paged(hits, query, baseUrl, '/api/v2/search.json', 'users', 'search');
      return { results: users, facets: null, ...page };
    })
    .get('/api/v2/users/:file', ({ params, baseUrl }) => {
      const user = records(baseUrl).byId.get(userId(params.file.replace(/\.json$/, '')));
      if (!user) throw zendeskError(404, 'RecordNotFound', 'Not found');
      return { user };
    })
    .get('/api/v2/users/:id/tickets/requested.json', ({ params, query, baseUrl }) => {
      const { byId, ticketsByUser } = records(baseUrl);
      const id = userId(params.id);
      if (!byId.has(id)) throw zendeskError(404, 'RecordNotFound', 'Not found');
      return paged(ticketsByUser.get(id) ?? [], query, baseUrl, `/api/v2/users/${id}/tickets/requested.json`, 'tickets', 'requested');
    })
    .get('/api/v2/tickets/:file', ({ params, baseUrl }) => {
      const raw = params.file.replace(/\.json$/, '');
      const ticket = /^\d+$/.test(raw) ? records(baseUrl).ticketById.get(Number(raw)) : undefined;
      if (!ticket) throw zendeskError(404, 'RecordNotFound', 'Not found');
      return { ticket };
    });
}
