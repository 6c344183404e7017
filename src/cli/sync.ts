// `npm run sync -- --config FILE`: rebuilds the identity-link table from every configured source.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile } from '../config/load.js';
import { syncLinks } from '../identity/sync.js';
import { createServices } from '../server/hub.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help || !values.config) {
    console.log('usage: npm run sync -- --config FILE\n\nPages through every linked entity of every source in FILE and rebuilds the link table.');
    process.exit(values.help ? 0 : 2);
  }
  const config = loadConfigFile(values.config);
  const services = createServices(config);
  try {
    const summary = await syncLinks({ registry: services.registry, links: services.links, store: services.directory.store });
    console.log(`read ${summary.records} records: ${summary.customers} customers, ${summary.customersChanged} changed, ${summary.merges} merges, ${summary.conflicts} conflicts to review, in ${summary.ms} ms`);
    for (const e of summary.entities) console.log(`  ${`${e.source}.${e.entity}`.padEnd(20)} ${String(e.records).padStart(7)} records in ${e.pages} pages${e.resumed ? ' (resumed)' : ''}`);
  } finally {
    await services.registry.close();
    await services.directory.store.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
