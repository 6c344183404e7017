// Runs a shipped recipe (config/recipes/X.yaml) against its simulated vendor: the real CLI for check and sync, a hub for queries.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../../src/config/load.js';
import type { HubConfig } from '../../src/config/schema.js';
import { startVendor, type VendorApp, type VendorName, type VendorOptions } from '../../src/demo/vendors/index.js';
import { generateVendorData } from '../../src/demo/vendors/people.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import { startHub, type RunningHub } from '../../src/server/hub.js';
import { runCli, tempDir, type CliResult } from '../cli/cli-harness.js';

export const recipePath = (vendor: VendorName) => fileURLToPath(new URL(`../../config/recipes/${vendor}.yaml`, import.meta.url));


export interface RecipeRun {
  vendor: VendorApp;
  /** The recipe's environment: the vendor's URL and credentials, and a link table in a fresh directory. */
  env: Record<string, string>;
  config(): HubConfig;
  cli(command: 'check' | 'sync', ...args: string[]): Promise<CliResult>;
  /** A hub over the link table sync built, for queries; closed with the run. */
  hub(): Promise<{ hub: RunningHub; graphql(query: string): Promise<{ data?: any; errors?: any[] }> }>;
  close(): Promise<void>;
}

export async function startRecipe(name: VendorName, options: VendorOptions & { file?: string; people?: number } = {}): Promise<RecipeRun> {
  const vendor = await startVendor(name, { ...options, data: generateVendorData({ people: options.people ?? 250, seed: 7 }) });
  const env = { ...vendor.env(), LINK_DB: join(tempDir(), 'links.sqlite'), PORT: '0' };
  const file = options.file ?? recipePath(name);
  const opened: { close(): Promise<void> }[] = [];
  return {
    vendor,
    env,
    config: () => loadConfigFile(file, env),
    cli: (command, ...args) => runCli([command, '--config', file, ...args], { env, timeoutMs: 60_000 }),
    async hub() {
      const store = new SqliteLinkStore(env.LINK_DB);
      const hub = await startHub(loadConfigFile(file, env), { store });
      opened.push({ close: async () => { await hub.close(); await store.close(); } });
      return {
        hub,
        async graphql(query: string) {
          const response = await fetch(hub.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
          return (await response.json()) as { data?: any; errors?: any[] };
        },
      };
    },
    async close() {
      for (const item of opened) await item.close();
      await vendor.close();
    },
  };
}

/** How many of the vendor's customers the link table links, and to how many customers. */
export async function linkedCustomers(run: RecipeRun, source: string): Promise<{ linked: number; customers: number }> {
  const store = new SqliteLinkStore(run.env.LINK_DB!);
  try {
    let linked = 0;
    for (const customer of run.vendor.customers) if ((await store.findCustomerIdByRecord({ source, recordId: customer.id })) !== null) linked += 1;
    return { linked, customers: await store.countCustomers() };
  } finally {
    await store.close();
  }
}

export interface RecipeExpectation {
  /** The source's name in the recipe. */
  source: string;
  /** The child field the recipe feeds (`orders`, `tickets`), if any. */
  children?: 'orders' | 'tickets';
  /** Upstream requests per route for one page of 50 customers with their children, and the ideal the API allows. */
  pageOf50: Record<string, number>;
  ideal: number;
  /** Ground-truth people (default 250); more where a list must span several pages at the vendor's page size. */
  people?: number;
}
