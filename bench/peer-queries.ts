// The work the peer (GraphQL Mesh, bench/peer/) can do on the simulated sources, asked of it and of the hub alike.
//
// Mesh has no link table, so it is given the source's own IDs; the hub is asked by its customer IDs and does its
// extra work (links, mapping, survivorship, policies) to make the same single upstream call.
import type { Dataset } from '../src/demo/dataset.js';
import type { CustomerLinks } from '../src/identity/model.js';
import type { LinkStore } from '../src/identity/store.js';
import { customerCursor, PAGE_SIZE } from './queries.js';

export type PeerScenarioName = 'peer-profile' | 'peer-orders';

export interface PeerScenario {
  name: PeerScenarioName;
  title: string;
  hubDocument: string;
  meshDocument: string;
  /**
   * Whether the reference hub (bench/reference/) answers `hubDocument` with the same upstream calls, so it can run
   * beside the hub and Mesh as the floor of plain Apollo + DataLoader on the query. Its profile resolver asks every
   * profile source, so it runs the orders scenario only.
   */
  referenceServes: boolean;
}

/** One CRM contact's names by ID: one upstream call each (the hub's profile selection asks only the CRM). */
export const PEER_PROFILE: PeerScenario = {
  name: 'peer-profile',
  title: 'P1. one CRM profile by id',
  hubDocument: 'query PeerProfile($id: ID!) { customer(id: $id) { profile { firstName lastName } } }',
  meshDocument: 'query PeerProfile($id: String!) { contact(id: $id) { contact { first_name last_name } } }',
  referenceServes: false,
};

/** The orders of a page of 50 customers: one batched shop call each (Mesh is given the page's shop IDs). */
export const PEER_ORDERS: PeerScenario = {
  name: 'peer-orders',
  title: 'P2. orders of a page of 50',
  hubDocument: 'query PeerOrders($after: String) { customers(first: 50, after: $after) { edges { node { id orders(first: 3) { number placedAt total { formatted } } } } } }',
  meshDocument: 'query PeerOrders($ids: [Int]) { ordersBatch(input: { customer_ids: $ids }) { orders { customer_id number created_at total_cents currency } } }',
  referenceServes: true,
};

export const PEER_SCENARIOS: readonly PeerScenario[] = [PEER_PROFILE, PEER_ORDERS];

export interface PeerWorkItem {
  hubVariables: Record<string, unknown>;
  meshVariables: Record<string, unknown>;
  /** Upstream requests any server must send for it: ceil(keys ÷ the source's batch size). */
  ideal: number;
}

const SHOP_BATCH = 50;

const idsOf = (customer: CustomerLinks, source: string, entity: string) => customer.links.filter((l) => l.source === source && l.entity === entity).map((l) => l.recordId);

/** Customers with exactly one CRM contact (`lookups` of them, spread), and every page of 50 with a shop customer. */
export async function buildPeerWorkloads(_dataset: Dataset, store: LinkStore, options: { lookups: number }): Promise<Record<PeerScenarioName, PeerWorkItem[]>> {
  const all = (await store.pageCustomers(Number.MAX_SAFE_INTEGER - 1, null)).customers;
  const withContact = all.filter((customer) => idsOf(customer, 'crm', 'contact').length === 1);
  const stride = Math.max(1, withContact.length / options.lookups);
  const profile: PeerWorkItem[] = [];
  for (let i = 0; i < withContact.length && profile.length < options.lookups; i += stride) {
    const customer = withContact[Math.floor(i)]!;
    profile.push({ hubVariables: { id: customer.customerId }, meshVariables: { id: idsOf(customer, 'crm', 'contact')[0] }, ideal: 1 });
  }
  const orders: PeerWorkItem[] = [];
  for (let start = 0; start < all.length; start += PAGE_SIZE) {
    const before = all[start - 1];
    const shopIds = [...new Set(all.slice(start, start + PAGE_SIZE).flatMap((customer) => idsOf(customer, 'shop', 'customer')))];
    if (shopIds.length === 0) continue;
    orders.push({ hubVariables: { after: before ? customerCursor(before.customerId) : null }, meshVariables: { ids: shopIds.map(Number) }, ideal: Math.ceil(shopIds.length / SHOP_BATCH) });
  }
  return { 'peer-profile': profile, 'peer-orders': orders };
}
