// Idempotency keys across replicas: two hubs sharing one PostgreSQL link store return one receipt for one key, and
// of two requests racing with the same key, exactly one writes.
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import type { HubConfig } from '../../src/config/schema.js';
import { startSimulatedSystems, type SimulatedSystems } from '../../src/demo/systems.js';
import { PostgresLinkStore } from '../../src/identity/postgres-store.js';
import { startHub, type RunningHub } from '../../src/server/hub.js';
import { syncLinkTable } from '../support/hub-harness.js';
import { TEST_DATABASE_URL, TestSchemas } from '../support/postgres.js';

const UPDATE = `mutation($id: ID!, $input: ProfileInput!, $key: String) {
  updateCustomerProfile(id: $id, input: $input, idempotencyKey: $key) { replayed writes { source recordId status } }
}`;

const schemas = new TestSchemas();
let systems: SimulatedSystems;
let hubs: RunningHub[] = [];
let customerIds: string[] = [];

async function graphql(hub: RunningHub, query: string, variables: Record<string, unknown>) {
  const response = await fetch(hub.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return (await response.json()) as { data?: any; errors?: { extensions?: Record<string, unknown> }[] };
}
const crmPatches = () => systems.systems.crm.stats().routes['PATCH /contacts/:id'] ?? 0;

beforeAll(async () => {
  systems = await startSimulatedSystems({ people: 200, seed: 5 });
  const schema = schemas.next();
  const config: HubConfig = { ...demoConfig(systems.urls, { PORT: '0' }), linkStore: { kind: 'postgres', url: TEST_DATABASE_URL, schema } };
  const stores = [await PostgresLinkStore.open({ url: TEST_DATABASE_URL, schema }), await PostgresLinkStore.open({ url: TEST_DATABASE_URL, schema })];
  await syncLinkTable(config, stores[0]!);
  hubs = [await startHub(config, { store: stores[0]! }), await startHub(config, { store: stores[1]! })];
  const { customers } = await stores[0]!.pageCustomers(200, null);
  customerIds = customers.filter((c) => c.links.filter((l) => l.source === 'crm').length === 1 && !c.links.some((l) => l.source === 'shop' || l.source === 'support')).map((c) => c.customerId);
}, 60_000);

afterAll(async () => {
  for (const hub of hubs) await hub.close();
  await systems?.close();
  await schemas.dropAll();
});

beforeEach(() => systems.resetStats());

test('a key used at one replica returns the same receipt at the other, which writes nothing', async () => {
  const variables = { id: customerIds[0], input: { email: 'replica.one@example.org' }, key: 'shared-key-1' };
  const first = await graphql(hubs[0]!, UPDATE, variables);
  expect(first.errors).toBeUndefined();
  expect(crmPatches()).toBe(1);
  const second = await graphql(hubs[1]!, UPDATE, variables);
  expect(second.errors).toBeUndefined();
  expect(crmPatches()).toBe(1);
  expect(second.data.updateCustomerProfile.replayed).toBe(true);
  expect(second.data.updateCustomerProfile.writes).toEqual(first.data.updateCustomerProfile.writes);
});

test('two replicas racing with one key: exactly one writes; the other waits its turn or gets the first receipt', async () => {
  // The CRM answers slowly, so the first claim is still writing when the second request arrives.
  systems.systems.crm.latencyMs = 300;
  try {
    const variables = { id: customerIds[1], input: { email: 'replica.race@example.org' }, key: 'shared-key-2' };
    const answers = await Promise.all(hubs.map((hub) => graphql(hub, UPDATE, variables)));
    expect(crmPatches()).toBe(1);
    const outcomes = answers.map((a) => a.errors?.[0]?.extensions?.code ?? (a.data.updateCustomerProfile.replayed ? 'replayed' : 'written')).sort();
    expect(outcomes.filter((o) => o === 'written')).toHaveLength(1);
    expect(outcomes.filter((o) => o !== 'written').every((o) => o === 'IDEMPOTENCY_KEY_IN_USE' || o === 'replayed')).toBe(true);
  } finally {
    systems.systems.crm.latencyMs = 0;
  }
});
