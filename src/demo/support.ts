// Simulated support desk (Zendesk-like): integer IDs, page-number pagination and, deliberately, no batch read.
import type { Dataset, SupportTicket, SupportUser, TicketStatus } from './dataset.js';
import { HttpApp, badRequest, intParam, intQuery, notFound, stringQuery } from './http-app.js';
import type { SimulatedSource, SourceOptions } from './http-app.js';
import { normalizeEmail, phoneKey } from './identifiers.js';
import { indexMany, indexUnique, newestFirst, toWire } from './record-index.js';

const SUPPORT_MAX_PER_PAGE = 100;
const TICKET_STATUSES: readonly string[] = ['new', 'open', 'pending', 'solved', 'closed'] satisfies TicketStatus[];

/** One page of `items`; `total_pages` is at least 1 so page 1 always exists. */
function pageOf<T>(items: readonly T[], query: URLSearchParams, defaultPerPage: number) {
  const page = intQuery(query, 'page', { fallback: 1, min: 1, max: Number.MAX_SAFE_INTEGER });
  const perPage = intQuery(query, 'per_page', { fallback: defaultPerPage, min: 1, max: SUPPORT_MAX_PER_PAGE });
  const start = (page - 1) * perPage;
  return {
    items: items.slice(start, start + perPage),
    page,
    per_page: perPage,
    total_pages: Math.max(1, Math.ceil(items.length / perPage)),
  };
}

export function createSupportServer(data: Dataset, options: SourceOptions = {}): SimulatedSource {
  const users = data.support.users;
  const byId = indexUnique(users, (u) => u.id);
  const byEmail = indexMany(users, (u) => u.email && normalizeEmail(u.email));
  const byPhone = indexMany(users, (u) => u.phone && phoneKey(u.phone));
  const ticketsByUser = indexMany(data.support.tickets, (t) => t.requester_id);
  const ticketsById = indexUnique(data.support.tickets, (t) => t.id);
  for (const tickets of ticketsByUser.values()) {
    tickets.sort((a, b) => newestFirst(a.created_at, b.created_at) || b.id - a.id);
  }

  const existingUser = (rawId: string): SupportUser => {
    const user = byId.get(intParam(rawId, 'id'));
    if (!user) throw notFound(`user ${rawId} does not exist`);
    return user;
  };

  return new HttpApp('support', options)
    .get('/users', ({ query }) => {
      const { items, ...paging } = pageOf(users, query, SUPPORT_MAX_PER_PAGE);
      return { users: items.map(toWire), ...paging };
    })
    .get('/users/search', ({ query }) => {
      const term = stringQuery(query, 'query');
      if (term === undefined) throw badRequest('search needs a query parameter (an email or phone number)');
      const found = term.includes('@') ? byEmail.get(normalizeEmail(term)) : byPhone.get(phoneKey(term));
      return { users: (found ?? []).map(toWire) };
    })
    .get('/users/:id', ({ params }) => ({ user: toWire(existingUser(params.id)) }))
    // A ticket by its number, as an agent quotes it (Zendesk: GET /api/v2/tickets/{id}).
    .get('/tickets/:id', ({ params }) => {
      const ticket = ticketsById.get(intParam(params.id, 'id'));
      if (!ticket) throw notFound(`ticket ${params.id} does not exist`);
      return { ticket: toWire(ticket) };
    })
    .get('/users/:id/tickets', ({ params, query }) => {
      let tickets: readonly SupportTicket[] = ticketsByUser.get(existingUser(params.id).id) ?? [];
      const status = stringQuery(query, 'status');
      if (status !== undefined) {
        if (!TICKET_STATUSES.includes(status)) throw badRequest(`status must be one of ${TICKET_STATUSES.join(', ')}`);
        tickets = tickets.filter((t) => t.status === status);
      }
      const { items, ...paging } = pageOf(tickets, query, 25);
      return { tickets: items.map(toWire), ...paging };
    });
}
