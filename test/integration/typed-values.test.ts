// Timestamps are DateTime, free-form data JSON and closed sets enums; a source value that does not fit fails alone.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import { parseConfig } from '../../src/config/load.js';
import { HttpApp } from '../../src/demo/http-app.js';
import { startSimulatedSystems, type SimulatedSystems } from '../../src/demo/systems.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import { startHub, type RunningHub } from '../../src/server/hub.js';
import { syncLinkTable } from '../support/hub-harness.js';

/**
 * A help desk whose statuses and priorities are numbers (as Freshdesk's are: 2 open … 5 closed, plus statuses an
 * admin adds later), with one ticket whose date is not a date. Each contact is one person of the demo dataset.
 */
function startDesk(systems: SimulatedSystems) {
  const people = systems.dataset.people.slice(0, 3);
  const contacts = people.map((p, i) => ({ id: 700 + i, name: `${p.firstName} ${p.lastName}`, email: p.email, updated_at: '2026-10-01T00:00:00Z' }));
  const tickets = new Map<number, object[]>([
    [700, [
      { id: 9001, subject: 'Parcel missing', status: 2, priority: 4, created_at: '2026-09-01T10:00:00Z' },
      { id: 9002, subject: 'Waiting on the carrier', status: 6, priority: 1, created_at: '2026-09-02T10:00:00Z' },
    ]],
    [701, [
      { id: 9003, subject: 'Escalated to billing', status: 7, priority: 9, created_at: '2026-09-03T10:00:00Z' },
      { id: 9004, subject: 'Refund', status: 5, priority: 2, created_at: 'last tuesday' },
    ]],
    [702, []],
  ]);
  const app = new HttpApp('desk')
    .get('/api/v2/contacts', ({ query }) => {
      const page = Number(query.get('page') ?? '1');
      return page === 1 ? { contacts, total_pages: 1 } : { contacts: [], total_pages: 1 };
    })
    .get('/api/v2/contacts/:id', ({ params }) => contacts.find((c) => String(c.id) === params.id) ?? null)
    .get('/api/v2/contacts/:id/tickets', ({ params }) => tickets.get(Number(params.id)) ?? []);
  return { app, contacts };
}

const DESK_SOURCE = (url: string) => ({
  baseUrl: `${url}/api/v2`,
  entities: {
    contact: {
      provides: 'profile',
      single: { path: '/contacts/{id}' },
      list: { path: '/contacts', query: { page: '{page}', per_page: '{limit}' }, envelope: 'contacts', pageSize: 100, pagination: { style: 'page', totalPagesPath: 'total_pages' } },
      identifiers: [{ kind: 'email', path: 'email' }],
      mapping: { name: 'name', email: { path: 'email', transform: 'email' }, updatedAt: { path: 'updated_at', transform: 'date' } },
    },
    ticket: {
      provides: 'tickets',
      parent: 'contact',
      single: { path: '/contacts/{id}/tickets' },
      mapping: {
        id: 'id',
        subject: 'subject',
        // The desk's numbers → the graph's names; 7 is a status an admin added that nobody mapped yet.
        status: { path: 'status', values: { '2': 'OPEN', '3': 'PENDING', '4': 'SOLVED', '5': 'CLOSED', '6': 'HOLD' } },
        priority: { path: 'priority', values: { '1': 'LOW', '2': 'NORMAL', '3': 'HIGH', '4': 'URGENT' } },
        createdAt: { path: 'created_at', transform: 'date' },
      },
    },
  },
});

let systems: SimulatedSystems;
let desk: ReturnType<typeof startDesk>;
let hub: RunningHub;

beforeAll(async () => {
  systems = await startSimulatedSystems({ people: 30, seed: 11, latencyMs: 0 });
  desk = startDesk(systems);
  await desk.app.listen(0);
  const demo = demoConfig(systems.urls, { PORT: '0', LINK_DB: ':memory:' });
  const config = parseConfig({ ...demo, sources: { ...demo.sources, desk: DESK_SOURCE(desk.app.url) } }, {});
  const store = new SqliteLinkStore(':memory:');
  await syncLinkTable(config, store);
  hub = await startHub(config, { store });
  desk.app.resetStats();
});
afterAll(async () => {
  await hub?.close();
  await desk?.app.close();
  await systems?.close();
});

async function graphql(query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(hub.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return (await response.json()) as { data: any; errors?: { message: string; path: (string | number)[]; extensions: Record<string, unknown> }[] };
}

/** The desk's tickets among the customer's (the demo's support desk may hold some too). */
const deskTickets = (data: any) => data.customerByIdentity.tickets.filter((t: any) => t.id.startsWith('900'));

const TICKETS = `query($v: String!) { customerByIdentity(kind: SOURCE_RECORD, value: $v) { tickets(first: 10) { id status statusRaw priority priorityRaw createdAt } } }`;

describe('typed values', () => {
  test('introspection shows the DateTime and JSON scalars and the enums with their UNKNOWN values', async () => {
    const { data } = await graphql('{ __schema { types { name kind enumValues { name } } } }');
    const types = new Map<string, { kind: string; enumValues: { name: string }[] | null }>(data.__schema.types.map((t: any) => [t.name, t]));
    expect(types.get('DateTime')?.kind).toBe('SCALAR');
    expect(types.get('JSON')?.kind).toBe('SCALAR');
    const values = (name: string) => types.get(name)?.enumValues?.map((v) => v.name);
    expect(values('TicketStatus')).toEqual(['NEW', 'OPEN', 'PENDING', 'HOLD', 'SOLVED', 'CLOSED', 'UNKNOWN']);
    expect(values('TicketPriority')).toEqual(['LOW', 'NORMAL', 'HIGH', 'URGENT', 'UNKNOWN']);
    expect(values('OrderStatus')).toContain('UNKNOWN');
    expect(values('LinkRule')).toEqual(['SEED', 'EMAIL', 'PHONE', 'EMAIL_MD5', 'EXTERNAL_ID', 'REVIEW']);
    expect(values('ConflictReason')).toEqual(['CAP_EXCEEDED', 'UNIQUE_IDENTIFIER', 'REVIEWED_SPLIT', 'SUSPECTED_SHARED_VALUE']);
    expect(values('IdentifierKind')).toEqual(['EMAIL', 'PHONE', 'EMAIL_MD5', 'REFERENCE', 'REVIEW_MERGE', 'REVIEW_SPLIT']);
  });

  test('event properties arrive as a JSON object, timestamps as RFC 3339 UTC text', async () => {
    const { data, errors } = await graphql('{ customers(first: 30) { edges { node { events(first: 5) { occurredAt properties } identities { linkedBy { rule linkedAt } } } } } }');
    expect(errors).toBeUndefined();
    const events = data.customers.edges.flatMap((e: any) => e.node.events);
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) {
      expect(typeof event.properties).toBe('object');
      expect(event.occurredAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    const rules = new Set(data.customers.edges.flatMap((e: any) => e.node.identities.map((i: any) => i.linkedBy.rule)));
    expect([...rules].every((rule) => ['SEED', 'EMAIL', 'PHONE', 'EMAIL_MD5', 'EXTERNAL_ID', 'REVIEW'].includes(rule as string))).toBe(true);
  });

  test('a source\'s numeric statuses map through its value map; one it added later is UNKNOWN with the raw value beside it', async () => {
    const { data, errors } = await graphql(TICKETS, { v: 'desk:700' });
    expect(errors).toBeUndefined();
    expect(deskTickets(data)).toEqual([
      { id: '9002', status: 'HOLD', statusRaw: '6', priority: 'LOW', priorityRaw: '1', createdAt: '2026-09-02T10:00:00.000Z' },
      { id: '9001', status: 'OPEN', statusRaw: '2', priority: 'URGENT', priorityRaw: '4', createdAt: '2026-09-01T10:00:00.000Z' },
    ]);
  });

  test('a date that is not one fails only that value: null plus an error naming the source and field, counted', async () => {
    const { data, errors } = await graphql(TICKETS, { v: 'desk:701' });
    expect(deskTickets(data)).toEqual([
      { id: '9003', status: 'UNKNOWN', statusRaw: '7', priority: 'UNKNOWN', priorityRaw: '9', createdAt: '2026-09-03T10:00:00.000Z' },
      { id: '9004', status: 'CLOSED', statusRaw: '5', priority: 'NORMAL', priorityRaw: '2', createdAt: null },
    ]);
    expect(errors).toEqual([
      expect.objectContaining({
        path: ['customerByIdentity', 'tickets', data.customerByIdentity.tickets.findIndex((t: any) => t.id === '9004'), 'createdAt'],
        extensions: expect.objectContaining({ code: 'SOURCE_VALUE_INVALID', source: 'desk', entity: 'ticket', recordId: '9004', field: 'Ticket.createdAt' }),
      }),
    ]);
    // One request per contact: the tickets of 701 were read once, though one of them was unreadable.
    expect(desk.app.stats().routes['GET /api/v2/contacts/:id/tickets']).toBe(2);
    const metrics = await (await fetch(new URL('/metrics', hub.url))).text();
    expect(metrics).toContain('rosetta_source_values_unfit_total{source="desk",field="Ticket.createdAt",outcome="invalid"} 1');
    expect(metrics).toContain('rosetta_source_values_unfit_total{source="desk",field="Ticket.status",outcome="unknown"} 1');
    expect(metrics).toContain('rosetta_source_values_unfit_total{source="desk",field="Ticket.priority",outcome="unknown"} 1');
  });
});
