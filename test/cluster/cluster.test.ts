// A real two-worker hub cluster on 127.0.0.1 (this test process is its primary) over the simulated sources and one
// SQLite link table: what one worker changes reaches the others' caches, the sources' caps hold for the cluster as a
// whole, any worker answers health and the cluster's metrics, and a worker that dies comes back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import type { HubConfig } from '../../src/config/schema.js';
import { startSimulatedSystems, type SimulatedSystems } from '../../src/demo/systems.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import { startHubCluster, type RunningCluster } from '../../src/cluster/cluster.js';
import { graphqlOnNewConnection, onNewConnection, mergeableShopPair, untilEveryAnswer } from '../support/cluster-client.js';
import { syncLinkTable } from '../support/hub-harness.js';

const WORKERS = 2;
/** Rounds of this many requests, each on a new connection, reach every worker (the primary deals connections in turn). */
const ROUND = 2 * WORKERS;
/** Far shorter than the caches' TTLs: an answer that is right within it was not right by expiry. */
const DEADLINE_MS = 5_000;
const WEBHOOK_SECRET = 'demo-crm-webhook-secret';
/** The support desk has no batch endpoint: a page of customers costs a call per key, under this cap for the whole cluster. */
const SUPPORT_CONNECTIONS = 3;

let systems: SimulatedSystems;
let config: HubConfig;
let store: SqliteLinkStore;
let cluster: RunningCluster;
let dir: string;

beforeAll(async () => {
  systems = await startSimulatedSystems({ people: 300, seed: 21, latencyMs: 0 });
  dir = mkdtempSync(join(tmpdir(), 'rosetta-cluster-'));
  config = demoConfig(systems.urls, { PORT: '0', LINK_DB: join(dir, 'links.sqlite') });
  config.sources.crm!.entities.contact!.cache = { ttlMs: 600_000, staleWhileRevalidateMs: 0, maxEntries: 10_000 };
  config.sources.support!.connections = SUPPORT_CONNECTIONS;
  expect(config.linkCache.ttlMs).toBeGreaterThan(10 * DEADLINE_MS);
  // The test process reads the table the workers share; it writes only through them.
  store = new SqliteLinkStore(join(dir, 'links.sqlite'));
  await syncLinkTable(config, store);
  cluster = await startHubCluster(config, { workers: WORKERS, restart: { initialDelayMs: 20 } });
  systems.webhooks.crm.target = { url: cluster.url.replace('/graphql', '/webhooks/crm'), secret: WEBHOOK_SECRET };
});

afterAll(async () => {
  await cluster?.close();
  await store?.close();
  await systems?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const healthz = () => onNewConnection<{ status: string; worker: number; pid: number }>(cluster.url.replace('/graphql', '/healthz'));

async function crmWrite(id: string, fields: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${systems.urls.crm}/contacts/${id}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) });
  expect(response.status).toBe(200);
}

interface CustomerAnswer {
  id: string;
  mergedIds: string[];
  identities: { source: string; recordId: string }[];
}

const CUSTOMER = 'query($id: ID!) { customer(id: $id) { id mergedIds identities { source recordId } } }';
const customerOf = async (id: string) => (await graphqlOnNewConnection<{ customer: CustomerAnswer | null }>(cluster.url, CUSTOMER, { id })).data!.customer;

describe('any worker answers', () => {
  test('/healthz and /readyz, each naming the worker that answered; connections reach every worker', async () => {
    const health = await Promise.all(Array.from({ length: ROUND }, healthz));
    expect(health.every((h) => h.status === 200 && h.body.status === 'ok')).toBe(true);
    expect(new Set(health.map((h) => h.body.worker))).toEqual(new Set([1, 2]));
    const readiness = [];
    for (let i = 0; i < ROUND; i++) readiness.push(await onNewConnection(cluster.url.replace('/graphql', '/readyz')));
    expect(readiness.map((r) => [r.status, r.body.status, r.body.linkStore])).toEqual(Array(ROUND).fill([200, 'ready', 'ok']));
    expect(new Set(readiness.map((r) => r.body.worker))).toEqual(new Set([1, 2]));
  });
});

describe('link-cache coherence', () => {
  test('a webhook merging two customers in one worker reaches every worker cache; so does a forget', async () => {
    const { a, b, survivor, mergedAway } = await mergeableShopPair(systems.dataset, store);
    // Every worker caches the merged-away customer as it is now: unmerged.
    for (let i = 0; i < ROUND; i++) expect(await customerOf(mergedAway)).toMatchObject({ id: mergedAway, mergedIds: [] });

    // The CRM announces a contact with A's email and B's phone: one worker receives it and merges them.
    const delivered = systems.webhooks.crm.delivered;
    await crmWrite('C-910001', { primary_email: a.contact_email, phone: b.phone, first_name: 'Bridge', last_name: 'Record' });
    expect(systems.webhooks.crm.delivered).toBe(delivered + 1);

    const merged = (answer: CustomerAnswer | null) => answer?.id === survivor && answer.mergedIds.includes(mergedAway);
    const afterMerge = await untilEveryAnswer(() => customerOf(mergedAway), merged, { times: ROUND, deadlineMs: DEADLINE_MS });
    expect(afterMerge.every(merged)).toBe(true);
    expect(afterMerge[0]!.identities.map((i) => `${i.source}:${i.recordId}`)).toEqual(expect.arrayContaining([`shop:${a.id}`, `shop:${b.id}`, 'crm:C-910001']));

    // Now every worker caches the survivor; a forget through one worker must empty them all.
    for (let i = 0; i < ROUND; i++) expect(await customerOf(survivor)).toMatchObject({ id: survivor });
    const forgotten = await graphqlOnNewConnection(cluster.url, 'mutation($id: ID!) { forgetCustomer(id: $id) { customerId } }', { id: survivor });
    expect(forgotten).toEqual({ data: { forgetCustomer: { customerId: survivor } } });
    const afterForget = await untilEveryAnswer(() => customerOf(survivor), (answer) => answer === null, { times: ROUND, deadlineMs: DEADLINE_MS });
    expect(afterForget).toEqual(Array(ROUND).fill(null));
    expect(await customerOf(mergedAway)).toBeNull();
  });
});

describe('record-cache coherence', () => {
  test('a webhook for a cached CRM contact drops it from every worker, not only the one that received it', async () => {
    const { customers } = await store.pageCustomers(300, null);
    const customer = customers.find((c) => c.links.filter((l) => l.source === 'crm').length === 1 && c.links.length > 1)!;
    const contactId = customer.links.find((l) => l.source === 'crm')!.recordId;
    const NAME = 'query($id: ID!) { customer(id: $id) { profile { name } } }';
    const nameOf = async () => (await graphqlOnNewConnection<{ customer: { profile: { name: string } } }>(cluster.url, NAME, { id: customer.customerId })).data!.customer.profile.name;

    await crmWrite(contactId, { first_name: 'Before', last_name: 'Change' });
    for (let i = 0; i < ROUND; i++) await nameOf();
    // Every worker holds the contact now: a further round costs the CRM nothing.
    systems.resetStats();
    expect(new Set(await Promise.all(Array.from({ length: ROUND }, nameOf)))).toEqual(new Set(['Before Change']));
    expect(systems.systems.crm.stats().total).toBe(0);

    await crmWrite(contactId, { first_name: 'After', last_name: 'Change' });
    const names = await untilEveryAnswer(nameOf, (name) => name === 'After Change', { times: ROUND, deadlineMs: DEADLINE_MS });
    expect(names).toEqual(Array(ROUND).fill('After Change'));
  });
});

describe('metrics', () => {
  test('a scrape through any worker counts every worker’s operations', async () => {
    const operation = 'ClusterCounted';
    const query = `query ${operation}($id: ID!) { customer(id: $id) { id } }`;
    const { customers } = await store.pageCustomers(1, null);
    for (let i = 0; i < 3 * ROUND; i++) await graphqlOnNewConnection(cluster.url, query, { id: customers[0]!.customerId });
    const line = `rosetta_graphql_operations_total{operation="${operation}",outcome="success"}`;
    for (let i = 0; i < ROUND; i++) {
      const scrape = await onNewConnection<string>(cluster.url.replace('/graphql', '/metrics'));
      expect(scrape.status).toBe(200);
      expect(scrape.headers['content-type']).toMatch(/^text\/plain/);
      expect(scrape.body.split('\n').find((l) => l.startsWith(`${line} `))).toBe(`${line} ${3 * ROUND}`);
    }
  });
});

describe('source protection', () => {
  test('the workers together keep within a source’s connection cap', async () => {
    // Each worker holds a share of the support desk's 3 connections (2 and 1); alone, each would use all 3.
    systems.systems.support.latencyMs = 25;
    systems.resetStats();
    try {
      const PAGE = 'query { customers(first: 50) { edges { node { tickets { id } } } } }';
      const pages = await Promise.all(Array.from({ length: ROUND }, () => graphqlOnNewConnection(cluster.url, PAGE)));
      for (const page of pages) expect(page.errors).toBeUndefined();
      expect(systems.systems.support.stats().total).toBeGreaterThan(ROUND * SUPPORT_CONNECTIONS);
      expect(systems.systems.support.peakConcurrency()).toBeLessThanOrEqual(SUPPORT_CONNECTIONS);
    } finally {
      systems.systems.support.latencyMs = 0;
    }
  });
});

describe('restarts', () => {
  test('a worker that dies is started again in its slot and serves', async () => {
    const [victim] = cluster.livingWorkers();
    process.kill(victim!.pid, 'SIGKILL');
    // Starting a worker takes seconds (it loads the hub's TypeScript); the bound is generous, nothing is timed.
    const answeredBy = new Set<number>();
    const replacement = await vi.waitFor(
      async () => {
        const started = cluster.livingWorkers().find((w) => w.worker === victim!.worker && w.pid !== victim!.pid);
        if (!started) throw new Error(`worker ${victim!.worker} has not been started again yet`);
        for (const answer of await Promise.all(Array.from({ length: ROUND }, healthz))) answeredBy.add(answer.body.pid);
        if (!answeredBy.has(started.pid)) throw new Error(`worker ${victim!.worker} (pid ${started.pid}) has not answered yet`);
        return started;
      },
      { timeout: 30_000, interval: 100 },
    );
    expect(answeredBy).toContain(replacement.pid);
    expect(answeredBy).not.toContain(victim!.pid);
  });
});
