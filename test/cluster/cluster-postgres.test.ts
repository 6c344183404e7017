// A real two-worker hub cluster on 127.0.0.1 (this test process is its primary) over the simulated sources and one
// PostgreSQL link table: there the workers keep each other's caches coherent through LISTEN/NOTIFY, not the
// primary's IPC relay. What one worker changes reaches every worker's link and record caches, and reaches each once.
import nodeCluster, { type Worker } from 'node:cluster';
import { Client } from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import type { HubConfig } from '../../src/config/schema.js';
import { startSimulatedSystems, type SimulatedSystems } from '../../src/demo/systems.js';
import { INVALIDATION_CHANNEL, RECORD_INVALIDATION_CHANNEL } from '../../src/identity/postgres-invalidation.js';
import { PostgresLinkStore } from '../../src/identity/postgres-store.js';
import { startHubCluster, type RunningCluster } from '../../src/cluster/cluster.js';
import { graphqlOnNewConnection, mergeableShopPair, untilEveryAnswer } from '../support/cluster-client.js';
import { TEST_DATABASE_URL, TestSchemas } from '../support/postgres.js';
import { syncLinkTable } from '../support/hub-harness.js';

const WORKERS = 2;
/** Rounds of this many requests, each on a new connection, reach every worker (the primary deals connections in turn). */
const ROUND = 2 * WORKERS;
/** Far shorter than the caches' TTLs: an answer that is right within it was not right by expiry. */
const DEADLINE_MS = 5_000;
const WEBHOOK_SECRET = 'demo-crm-webhook-secret';
const CONTACT_CACHE = { ttlMs: 600_000, staleWhileRevalidateMs: 0, maxEntries: 10_000 };
const silent = pino({ level: 'silent' });

const schemas = new TestSchemas();
const schema = schemas.next();
/** Names the workers' connections (pg lets the URL's parameters win), so the test can count their LISTENs. */
const WORKERS_APPLICATION = `${schema}_workers`;

let systems: SimulatedSystems;
let config: HubConfig;
/** The test's own view of the table the workers share; it writes only through them. */
let store: PostgresLinkStore;
let cluster: RunningCluster;

/** Every invalidation a worker handed the primary to relay: on PostgreSQL there should be none. */
const relayedOverIpc: { type: string; worker: number }[] = [];
/** Every notification on the two invalidation channels for this file's schema, in commit order. */
const notified: { channel: string; origin: string; ids?: unknown; records?: unknown }[] = [];
let listener: Client;

function workerOf(worker: Worker): number {
  return cluster.livingWorkers().find((w) => w.pid === worker.process.pid)?.worker ?? -1;
}

function countRelayed(worker: Worker, message: unknown): void {
  const type = (message as { type?: unknown } | null)?.type;
  if (type === 'rosetta:invalidate-links' || type === 'rosetta:invalidate-records') relayedOverIpc.push({ type, worker: workerOf(worker) });
}

beforeAll(async () => {
  systems = await startSimulatedSystems({ people: 300, seed: 21, latencyMs: 0 });
  config = demoConfig(systems.urls, { PORT: '0' });
  const workersUrl = new URL(TEST_DATABASE_URL);
  workersUrl.searchParams.set('application_name', WORKERS_APPLICATION);
  config.linkStore = { kind: 'postgres', url: workersUrl.href, schema };
  config.sources.crm!.entities.contact!.cache = CONTACT_CACHE;
  expect(config.linkCache.ttlMs).toBeGreaterThan(10 * DEADLINE_MS);

  store = await PostgresLinkStore.open({ url: TEST_DATABASE_URL, schema, applicationName: `${schema}_test`, logger: silent });
  await syncLinkTable(config, store, { logger: silent });

  listener = new Client({ connectionString: TEST_DATABASE_URL });
  await listener.connect();
  listener.on('notification', ({ channel, payload }) => {
    const message = JSON.parse(payload ?? 'null') as { schema?: string; origin: string; ids?: unknown; records?: unknown } | null;
    if (message?.schema === schema) notified.push({ channel, origin: message.origin, ids: message.ids, records: message.records });
  });
  await listener.query(`LISTEN ${INVALIDATION_CHANNEL}; LISTEN ${RECORD_INVALIDATION_CHANNEL}`);

  nodeCluster.on('message', countRelayed);
  cluster = await startHubCluster(config, { workers: WORKERS, logger: silent });
  systems.webhooks.crm.target = { url: cluster.url.replace('/graphql', '/webhooks/crm'), secret: WEBHOOK_SECRET };
});

afterAll(async () => {
  await cluster?.close();
  nodeCluster.off('message', countRelayed);
  await listener?.end();
  await store?.close();
  await systems?.close();
  await schemas.dropAll();
});

interface MetricJson {
  name: string;
  values: { value: number; labels: Record<string, string | number> }[];
}

let nextProbeId = -1;

/**
 * One worker's own metrics, asked for as the primary asks when it aggregates a scrape (this process is the primary).
 * Negative request IDs are never the primary's own, so it ignores the replies.
 */
function metricsOf(slot: number): Promise<MetricJson[]> {
  const pid = cluster.livingWorkers().find((w) => w.worker === slot)?.pid;
  const worker = Object.values(nodeCluster.workers ?? {}).find((w) => w !== undefined && w.process.pid === pid);
  if (!worker) throw new Error(`no living worker ${slot}`);
  const requestId = nextProbeId--;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => settle(() => reject(new Error(`worker ${slot} sent no metrics within ${DEADLINE_MS} ms`))), DEADLINE_MS);
    const onMessage = (from: Worker, message: { type?: string; requestId?: number; metrics?: MetricJson[]; error?: string }) => {
      if (from !== worker || message?.type !== 'rosetta:metrics-json' || message.requestId !== requestId) return;
      settle(() => (message.metrics ? resolve(message.metrics) : reject(new Error(message.error))));
    };
    const settle = (then: () => void) => {
      clearTimeout(timer);
      nodeCluster.off('message', onMessage);
      then();
    };
    nodeCluster.on('message', onMessage);
    worker.send({ type: 'rosetta:collect-metrics', requestId });
  });
}

function sumOf(metrics: MetricJson[], name: string, labels: Record<string, string>): number {
  const values = metrics.find((m) => m.name === name)?.values ?? [];
  return values.filter((v) => Object.entries(labels).every(([key, value]) => v.labels[key] === value)).reduce((sum, v) => sum + v.value, 0);
}

/** Per worker (1 to N): the counters a test compares before and after a change. */
async function countersByWorker(operation = ''): Promise<{ crmReads: number; contactMisses: number; linkMisses: number; operations: number }[]> {
  return Promise.all(
    Array.from({ length: WORKERS }, async (_, i) => {
      const metrics = await metricsOf(i + 1);
      return {
        crmReads: sumOf(metrics, 'rosetta_upstream_requests_total', { source: 'crm' }),
        contactMisses: sumOf(metrics, 'rosetta_record_cache_lookups_total', { source: 'crm', entity: 'contact', result: 'miss' }),
        linkMisses: sumOf(metrics, 'rosetta_link_cache_lookups', { result: 'miss' }),
        operations: sumOf(metrics, 'rosetta_graphql_operations_total', { operation, outcome: 'success' }),
      };
    }),
  );
}

type Counters = Awaited<ReturnType<typeof countersByWorker>>;
const grown = (before: Counters, after: Counters, field: keyof Counters[number]) => after.map((worker, i) => worker[field] - before[i]![field]);

async function crmWrite(id: string, fields: Record<string, unknown>): Promise<void> {
  const delivered = systems.webhooks.crm.delivered;
  const response = await fetch(`${systems.urls.crm}/contacts/${id}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) });
  expect(response.status).toBe(200);
  // The emitter awaits the hub's answer before the CRM answers: one worker has handled the webhook by now.
  expect(systems.webhooks.crm.delivered).toBe(delivered + 1);
}

/** Customers each holding exactly one CRM contact and records elsewhere, none of them in `taken`. */
async function customersWithOneContact(count: number, taken: ReadonlySet<string>): Promise<{ id: string; contactId: string }[]> {
  const { customers } = await store.pageCustomers(300, null);
  const found = customers
    .filter((c) => !taken.has(c.customerId) && c.links.length > 1)
    .map((c) => ({ id: c.customerId, contacts: c.links.filter((l) => l.source === 'crm' && l.entity === 'contact').map((l) => l.recordId) }))
    .filter((c) => c.contacts.length === 1)
    .slice(0, count);
  expect(found).toHaveLength(count);
  return found.map((c) => ({ id: c.id, contactId: c.contacts[0]! }));
}
const used = new Set<string>();

const nameQuery = (operation: string) => `query ${operation}($id: ID!) { customer(id: $id) { profile { name } } }`;
const nameOf = async (id: string, operation = 'Name') =>
  (await graphqlOnNewConnection<{ customer: { profile: { name: string } } }>(cluster.url, nameQuery(operation), { id })).data!.customer.profile.name;

/** One round: ROUND requests in a row, each on a new connection. */
async function roundOf<T>(ask: () => Promise<T>): Promise<T[]> {
  const answers: T[] = [];
  for (let i = 0; i < ROUND; i++) answers.push(await ask());
  return answers;
}
let countedRounds = 0;
/** An operation name of its own, so each worker's count of it says how many of one round's requests it answered. */
const countedOperation = () => `Counted${++countedRounds}`;

/**
 * Every worker caches the contact: a first round reads it, a second costs the CRM nothing. Returns the name served.
 */
async function warm(id: string): Promise<string> {
  await roundOf(() => nameOf(id));
  const before = await countersByWorker();
  systems.resetStats();
  const names = new Set(await roundOf(() => nameOf(id)));
  expect(systems.systems.crm.stats().total).toBe(0);
  expect(grown(before, await countersByWorker(), 'crmReads')).toEqual(Array(WORKERS).fill(0));
  expect(names.size).toBe(1);
  return [...names][0]!;
}

/**
 * After a webhook changed a cached contact, polls until every worker serves the new name; then each worker read it
 * again exactly once, and a further round costs the CRM nothing.
 */
async function expectEachWorkerRereadOnce(id: string, expected: string, before: Counters): Promise<void> {
  const names = await untilEveryAnswer(() => nameOf(id), (name) => name === expected, { times: ROUND, deadlineMs: DEADLINE_MS });
  expect(names).toEqual(Array(ROUND).fill(expected));
  // Every worker answered the round after: its answers above were its own, not all another worker's.
  const counted = countedOperation();
  const beforeCounted = await countersByWorker(counted);
  expect(await roundOf(() => nameOf(id, counted))).toEqual(Array(ROUND).fill(expected));
  const after = await countersByWorker(counted);
  expect(grown(beforeCounted, after, 'operations').every((answered) => answered > 0)).toBe(true);
  expect(systems.systems.crm.stats().routes).toEqual({ 'GET /contacts': WORKERS });
  expect(grown(before, after, 'crmReads')).toEqual(Array(WORKERS).fill(1));
  expect(grown(before, after, 'contactMisses')).toEqual(Array(WORKERS).fill(1));
}

describe('record-cache coherence over NOTIFY', () => {
  test('a webhook received by one worker drops the contact from every worker: each reads it again once', async () => {
    const [{ id, contactId }] = (await customersWithOneContact(1, used)) as [{ id: string; contactId: string }];
    used.add(id);
    await crmWrite(contactId, { first_name: 'Before', last_name: 'Change' });
    expect(await warm(id)).toBe('Before Change');

    const before = await countersByWorker();
    await crmWrite(contactId, { first_name: 'After', last_name: 'Change' });
    // The CRM's own counter starts after the webhook was handled: what it counts from here on are cache refills.
    systems.resetStats();
    await expectEachWorkerRereadOnce(id, 'After Change', before);
  });
});

interface CustomerAnswer {
  id: string;
  mergedIds: string[];
  identities: { source: string; recordId: string }[];
}
const CUSTOMER = (operation: string) => `query ${operation}($id: ID!) { customer(id: $id) { id mergedIds identities { source recordId } } }`;
const customerOf = async (id: string, operation = 'Customer') => (await graphqlOnNewConnection<{ customer: CustomerAnswer | null }>(cluster.url, CUSTOMER(operation), { id })).data!.customer;

/** Polls until every worker's answer passes; then a counted round shows each worker answering so, from the store. */
async function expectEveryWorker(id: string, accept: (answer: CustomerAnswer | null) => boolean, before: Counters): Promise<CustomerAnswer | null> {
  const answers = await untilEveryAnswer(() => customerOf(id), accept, { times: ROUND, deadlineMs: DEADLINE_MS });
  expect(answers.every(accept)).toBe(true);
  const counted = countedOperation();
  const beforeCounted = await countersByWorker(counted);
  const round = await roundOf(() => customerOf(id, counted));
  expect(round.every(accept)).toBe(true);
  const after = await countersByWorker(counted);
  expect(grown(beforeCounted, after, 'operations').every((answered) => answered > 0)).toBe(true);
  // Each worker's link cache let go of what it held and asked the table again.
  expect(grown(before, after, 'linkMisses').every((misses) => misses > 0)).toBe(true);
  return round[0]!;
}

/** Every worker holds the customer in its link cache: a further round asks the table nothing. */
async function warmLinks(id: string): Promise<Counters> {
  await roundOf(() => customerOf(id));
  const before = await countersByWorker();
  await roundOf(() => customerOf(id));
  const after = await countersByWorker();
  expect(grown(before, after, 'linkMisses')).toEqual(Array(WORKERS).fill(0));
  return after;
}

describe('link-cache coherence over NOTIFY', () => {
  test('a merge by webhook in one worker reaches every worker’s link cache; so does a forget', async () => {
    const { a, b, survivor, mergedAway } = await mergeableShopPair(systems.dataset, store);
    used.add(survivor).add(mergedAway);

    let before = await warmLinks(mergedAway);
    expect(await customerOf(mergedAway)).toMatchObject({ id: mergedAway, mergedIds: [] });
    // The CRM announces a contact with A's email and B's phone: one worker receives it and merges them.
    await crmWrite('C-920001', { primary_email: a.contact_email, phone: b.phone, first_name: 'Bridge', last_name: 'Record' });
    const merged = await expectEveryWorker(mergedAway, (answer) => answer?.id === survivor && answer.mergedIds.includes(mergedAway), before);
    expect(merged!.identities.map((i) => `${i.source}:${i.recordId}`)).toEqual(expect.arrayContaining([`shop:${a.id}`, `shop:${b.id}`, 'crm:C-920001']));

    before = await warmLinks(survivor);
    const forgotten = await graphqlOnNewConnection(cluster.url, 'mutation($id: ID!) { forgetCustomer(id: $id) { customerId } }', { id: survivor });
    expect(forgotten).toEqual({ data: { forgetCustomer: { customerId: survivor } } });
    expect(await expectEveryWorker(survivor, (answer) => answer === null, before)).toBeNull();
  });
});

describe('each invalidation reaches each worker once', () => {
  /**
   * Every notification so far (and a sentinel of no customers): notifications reach a listener in commit order, so
   * once the sentinel is heard, every one committed before it has been.
   */
  async function allNotified(): Promise<typeof notified> {
    const sentinel = `sentinel-${Math.random().toString(36).slice(2)}`;
    await listener.query('SELECT pg_notify($1, $2)', [INVALIDATION_CHANNEL, JSON.stringify({ origin: sentinel, schema, ids: [] })]);
    await vi.waitFor(() => expect(notified.some((n) => n.origin === sentinel)).toBe(true), { timeout: DEADLINE_MS, interval: 20 });
    return notified;
  }

  const naming = (recordId: string) => (n: (typeof notified)[number]) =>
    n.channel === RECORD_INVALIDATION_CHANNEL && Array.isArray(n.records) && n.records.some((r) => Array.isArray(r) && r[0] === 'crm' && r[1] === 'contact' && r[2] === recordId);

  test('over NOTIFY from the worker that made the change, never echoed, never relayed over IPC as well', async () => {
    // One LISTEN connection per worker: a notification is delivered to each worker once.
    const listens = await schemas.query<{ count: string }>(schema, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'", [WORKERS_APPLICATION]);
    expect(Number(listens[0]!.count)).toBe(WORKERS);

    const [{ id, contactId }] = (await customersWithOneContact(1, used)) as [{ id: string; contactId: string }];
    used.add(id);
    await warm(id);
    const before = await countersByWorker();
    await crmWrite(contactId, { first_name: 'Once', last_name: 'Only' });
    systems.resetStats();
    await expectEachWorkerRereadOnce(id, 'Once Only', before);
    const byWebhook = (await allNotified()).filter(naming(contactId));

    // A forget: its link change and its records' invalidations, made by whichever worker answers it.
    const beforeForget = notified.length;
    const forgotten = await graphqlOnNewConnection(cluster.url, 'mutation($id: ID!) { forgetCustomer(id: $id) { customerId } }', { id });
    expect(forgotten).toEqual({ data: { forgetCustomer: { customerId: id } } });
    expect(await untilEveryAnswer(() => customerOf(id), (answer) => answer === null, { times: ROUND, deadlineMs: DEADLINE_MS })).toEqual(Array(ROUND).fill(null));
    // Each worker answered a metrics request after any invalidation it sent: IPC keeps a channel's order.
    await countersByWorker();

    const byForget = (await allNotified()).slice(beforeForget);
    // The webhook's record invalidation, and the forget's link change and record invalidation: each published once,
    // by the one worker that made it; the other worker applied it without publishing it again.
    expect(byWebhook).toHaveLength(1);
    const forgetRecords = byForget.filter(naming(contactId));
    const forgetLinks = byForget.filter((n) => n.channel === INVALIDATION_CHANNEL && Array.isArray(n.ids) && n.ids.includes(id));
    expect([forgetRecords.length, forgetLinks.length]).toEqual([1, 1]);
    expect(forgetRecords[0]!.origin).toBe(forgetLinks[0]!.origin);
    // Every change this file made reached the other worker over NOTIFY alone: the primary relayed nothing.
    expect(relayedOverIpc).toEqual([]);
  });
});
