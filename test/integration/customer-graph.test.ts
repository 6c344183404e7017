// The unified customer as a user sees it: records linked right, values mapped and merged, lookups by any identifier.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Dataset } from '../../src/demo/dataset.js';
import { syncLinks } from '../../src/identity/sync.js';
import { createServices } from '../../src/server/hub.js';
import { startTestHub, type GraphQLResponse, type TestHub } from '../support/hub-harness.js';

let t: TestHub;
let truth: Map<string, string>;
beforeAll(async () => {
  t = await startTestHub({ people: 500, seed: 11 });
  truth = groundTruth(t.systems.dataset);
});
afterAll(() => t.close());

/** `source:entity:recordId` → the person the generator made the record for. */
function groundTruth(data: Dataset): Map<string, string> {
  const entries: [string, string][] = [
    ...data.crm.contacts.map((r): [string, string] => [`crm:contact:${r.id}`, r.personId]),
    ...data.shop.customers.map((r): [string, string] => [`shop:customer:${r.id}`, r.personId]),
    ...data.support.users.map((r): [string, string] => [`support:user:${r.id}`, r.personId]),
    ...data.marketing.members.map((r): [string, string] => [`marketing:member:${r.id}`, r.personId]),
    ...data.analytics.devices.map((r): [string, string] => [`analytics:device:${r.device_id}`, r.personId]),
  ];
  return new Map(entries);
}

async function allCustomers() {
  return (await t.store.pageCustomers(100_000, null)).customers;
}

const PROFILE = 'profile { firstName lastName name email phone address { line1 city postalCode country } provenance { field source entity recordId fetchedAt sourceUpdatedAt } }';

describe('the identity-link table built by sync', () => {
  test('links every record of a person into one customer and never two people together (precision and recall 1.0)', async () => {
    const customers = await allCustomers();
    const linkedRecords = customers.flatMap((c) => c.links);
    expect(linkedRecords).toHaveLength(truth.size);
    const customersOfPerson = new Map<string, Set<string>>();
    for (const customer of customers) {
      const people = new Set(customer.links.map((l) => truth.get(`${l.source}:${l.entity}:${l.recordId}`)));
      expect(people.size, `customer ${customer.customerId} mixes people`).toBe(1);
      const [person] = people;
      customersOfPerson.set(person!, (customersOfPerson.get(person!) ?? new Set()).add(customer.customerId));
    }
    for (const [person, ids] of customersOfPerson) expect(ids.size, `person ${person} is split`).toBe(1);
    expect(customers).toHaveLength(new Set(truth.values()).size);
  });

  test('support users sharing the placeholder email stay apart and are linked by their phone', async () => {
    const placeholders = t.systems.dataset.support.users.filter((u) => u.email?.trim().toLowerCase() === 'noreply@example.com');
    expect(placeholders.length).toBeGreaterThanOrEqual(2);
    const customerIds = new Set<string>();
    for (const user of placeholders) {
      const customerId = await t.store.findCustomerIdByRecord({ source: 'support', entity: 'user', recordId: String(user.id) });
      customerIds.add(customerId!);
      const [customer] = (await t.store.getCustomers([customerId!])).values();
      const link = customer!.links.find((l) => l.source === 'support' && l.recordId === String(user.id))!;
      expect(link.evidence).not.toBe('noreply@example.com');
    }
    expect(customerIds.size).toBe(placeholders.length);
  });

  test('re-syncing unchanged data keeps every customer ID and link', async () => {
    const before = (await allCustomers()).flatMap((c) => c.links);
    const services = createServices(t.config, t.store);
    const summary = await syncLinks({ registry: services.registry, links: services.links, store: t.store });
    await services.registry.close();
    expect(summary.records).toBe(before.length);
    expect(summary).toMatchObject({ customersChanged: 0, merges: 0, conflicts: 0 });
    expect((await allCustomers()).flatMap((c) => c.links)).toEqual(before);
  });
});

describe('the unified customer', () => {
  test('a CRM contact\'s profile is mapped, normalised and attributed to the CRM', async () => {
    const contact = t.systems.dataset.crm.contacts.find((c) => c.primary_email && c.phone)!;
    const person = t.systems.dataset.people.find((p) => p.personId === contact.personId)!;
    const response = await t.graphql(`query($v: String!) { customerByIdentity(kind: SOURCE_RECORD, value: $v) { ${PROFILE} } }`, { variables: { v: `crm:${contact.id}` } });
    expect(response.errors).toBeUndefined();
    const profile = response.data.customerByIdentity.profile;
    expect(profile).toMatchObject({
      firstName: person.firstName,
      lastName: person.lastName,
      name: `${person.firstName} ${person.lastName}`,
      email: person.email.toLowerCase(),
      phone: person.phone,
      address: { line1: contact.address.street, city: contact.address.city, postalCode: contact.address.zip, country: 'US' },
    });
    for (const field of ['firstName', 'email', 'phone', 'address']) {
      expect(profile.provenance.find((p: { field: string }) => p.field === field)).toMatchObject({ source: 'crm', entity: 'contact', recordId: contact.id, sourceUpdatedAt: new Date(contact.updated_at).toISOString() });
    }
  });

  test('a customer the CRM does not know takes its profile from the next source by priority', async () => {
    const crmPeople = new Set(t.systems.dataset.crm.contacts.map((c) => c.personId));
    const shopper = t.systems.dataset.shop.customers.find((c) => !crmPeople.has(c.personId) && c.contact_email)!;
    const response = await t.graphql(`query($v: String!) { customerByIdentity(kind: SOURCE_RECORD, value: $v) { ${PROFILE} } }`, { variables: { v: `shop:${shopper.id}` } });
    expect(response.data.customerByIdentity.profile.name).toBe(shopper.name);
    expect(response.data.customerByIdentity.profile.provenance.find((p: { field: string }) => p.field === 'name')).toMatchObject({ source: 'shop', recordId: String(shopper.id) });
  });

  test('a lookup by email ignores case and whitespace; by phone, its format', async () => {
    const person = t.systems.dataset.people.find((p) => t.systems.dataset.crm.contacts.some((c) => c.personId === p.personId))!;
    const byEmail = await t.graphql('query($v: String!) { customerByIdentity(kind: EMAIL, value: $v) { id } }', { variables: { v: `  ${person.email.toUpperCase()} ` } });
    const national = person.phone.replace(/^\+1(\d{3})(\d{3})(\d{4})$/, '($1) $2-$3');
    const byPhone = await t.graphql('query($v: String!) { customerByIdentity(kind: PHONE, value: $v) { id } }', { variables: { v: national } });
    expect(byEmail.data.customerByIdentity.id).toMatch(/^cus_/);
    expect(byPhone.data.customerByIdentity.id).toBe(byEmail.data.customerByIdentity.id);
  });

  test('a ticket number leads to its requester\'s customer with one read of the ticket at the support desk', async () => {
    const ticket = t.systems.dataset.support.tickets[3]!;
    const expected = await t.store.findCustomerIdByRecord({ source: 'support', entity: 'user', recordId: String(ticket.requester_id) });
    t.resetStats();
    const response = await t.graphql('query($v: String!) { customerByIdentity(kind: SOURCE_RECORD, value: $v) { id } }', { variables: { v: `support:ticket:${ticket.id}` }, headers: { 'x-rosetta-explain': '1' } });
    expect(response.data.customerByIdentity.id).toBe(expected);
    expect(t.systems.totalRequests()).toBe(1);
    expect(t.routes('support')).toEqual({ 'GET /tickets/:id': 1 });
    expect(response.extensions!.explain.upstream).toMatchObject([{ source: 'support', operation: 'ticket.lookup', keys: 1, status: 200 }]);
  });

  test('an order name (shop:order:#1001) leads to its customer; an unknown one to null, one call each', async () => {
    const order = t.systems.dataset.shop.orders.find((o) => o.number === '#1001')!;
    const expected = await t.store.findCustomerIdByRecord({ source: 'shop', entity: 'customer', recordId: String(order.customer_id) });
    t.resetStats();
    const found = await t.graphql('query($v: String!) { customerByIdentity(kind: SOURCE_RECORD, value: $v) { id } }', { variables: { v: 'shop:order:#1001' } });
    expect(found.data.customerByIdentity.id).toBe(expected);
    const unknown = await t.graphql('query($v: String!) { customerByIdentity(kind: SOURCE_RECORD, value: $v) { id } }', { variables: { v: 'shop:order:#999999' } });
    expect(unknown.errors).toBeUndefined();
    expect(unknown.data.customerByIdentity).toBeNull();
    expect(t.systems.totalRequests()).toBe(2);
    expect(t.routes('shop')).toEqual({ 'GET /orders': 2 });
  });

  test('a linked record named with its entity (analytics:device:…) answers from the link table with no upstream call', async () => {
    const device = t.systems.dataset.analytics.devices[0]!;
    const expected = await t.store.findCustomerIdByRecord({ source: 'analytics', entity: 'device', recordId: device.device_id });
    t.resetStats();
    const response = await t.graphql('query($v: String!) { customerByIdentity(kind: SOURCE_RECORD, value: $v) { id } }', { variables: { v: `analytics:device:${device.device_id}` } });
    expect(response.data.customerByIdentity.id).toBe(expected);
    expect(t.systems.totalRequests()).toBe(0);
  });

  test('the placeholder email finds nobody', async () => {
    const response = await t.graphql('{ customerByIdentity(kind: EMAIL, value: "noreply@example.com") { id } }');
    expect(response.errors).toBeUndefined();
    expect(response.data.customerByIdentity).toBeNull();
  });

  test('orders come newest first with totals and line items as money', async () => {
    const data = t.systems.dataset;
    const shopper = data.shop.customers.find((c) => data.shop.orders.filter((o) => o.customer_id === c.id).length >= 2)!;
    const expected = data.shop.orders.filter((o) => o.customer_id === shopper.id).sort((a, b) => b.created_at.localeCompare(a.created_at));
    const response = await t.graphql(
      `query($v: String!) { customerByIdentity(kind: SOURCE_RECORD, value: $v) { orders(first: 50) { id number status placedAt total { amountMinor currency formatted } lineItems { sku quantity unitPrice { amountMinor currency } } } } }`,
      { variables: { v: `shop:${shopper.id}` } },
    );
    expect(response.errors).toBeUndefined();
    const orders = response.data.customerByIdentity.orders;
    expect(orders.map((o: { id: string }) => o.id)).toEqual(expected.map((o) => String(o.id)));
    const [newest] = expected;
    expect(orders[0].total).toEqual({ amountMinor: newest!.total_cents, currency: newest!.currency, formatted: (newest!.total_cents / 100).toFixed(2) });
    expect(orders[0].lineItems).toEqual(newest!.line_items.map((li) => ({ sku: li.sku, quantity: li.quantity, unitPrice: { amountMinor: li.unit_price_cents, currency: newest!.currency } })));
  });

  test('tickets can be filtered by status', async () => {
    const data = t.systems.dataset;
    const user = data.support.users.find((u) => new Set(data.support.tickets.filter((tk) => tk.requester_id === u.id).map((tk) => tk.status)).size >= 2)!;
    const tickets = data.support.tickets.filter((tk) => tk.requester_id === user.id);
    const status = tickets[0]!.status;
    const response = await t.graphql(`query($v: String!, $s: [TicketStatus!]) { customerByIdentity(kind: SOURCE_RECORD, value: $v) { all: tickets { id } some: tickets(status: $s) { id status } } }`, {
      variables: { v: `support:${user.id}`, s: [status.toUpperCase()] },
    });
    expect(response.errors).toBeUndefined();
    expect(response.data.customerByIdentity.all).toHaveLength(tickets.length);
    expect(response.data.customerByIdentity.some.map((tk: { id: string }) => tk.id).sort()).toEqual(tickets.filter((tk) => tk.status === status).map((tk) => String(tk.id)).sort());
  });

  test('events come most recent first across devices and are bounded by first', async () => {
    const data = t.systems.dataset;
    const device = data.analytics.devices.find((d) => data.analytics.events.filter((e) => e.device_id === d.device_id).length >= 5)!;
    const response = await t.graphql(`query($v: String!) { customerByIdentity(kind: SOURCE_RECORD, value: $v) { events(first: 3) { id occurredAt deviceId } } }`, { variables: { v: `analytics:${device.device_id}` } });
    expect(response.errors).toBeUndefined();
    const events = response.data.customerByIdentity.events as { occurredAt: string }[];
    expect(events).toHaveLength(3);
    expect([...events].sort((a, b) => b.occurredAt.localeCompare(a.occurredAt))).toEqual(events);
  });

  test('marketing shows subscription status, consent and lists', async () => {
    const member = t.systems.dataset.marketing.members[0]!;
    const response = await t.graphql(`query($v: String!) { customerByIdentity(kind: SOURCE_RECORD, value: $v) { marketing { status emailConsent consentedAt lists } } }`, { variables: { v: `marketing:${member.id}` } });
    expect(response.data.customerByIdentity.marketing).toEqual({
      status: member.status.toUpperCase(),
      emailConsent: member.consent.email.granted,
      consentedAt: new Date(member.consent.email.timestamp).toISOString(),
      lists: member.lists,
    });
  });

  test('customers pages through the whole table with cursors, each customer once', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 20; page += 1) {
      const response: GraphQLResponse = await t.graphql('query($after: String) { customers(first: 100, after: $after) { totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }', { variables: { after } });
      const connection = response.data.customers;
      seen.push(...connection.edges.map((e: { node: { id: string } }) => e.node.id));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toHaveLength((await allCustomers()).length);
  });
});

describe('bad input', () => {
  test('an unknown customer ID is null, not an error', async () => {
    const response = await t.graphql('{ customer(id: "cus_nope") { id } }');
    expect(response).toMatchObject({ status: 200, data: { customer: null } });
    expect(response.errors).toBeUndefined();
  });

  test('a query that does not validate gets a GraphQL error and the server keeps serving', async () => {
    const bad = await t.graphql('{ customer(id: "x") { shoeSize } }');
    expect(bad.status).toBe(400);
    expect(bad.errors![0]!.extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const good = await t.graphql('{ sources { name } }');
    expect(good.data.sources.map((s: { name: string }) => s.name)).toEqual(['crm', 'shop', 'support', 'marketing', 'analytics']);
  });

  test.each([
    ['a page larger than 100', '{ customers(first: 1000) { edges { cursor } } }', 'first'],
    ['an identity that is not an email', '{ customerByIdentity(kind: EMAIL, value: "nope") { id } }', 'value'],
    ['a source record without a source', '{ customerByIdentity(kind: SOURCE_RECORD, value: "C-1") { id } }', 'value'],
    ['an unknown source', '{ customerByIdentity(kind: SOURCE_RECORD, value: "erp:1") { id } }', 'value'],
  ])('%s is a BAD_USER_INPUT error naming the argument', async (_name, query, argument) => {
    const response = await t.graphql(query);
    expect(response.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument });
  });

  test('a body that is not JSON is a 400 with a GraphQL-shaped error', async () => {
    const response = await fetch(t.hub.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('BAD_REQUEST');
  });
});
