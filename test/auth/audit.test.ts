// Every read of personal data, and every audited action, is on record: who, role, customer, fields, when, request ID.
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { execute, parse } from 'graphql';
import { pruneExpiredAudit } from '../../src/auth/audit.js';
import { OPEN_CALLER, callerWithRoles } from '../../src/auth/caller.js';
import { protectSchema } from '../../src/auth/protect-schema.js';
import { RequestAccess } from '../../src/auth/request-access.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import type { AuditEntry } from '../../src/identity/store.js';
import { loadTypeDefs } from '../../src/sdl/type-defs.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';
import { keyHeader, ROLES, withAuth } from './auth-fixture.js';

let t: TestHub;
let ids: string[];

beforeAll(async () => {
  // forgetCustomer is off unless the config enables it.
  t = await startTestHub({ people: 40, config: (config) => ({ ...withAuth(null)(config), identity: { ...config.identity, forget: { ...config.identity.forget, enabled: true } } }) });
  ids = (await t.store.pageCustomers(4, null)).customers.map((c) => c.customerId);
});
afterAll(() => t.close());

const testStarted = new Date().toISOString();

/** The request's audit rows without their sequence numbers, each stamped with a time during this test run. */
async function auditRows(requestId: string) {
  const { entries } = await t.store.readAudit({ first: 100 });
  return entries
    .filter((e) => e.requestId === requestId)
    .map(({ seq: _seq, at, ...rest }) => {
      expect(at >= testStarted && at <= new Date().toISOString(), `${at} is not a time of this run`).toBe(true);
      return rest;
    });
}

describe('reads of personal data', () => {
  test('a support read of two customers writes one row per customer naming exactly the PII fields read', async () => {
    const response = await t.graphql(`query($a: ID!, $b: ID!) { a: customer(id: $a) { id profile { name email provenance { field } } orders { number } } b: customer(id: $b) { profile { phone } } }`, {
      variables: { a: ids[0], b: ids[1] },
      headers: { ...keyHeader('support'), 'x-request-id': 'req-audit-1' },
    });
    expect(response.errors).toBeUndefined();
    expect(response.headers.get('x-request-id')).toBe('req-audit-1');
    const rows = await auditRows('req-audit-1');
    expect(rows.sort((x, y) => String(x.customerId).localeCompare(String(y.customerId)))).toEqual(
      [
        { requestId: 'req-audit-1', actor: 'api-key:support-key', roles: ['support'], action: 'PII_READ', customerId: ids[0], fields: ['Profile.email', 'Profile.name'], detail: null },
        { requestId: 'req-audit-1', actor: 'api-key:support-key', roles: ['support'], action: 'PII_READ', customerId: ids[1], fields: ['Profile.phone'], detail: null },
      ].sort((x, y) => String(x.customerId).localeCompare(String(y.customerId))),
    );
  });

  test('link evidence values are personal data too, attributed to the customer they link', async () => {
    await t.graphql(`query($a: ID!) { customer(id: $a) { identities { linkedBy { value } } } }`, { variables: { a: ids[2] }, headers: { ...keyHeader('admin'), 'x-request-id': 'req-audit-2' } });
    expect(await auditRows('req-audit-2')).toEqual([{ requestId: 'req-audit-2', actor: 'api-key:admin-key', roles: ['admin'], action: 'PII_READ', customerId: ids[2], fields: ['LinkEvidence.value'], detail: null }]);
  });

  test('masked fields were not read, so they are not audited; a query without PII writes nothing', async () => {
    await t.graphql(`query($a: ID!) { customer(id: $a) { profile { name email phone } } }`, { variables: { a: ids[0] }, headers: { ...keyHeader('analytics'), 'x-request-id': 'req-audit-3' } });
    await t.graphql(`query($a: ID!) { customer(id: $a) { id orders { number } } }`, { variables: { a: ids[0] }, headers: { ...keyHeader('support'), 'x-request-id': 'req-audit-4' } });
    expect(await auditRows('req-audit-3')).toEqual([]);
    expect(await auditRows('req-audit-4')).toEqual([]);
  });

  test('a page of customers writes one row per customer whose data was read', async () => {
    await t.graphql(`{ customers(first: 3) { edges { node { profile { email } } } } }`, { headers: { ...keyHeader('support'), 'x-request-id': 'req-audit-5' } });
    const rows = await auditRows('req-audit-5');
    expect(rows.map((r) => r.customerId).sort()).toEqual(ids.slice(0, 3).sort());
    expect(rows.every((r) => r.fields.join() === 'Profile.email')).toBe(true);
  });
});

describe('the audit log through GraphQL', () => {
  test('admins page through it newest first and filter by customer and action', async () => {
    const query = `query($c: ID, $after: String) { auditLog(customerId: $c, action: PII_READ, first: 1, after: $after) { edges { cursor node { id actor roles action customerId fields requestId at detail } } pageInfo { hasNextPage endCursor } } }`;
    const first = await t.graphql(query, { variables: { c: ids[1] }, headers: keyHeader('admin') });
    expect(first.errors).toBeUndefined();
    const [edge] = first.data.auditLog.edges;
    expect(edge.node).toMatchObject({ actor: 'api-key:support-key', roles: ['support'], action: 'PII_READ', customerId: ids[1], requestId: 'req-audit-5', fields: ['Profile.email'] });
    expect(first.data.auditLog.pageInfo.hasNextPage).toBe(true);
    const second = await t.graphql(query, { variables: { c: ids[1], after: first.data.auditLog.pageInfo.endCursor }, headers: keyHeader('admin') });
    expect(second.data.auditLog.edges[0].node).toMatchObject({ requestId: 'req-audit-1', fields: ['Profile.phone'] });
    expect(Number(second.data.auditLog.edges[0].node.id)).toBeLessThan(Number(edge.node.id));
  });

  test('a cursor it did not issue is a BAD_USER_INPUT error', async () => {
    const response = await t.graphql(`{ auditLog(after: "bm9wZQ") { edges { cursor } } }`, { headers: keyHeader('admin') });
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'after' });
  });
});

describe('the audit table', () => {
  test('is append-only: an update is refused by the database itself', () => {
    const store = new SqliteLinkStore(':memory:');
    const db = (store as unknown as { db: Database.Database }).db;
    db.prepare(`INSERT INTO audit_log (at, request_id, actor, roles, action, customer_id, fields) VALUES ('2024-01-01T00:00:00.000Z', 'r', 'a', '[]', 'PII_READ', 'c', '[]')`).run();
    expect(() => db.prepare(`UPDATE audit_log SET actor = 'someone-else'`).run()).toThrow('audit_log is append-only');
    expect(store.schemaVersion).toBeGreaterThanOrEqual(2);
  });

  test('retention prunes exactly the entries older than the retention period', async () => {
    const store = new SqliteLinkStore(':memory:');
    const now = new Date('2025-06-30T12:00:00.000Z');
    const entry = (at: string, requestId: string): AuditEntry => ({ at, requestId, actor: 'api-key:x', roles: ['support'], action: 'PII_READ', customerId: 'cus_1', fields: ['Profile.email'], detail: null });
    await store.appendAudit([
      entry('2025-03-01T11:59:59.999Z', 'older-than-120-days'),
      entry('2025-03-02T12:00:00.000Z', 'exactly-120-days'),
      entry('2025-06-29T18:00:00.000Z', 'yesterday'),
    ]);
    expect(await pruneExpiredAudit(store, 120, now)).toBe(1);
    expect((await store.readAudit({ first: 10 })).entries.map((e) => e.requestId)).toEqual(['yesterday', 'exactly-120-days']);
    expect(await pruneExpiredAudit(store, 1, now)).toBe(1);
    expect((await store.readAudit({ first: 10 })).entries.map((e) => e.requestId)).toEqual(['yesterday']);
  });
});

describe('forgetting a customer', () => {
  const FORGET = 'mutation($id: ID!) { forgetCustomer(id: $id) { customerId } }';

  test('is refused to roles without customers:forget, and nothing is forgotten or recorded', async () => {
    const response = await t.graphql(FORGET, { variables: { id: ids[3] }, headers: { ...keyHeader('support'), 'x-request-id': 'req-forget-1' } });
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', permission: 'customers:forget' });
    expect((await t.store.getCustomers([ids[3]!])).size).toBe(1);
    expect(await auditRows('req-forget-1')).toEqual([]);
  });

  test('by an admin is written to the audit log with who, role, customer and request', async () => {
    const response = await t.graphql(FORGET, { variables: { id: ids[3] }, headers: { ...keyHeader('admin'), 'x-request-id': 'req-forget-2' } });
    expect(response.errors).toBeUndefined();
    expect(response.data.forgetCustomer.customerId).toBe(ids[3]);
    expect(await auditRows('req-forget-2')).toEqual([{ requestId: 'req-forget-2', actor: 'api-key:admin-key', roles: ['admin'], action: 'FORGET', customerId: ids[3], fields: [], detail: expect.stringMatching(/^forgetCustomer \[\{"source":"\w+","records":\[\{"source":"\w+","entity":"\w+","recordId":"[^"]+","linked":true\}/) }]);
  });
});

describe('@audited actions', () => {
  // A forget or link change is declared in the schema with @audited; this schema holds one such mutation.
  const typeDefs = `${loadTypeDefs()}
    extend type Mutation { unlinkRecord(customerId: ID!, record: String!): Boolean @restricted(permission: "links:write") @audited(action: LINK_CHANGE, customerArg: "customerId") }`;
  const typeDefsWithMutation = typeDefs.includes('type Mutation') ? typeDefs : typeDefs.replace('extend type Mutation', 'type Mutation');

  test('are written at once with who, role, customer and request, even on an open hub; without the permission they are refused and not run', async () => {
    const store = new SqliteLinkStore(':memory:');
    let calls = 0;
    const schema = protectSchema(makeExecutableSchema({ typeDefs: typeDefsWithMutation, resolvers: { Mutation: { unlinkRecord: () => ++calls > 0 } } }));
    const run = (caller: typeof OPEN_CALLER, requestId: string) =>
      execute({ schema, document: parse('mutation { unlinkRecord(customerId: "cus_9", record: "crm:C-1") }'), contextValue: { caller, access: new RequestAccess(caller, requestId, store, caller.via !== 'open') } });

    expect((await run(callerWithRoles('api-key:ops', 'api-key', ['admin'], ROLES), 'req-link-1')).data).toEqual({ unlinkRecord: true });
    expect((await run(OPEN_CALLER, 'req-link-2')).data).toEqual({ unlinkRecord: true });
    const denied = await run(callerWithRoles('api-key:bi', 'api-key', ['analytics'], ROLES), 'req-link-3');
    expect(denied.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', permission: 'links:write' });
    expect(calls).toBe(2);
    const rows = (await store.readAudit({ first: 10 })).entries.map(({ seq: _s, at: _a, ...rest }) => rest);
    expect(rows).toEqual([
      { requestId: 'req-link-2', actor: 'anonymous', roles: ['open'], action: 'LINK_CHANGE', customerId: 'cus_9', fields: [], detail: 'unlinkRecord' },
      { requestId: 'req-link-1', actor: 'api-key:ops', roles: ['admin'], action: 'LINK_CHANGE', customerId: 'cus_9', fields: [], detail: 'unlinkRecord' },
    ]);
  });
});

describe('when the audit log cannot be written', () => {
  test('no personal data is served: the response is AUDIT_UNAVAILABLE with no data', async () => {
    const original = t.store.appendAudit.bind(t.store);
    t.store.appendAudit = async () => {
      throw new Error('disk full');
    };
    try {
      const response = await t.graphql(`query($a: ID!) { customer(id: $a) { profile { email } } }`, { variables: { a: ids[0] }, headers: keyHeader('support') });
      expect(response.status).toBe(503);
      expect(response.data).toBeUndefined();
      expect(response.errors).toEqual([{ message: 'the audit log is unavailable, so no personal data can be served', extensions: { code: 'AUDIT_UNAVAILABLE', requestId: expect.any(String) } }]);
      expect(JSON.stringify(response)).not.toContain('@');
    } finally {
      t.store.appendAudit = original;
    }
  });
});
