// Who may write what, what the audit log keeps of a write, production mode's refusal, and reads after a write with
// the record cache on: each checked against the simulated sources' own request counts.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { hashApiKey } from '../../src/auth/api-keys.js';
import type { HubConfig, HubConfigInput } from '../../src/config/schema.js';
import type { Link } from '../../src/identity/model.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

const UPDATE = `mutation($id: ID!, $input: ProfileInput!) {
  updateCustomerProfile(id: $id, input: $input) { customerId writes { source status } customer { profile { email } } }
}`;

const KEYS = { writer: 'rk_test_writer_4c2e8f6a9f3c1e0a7b5d', emailWriter: 'rk_test_email_writer_0e4f2b7d9e1f3a5c', reader: 'rk_test_reader_6c0b5e8a1c3f7b9d2e4a' } as const;
const ROLES = {
  writer: { permissions: ['customers:write', 'pii:*', 'audit:read'] },
  emailWriter: { permissions: ['customers:write', 'pii:email'] },
  reader: { permissions: ['pii:*'] },
};
const as = (role: keyof typeof KEYS) => ({ headers: { 'x-api-key': KEYS[role] } });

const records = (links: readonly Link[], source: string, entity: string) => links.filter((l) => l.source === source && l.entity === entity).map((l) => l.recordId);
const writesSent = (t: TestHub) =>
  (['crm', 'shop', 'support', 'marketing', 'analytics'] as const).reduce((sum, s) => sum + Object.entries(t.routes(s)).filter(([route]) => /^(PATCH|PUT) /.test(route)).reduce((n, [, c]) => n + c, 0), 0);

async function customersWith(t: TestHub, has: string[], lacks: string[] = []) {
  const { customers } = await t.store.pageCustomers(300, null);
  return customers.filter((c) => has.every((e) => records(c.links, ...(e.split('.') as [string, string])).length === 1) && lacks.every((e) => records(c.links, ...(e.split('.') as [string, string])).length === 0));
}

describe('with auth, in production mode', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({
      config: (config: HubConfig): HubConfigInput => ({
        ...config,
        mode: 'production',
        auth: { roles: ROLES, apiKeys: (Object.keys(KEYS) as (keyof typeof KEYS)[]).map((name) => ({ name, sha256: hashApiKey(KEYS[name]), roles: [name] })) },
      }),
    });
  });
  afterAll(() => t?.close());
  beforeEach(() => t.resetStats());

  test('without customers:write the mutation is FORBIDDEN and nothing is sent', async () => {
    const [customer] = await customersWith(t, ['crm.contact'], ['support.user']);
    const response = await t.graphql(UPDATE, { variables: { id: customer!.customerId, input: { email: 'x@example.org' } }, ...as('reader') });
    expect(response.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(response.data.updateCustomerProfile).toBeNull();
    expect(t.systems.totalRequests()).toBe(0);
  });

  test("writing a field needs the field's PII permission: pii:email alone cannot write a phone number", async () => {
    const [customer] = await customersWith(t, ['crm.contact'], ['support.user']);
    const response = await t.graphql(UPDATE, { variables: { id: customer!.customerId, input: { email: 'y@example.org', phone: '+1 415 555 0100' } }, ...as('emailWriter') });
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', permission: 'pii:phone' });
    expect(t.systems.totalRequests()).toBe(0);
  });

  test('every write is audited: actor, customer, fields and each source\'s outcome, never the value', async () => {
    const [customer] = await customersWith(t, ['crm.contact'], ['support.user']).then((found) => found.slice(1));
    const response = await t.graphql(UPDATE, { variables: { id: customer!.customerId, input: { email: 'audited.write@example.org' } }, ...as('writer') });
    expect(response.errors).toBeUndefined();
    expect(writesSent(t)).toBe(1);
    const { entries } = await t.store.readAudit({ action: 'WRITE', customerId: customer!.customerId, first: 10 });
    expect(entries).toHaveLength(1);
    const [entry] = entries;
    expect(entry).toMatchObject({ actor: 'api-key:writer', action: 'WRITE', customerId: customer!.customerId, fields: ['Profile.email'] });
    expect(entry!.detail).toMatch(/^updateCustomerProfile: .*crm\.contact APPLIED/);
    expect(JSON.stringify(entries)).not.toContain('audited.write');
  });

  test("production mode refuses a write some linked record could not take (no declared write), and sends nothing", async () => {
    const [customer] = await customersWith(t, ['crm.contact', 'support.user']);
    const response = await t.graphql(UPDATE, { variables: { id: customer!.customerId, input: { email: 'refused@example.org' } }, ...as('writer') });
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'WRITE_NOT_DECLARED', entities: ['support.user'] });
    expect(t.systems.totalRequests()).toBe(0);
  });
});

describe('with the record cache on', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({
      config: (config: HubConfig) => {
        config.sources.crm!.entities.contact!.cache = { ttlMs: 600_000, staleWhileRevalidateMs: 0, maxEntries: 10_000 };
        return config;
      },
    });
  });
  afterAll(() => t?.close());
  beforeEach(() => t.resetStats());

  test('the read after a write reflects the write: the written record is read from the CRM again, once', async () => {
    const [customer] = await customersWith(t, ['crm.contact']);
    const read = () => t.graphql('query($id: ID!) { customer(id: $id) { profile { email } } }', { variables: { id: customer!.customerId } });
    const before = await read();
    await read();
    // The second read came from the cache.
    expect(t.routes('crm')['GET /contacts']).toBe(1);
    const written = await t.graphql(UPDATE, { variables: { id: customer!.customerId, input: { email: 'fresh.after.write@example.org' } } });
    expect(written.errors).toBeUndefined();
    expect(before.data.customer.profile.email).not.toBe('fresh.after.write@example.org');
    const after = await read();
    expect(after.data.customer.profile.email).toBe('fresh.after.write@example.org');
    // One read before the write, one by the receipt's re-read after it (which the next query then found cached).
    expect(t.routes('crm')['GET /contacts']).toBe(2);
  });
});
