// Extension fields are governed like core ones: @pii masks and audits, @restricted refuses, and federation mode
// serves them in the subgraph (its SDL, and `_entities`), because they are in the one schema the hub builds.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { keyHeader, withAuth } from '../auth/auth-fixture.js';
import { tempDir } from '../cli/cli-harness.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

const DEMO_EXTENSIONS = fileURLToPath(new URL('../../config/extensions/', import.meta.url));

/** The demo's extensions, with access directives on both added fields. */
function guardedExtensions(): string {
  const dir = tempDir();
  cpSync(DEMO_EXTENSIONS, dir, { recursive: true });
  const edit = (file: string, from: string, to: string) => {
    const path = join(dir, file);
    const text = readFileSync(path, 'utf8');
    expect(text).toContain(from);
    writeFileSync(path, text.replace(from, to));
  };
  edit('subscriptions.graphql', '[BillingSubscription!]', '[BillingSubscription!] @restricted(permission: "billing:read")');
  edit('lifecycle-stage.graphql', 'lifecycleStage: String', 'lifecycleStage: String @pii(permission: "pii:stage")');
  return dir;
}

let t: TestHub;
let customerId: string;
beforeAll(async () => {
  const folder = guardedExtensions();
  t = await startTestHub({ people: 120, config: (config) => withAuth(null, { schema: { extensions: folder }, federation: { enabled: true } })(config) });
  // A customer with a CRM contact (the stage's only source) and a shop customer (the subscriptions').
  const page = (await t.store.pageCustomers(120, null)).customers;
  customerId = page.find((c) => c.links.some((l) => l.source === 'crm') && c.links.some((l) => l.source === 'shop'))!.customerId;
});
afterAll(() => t.close());

const QUERY = 'query($id: ID!) { customer(id: $id) { profile { lifecycleStage } subscriptions { id } } }';

describe('access directives on extension fields', () => {
  test('a caller with every permission reads both', async () => {
    const response = await t.graphql(QUERY, { variables: { id: customerId }, headers: keyHeader('admin') });
    expect(response.errors).toBeUndefined();
    expect(typeof response.data.customer.profile.lifecycleStage).toBe('string');
    expect(Array.isArray(response.data.customer.subscriptions)).toBe(true);
    expect(response.extensions?.masked).toBeUndefined();
  });

  test('a caller without them gets the @pii field masked (and named in extensions.masked) and the @restricted one refused, without a shop call', async () => {
    t.resetStats();
    const response = await t.graphql(QUERY, { variables: { id: customerId }, headers: keyHeader('analytics') });
    expect(response.data.customer.profile.lifecycleStage).toBeNull();
    expect(response.extensions?.masked).toEqual([expect.objectContaining({ path: 'customer.profile.lifecycleStage' })]);
    expect(response.data.customer.subscriptions).toBeNull();
    expect(response.errors).toEqual([expect.objectContaining({ path: ['customer', 'subscriptions'], extensions: expect.objectContaining({ code: 'FORBIDDEN', permission: 'billing:read' }) })]);
    expect(t.routes('shop')['POST /subscriptions/batch']).toBeUndefined();
  });
});

describe('federation mode', () => {
  test('the subgraph SDL carries the extension fields and types, and _entities resolves them', async () => {
    const sdl = (await t.graphql('{ _service { sdl } }', { headers: keyHeader('admin') })).data._service.sdl as string;
    expect(sdl).toContain('subscriptions(first: Int = 20): [BillingSubscription!]');
    expect(sdl).toContain('type BillingSubscription');
    expect(sdl).toContain('lifecycleStage: String');
    const response = await t.graphql('query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Customer { id subscriptions { id status } } } }', {
      variables: { reps: [{ __typename: 'Customer', id: customerId }] },
      headers: keyHeader('admin'),
    });
    expect(response.errors).toBeUndefined();
    expect(response.data._entities[0].id).toBe(customerId);
    expect(Array.isArray(response.data._entities[0].subscriptions)).toBe(true);
  });
});
