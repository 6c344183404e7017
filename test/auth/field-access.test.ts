// Each role sees what the schema's @pii, @consented and @restricted say it may: allowed, masked or denied.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { maskEmail } from '../../src/auth/masks.js';
import { startTestHub, type GraphQLResponse, type TestHub } from '../support/hub-harness.js';
import { keyHeader, withAuth, type RoleName } from './auth-fixture.js';

const QUERY = `query($id: ID!) {
  customer(id: $id) {
    id
    profile { firstName lastName name email phone address { line1 city postalCode country } provenance { field source } }
    marketing { status emailConsent lists }
    identities { source recordId linkedBy { rule value } }
    orders(first: 3) { number }
  }
}`;

let t: TestHub;
/** Customers as admin sees them (everything): the truth the other roles are compared with. */
let consented: any;
let notConsented: any;
let withoutMarketing: any;

async function asRole(role: RoleName, id: string): Promise<GraphQLResponse> {
  return t.graphql(QUERY, { variables: { id }, headers: keyHeader(role) });
}

const complete = (c: any) => c.profile.email && c.profile.phone && c.profile.address && c.profile.name && c.identities.some((i: any) => i.linkedBy.value);

beforeAll(async () => {
  t = await startTestHub({ people: 120, seed: 5, config: withAuth(null) });
  const page = await t.graphql(`{ customers(first: 100) { edges { node { id } } } }`, { headers: keyHeader('admin') });
  const all = await Promise.all(page.data.customers.edges.map(async (e: any) => (await asRole('admin', e.node.id)).data.customer));
  consented = all.find((c) => complete(c) && c.marketing?.emailConsent === true);
  notConsented = all.find((c) => complete(c) && c.marketing?.emailConsent === false);
  withoutMarketing = all.find((c) => complete(c) && c.marketing === null);
  expect([consented, notConsented, withoutMarketing].every(Boolean), 'the seeded data has each kind of customer').toBe(true);
});
afterAll(() => t.close());

/** The masked paths of a single-customer response, sorted. */
const maskedOf = (response: GraphQLResponse) => [...(response.extensions?.masked ?? [])].sort((a: any, b: any) => a.path.localeCompare(b.path));

function evidencePaths(customer: any): string[] {
  return customer.identities.flatMap((identity: any, i: number) => [`customer.identities.${i}.linkedBy.value`]);
}

/** Marketing member IDs are md5(email): the demo config declares them personal (idIsPersonal). */
function personalRecordIdPaths(customer: any): string[] {
  return customer.identities.flatMap((identity: any, i: number) => (identity.source === 'marketing' ? [`customer.identities.${i}.recordId`] : []));
}

describe('support (pii:*)', () => {
  test('sees every personal field of every customer, consented or not, with nothing masked', async () => {
    for (const truth of [consented, notConsented, withoutMarketing]) {
      const response = await asRole('support', truth.id);
      expect(response.errors).toBeUndefined();
      expect(response.data.customer).toEqual(truth);
      expect(response.extensions?.masked).toBeUndefined();
    }
  });
});

describe('analytics (no PII at all)', () => {
  test('gets every personal field masked, the email as j***@domain, and each masked path named', async () => {
    const response = await asRole('analytics', consented.id);
    expect(response.errors).toBeUndefined();
    const { profile, identities, marketing, orders, id } = response.data.customer;
    expect(profile).toEqual({ firstName: null, lastName: null, name: null, email: maskEmail(consented.profile.email), phone: null, address: null, provenance: consented.profile.provenance });
    expect(profile.email).toMatch(/^.\*\*\*@[\w.-]+$/);
    expect(identities.map((i: any) => i.linkedBy.value)).toEqual(identities.map(() => null));
    // What is not personal data is served as usual.
    expect({ id, marketing, orders }).toEqual({ id: consented.id, marketing: consented.marketing, orders: consented.orders });
    expect(maskedOf(response)).toEqual(
      [
        ...['firstName', 'lastName', 'name', 'email', 'phone', 'address'].map((f) => ({ path: `customer.profile.${f}`, requires: `pii:${f === 'firstName' || f === 'lastName' ? 'name' : f}` })),
        ...evidencePaths(consented).map((path) => ({ path, requires: 'pii:identifiers' })),
        ...personalRecordIdPaths(consented).map((path) => ({ path, requires: 'pii:identifiers' })),
      ].sort((a, b) => a.path.localeCompare(b.path)),
    );
    expect(personalRecordIdPaths(consented)).toHaveLength(1);
    expect(identities.filter((i: any) => i.source === 'marketing').map((i: any) => i.recordId)).toEqual(['***']);
  });

  test('a masked value never appears anywhere in the response', async () => {
    const response = await asRole('analytics', consented.id);
    const body = JSON.stringify(response);
    for (const secret of [consented.profile.email, consented.profile.phone, consented.profile.address.line1, consented.profile.lastName]) expect(body).not.toContain(secret);
  });
});

describe('marketing (name and email of consented members only, never phone or address)', () => {
  test('a consented customer: name, email and marketing fields; phone and address masked', async () => {
    const response = await asRole('marketing', consented.id);
    expect(response.errors).toBeUndefined();
    const { profile, marketing } = response.data.customer;
    expect(profile).toMatchObject({ firstName: consented.profile.firstName, name: consented.profile.name, email: consented.profile.email, phone: null, address: null });
    expect(marketing).toEqual(consented.marketing);
    expect(maskedOf(response).filter((m: any) => m.path.startsWith('customer.profile'))).toEqual([
      { path: 'customer.profile.address', requires: 'pii:address' },
      { path: 'customer.profile.phone', requires: 'pii:phone' },
    ]);
  });

  test.each([
    ['who declined email consent', () => notConsented],
    ['the marketing tool does not know', () => withoutMarketing],
  ])('a customer %s is not returned: no marketing record, every personal field masked for consent', async (_case, customer) => {
    const truth = customer();
    const response = await asRole('marketing', truth.id);
    expect(response.errors).toBeUndefined();
    const { profile, marketing, orders } = response.data.customer;
    expect(marketing).toBeNull();
    expect(profile).toEqual({ firstName: null, lastName: null, name: null, email: maskEmail(truth.profile.email), phone: null, address: null, provenance: truth.profile.provenance });
    expect(orders).toEqual(truth.orders);
    const masked = maskedOf(response).filter((m: any) => !m.path.startsWith('customer.identities'));
    expect(masked).toEqual(['customer.marketing', ...['address', 'email', 'firstName', 'lastName', 'name', 'phone'].map((f) => `customer.profile.${f}`)].map((path) => ({ path, requires: 'consent' })));
  });

  test('the consent check costs one marketing request, shared by every field that asks', async () => {
    t.resetStats();
    const response = await t.graphql(`query($id: ID!) { customer(id: $id) { profile { name email } marketing { status } } }`, { variables: { id: consented.id }, headers: keyHeader('marketing') });
    expect(response.errors).toBeUndefined();
    expect(t.routes('marketing')).toEqual({ 'GET /members': 1 });
  });

  test('roles not bound by consent never pay for the check: a profile query calls no marketing tool', async () => {
    t.resetStats();
    const response = await t.graphql(`query($id: ID!) { customer(id: $id) { profile { name email } } }`, { variables: { id: consented.id }, headers: keyHeader('support') });
    expect(response.errors).toBeUndefined();
    expect(t.routes('marketing')).toEqual({});
  });
});

describe('admin (everything, and the audit log)', () => {
  test('reads the audit log, which every other role is denied with FORBIDDEN', async () => {
    await asRole('support', consented.id);
    const query = '{ auditLog(first: 1) { edges { node { action } } } }';
    const allowed = await t.graphql(query, { headers: keyHeader('admin') });
    expect(allowed.errors).toBeUndefined();
    expect(allowed.data.auditLog.edges).toHaveLength(1);
    for (const role of ['support', 'marketing', 'analytics'] as const) {
      const denied = await t.graphql(query, { headers: keyHeader(role) });
      expect(denied.data, role).toBeNull();
      expect(denied.errors, role).toEqual([{ message: 'auditLog requires the "audit:read" permission', path: ['auditLog'], locations: [{ line: 1, column: 3 }], extensions: expect.objectContaining({ code: 'FORBIDDEN', permission: 'audit:read' }) }]);
    }
  });
});

describe('a list of customers', () => {
  test('masks per customer: the marketing role sees the consented ones and not the others in the same page', async () => {
    const response = await t.graphql(`{ customers(first: 100) { edges { node { id profile { email } marketing { emailConsent } } } } }`, { headers: keyHeader('marketing') });
    expect(response.errors).toBeUndefined();
    const nodes = response.data.customers.edges.map((e: any) => e.node);
    const shown = nodes.filter((n: any) => n.marketing !== null);
    expect(shown.every((n: any) => n.marketing.emailConsent === true)).toBe(true);
    expect(shown.some((n: any) => n.id === consented.id)).toBe(true);
    expect(nodes.find((n: any) => n.id === notConsented.id).marketing).toBeNull();
    const consentMasks = response.extensions!.masked.filter((m: any) => m.requires === 'consent');
    // Each customer not shown is named twice: its marketing record and its email.
    expect(consentMasks).toHaveLength(2 * (nodes.length - shown.length));
  });
});
