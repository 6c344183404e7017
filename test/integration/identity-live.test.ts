// The link table changes three ways through one code path: resumable sync, on-demand lookups and signed webhooks.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { signBody, signTimestamped } from '../../src/demo/webhook-emitter.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import { syncLinks } from '../../src/identity/sync.js';
import { createServices } from '../../src/server/hub.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

const WEBHOOK_SECRET = 'demo-crm-webhook-secret';
const CRM_PAGE = 50;

let t: TestHub;
let webhookUrl: string;
beforeAll(async () => {
  t = await startTestHub({
    people: 300,
    seed: 21,
    // Small CRM pages, so a sync has several pages to crash between.
    config: (config) => {
      config.sources.crm!.entities.contact!.list!.pageSize = CRM_PAGE;
      return config;
    },
  });
  webhookUrl = t.hub.url.replace('/graphql', '/webhooks/crm');
});
afterAll(() => t.close());

/** Which records share a customer, independent of customer IDs. */
async function partition(store: SqliteLinkStore): Promise<string[]> {
  const { customers } = await store.pageCustomers(100_000, null);
  return customers.map((c) => c.links.map((l) => `${l.source}:${l.entity}:${l.recordId}`).sort().join(' ')).sort();
}

async function crmWrite(method: 'PUT' | 'DELETE', id: string, body?: unknown) {
  const response = await fetch(`${t.systems.urls.crm}/contacts/${id}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? null : JSON.stringify(body) });
  expect(response.status).toBe(200);
}

const LOOKUP = 'query($v: String!) { customerByIdentity(kind: EMAIL, value: $v) { id mergedIds identities { source recordId linkedBy { rule value } } } }';

describe('sync', () => {
  test('a sync that crashes mid-way resumes from its saved cursor and ends with the same customers as one clean run', async () => {
    const store = new SqliteLinkStore(':memory:');
    const services = createServices(t.config, store);
    t.resetStats();
    const appliedBeforeCrash = 2;
    const crash = new Error('simulated crash');
    await expect(
      syncLinks({ registry: services.registry, links: services.links, store }, {
        onPage: (p) => {
          if (p.source === 'crm' && p.pages === appliedBeforeCrash) throw crash;
        },
      }),
    ).rejects.toBe(crash);
    const cursor = await store.getSyncCursor('crm', 'contact');
    expect(cursor).toMatchObject({ completedAt: null });
    expect(cursor!.cursor).not.toBeNull();
    // Pages fetched ahead of the crash were never applied: the resumed run must read them again.

    t.resetStats();
    const resumed = await syncLinks({ registry: services.registry, links: services.links, store });
    expect(resumed.entities.find((e) => e.source === 'crm')).toMatchObject({ resumed: true });
    const totalCrmPages = Math.ceil(t.systems.dataset.crm.contacts.length / CRM_PAGE);
    // Only the pages after the crash are read again.
    expect(t.routes('crm')['GET /contacts']).toBe(totalCrmPages - appliedBeforeCrash);
    expect(await partition(store)).toEqual(await partition(t.store));
    expect(await store.getSyncCursor('crm', 'contact')).toMatchObject({ cursor: null, completedAt: expect.any(String) });
    await services.registry.close();
    await store.close();
  });

  test('two fresh builds of the same data give the same customer IDs, evidence and merges', async () => {
    const build = async () => {
      const store = new SqliteLinkStore(':memory:');
      const services = createServices(t.config, store);
      const summary = await syncLinks({ registry: services.registry, links: services.links, store });
      const { customers } = await store.pageCustomers(100_000, null);
      await services.registry.close();
      await store.close();
      return { merges: summary.merges, links: customers.flatMap((c) => c.links.map(({ linkedAt: _time, ...link }) => link)) };
    };
    const [first, second] = [await build(), await build()];
    expect(second).toEqual(first);
  });
});

describe('on-demand lookups', () => {
  test('an email the table does not know is found live in the sources, linked, and served from the table after', async () => {
    await crmWrite('PUT', 'C-900001', { primary_email: 'New.Person@Example.net', first_name: 'New', last_name: 'Person', phone: null });
    t.resetStats();
    const first = await t.graphql(LOOKUP, { variables: { v: 'new.person@example.net' } });
    expect(first.errors).toBeUndefined();
    expect(first.data.customerByIdentity.identities).toEqual([{ source: 'crm', recordId: 'C-900001', linkedBy: { rule: 'SEED', value: null } }]);
    // One probe per source that can search by email (CRM, shop, support, marketing; analytics by the email's MD5).
    expect(t.systems.totalRequests()).toBe(5);
    t.resetStats();
    const second = await t.graphql(LOOKUP, { variables: { v: 'NEW.PERSON@example.net' } });
    expect(second.data.customerByIdentity.id).toBe(first.data.customerByIdentity.id);
    expect(t.systems.totalRequests()).toBe(0);
  });

  test('an email nobody knows is null, and asking again within the miss TTL does not call the sources again', async () => {
    t.resetStats();
    expect((await t.graphql(LOOKUP, { variables: { v: 'nobody@nowhere.example' } })).data.customerByIdentity).toBeNull();
    expect(t.systems.totalRequests()).toBe(5);
    expect((await t.graphql(LOOKUP, { variables: { v: 'nobody@nowhere.example' } })).data.customerByIdentity).toBeNull();
    expect(t.systems.totalRequests()).toBe(5);
  });
});

describe('webhooks', () => {
  test('a change in the CRM links its contact at once through a signed webhook', async () => {
    t.systems.webhooks.crm.target = { url: webhookUrl, secret: WEBHOOK_SECRET };
    const supportOnly = t.systems.dataset.support.users.find((u) => u.phone && !t.systems.dataset.crm.contacts.some((c) => c.personId === u.personId))!;
    const before = (await t.store.findCustomerIdByRecord({ source: 'support', recordId: String(supportOnly.id) }))!;
    await crmWrite('PUT', 'C-900002', { primary_email: null, first_name: 'Via', last_name: 'Webhook', phone: supportOnly.phone });
    expect(t.systems.webhooks.crm.delivered).toBeGreaterThan(0);
    const response = await t.graphql('query($id: ID!) { customer(id: $id) { id identities { source recordId linkedBy { rule value } } } }', { variables: { id: before } });
    // The evidence is named on whichever of the two records comes second in the canonical (arrival-independent) order.
    expect(response.data.customer.identities).toContainEqual({ source: 'crm', recordId: 'C-900002', linkedBy: { rule: 'SEED', value: null } });
    expect(response.data.customer.identities.filter((i: { linkedBy: { rule: string } }) => i.linkedBy.rule === 'PHONE')).not.toEqual([]);
  });

  test('a contact bridging two customers merges them: the older ID survives and the merged-away ID still resolves', async () => {
    t.systems.webhooks.crm.target = { url: webhookUrl, secret: WEBHOOK_SECRET };
    const data = t.systems.dataset;
    const crmPeople = new Set(data.crm.contacts.map((c) => c.personId));
    const [a, b] = data.shop.customers.filter((c) => c.contact_email && !crmPeople.has(c.personId) && !data.support.users.some((u) => u.personId === c.personId));
    const idA = (await t.store.findCustomerIdByRecord({ source: 'shop', recordId: String(a!.id) }))!;
    const idB = (await t.store.findCustomerIdByRecord({ source: 'shop', recordId: String(b!.id) }))!;
    // Warm the cache with both, so the merge must invalidate them.
    await t.graphql('query($a: ID!, $b: ID!) { a: customer(id: $a) { id } b: customer(id: $b) { id } }', { variables: { a: idA, b: idB } });
    await crmWrite('PUT', 'C-900003', { primary_email: a!.contact_email, phone: b!.phone, first_name: 'Bridge', last_name: 'Record' });
    const [survivor, mergedAway] = idA < idB ? [idA, idB] : [idB, idA];
    const response = await t.graphql('query($a: ID!, $b: ID!) { a: customer(id: $a) { id mergedIds } b: customer(id: $b) { id mergedIds identities { source recordId } } }', { variables: { a: idA, b: idB } });
    expect(response.errors).toBeUndefined();
    // Both customers were created in the same sync batch, so the tie on age goes to the smaller ID.
    expect(response.data.a.id).toBe(survivor);
    expect(response.data.b.id).toBe(survivor);
    expect(response.data.b.mergedIds).toContain(mergedAway);
    expect(response.data.b.identities.map((i: { source: string; recordId: string }) => `${i.source}:${i.recordId}`)).toEqual(expect.arrayContaining([`shop:${a!.id}`, `shop:${b!.id}`, 'crm:C-900003']));
    // The merge is in the audit log, by ID only: the email and phone that caused it are not copied there.
    const { entries } = await t.store.readAudit({ action: 'LINK_CHANGE', actor: 'webhook:crm', customerId: survivor, first: 10 });
    expect(entries.map((e) => e.detail)).toContain(`merged ${mergedAway} into ${survivor}`);
    expect(JSON.stringify(entries)).not.toContain(a!.contact_email!.trim().toLowerCase());
  });

  test('a delete in the CRM unlinks its contact', async () => {
    t.systems.webhooks.crm.target = { url: webhookUrl, secret: WEBHOOK_SECRET };
    await crmWrite('PUT', 'C-900004', { primary_email: 'to.delete@example.net', first_name: 'To', last_name: 'Delete' });
    expect(await t.store.findCustomerIdByRecord({ source: 'crm', recordId: 'C-900004' })).not.toBeNull();
    await crmWrite('DELETE', 'C-900004');
    expect(await t.store.findCustomerIdByRecord({ source: 'crm', recordId: 'C-900004' })).toBeNull();
  });

  test.each([
    ['no signature', undefined],
    ['a wrong signature', signTimestamped('{}', WEBHOOK_SECRET)],
    ['a signature made with another secret', 'SIGN_WITH_OTHER_SECRET'],
    ['a malformed signature', 't=1,v1=zz'],
    ['an untimed body signature', 'SIGN_BODY_ONLY'],
  ])('%s is rejected with 401 and changes nothing', async (_name, signature) => {
    const body = JSON.stringify({ type: 'upsert', entity: 'contact', record: { id: 'C-999999', primary_email: 'forged@example.net' } });
    const header = signature === 'SIGN_WITH_OTHER_SECRET' ? signTimestamped(body, 'some-other-secret-value') : signature === 'SIGN_BODY_ONLY' ? signBody(body, WEBHOOK_SECRET) : signature;
    const response = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...(header ? { 'x-rosetta-signature': header } : {}) }, body });
    expect(response.status).toBe(401);
    expect(await t.store.findCustomerIdByRecord({ source: 'crm', recordId: 'C-999999' })).toBeNull();
  });

  test('a signed payload of the wrong shape is a 400 naming the problem', async () => {
    const body = JSON.stringify({ type: 'rename', entity: 'contact' });
    const response = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-rosetta-signature': signTimestamped(body, WEBHOOK_SECRET) }, body });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'BAD_PAYLOAD' });
  });
});

describe('forget', () => {
  test('forgetting a customer removes it from the graph and lists, per source, the records to erase there', async () => {
    const contact = t.systems.dataset.crm.contacts.find((c) => c.primary_email && t.systems.dataset.shop.customers.some((s) => s.personId === c.personId))!;
    const id = (await t.store.findCustomerIdByRecord({ source: 'crm', recordId: contact.id }))!;
    await t.graphql('query($id: ID!) { customer(id: $id) { id } }', { variables: { id } });
    const response = await t.graphql('mutation($id: ID!) { forgetCustomer(id: $id) { customerId sources { source records { entity recordId } } } }', { variables: { id } });
    expect(response.errors).toBeUndefined();
    const result = response.data.forgetCustomer;
    expect(result.customerId).toBe(id);
    expect(result.sources.find((s: { source: string }) => s.source === 'crm').records).toEqual([{ entity: 'contact', recordId: contact.id }]);
    expect(result.sources.map((s: { source: string }) => s.source)).toContain('shop');
    expect((await t.graphql('query($id: ID!) { customer(id: $id) { id } }', { variables: { id } })).data.customer).toBeNull();
    expect(await t.store.findCustomerIdByRecord({ source: 'crm', recordId: contact.id })).toBeNull();
    // The sources still hold the records until the operator erases them: a live lookup must not bring them back.
    const lookup = await t.graphql(LOOKUP, { variables: { v: contact.primary_email } });
    expect(lookup.data.customerByIdentity).toBeNull();
  });

  test('forgetting an unknown customer is a NOT_FOUND error', async () => {
    const response = await t.graphql('mutation { forgetCustomer(id: "cus_nope") { customerId } }');
    expect(response.errors![0]!.extensions!.code).toBe('NOT_FOUND');
  });
});

describe('link review', () => {
  test('merges refused by the one-CRM-contact rule are listed as conflicts', async () => {
    t.systems.webhooks.crm.target = { url: webhookUrl, secret: WEBHOOK_SECRET };
    const [c1, c2] = t.systems.dataset.crm.contacts.filter((c) => c.primary_email && c.phone);
    // A new CRM contact sharing c1's email and c2's phone would join two customers that each hold a CRM contact.
    await crmWrite('PUT', 'C-900005', { primary_email: c1!.primary_email, phone: c2!.phone, first_name: 'Two', last_name: 'People' });
    const response = await t.graphql('{ linkConflicts(first: 10) { reason source recordId identifierKind customerId otherCustomerId } }');
    expect(response.data.linkConflicts).toContainEqual(expect.objectContaining({ reason: 'UNIQUE_IDENTIFIER', source: 'crm', recordId: 'C-900005' }));
    const id1 = await t.store.findCustomerIdByRecord({ source: 'crm', recordId: c1!.id });
    const id2 = await t.store.findCustomerIdByRecord({ source: 'crm', recordId: c2!.id });
    expect(id1).not.toBe(id2);
  });
});
