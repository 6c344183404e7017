// The recipe sources in the bench: upstream requests = ideal on real API shapes, not only on the demo's systems.
//
// For HubSpot (a batch read: POST /crm/v3/objects/contacts/batch/read, 100 ids a call) and Stripe (no batch read by
// id: one GET per customer, one charges list per customer), each shipped recipe (config/recipes/) runs against its
// simulated vendor (src/demo/vendors/): the link table is synced from it, a hub serves it, and pages of 50
// customers are asked one at a time while the vendor counts the requests, against the ideal (ideal.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../src/config/load.js';
import type { UnifiedTarget } from '../src/config/schema.js';
import { generateVendorData, startVendor, type VendorName } from '../src/demo/vendors/index.js';
import { SqliteLinkStore } from '../src/identity/sqlite-store.js';
import { createLogger } from '../src/logging/logger.js';
import { syncLinks } from '../src/identity/sync.js';
import { createServices, startHub } from '../src/server/hub.js';
import { idealOperations, type OperationCounts } from './ideal.js';
import { customerCursor, PAGE_SIZE } from './queries.js';

export interface RecipeCount {
  vendor: VendorName;
  /** What the API allows: a batch read, or one request per key. */
  shape: string;
  query: string;
  pages: number;
  /** Requests per page, by the vendor's route, summed over the pages and divided by them. */
  routesPerPage: Record<string, number>;
  upstreamPerPage: number;
  idealPerPage: number;
  idealOperationsPerPage: OperationCounts;
}

interface RecipeCase {
  vendor: VendorName;
  shape: string;
  facets: UnifiedTarget[];
  selection: string;
}

export const RECIPE_CASES: readonly RecipeCase[] = [
  { vendor: 'hubspot', shape: 'batch read (100 ids a call)', facets: ['profile'], selection: 'profile { name email phone }' },
  { vendor: 'stripe', shape: 'per key (no batch read by id; 8 at once)', facets: ['profile', 'orders'], selection: 'profile { name email } orders(first: 5) { number status }' },
];

const recipePath = (vendor: VendorName) => fileURLToPath(new URL(`../config/recipes/${vendor}.yaml`, import.meta.url));

/** Counts the vendor's requests for each of the first `pages` pages of 50 customers, one page at a time. */
export async function countRecipe(recipe: RecipeCase, options: { people: number; pages: number }): Promise<RecipeCount> {
  const vendor = await startVendor(recipe.vendor, { data: generateVendorData({ people: options.people, seed: 7 }) });
  const dir = mkdtempSync(join(tmpdir(), `rosetta-bench-${recipe.vendor}-`));
  const config = loadConfigFile(recipePath(recipe.vendor), { ...vendor.env(), LINK_DB: join(dir, 'links.sqlite'), PORT: '0' });
  const store = new SqliteLinkStore(join(dir, 'links.sqlite'));
  // The counted pass prints its own table; the hub's request logs would only bury it.
  const logger = createLogger('warn');
  const services = createServices(config, store, { logger });
  let hub: Awaited<ReturnType<typeof startHub>> | undefined;
  try {
    await syncLinks({ registry: services.registry, links: services.links, store });
    hub = await startHub(config, { store: new SqliteLinkStore(join(dir, 'links.sqlite')), logger });
    const all = (await store.pageCustomers(Number.MAX_SAFE_INTEGER - 1, null)).customers;
    const query = `query RecipePage($after: String) { customers(first: ${PAGE_SIZE}, after: $after) { edges { node { id ${recipe.selection} } } } }`;
    const routes: Record<string, number> = {};
    const idealOps: OperationCounts = {};
    let upstream = 0;
    let ideal = 0;
    let pages = 0;
    for (let start = 0; start < all.length && pages < options.pages; start += PAGE_SIZE, pages++) {
      const before = all[start - 1];
      vendor.resetStats();
      const response = await fetch(hub.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables: { after: before ? customerCursor(before.customerId) : null } }) });
      const reply = (await response.json()) as { errors?: unknown[] };
      if (response.status !== 200 || reply.errors) throw new Error(`${recipe.vendor} recipe page failed: ${JSON.stringify(reply.errors ?? response.status)}`);
      const { unmatched: _none, ...counted } = vendor.stats().routes;
      for (const [route, n] of Object.entries(counted)) {
        routes[route] = (routes[route] ?? 0) + n;
        upstream += n;
      }
      for (const [operation, n] of Object.entries(idealOperations(services.registry, all.slice(start, start + PAGE_SIZE), recipe.facets))) {
        idealOps[operation] = (idealOps[operation] ?? 0) + n;
        ideal += n;
      }
    }
    const per = (n: number) => Math.round((n / pages) * 100) / 100;
    return {
      vendor: recipe.vendor,
      shape: recipe.shape,
      query,
      pages,
      routesPerPage: Object.fromEntries(Object.entries(routes).map(([route, n]) => [route, per(n)])),
      upstreamPerPage: per(upstream),
      idealPerPage: per(ideal),
      idealOperationsPerPage: Object.fromEntries(Object.entries(idealOps).map(([op, n]) => [op, per(n)])),
    };
  } finally {
    await hub?.close();
    await services.registry.close();
    await store.close();
    await vendor.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
