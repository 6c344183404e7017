// The embedded demo: five simulated source systems, the link table built from them, and the hub, narrated as it starts.
import { startSimulatedSystems } from '../demo/systems.js';
import { syncLinks } from '../identity/sync.js';
import { startHubProcesses } from '../cluster/cluster.js';
import { createServices, openLinkStore } from '../server/hub.js';
import { demoConfig } from './demo-config.js';

export interface DemoOptions {
  port: number;
  people: number;
  seed: number;
  latencyMs: number;
  /** Hub processes sharing the port (`server.workers`); default 1. */
  workers?: number | 'auto';
}

export interface RunningDemo {
  url: string;
  close(): Promise<void>;
  /** Settles if a cluster of hub workers lost every one for good. */
  lost: Promise<void>;
}

/** Starts the systems, rebuilds the demo's link table from them and starts the hub, saying what it did as it goes. */
export async function startDemo({ port, people, seed, latencyMs, workers = 1 }: DemoOptions): Promise<RunningDemo> {
  const systems = await startSimulatedSystems({ people, seed, latencyMs });
  console.log(`simulated sources (${people} people, seed ${seed}, ${latencyMs} ms latency):`);
  for (const [name, url] of Object.entries(systems.urls)) console.log(`  ${name.padEnd(10)} ${url}`);

  try {
    const config = demoConfig(systems.urls, { ...process.env, PORT: String(port), WORKERS: String(workers) });
    const services = createServices(config, await openLinkStore(config));
    const summary = await syncLinks({ registry: services.registry, links: services.links, store: services.directory.store });
    await services.registry.close();
    console.log(`link table: ${summary.customers} customers from ${summary.records} source records in ${summary.ms} ms (${config.linkStore.kind === 'sqlite' ? config.linkStore.path : `PostgreSQL, schema ${config.linkStore.schema ?? 'public'}`})`);

    const examples = (await services.directory.store.pageCustomers(2, null)).customers.map((c) => c.customerId);
    const hub = await startHubProcesses(config, { store: services.directory.store });
    // The demo is live: each simulated system that announces its changes sends them to the hub's webhook endpoint,
    // signed as the config expects, so a write to the CRM changes the graph as it would in production.
    for (const [name, emitter] of Object.entries(systems.webhooks)) {
      const webhook = config.sources[name]?.webhook;
      if (!webhook) continue;
      emitter.target = { url: new URL(`/webhooks/${name}`, hub.url).href, secret: webhook.secret, signatureHeader: webhook.signatureHeader };
      console.log(`webhooks: ${name} changes are delivered to ${emitter.target.url}`);
    }
    console.log(`\nRosetta hub ready at ${hub.url}${hub.workers > 1 ? ` (${hub.workers} workers)` : ''}`);
    console.log(`example customer IDs: ${examples.join(', ')}`);
    console.log(`try: { customer(id: "${examples[0]}") { profile { name email phone } orders { number total { formatted currency } } tickets { subject status } } }`);
    console.warn('\nWARNING: the demo runs with no authentication: every caller can read every customer. Do not expose it beyond this machine.');
    return {
      url: hub.url,
      lost: hub.lost,
      async close() {
        await hub.close();
        await systems.close();
      },
    };
  } catch (error) {
    await systems.close();
    throw error;
  }
}
