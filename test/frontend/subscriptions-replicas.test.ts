// Two hub replicas over one PostgreSQL link store: a webhook applied by one reaches a subscriber of the other
// (NOTIFY on the change channel), once, with the customer read live on the subscriber's replica; so does a change a
// `rosetta sync` process of its own finds.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import { startSimulatedSystems, type SimulatedSystems } from '../../src/demo/systems.js';
import { PostgresLinkStore } from '../../src/identity/postgres-store.js';
import { startHub, type RunningHub } from '../../src/server/hub.js';
import { syncLinkTable } from '../support/hub-harness.js';
import { TEST_DATABASE_URL, TestSchemas } from '../support/postgres.js';
import { subscriber, type Subscriber } from '../support/subscriber.js';
import { runCli, tempDir, writeConfig } from '../cli/cli-harness.js';

const schemas = new TestSchemas();
let systems: SimulatedSystems;
let writer: RunningHub;
let reader: RunningHub;
let linkSchema: string;
const clients: Subscriber[] = [];

beforeAll(async () => {
  systems = await startSimulatedSystems({ people: 40, seed: 7, latencyMs: 0 });
  const config = demoConfig(systems.urls, { PORT: '0' });
  const schema = schemas.next();
  linkSchema = schema;
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

    // Each event's customer is read when it is delivered, so the second write waits for the first event: otherwise
    // the first event may already carry the second name.
    for (const [index, name] of ['Across', 'Replicas'].entries()) {
      const write = await fetch(`${systems.urls.crm}/contacts/${contactId}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ first_name: name, last_name: 'Test' }) });
      expect(write.status).toBe(200);
      await expect.poll(() => events.results.length).toBeGreaterThanOrEqual(index + 1);
    }
    const event = (name: string) => ({ data: { customerChanged: { kind: 'UPSERT', customerId: customer.customerId, source: 'crm', recordId: contactId, customer: { id: customer.customerId, profile: { name: `${name} Test` } } } } });
    expect(events.results).toEqual([event('Across'), event('Replicas')]);
    // Heard from the writer through NOTIFY: the reader applied neither webhook itself.
    expect(systems.webhooks.crm.delivered).toBe(2);
    expect(reader.services.changes.received).toBe(2);
    expect(writer.services.changes.received).toBe(0);
  });
  test('a `rosetta sync` process of its own that finds a changed contact reaches a hub’s subscriber as one UPSERT', async () => {
    const customer = (await reader.services.directory.store.pageCustomers(40, null)).customers.filter((c) => c.links.some((l) => l.source === 'crm'))[1]!;
    const contactId = customer.links.find((l) => l.source === 'crm')!.recordId;
    const client = subscriber(reader.url);
    clients.push(client);
    await client.connected;
    const events = client.subscribe('subscription($id: ID!) { customerChanged(id: $id) { kind customerId source recordId customer { profile { name } } } }', { id: customer.customerId });
    await expect.poll(() => reader.services.changes.subscribers).toBe(1);

    // The webhook that would have announced the write is lost: only the sync can find it.
    const target = systems.webhooks.crm.target;
    systems.webhooks.crm.target = null;
    const write = await fetch(`${systems.urls.crm}/contacts/${contactId}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ first_name: 'Synced', last_name: 'Apart' }) });
    expect(write.status).toBe(200);
    systems.webhooks.crm.target = target;
    const config = writeConfig(tempDir(), 'sync', systems.urls, (raw) => (raw.linkStore = { kind: 'postgres', url: TEST_DATABASE_URL, schema: linkSchema }));
    const heardBefore = reader.services.changes.received;
    const sync = await runCli(['sync', '--config', config], { timeoutMs: 60_000 });
    expect(sync.stderr).toBe('');
    expect(sync.code).toBe(0);

    // A webhook after it: once its event is in, any duplicate of the sync's would be too (NOTIFY keeps order).
    await fetch(`${systems.urls.crm}/contacts/${contactId}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ first_name: 'Then', last_name: 'Announced' }) });
    await expect.poll(() => events.results.length).toBeGreaterThanOrEqual(2);
    const change = { kind: 'UPSERT', customerId: customer.customerId, source: 'crm', recordId: contactId };
    // Each event's customer is read when it is delivered, so the first may already carry the second write.
    expect(events.results.map((r) => ({ ...r.data.customerChanged, customer: undefined }))).toEqual([{ ...change, customer: undefined }, { ...change, customer: undefined }]);
    expect(events.results[1]!.data.customerChanged.customer.profile.name).toBe('Then Announced');
    // The whole pass published that one change and nothing else: the reader heard two events in all.
    expect(reader.services.changes.received - heardBefore).toBe(2);
  }, 90_000);
});
