// Shared pieces of the resilience tests: tuning every source's policy, clearing faults, and picking customers by their links.
import type { HubConfig, SourceConfig } from '../../src/config/schema.js';
import { SYSTEM_NAMES } from '../../src/demo/systems.js';
import type { TestHub } from '../support/hub-harness.js';

/** Applies `change` to every configured source (the config is fresh per hub, so mutating it is safe). */
export function tuneSources(config: HubConfig, change: (source: SourceConfig, name: string) => void): HubConfig {
  for (const [name, source] of Object.entries(config.sources)) change(source, name);
  return config;
}

export function clearFaults(t: TestHub): void {
  for (const name of SYSTEM_NAMES) t.systems.systems[name].faults.clear();
}

export interface LinkedCustomer {
  id: string;
  identities: { source: string; entity: string; recordId: string }[];
}

/** The first customers (in link-table order) with a record in every one of `sources` and, if asked, shop orders. */
export async function customersWith(t: TestHub, sources: readonly string[], options: { withOrders?: boolean } = {}): Promise<LinkedCustomer[]> {
  const response = await t.graphql<{ customers: { edges: { node: LinkedCustomer }[] } }>('{ customers(first: 100) { edges { node { id identities { source entity recordId } } } } }');
  const buyers = new Set(t.systems.dataset.shop.orders.map((order) => String(order.customer_id)));
  return response.data!.customers.edges
    .map((edge) => edge.node)
    .filter((customer) => sources.every((source) => customer.identities.some((identity) => identity.source === source)))
    .filter((customer) => !options.withOrders || customer.identities.some((identity) => identity.source === 'shop' && identity.entity === 'customer' && buyers.has(identity.recordId)));
}

/** Upstream requests one system received on one route since the last reset. */
export function requestsTo(t: TestHub, system: (typeof SYSTEM_NAMES)[number], route: string): number {
  return t.routes(system)[route] ?? 0;
}
