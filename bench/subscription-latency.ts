// `npx tsx bench/subscription-latency.ts [--writes N] [--replicas] [--sse]`: the time from a source's signed webhook
// leaving it to the matching event arriving at a subscriber (graphql-ws, or with `--sse` server-sent events through
// the graphql-sse client at /graphql/stream), the customer re-read live in the event.
//
// Method. Simulated systems at latency 0 on loopback, the demo link table (SQLite, or with `--replicas` PostgreSQL at
// TEST_DATABASE_URL with the webhook sent to one hub and the subscriber on another), one subscriber on one customer.
// Each round sends one upsert of the customer's CRM contact through the CRM's WebhookEmitter (signed as the CRM signs)
// and waits for its event; rounds run one after another. The clock starts when the webhook is sent and stops when the
// client has the event, so it includes the webhook's HTTP round, planning and writing the link table, (NOTIFY,) and
// resolving `customer { profile { name } }` from the sources. Printed: median, p90 and max over the rounds.
import { Command } from 'commander';
import { demoConfig } from '../src/cli/demo-config.js';
import { positiveInteger } from '../src/cli/options.js';
import { startSimulatedSystems } from '../src/demo/systems.js';
import { WebhookEmitter } from '../src/demo/webhook-emitter.js';
import { PostgresLinkStore } from '../src/identity/postgres-store.js';
import { SqliteLinkStore } from '../src/identity/sqlite-store.js';
import type { LinkStore } from '../src/identity/store.js';
import { syncLinks } from '../src/identity/sync.js';
import { createServices, startHub } from '../src/server/hub.js';
import { createClient } from 'graphql-ws';
import { createClient as createSseClient } from 'graphql-sse';
import WebSocket from 'ws';
import { createLogger } from '../src/logging/logger.js';

const options = new Command()
  .option('--writes <n>', 'webhook → event rounds', positiveInteger, 200)
  .option('--replicas', 'two hubs over PostgreSQL: the webhook to one, the subscriber on the other', false)
  .option('--sse', 'subscribe over server-sent events (graphql-sse) instead of graphql-ws', false)
  .parse()
  .opts<{ writes: number; replicas: boolean; sse: boolean }>();

const systems = await startSimulatedSystems({ people: 200, seed: 7, latencyMs: 0 });
const config = demoConfig(systems.urls, { PORT: '0', LINK_DB: ':memory:' });
// Rounds follow each other faster than the default 20 events/s per subscription: the bench measures latency, not the limit.
config.server.subscriptions.maxEventsPerSecond = 10_000;
const logger = createLogger('warn');
const schema = `rosetta_bench_${process.pid}`;
const open = async (): Promise<LinkStore> => (options.replicas ? PostgresLinkStore.open({ url: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', schema }) : new SqliteLinkStore(':memory:'));
const first = await open();
const builder = createServices(config, first, { logger });
await syncLinks({ registry: builder.registry, links: builder.links, store: first });
await builder.registry.close();
const writer = await startHub(config, { store: first, logger });
const reader = options.replicas ? await startHub(config, { store: await open(), logger }) : writer;

const customer = (await first.pageCustomers(50, null)).customers.find((c) => c.links.some((l) => l.source === 'crm'))!;
const contactId = customer.links.find((l) => l.source === 'crm')!.recordId;
const contact = (await (await fetch(`${systems.urls.crm}/contacts/${contactId}`, { headers: { authorization: 'Bearer demo-crm-token' } })).json()) as { contact?: Record<string, unknown> } & Record<string, unknown>;
const record = contact.contact ?? contact;
const emitter = new WebhookEmitter();
emitter.target = { url: writer.url.replace('/graphql', '/webhooks/crm'), secret: 'demo-crm-webhook-secret' };

const client = options.sse ? createSseClient({ url: `${reader.url}/stream` }) : createClient({ url: reader.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, lazy: false });
let arrived: (() => void) | null = null;
const unsubscribe = client.subscribe(
  { query: 'subscription($id: ID!) { customerChanged(id: $id) { kind recordId customer { id profile { name } } } }', variables: { id: customer.customerId } },
  { next: () => arrived?.(), error: (error) => console.error('subscription error', error), complete: () => undefined },
);
// The first round starts once the subscription is running on the hub.
while (reader.services.changes.subscribers === 0) await new Promise((resolve) => setTimeout(resolve, 10));

const samples: number[] = [];
for (let i = 0; i < options.writes; i++) {
  const event = new Promise<void>((resolve) => (arrived = resolve));
  const started = performance.now();
  await emitter.emit({ type: 'upsert', entity: 'contact', record: { ...record, first_name: `Round${i}`, updated_at: new Date(Date.now() + i * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') } });
  await event;
  samples.push(performance.now() - started);
}
if (emitter.failed > 0) throw new Error(`${emitter.failed} webhook deliveries failed`);
samples.sort((a, b) => a - b);
const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!.toFixed(1);
console.log(`webhook → ${options.sse ? 'SSE' : 'graphql-ws'} event (${options.replicas ? 'two PostgreSQL replicas' : 'one hub, SQLite'}), ${samples.length} rounds: median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${samples.at(-1)!.toFixed(1)} ms`);

unsubscribe();
await client.dispose();
await writer.close();
if (reader !== writer) await reader.close();
await systems.close();
if (options.replicas) {
  const { Client } = await import('pg');
  const pg = new Client({ connectionString: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' });
  await pg.connect();
  await pg.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await pg.end();
}
