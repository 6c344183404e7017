// Reviewed merges and splits: a reviewer's decision is a rule the linking respects afterwards, listed in linkHistory.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { syncLinks } from '../../src/identity/sync.js';
import { authSection, keyHeader } from '../auth/auth-fixture.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ people: 150, seed: 44, config: (config) => ({ ...config, auth: authSection(null) }) });
});
afterAll(() => t.close());

const admin = keyHeader('admin');
const HISTORY = 'query($id: ID!) { customer(id: $id) { id mergedIds identities { source recordId } linkHistory { kind customerId otherCustomerId rule actor reason } } }';

const customerOf = (source: string, recordId: string) => t.store.findCustomerIdByRecord({ source, recordId });
const sync = () => syncLinks({ registry: t.hub.services.registry, links: t.hub.services.links, store: t.store });

/** A write to the simulated CRM, which announces it to the hub by webhook. */
async function crmWrite(id: string, fields: Record<string, unknown>) {
  t.systems.webhooks.crm.target = { url: t.hub.url.replace('/graphql', '/webhooks/crm'), secret: 'demo-crm-webhook-secret' };
  const response = await fetch(`${t.systems.urls.crm}/contacts/${id}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) });
  expect(response.status).toBe(200);
  expect(t.systems.webhooks.crm.failed).toBe(0);
}

describe('reviewed merges and splits', () => {
  test('a reviewer merges two CRM contacts the one-contact rule keeps apart; the merge stays through a sync', async () => {
    const [a, b] = t.systems.dataset.crm.contacts;
    const [idA, idB] = [(await customerOf('crm', a!.id))!, (await customerOf('crm', b!.id))!];
    expect(idA).not.toBe(idB);
    const merged = await t.graphql('mutation($ids: [ID!]!) { mergeCustomers(ids: $ids, reason: "same person, confirmed by phone") { id mergedIds } }', { variables: { ids: [idA, idB] }, headers: admin });
    expect(merged.errors).toBeUndefined();
    const survivor = merged.data.mergeCustomers.id;
    expect([idA, idB]).toContain(survivor);
    await sync();
    expect(await customerOf('crm', a!.id)).toBe(survivor);
    expect(await customerOf('crm', b!.id)).toBe(survivor);
    const history = await t.graphql(HISTORY, { variables: { id: survivor }, headers: admin });
    expect(history.data.customer.linkHistory[0]).toEqual({ kind: 'MERGE', customerId: survivor, otherCustomerId: survivor === idA ? idB : idA, rule: 'REVIEW', actor: expect.stringMatching(/^api-key:admin/), reason: 'same person, confirmed by phone' });
  });

  test('a reviewer splits a merge the evidence made; the merged-away ID comes back and the same evidence never re-merges them', async () => {
    const data = t.systems.dataset;
    const elsewhere = new Set([...data.crm.contacts.map((c) => c.personId), ...data.support.users.map((u) => u.personId)]);
    const [p, q] = data.shop.customers.filter((c) => c.contact_email && c.phone && !elsewhere.has(c.personId));
    const [idP, idQ] = [(await customerOf('shop', String(p!.id)))!, (await customerOf('shop', String(q!.id)))!];
    // A CRM contact holding p's email and q's phone bridges the two.
    await crmWrite('C-880001', { primary_email: p!.contact_email, phone: q!.phone });
    const survivor = (await customerOf('shop', String(p!.id)))!;
    expect(await customerOf('shop', String(q!.id))).toBe(survivor);
    const mergedAway = survivor === idP ? idQ : idP;

    const split = await t.graphql('mutation($id: ID!, $m: ID!) { unmergeCustomer(id: $id, mergedId: $m, reason: "different people sharing a contact") { id mergedIds } }', { variables: { id: survivor, m: mergedAway }, headers: admin });
    expect(split.errors).toBeUndefined();
    expect(split.data.unmergeCustomer.map((c: { id: string }) => c.id).sort()).toEqual([idP, idQ].sort());
    expect(await customerOf('shop', String(p!.id))).toBe(idP);
    expect(await customerOf('shop', String(q!.id))).toBe(idQ);
    // The bridging record, sent again with a newer version, and a full sync: still two customers.
    await crmWrite('C-880001', { primary_email: p!.contact_email, phone: q!.phone, first_name: 'Again' });
    await sync();
    expect(await customerOf('shop', String(p!.id))).not.toBe(await customerOf('shop', String(q!.id)));
    const history = await t.graphql(HISTORY, { variables: { id: idP }, headers: admin });
    expect(history.data.customer.linkHistory.map((e: { kind: string; actor: string }) => `${e.kind} ${e.actor}`)).toEqual(['SPLIT api-key:admin-key', 'MERGE webhook:crm']);
    expect(history.data.customer.linkHistory[0].reason).toBe('different people sharing a contact');
  });

  test('without links:review the review mutations and linkHistory are FORBIDDEN; an ID that was not merged in is a BAD_USER_INPUT', async () => {
    const id = (await customerOf('crm', t.systems.dataset.crm.contacts[5]!.id))!;
    const support = keyHeader('support');
    const merge = await t.graphql('mutation($ids: [ID!]!) { mergeCustomers(ids: $ids, reason: "x") { id } }', { variables: { ids: [id, id] }, headers: support });
    expect(merge.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    const history = await t.graphql('query($id: ID!) { customer(id: $id) { linkHistory { kind } } }', { variables: { id }, headers: support });
    expect(history.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    const wrong = await t.graphql('mutation($id: ID!) { unmergeCustomer(id: $id, mergedId: "cus_0000000000000000", reason: "x") { id } }', { variables: { id }, headers: admin });
    expect(wrong.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
  });
});
