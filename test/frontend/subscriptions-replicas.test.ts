// Two hub replicas over one PostgreSQL link store: a webhook applied by one reaches a subscriber of the other
// (NOTIFY on the change channel), once, with the customer read live on the subscriber's replica.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import { startSimulatedSystems, type SimulatedSystems } from '../../src/demo/systems.js';
import { PostgresLinkStore } from '../../src/identity/postgres-store.js';
import { startHub, type RunningHub } from '../../src/server/hub.js';
import { syncLinkTable } from '../support/hub-harness.js';
import { TEST_DATABASE_URL, TestSchemas } from '../support/postgres.js';
import { subscriber, type Subscriber } from '../support/subscriber.js';

const schemas = new TestSchemas();
let systems: SimulatedSystems;
let writer: RunningHub;
let reader: RunningHub;
const clients: Subscriber[] = [];

beforeAll(async () => {
  systems = await startSimulatedSystems({ people: 40, seed: 7, latencyMs: 0 });
  const config = demoConfig(systems.urls, { PORT: '0' });
  const schema = schemas.next();
  config.linkStore = { kind: 'postgres', url: TEST_DATABASE_URL, schema };
  const open = () => PostgresLinkStore.open({ url: TEST_DATABASE_URL, schema, poolSize: 4 });
  const builder = await open();
  await syncLinkTable(config, builder);
  await builder.close();
  // Two replicas, each with its own pool and LISTEN connection, as two processes would have.
  writer = await startHub(config, { store: await open() });
  reader = await startHub(config, { store: await open() });
  systems.webhooks.crm.target = { url: writer.url.replace('/graphql', '/webhooks/crm'), secret: 'demo-crm-webhook-secret' };
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await writer?.close();
  await reader?.close();
  await systems?.close();
  await schemas.dropAll();
});

describe('subscriptions across PostgreSQL replicas', () => {
  test('a webhook applied on one replica reaches a subscriber on the other, exactly once per change', async () => {
    const customer = (await reader.services.directory.store.pageCustomers(40, null)).customers.find((c) => c.links.some((l) => l.source === 'crm'))!;
    const contactId = customer.links.find((l) => l.source === 'crm')!.recordId;
    const client = subscriber(reader.url);
    clients.push(client);
    await client.connected;
    const events = client.subscribe('subscription($id: ID!) { customerChanged(id: $id) { kind customerId source recordId customer { id profile { name } } } }', { id: customer.customerId });
    await expect.poll(() => reader.services.changes.subscribers).toBe(1);

    for (const name of ['Across', 'Replicas']) {
      const write = await fetch(`${systems.urls.crm}/contacts/${contactId}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ first_name: name, last_name: 'Test' }) });
      expect(write.status).toBe(200);
    }
    await expect.poll(() => events.results.length).toBeGreaterThanOrEqual(2);
    const event = (name: string) => ({ data: { customerChanged: { kind: 'UPSERT', customerId: customer.customerId, source: 'crm', recordId: contactId, customer: { id: customer.customerId, profile: { name: `${name} Test` } } } } });
    expect(events.results).toEqual([event('Across'), event('Replicas')]);
    // Heard from the writer through NOTIFY: the reader applied neither webhook itself.
    expect(systems.webhooks.crm.delivered).toBe(2);
    expect(reader.services.changes.received).toBe(2);
    expect(writer.services.changes.received).toBe(0);
  });
});
