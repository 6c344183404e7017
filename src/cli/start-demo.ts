// `npm start`: the embedded demo: five simulated source systems, the link table built from them, and the hub.
import { startSimulatedSystems } from '../demo/systems.js';
import { syncLinks } from '../identity/sync.js';
import { ConfigError } from '../config/load.js';
import { createServices, startHub } from '../server/hub.js';
import { demoConfig } from './demo-config.js';

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`${name} must be a non-negative integer, got "${raw}"`);
    process.exit(2);
  }
  return value;
}

async function main(): Promise<void> {
  const people = numberFromEnv('DEMO_PEOPLE', 10_000);
  const seed = numberFromEnv('DEMO_SEED', 42);
  const latencyMs = numberFromEnv('DEMO_LATENCY_MS', 20);

  const systems = await startSimulatedSystems({ people, seed, latencyMs });
  console.log(`simulated sources (${people} people, seed ${seed}, ${latencyMs} ms latency):`);
  for (const [name, url] of Object.entries(systems.urls)) console.log(`  ${name.padEnd(10)} ${url}`);

  const config = demoConfig(systems.urls);
  const services = createServices(config);
  const summary = await syncLinks({ registry: services.registry, links: services.links, store: services.directory.store });
  await services.registry.close();
  console.log(`link table: ${summary.customers} customers from ${summary.records} source records in ${summary.ms} ms (${config.linkStore.path})`);

  const hub = await startHub(config, { store: services.directory.store });
  const examples = (await services.directory.store.pageCustomers(2, null)).customers.map((c) => c.customerId);
  console.log(`\nRosetta hub ready at ${hub.url}`);
  console.log(`example customer IDs: ${examples.join(', ')}`);
  console.log(`try: { customer(id: "${examples[0]}") { profile { name email phone } orders { number total { formatted currency } } tickets { subject status } } }`);
  console.warn('\nWARNING: the demo runs with no authentication: every caller can read every customer. Do not expose it beyond this machine.');

  const shutdown = async () => {
    await hub.close();
    await systems.close();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
