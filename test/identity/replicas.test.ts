import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import type { HubConfig } from '../../src/config/schema.js';
import { startSimulatedSystems, type SimulatedSystems } from '../../src/demo/systems.js';
import type { CustomerLinks } from '../../src/identity/model.js';
import { recordKeyString } from '../../src/identity/model.js';
import { PostgresLinkStore } from '../../src/identity/postgres-store.js';
import { syncLinks } from '../../src/identity/sync.js';
import { createServices } from '../../src/server/hub.js';
import type { HubServices } from '../../src/request/context.js';
import { TEST_DATABASE_URL, TestSchemas } from '../support/postgres.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REPLICA_SCRIPT = fileURLToPath(new URL('../support/replica-hub.ts', import.meta.url));
/** Each check polls a replica until it answers as expected or this passes; the cache TTL is far longer. */
const DEADLINE_MS = 5_000;

interface Replica {
  url: string;
  process: ChildProcess;
}

/** Starts a hub in its own process over the same sources and PostgreSQL schema; resolves with the URL it printed. */
async function startReplica(systems: SimulatedSystems, schema: string): Promise<Replica> {
  const child = spawn(process.execPath, ['--import', 'tsx', REPLICA_SCRIPT], {
    cwd: REPO_ROOT,
    env: { ...process.env, REPLICA_SYSTEM_URLS: JSON.stringify(systems.urls), REPLICA_DATABASE_URL: TEST_DATABASE_URL, REPLICA_SCHEMA: schema },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`replica exited with code ${code} before it served`);
  });
  const served = (async () => {
    // The hub logs to stdout too: the URL is on the line that has one.
    for await (const line of createInterface({ input: child.stdout! })) {
      const message = (() => {
        try {
          return JSON.parse(line) as { url?: unknown };
        } catch {
          return {};
        }
      })();
      if (typeof message.url === 'string') return message.url;
    }
    throw new Error('replica closed its output before it served');
  })();
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('replica did not start within 30 s')), 30_000).unref());
  try {
    return { url: await Promise.race([served, exited, timeout]), process: child };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

async function stopReplica(replica: Replica): Promise<void> {
  if (replica.process.exitCode !== null) return;
  const exited = once(replica.process, 'exit');
  replica.process.kill('SIGTERM');
  await exited;
}

interface CustomerAnswer {
  id: string;
  mergedIds: string[];
  identities: { source: string; entity: string; recordId: string }[];
}

async function customerOn(replica: Replica, id: string): Promise<CustomerAnswer | null> {
  const response = await fetch(replica.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'query ($id: ID!) { customer(id: $id) { id mergedIds identities { source entity recordId } } }', variables: { id } }),
  });
  const body = (await response.json()) as { data?: { customer: CustomerAnswer | null }; errors?: unknown[] };
  if (body.errors) throw new Error(`replica answered with errors: ${JSON.stringify(body.errors)}`);
  return body.data!.customer;
}

/** Asks the replica until `accept` holds for its answer and returns that answer; fails after DEADLINE_MS naming the last. */
function pollCustomer(replica: Replica, id: string, accept: (answer: CustomerAnswer | null) => boolean): Promise<CustomerAnswer | null> {
  return vi.waitFor(
    async () => {
      const answer = await customerOn(replica, id);
      if (!accept(answer)) throw new Error(`the replica still answers ${JSON.stringify(answer)}`);
      return answer;
    },
    { timeout: DEADLINE_MS, interval: 25 },
  );
}

const schemas = new TestSchemas();
let systems: SimulatedSystems;
let config: HubConfig;
let store: PostgresLinkStore;
let services: HubServices;
const replicas: Replica[] = [];

beforeAll(async () => {
  systems = await startSimulatedSystems({ people: 300, seed: 7, latencyMs: 0 });
  config = demoConfig(systems.urls, { PORT: '0', LINK_DB: ':memory:' });
  const schema = schemas.next();
  store = await PostgresLinkStore.open({ url: TEST_DATABASE_URL, schema, forgetSecret: config.identity.forget.secret });
  // The test process is a third party to the link table: it builds it, and later changes it, as an operator's sync would.
  services = createServices(config, store);
  await syncLinks({ registry: services.registry, links: services.links, store });
  replicas.push(...(await Promise.all([startReplica(systems, schema), startReplica(systems, schema)])));
});

afterAll(async () => {
  await Promise.all(replicas.map(stopReplica));
  await services?.registry.close();
  await store?.close();
  await systems?.close();
  await schemas.dropAll();
});

/** Two customers that may merge: neither holds a CRM contact, which the demo allows one of per customer. */
async function twoMergeableCustomers(): Promise<[CustomerLinks, CustomerLinks]> {
  const found: CustomerLinks[] = [];
  let after: string | null = null;
  while (found.length < 2) {
    const page: { customers: CustomerLinks[]; hasNextPage: boolean } = await store.pageCustomers(100, after);
    found.push(...page.customers.filter((c) => c.links.every((l) => l.source !== 'crm')));
    if (!page.hasNextPage) break;
    after = page.customers.at(-1)!.customerId;
  }
  expect(found.length).toBeGreaterThanOrEqual(2);
  return [found[0]!, found[1]!];
}

test('a merge and a forget made elsewhere reach the warm caches of both hub replicas', async () => {
  // Without the notification a replica would serve its cached links until this TTL ran out, long after the deadline.
  expect(config.linkCache.ttlMs).toBeGreaterThan(10 * DEADLINE_MS);
  const [x, y] = await twoMergeableCustomers();
  for (const replica of replicas) {
    expect((await customerOn(replica, x.customerId))!.identities).toHaveLength(x.links.length);
    expect(await customerOn(replica, y.customerId)).toMatchObject({ id: y.customerId, mergedIds: [] });
  }

  // A record naming one record of each customer joins them (as a reference in a source's metadata would).
  const bridge = { source: 'support', entity: 'user', recordId: 'bridge-1' };
  const summary = await services.links.apply([
    { upsert: { ...bridge, tokens: [recordKeyString(bridge), recordKeyString(x.links[0]!), recordKeyString(y.links[0]!)].map((value) => ({ kind: 'ref' as const, value })) } },
  ]);
  expect(summary.merges).toBe(1);
  const survivor = (await store.getCustomers([x.customerId])).get(x.customerId)!;
  const mergedAway = survivor.customerId === x.customerId ? y.customerId : x.customerId;
  const linkCount = x.links.length + y.links.length + 1;
  expect(survivor.links).toHaveLength(linkCount);

  for (const replica of replicas) {
    const merged = (answer: CustomerAnswer | null) => answer?.id === survivor.customerId && answer.identities.length === linkCount;
    const viaMergedAway = await pollCustomer(replica, mergedAway, merged);
    expect(viaMergedAway).toMatchObject({ id: survivor.customerId, mergedIds: [mergedAway] });
    expect(viaMergedAway!.identities).toHaveLength(linkCount);
    expect((await customerOn(replica, survivor.customerId))!.identities).toHaveLength(linkCount);
  }

  const forgotten = await services.links.forget(mergedAway);
  expect(forgotten!.customerId).toBe(survivor.customerId);
  for (const replica of replicas) {
    expect(await pollCustomer(replica, survivor.customerId, (answer) => answer === null)).toBeNull();
    expect(await customerOn(replica, mergedAway)).toBeNull();
  }
});
