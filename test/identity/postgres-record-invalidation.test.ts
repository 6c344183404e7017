// Record-cache invalidations between processes sharing a PostgreSQL link store: a webhook received by one hub drops
// the record from the other hubs' caches too. The payloads (split under NOTIFY's 8000-byte limit, foreign ones
// ignored), the relay's echo guard, and two real hubs on one schema reading through the simulated sources.
import { Client } from 'pg';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import type { HubConfig } from '../../src/config/schema.js';
import { startSimulatedSystems, type SimulatedSystems } from '../../src/demo/systems.js';
import type { RecordKey } from '../../src/identity/model.js';
import { INVALIDATION_CHANNEL, RECORD_INVALIDATION_CHANNEL, recordInvalidationPayloads } from '../../src/identity/postgres-invalidation.js';
import { relayRecordInvalidations } from '../../src/identity/postgres-record-invalidation.js';
import { PostgresLinkStore } from '../../src/identity/postgres-store.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import type { RecordInvalidations } from '../../src/identity/store.js';
import type { HubServices } from '../../src/request/context.js';
import { createServices, startHub, type RunningHub } from '../../src/server/hub.js';
import { TEST_DATABASE_URL, TestSchemas } from '../support/postgres.js';
import { eventually } from '../support/eventually.js';
import { syncLinkTable } from '../support/hub-harness.js';

const schemas = new TestSchemas();
const silent = pino({ level: 'silent' });
const LONG = { ttlMs: 600_000, staleWhileRevalidateMs: 0, maxEntries: 10_000 };
const WEBHOOK_SECRET = 'demo-crm-webhook-secret';
const NAME = 'query($id: ID!) { customer(id: $id) { profile { name } } }';
const contact = (recordId: string): RecordKey => ({ source: 'crm', entity: 'contact', recordId });

afterAll(() => schemas.dropAll());

describe('record invalidation payloads', () => {
  test('stay under the 8000-byte NOTIFY limit, listing every record once across chunks', () => {
    const records = Array.from({ length: 1_000 }, (_, i) => contact(`C-${String(i).padStart(12, '0')}`));
    const payloads = recordInvalidationPayloads('origin-1', 'public', [...records, ...records]);
    expect(payloads.length).toBeGreaterThan(1);
    for (const payload of payloads) expect(Buffer.byteLength(payload)).toBeLessThan(8_000);
    const listed = payloads.flatMap((p) => (JSON.parse(p) as { records: [string, string, string][] }).records);
    expect(listed).toEqual(records.map((r) => [r.source, r.entity, r.recordId]));
    expect(payloads.map((p) => JSON.parse(p) as { origin: string; schema: string })).toEqual(payloads.map(() => expect.objectContaining({ origin: 'origin-1', schema: 'public' })));
  });

  test('a record too large for one notification makes it one "everything" message', () => {
    const payloads = recordInvalidationPayloads('origin-1', 'public', [contact('small'), contact('x'.repeat(8_000))]);
    expect(payloads.map((p) => JSON.parse(p))).toEqual([{ origin: 'origin-1', schema: 'public', records: '*' }]);
  });
});

describe('record invalidations between two stores on one schema', () => {
  const opened: PostgresLinkStore[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });
  async function twoStores(): Promise<[PostgresLinkStore, PostgresLinkStore, string]> {
    const schema = schemas.next();
    const stores = await Promise.all([PostgresLinkStore.open({ url: TEST_DATABASE_URL, schema }), PostgresLinkStore.open({ url: TEST_DATABASE_URL, schema })]);
    opened.push(...stores);
    return [stores[0], stores[1], schema];
  }

  test("one store's invalidation reaches the other whole, however many chunks it takes, and not itself", async () => {
    const [a, b] = await twoStores();
    const heardByA: (RecordKey[] | 'all')[] = [];
    const heardByB: (RecordKey[] | 'all')[] = [];
    a.recordInvalidations.subscribe((records) => heardByA.push(records));
    b.recordInvalidations.subscribe((records) => heardByB.push(records));
    const records = Array.from({ length: 2_000 }, (_, i) => contact(`C-${String(i).padStart(12, '0')}`));
    expect(recordInvalidationPayloads('any', 'any', records).length).toBeGreaterThan(5);
    await a.recordInvalidations.publish(records);
    const listed = await eventually(() => {
      const heard = heardByB.flatMap((chunk) => (chunk === 'all' ? [] : chunk));
      return heard.length >= records.length || heardByB.includes('all') ? heard : undefined;
    });
    expect(heardByB).not.toContain('all');
    expect(listed).toEqual(records);
    // Notifications on a connection arrive in commit order: once A hears B's later one, it has heard all of its own.
    await b.recordInvalidations.publish([contact('from-b')]);
    await eventually(() => (heardByA.length > 0 ? true : undefined));
    expect(heardByA).toEqual([[contact('from-b')]]);
  });

  test('payloads that are not ours are ignored: foreign JSON, other schemas, malformed lists, the other channel', async () => {
    const [, b, schema] = await twoStores();
    const records: (RecordKey[] | 'all')[] = [];
    const links: (string[] | 'all')[] = [];
    b.recordInvalidations.subscribe((heard) => records.push(heard));
    b.onInvalidate((heard) => links.push(heard));
    const envelope = { origin: 'someone-else', schema };
    const foreign: [string, string][] = [
      [RECORD_INVALIDATION_CHANNEL, 'not json'],
      [RECORD_INVALIDATION_CHANNEL, '"a string"'],
      [RECORD_INVALIDATION_CHANNEL, 'null'],
      [RECORD_INVALIDATION_CHANNEL, JSON.stringify({ records: [['crm', 'contact', '1']] })],
      [RECORD_INVALIDATION_CHANNEL, JSON.stringify({ ...envelope, schema: 'another_schema', records: [['crm', 'contact', '1']] })],
      [RECORD_INVALIDATION_CHANNEL, JSON.stringify({ ...envelope, records: [['crm', 'contact']] })],
      [RECORD_INVALIDATION_CHANNEL, JSON.stringify({ ...envelope, records: [['crm', 'contact', 1]] })],
      [RECORD_INVALIDATION_CHANNEL, JSON.stringify({ ...envelope, records: 'all' })],
      // A link invalidation on the records channel, and a record invalidation on the links channel.
      [RECORD_INVALIDATION_CHANNEL, JSON.stringify({ ...envelope, ids: ['cus_1'] })],
      [INVALIDATION_CHANNEL, JSON.stringify({ ...envelope, records: [['crm', 'contact', '1']] })],
    ];
    const client = new Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      for (const [channel, payload] of foreign) await client.query('SELECT pg_notify($1, $2)', [channel, payload]);
      // Sent last on the same connection, so it arrives last: once it is heard, every foreign one has been dealt with.
      await client.query('SELECT pg_notify($1, $2)', [RECORD_INVALIDATION_CHANNEL, JSON.stringify({ ...envelope, records: [['crm', 'contact', 'valid']] })]);
      await client.query('SELECT pg_notify($1, $2)', [INVALIDATION_CHANNEL, JSON.stringify({ ...envelope, ids: ['cus_valid'] })]);
    } finally {
      await client.end();
    }
    await eventually(() => (links.length > 0 ? true : undefined));
    await eventually(() => (records.length > 0 ? true : undefined));
    expect(records).toEqual([[contact('valid')]]);
    expect(links).toEqual([['cus_valid']]);
  });
});

describe('the relay between a record cache and the other processes', () => {
  // A stand-in for the database, as test/unit/worker-relay.test.ts stands in for IPC: what is published, and a way to deliver.
  let services: HubServices;
  let published: RecordKey[][];
  let deliver: (records: RecordKey[] | 'all') => void;
  beforeAll(() => {
    const config = demoConfig({ crm: 'http://127.0.0.1:1', shop: 'http://127.0.0.1:2', support: 'http://127.0.0.1:3', marketing: 'http://127.0.0.1:4', analytics: 'http://127.0.0.1:5' }, {});
    config.sources.crm!.entities.contact!.cache = LONG;
    config.sources.shop!.entities.order!.cache = LONG; // a child list, keyed by the shop customer
    services = createServices(config, new SqliteLinkStore(':memory:'), { logger: silent });
    published = [];
    const bus: RecordInvalidations = {
      publish: async (records) => void published.push([...records]),
      subscribe: (listener) => {
        deliver = listener;
        return () => undefined;
      },
    };
    relayRecordInvalidations(services.recordCache, bus, silent);
  });
  afterAll(async () => {
    await services.registry.close();
    await services.directory.store.close();
  });

  test("this process's invalidations go out, only for what it caches; the others' are applied and not sent back", () => {
    const applied: (readonly RecordKey[])[] = [];
    services.recordCache.onInvalidate((records) => applied.push(records));
    const shopCustomer = { source: 'shop', entity: 'customer', recordId: 'S-1' };
    services.recordCache.invalidate([contact('C-1'), shopCustomer, { source: 'marketing', entity: 'member', recordId: 'M-1' }]);
    services.recordCache.invalidate([{ source: 'support', entity: 'user', recordId: 'U-1' }]);
    expect(published).toEqual([[contact('C-1'), shopCustomer]]);

    deliver([contact('C-2')]);
    expect(applied.at(-1)).toEqual([contact('C-2')]);
    deliver('all');
    expect(published).toHaveLength(1);
    // The guard is lifted afterwards: this process's own invalidations still go out.
    services.recordCache.invalidate([contact('C-3')]);
    expect(published).toEqual([[contact('C-1'), shopCustomer], [contact('C-3')]]);
  });
});

describe('two hubs on one PostgreSQL schema, with the CRM contacts cached', () => {
  let systems: SimulatedSystems;
  let config: HubConfig;
  let schema: string;
  const hubs: RunningHub[] = [];
  let hubA: RunningHub;
  let hubB: RunningHub;
  const bApplicationName = () => `${schema}_b`;

  beforeAll(async () => {
    systems = await startSimulatedSystems({ people: 300, seed: 7, latencyMs: 0 });
    config = demoConfig(systems.urls, { PORT: '0', LINK_DB: ':memory:' });
    config.sources.crm!.entities.contact!.cache = LONG;
    schema = schemas.next();
    const builderStore = await PostgresLinkStore.open({ url: TEST_DATABASE_URL, schema });
    await syncLinkTable(config, builderStore, { logger: silent });
    await builderStore.close();
    const open = (applicationName: string) => PostgresLinkStore.open({ url: TEST_DATABASE_URL, schema, applicationName, logger: silent });
    hubA = await startHub(config, { store: await open(`${schema}_a`), logger: silent });
    hubs.push(hubA);
    hubB = await startHub(config, { store: await open(bApplicationName()), logger: silent });
    hubs.push(hubB);
  });

  afterAll(async () => {
    await Promise.all(hubs.map((hub) => hub.close()));
    await systems?.close();
  });

  async function nameOn(hub: RunningHub, id: string): Promise<string> {
    const response = await fetch(hub.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: NAME, variables: { id } }) });
    const body = (await response.json()) as { data?: { customer: { profile: { name: string } } }; errors?: unknown[] };
    if (body.errors) throw new Error(`hub answered with errors: ${JSON.stringify(body.errors)}`);
    return body.data!.customer.profile.name;
  }

  /** Customers each holding exactly one CRM contact. */
  async function customersWithOneContact(count: number): Promise<{ id: string; contactId: string }[]> {
    const { customers } = await hubA.services.directory.store.pageCustomers(300, null);
    const found = customers
      .map((c) => ({ id: c.customerId, contacts: [...new Set(c.links.filter((l) => l.source === 'crm' && l.entity === 'contact').map((l) => l.recordId))] }))
      .filter((c) => c.contacts.length === 1)
      .slice(0, count);
    expect(found).toHaveLength(count);
    return found.map((c) => ({ id: c.id, contactId: c.contacts[0]! }));
  }

  async function crmWriteAnnouncedTo(hub: RunningHub, contactId: string, fields: Record<string, unknown>): Promise<void> {
    systems.webhooks.crm.target = { url: hub.url.replace('/graphql', '/webhooks/crm'), secret: WEBHOOK_SECRET };
    const delivered = systems.webhooks.crm.delivered;
    try {
      const response = await fetch(`${systems.urls.crm}/contacts/${contactId}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) });
      expect(response.status).toBe(200);
      expect(systems.webhooks.crm.delivered).toBe(delivered + 1);
    } finally {
      systems.webhooks.crm.target = null;
    }
  }

  test('a webhook received by hub A drops the record from hub B\'s cache: B reads it again once, and serves the new value', async () => {
    const [customer, other] = await customersWithOneContact(2);
    const { id, contactId } = customer!;
    const heardByA: (RecordKey[] | 'all')[] = [];
    hubA.services.directory.store.recordInvalidations!.subscribe((records) => heardByA.push(records));

    const oldName = await nameOn(hubA, id);
    expect(await nameOn(hubB, id)).toBe(oldName);
    systems.resetStats();
    // Both warm: neither asks the CRM again.
    expect([await nameOn(hubA, id), await nameOn(hubB, id)]).toEqual([oldName, oldName]);
    expect(systems.systems.crm.stats().routes).toEqual({});

    await crmWriteAnnouncedTo(hubA, contactId, { first_name: 'Relayed' });
    systems.resetStats();
    // B hears of it shortly after the webhook's answer; until then it serves what it cached, without a call.
    const seenByB = await eventually(async () => {
      const name = await nameOn(hubB, id);
      return name.startsWith('Relayed ') ? name : undefined;
    });
    expect(seenByB).toMatch(/^Relayed /);
    expect(systems.systems.crm.stats().routes).toEqual({ 'GET /contacts': 1 });
    // A dropped its own copy when the webhook came in, and reads it again too.
    expect(await nameOn(hubA, id)).toBe(seenByB);
    expect(systems.systems.crm.stats().routes).toEqual({ 'GET /contacts': 2 });

    // B applied A's invalidation without announcing it again: the first thing A hears from B is B's own next webhook.
    await crmWriteAnnouncedTo(hubB, other!.contactId, { first_name: 'Later' });
    await eventually(() => (heardByA.length > 0 ? true : undefined));
    expect(heardByA).toEqual([[contact(other!.contactId)]]);
  });

  test("a hub whose LISTEN connection drops empties its record cache, since invalidations sent meanwhile are lost", async () => {
    // Not the customers the test before changed.
    const { id, contactId } = (await customersWithOneContact(3))[2]!;
    await nameOn(hubB, id);
    const cached = hubB.services.recordCache.records('crm', 'contact')!;
    expect(cached.has(contactId)).toBe(true);
    const [listener] = await schemas.query<{ pid: number }>(schema, "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'", [bApplicationName()]);
    await schemas.query(schema, 'SELECT pg_terminate_backend($1)', [listener!.pid]);
    await eventually(() => (cached.has(contactId) ? undefined : true));
    expect(cached.has(contactId)).toBe(false);
  });
});
