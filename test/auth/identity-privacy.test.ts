// Side channels of the identity table closed: conflict values, personal record IDs, source URLs and lookups by personal data.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hashApiKey } from '../../src/auth/api-keys.js';
import { PLACEHOLDER_EMAIL } from '../../src/demo/identifiers.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';
import { API_KEYS, authSection, keyHeader, ROLE_NAMES, ROLES } from './auth-fixture.js';

/** A role that reviews link conflicts and may read no personal data. */
const REVIEWER_KEY = 'rk_test_reviewer_7d2e9a4c1b8f3e6a5d0c';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({
    people: 300,
    seed: 7,
    config: (config) => ({
      ...config,
      // The demo config blocks nothing: the placeholder must be caught by the shared-value test alone.
      identity: { ...config.identity, blocked: { values: [], patterns: [] } },
      auth: authSection(null, {
        roles: { ...ROLES, reviewer: { permissions: ['links:review'], consentRequired: false } },
        apiKeys: [
          ...ROLE_NAMES.map((role) => ({ name: `${role}-key`, sha256: hashApiKey(API_KEYS[role]), roles: [role] })),
          { name: 'reviewer-key', sha256: hashApiKey(REVIEWER_KEY), roles: ['reviewer'] },
        ],
      }),
    }),
  });
});
afterAll(() => t.close());

async function auditRows(requestId: string) {
  const { entries } = await t.store.readAudit({ first: 200 });
  return entries.filter((e) => e.requestId === requestId).map(({ seq: _seq, at: _at, ...rest }) => rest);
}

const CONFLICTS = '{ linkConflicts(first: 100) { id reason identifierKind identifierValue source entity recordId customerId otherCustomerId } }';

describe('walk-ins sharing a placeholder email, with identity.blocked empty', () => {
  test('each stays its own customer, and the placeholder waits for review as a suspected shared value', async () => {
    const walkIns = t.systems.dataset.support.users.filter((u) => u.email?.trim().toLowerCase() === PLACEHOLDER_EMAIL);
    expect(walkIns.length).toBe(3);
    const customers = await Promise.all(walkIns.map((u) => t.store.findCustomerIdByRecord({ source: 'support', entity: 'user', recordId: String(u.id) })));
    expect(new Set(customers).size).toBe(walkIns.length);
    // Each holds records of its own person only.
    for (const [i, customerId] of customers.entries()) {
      const { links } = (await t.store.getCustomers([customerId!])).get(customerId!)!;
      const people = new Set(links.map((l) => personOf(l.source, l.recordId)));
      expect([...people]).toEqual([walkIns[i]!.personId]);
    }
    expect(await t.store.findCustomerIdsByIdentifier('email', PLACEHOLDER_EMAIL)).toEqual([]);
    const response = await t.graphql(CONFLICTS, { headers: keyHeader('admin') });
    const suspected = response.data.linkConflicts.filter((c: any) => c.reason === 'SUSPECTED_SHARED_VALUE');
    // The address, and the hash marketing tools would key it by.
    expect(suspected.map((c: any) => [c.identifierKind, c.source, c.entity]).sort()).toEqual([['EMAIL', 'support', 'user'], ['EMAIL_MD5', 'support', 'user']]);
    expect(suspected.find((c: any) => c.identifierKind === 'EMAIL').identifierValue).toBe(PLACEHOLDER_EMAIL);
    // A lookup by it probes the sources, finds the walk-ins, and still links none of them together.
    const before = await t.store.countCustomers();
    const lookup = await t.graphql('query($v: String!) { customerByIdentity(kind: EMAIL, value: $v) { id } }', { variables: { v: PLACEHOLDER_EMAIL }, headers: keyHeader('admin') });
    expect(lookup.data.customerByIdentity).toBeNull();
    expect(await t.store.countCustomers()).toBe(before);
  });

  test("a help desk's own noreply address is caught whatever order its walk-ins arrive in, one event at a time", async () => {
    const names = ['Ana Diaz', 'Bo Chen', 'Cy Okafor', 'Di Ross', 'Ed Park'];
    const user = (i: number) => ({ id: 90_001 + i, name: names[i], email: 'NoReply@HelpDesk.example', phone: null, created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z' });
    const { SqliteLinkStore } = await import('../../src/identity/sqlite-store.js');
    const { createServices } = await import('../../src/server/hub.js');
    for (const order of [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3]]) {
      const store = new SqliteLinkStore(':memory:');
      const services = createServices(t.config, store);
      let suspected = 0;
      for (const i of order) suspected += (await services.links.apply([{ upsert: services.links.toIncoming('support', 'user', user(i))! }])).sharedValuesSuspected;
      // The address and its hash, each once: found when the third name arrived.
      expect(suspected).toBe(2);
      expect(await store.countCustomers()).toBe(5);
      expect((await store.listConflicts(10)).map((c) => c.reason)).toEqual(['SUSPECTED_SHARED_VALUE', 'SUSPECTED_SHARED_VALUE']);
      await services.registry.close();
      await store.close();
    }
  });
});

function personOf(source: string, recordId: string): string | undefined {
  const d = t.systems.dataset;
  switch (source) {
    case 'crm':
      return d.crm.contacts.find((c) => c.id === recordId)?.personId;
    case 'shop':
      return d.shop.customers.find((c) => String(c.id) === recordId)?.personId;
    case 'support':
      return d.support.users.find((u) => String(u.id) === recordId)?.personId;
    case 'marketing':
      return d.marketing.members.find((m) => m.id === recordId)?.personId;
    default:
      return d.analytics.devices.find((x) => x.device_id === recordId)?.personId;
  }
}

describe('linkConflicts', () => {
  test('a reviewer without pii:identifiers sees every value masked, and nothing is written as read', async () => {
    const response = await t.graphql(CONFLICTS, { headers: { 'x-api-key': REVIEWER_KEY, 'x-request-id': 'req-conflicts-reviewer' } });
    expect(response.errors).toBeUndefined();
    const rows = response.data.linkConflicts;
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.map((c: any) => c.identifierValue)).toEqual(rows.map(() => null));
    expect(JSON.stringify(response)).not.toContain(PLACEHOLDER_EMAIL);
    expect(response.extensions!.masked.filter((m: any) => m.path.endsWith('identifierValue'))).toEqual(rows.map((_: unknown, i: number) => ({ path: `linkConflicts.${i}.identifierValue`, requires: 'pii:identifiers' })));
    expect(await auditRows('req-conflicts-reviewer')).toEqual([]);
  });

  test('a caller with pii:identifiers reads them, and each read is audited against the customer it names', async () => {
    const response = await t.graphql(CONFLICTS, { headers: { ...keyHeader('admin'), 'x-request-id': 'req-conflicts-admin' } });
    const rows = response.data.linkConflicts;
    expect(rows.every((c: any) => typeof c.identifierValue === 'string')).toBe(true);
    const audited = await auditRows('req-conflicts-admin');
    expect(audited.map((e) => e.customerId).sort()).toEqual([...new Set(rows.map((c: any) => c.otherCustomerId))].sort());
    expect(audited.every((e) => e.action === 'PII_READ' && e.fields.join() === 'LinkConflict.identifierValue' && e.actor === 'api-key:admin-key')).toBe(true);
  });
});

describe('customerByIdentity', () => {
  test.each([
    ['EMAIL', () => t.systems.dataset.crm.contacts.find((c) => c.primary_email)!.primary_email!],
    ['PHONE', () => t.systems.dataset.crm.contacts.find((c) => c.phone)!.phone!],
  ])('by %s writes an audit row of the lookup, its kind and never its value, for a role with no PII rights', async (kind, value) => {
    const requestId = `req-lookup-${kind}`;
    const response = await t.graphql(`query($v: String!) { customerByIdentity(kind: ${kind}, value: $v) { id } }`, { variables: { v: value() }, headers: { ...keyHeader('analytics'), 'x-request-id': requestId } });
    expect(response.errors).toBeUndefined();
    const id = response.data.customerByIdentity.id;
    expect(await auditRows(requestId)).toEqual([{ requestId, actor: 'api-key:analytics-key', roles: ['analytics'], action: 'LOOKUP', customerId: id, fields: [], detail: `customerByIdentity ${kind}` }]);
  });

  test('a lookup that finds nobody is on record too, with no customer', async () => {
    const response = await t.graphql('{ customerByIdentity(kind: EMAIL, value: "nobody-at-all@nowhere.example") { id } }', { headers: { ...keyHeader('analytics'), 'x-request-id': 'req-lookup-miss' } });
    expect(response.data.customerByIdentity).toBeNull();
    expect(await auditRows('req-lookup-miss')).toMatchObject([{ action: 'LOOKUP', customerId: null, detail: 'customerByIdentity EMAIL' }]);
  });
});

describe('sources', () => {
  test('base URLs are for admins: other roles get FORBIDDEN on that field and the rest of the list', async () => {
    const denied = await t.graphql('{ sources { name baseUrl } }', { headers: keyHeader('support') });
    expect(denied.data.sources.map((s: any) => s.baseUrl)).toEqual(denied.data.sources.map(() => null));
    expect(denied.data.sources.map((s: any) => s.name).sort()).toEqual(['analytics', 'crm', 'marketing', 'shop', 'support']);
    expect(denied.errors!.map((e: any) => e.extensions)).toMatchObject(denied.data.sources.map(() => ({ code: 'FORBIDDEN', permission: 'sources:admin' })));
    const allowed = await t.graphql('{ sources { name baseUrl } }', { headers: keyHeader('admin') });
    expect(allowed.errors).toBeUndefined();
    expect(allowed.data.sources.find((s: any) => s.name === 'crm').baseUrl).toBe(`${t.systems.urls.crm}/`);
  });
});

describe('forgetCustomer', () => {
  test("lists the records of refused merges that held the person's identifiers, and leaves no conflict row of them", async () => {
    const person = t.systems.dataset.crm.contacts.find((c) => c.primary_email && !c.primary_email.toLowerCase().includes('noreply'))!;
    const customerId = (await t.store.findCustomerIdByRecord({ source: 'crm', entity: 'contact', recordId: person.id }))!;
    // A second CRM contact with the person's email: one person has one CRM contact, so the merge is refused.
    const duplicate = { ...person, id: 'C-900001', first_name: 'Other', last_name: 'Person', phone: null };
    const applied = await t.hub.services.links.apply([{ upsert: t.hub.services.links.toIncoming('crm', 'contact', duplicate)! }]);
    expect(applied.conflicts).toBe(1);
    const response = await t.graphql('mutation($id: ID!) { forgetCustomer(id: $id) { customerId sources { source records { source entity recordId linked } } } }', {
      variables: { id: customerId },
      headers: keyHeader('admin'),
    });
    expect(response.errors).toBeUndefined();
    const records = response.data.forgetCustomer.sources.flatMap((s: any) => s.records);
    expect(records.filter((r: any) => !r.linked)).toEqual([{ source: 'crm', entity: 'contact', recordId: 'C-900001', linked: false }]);
    expect(records.filter((r: any) => r.linked).map((r: any) => `${r.source}:${r.recordId}`)).toContain(`crm:${person.id}`);
    const conflicts = await t.store.listConflicts(500);
    expect(conflicts.filter((c) => c.otherCustomerId === customerId || c.customerId === customerId || c.record.recordId === 'C-900001')).toEqual([]);
  });
});
