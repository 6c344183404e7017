// The reference hub: the least a GraphQL server must do to answer the three bench queries as the hub does.
//
// Apollo Server (standalone) + one DataLoader per source operation per request + an undici Pool per source, the
// links read from the same SQLite table, the mapping written by hand (mapping.ts). The same upstream calls as the
// hub (one batched call per batchable source operation, one call per key where the source has none) and the same
// mapped output, and nothing else: no link cache, resilience, auth, limits, explain, metrics, logging or tracing.
// What the hub costs above it is the price of those features (bench/README.md, "Reference hub").
import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import DataLoader from 'dataloader';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { Pool } from 'undici';
import type { HubConfig } from '../../src/config/schema.js';
import type { CustomerLinks, Link } from '../../src/identity/model.js';
import { normalizeEmail } from '../../src/sources/normalize.js';
import type { LinkStore } from '../../src/identity/store.js';
import { authHeaders } from '../../src/sources/credentials.js';
import { customerCursor } from '../queries.js';
import { mappers, mergeProfile, money, type Mappers, type Raw, type RefRecord } from './mapping.js';

const TYPE_DEFS = readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8');

class ReferenceUpstreamError extends Error {
  readonly code = 'REFERENCE_UPSTREAM_ERROR';
}

/** One source's connection pool and headers. */
interface Upstream {
  pool: Pool;
  headers: Record<string, string>;
}

type Call = (source: string, method: 'GET' | 'POST', path: string, body?: unknown) => Promise<Raw>;

function createUpstreams(config: HubConfig): { call: Call; close(): Promise<void> } {
  const upstreams = new Map<string, Upstream>();
  for (const [name, source] of Object.entries(config.sources)) {
    upstreams.set(name, { pool: new Pool(source.baseUrl, { connections: source.connections }), headers: { accept: 'application/json', ...authHeaders(source.auth) } });
  }
  const call: Call = async (source, method, path, body) => {
    const upstream = upstreams.get(source);
    if (!upstream) throw new ReferenceUpstreamError(`no source "${source}"`);
    const response = await upstream.pool.request({
      method,
      path,
      headers: body === undefined ? upstream.headers : { ...upstream.headers, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new ReferenceUpstreamError(`${source} ${method} ${path}: HTTP ${response.statusCode}`);
    }
    return (await response.body.json()) as Raw;
  };
  return { call, close: async () => void (await Promise.all([...upstreams.values()].map((u) => u.pool.close()))) };
}

const enc = encodeURIComponent;
const now = () => new Date().toISOString();

/** Records by key, in the order the keys were asked for (null where the source has none). */
function byKey<T>(keys: readonly string[], items: T[], keyOf: (item: T) => string): (T | null)[] {
  const found = new Map(items.map((item) => [keyOf(item), item]));
  return keys.map((key) => found.get(key) ?? null);
}

/** Items grouped under their parent key, in key order (empty lists where there are none). */
function groupBy<T>(keys: readonly string[], items: T[], parentOf: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>(keys.map((key) => [key, []]));
  for (const item of items) groups.get(parentOf(item))?.push(item);
  return keys.map((key) => groups.get(key)!);
}

/** One DataLoader per source operation, built per request: batching within a tick, nothing kept across requests. */
function createLoaders(call: Call, map: Mappers) {
  return {
    crmContacts: new DataLoader<string, RefRecord | null>(
      async (ids) => {
        const body = await call('crm', 'GET', `/contacts?ids=${ids.map(enc).join(',')}`);
        const fetchedAt = now();
        return byKey(ids, (body.contacts as Raw[]).map((raw) => map.crmContact(raw, fetchedAt)), (r) => r.recordId);
      },
      { maxBatchSize: 100 },
    ),
    shopCustomers: new DataLoader<string, RefRecord | null>(
      async (ids) => {
        const body = await call('shop', 'POST', '/customers/batch', { customer_ids: ids.map(Number) });
        const fetchedAt = now();
        return byKey(ids, (body.customers as Raw[]).map((raw) => map.shopCustomer(raw, fetchedAt)), (r) => r.recordId);
      },
      { maxBatchSize: 50 },
    ),
    // The support desk has no batch read: one call per user.
    supportUsers: new DataLoader<string, RefRecord | null>((ids) =>
      Promise.all(ids.map(async (id) => map.supportUser((await call('support', 'GET', `/users/${enc(id)}`)).user as Raw, now()))),
    ),
    marketingMembers: new DataLoader<string, RefRecord | null>(
      async (ids) => {
        const body = await call('marketing', 'GET', `/members?ids=${ids.map(enc).join(',')}`);
        const fetchedAt = now();
        return byKey(ids, (body.data.members as Raw[]).map((raw) => map.marketingMember(raw, fetchedAt)), (r) => r.recordId);
      },
      { maxBatchSize: 100 },
    ),
    shopOrders: new DataLoader<string, RefRecord[]>(
      async (customerIds) => {
        const body = await call('shop', 'POST', '/orders/batch', { customer_ids: customerIds.map(Number) });
        const fetchedAt = now();
        return groupBy(customerIds, body.orders as Raw[], (raw) => String(raw.customer_id)).map((orders) => orders.map((raw) => map.shopOrder(raw, fetchedAt)));
      },
      { maxBatchSize: 50 },
    ),
    supportTickets: new DataLoader<string, RefRecord[]>((userIds) =>
      Promise.all(
        userIds.map(async (id) => {
          const body = await call('support', 'GET', `/users/${enc(id)}/tickets?per_page=100`);
          const fetchedAt = now();
          return (body.tickets as Raw[]).map((raw) => map.supportTicket(raw, fetchedAt));
        }),
      ),
    ),
    analyticsEvents: new DataLoader<string, RefRecord[]>(
      async (deviceIds) => {
        const body = await call('analytics', 'POST', '/events/query', { device_ids: deviceIds, limit_per_device: 50 });
        const fetchedAt = now();
        const groups = new Map((body.results as { device_id: string; events: Raw[] }[]).map((group) => [group.device_id, group.events]));
        return deviceIds.map((id) => (groups.get(id) ?? []).map((raw) => map.analyticsEvent(raw, fetchedAt)));
      },
      { maxBatchSize: 100 },
    ),
  };
}

type Loaders = ReturnType<typeof createLoaders>;

interface ReferenceContext {
  loaders: Loaders;
}

interface CustomerParent {
  id: string;
  links: readonly Link[];
}

const idsOf = (customer: CustomerParent, source: string, entity: string): string[] => customer.links.filter((l) => l.source === source && l.entity === entity).map((l) => l.recordId);
const toParent = (customer: CustomerLinks | undefined): CustomerParent | null => (customer ? { id: customer.customerId, links: customer.links } : null);

async function many<T>(loader: DataLoader<string, T>, ids: string[]): Promise<T[]> {
  if (ids.length === 0) return [];
  const results = await loader.loadMany(ids);
  const failed = results.find((r): r is Error => r instanceof Error);
  if (failed) throw failed;
  return results as T[];
}

/** Newest first by a date field (ISO text orders by code unit), at most `first`. */
function newest(records: RefRecord[], field: string, first: number): RefRecord[] {
  return records
    .sort((a, b) => {
      const left = String(a.values[field] ?? '');
      const right = String(b.values[field] ?? '');
      return left < right ? 1 : left > right ? -1 : 0;
    })
    .slice(0, first);
}

const enumOr = (allowed: ReadonlySet<string>) => (value: unknown) => (typeof value !== 'string' ? null : allowed.has(value.toUpperCase()) ? value.toUpperCase() : 'UNKNOWN');
const ticketStatus = enumOr(new Set(['NEW', 'OPEN', 'PENDING', 'HOLD', 'SOLVED', 'CLOSED']));
const ticketPriority = enumOr(new Set(['LOW', 'NORMAL', 'HIGH', 'URGENT']));
const marketingStatus = enumOr(new Set(['SUBSCRIBED', 'UNSUBSCRIBED', 'CLEANED']));
const values = (record: RefRecord) => record.values;

function resolvers(store: LinkStore) {
  const readCustomer = async (id: string) => toParent((await store.getCustomers([id])).get(id));
  return {
    DateTime: DateTimeResolver,
    JSON: JSONResolver,
    Query: {
      customer: (_: unknown, { id }: { id: string }) => readCustomer(id),
      customers: async (_: unknown, { first, after }: { first: number; after?: string | null }) => {
        const page = await store.pageCustomers(first, after ? Buffer.from(after, 'base64url').toString('utf8') : null);
        const edges = page.customers.map((customer) => ({ cursor: customerCursor(customer.customerId), node: toParent(customer) }));
        return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
      },
      customerByIdentity: async (_: unknown, { kind, value }: { kind: string; value: string }) => {
        if (kind !== 'EMAIL') throw new ReferenceUpstreamError('the reference hub looks customers up by EMAIL only');
        const email = normalizeEmail(value);
        const [id] = email ? await store.findCustomerIdsByIdentifier('email', email) : [];
        return id === undefined ? null : readCustomer(id);
      },
    },
    Customer: {
      identities: (customer: CustomerParent) =>
        customer.links.map((link) => ({ source: link.source, entity: link.entity, recordId: link.recordId, linkedBy: { rule: link.rule, value: link.evidence, linkedAt: link.linkedAt } })),
      profile: async (customer: CustomerParent, _: unknown, { loaders }: ReferenceContext) => {
        const [crm, shop, support] = await Promise.all([
          many(loaders.crmContacts, idsOf(customer, 'crm', 'contact')),
          many(loaders.shopCustomers, idsOf(customer, 'shop', 'customer')),
          many(loaders.supportUsers, idsOf(customer, 'support', 'user')),
        ]);
        return mergeProfile(customer.id, [...crm, ...shop, ...support].filter((r): r is RefRecord => r !== null));
      },
      marketing: async (customer: CustomerParent, _: unknown, { loaders }: ReferenceContext) => {
        const members = (await many(loaders.marketingMembers, idsOf(customer, 'marketing', 'member'))).filter((r): r is RefRecord => r !== null);
        const [latest] = newest(members, 'updatedAt', 1);
        return latest ? { ...latest.values, id: customer.id } : null;
      },
      orders: async (customer: CustomerParent, { first }: { first: number }, { loaders }: ReferenceContext) =>
        newest((await many(loaders.shopOrders, idsOf(customer, 'shop', 'customer'))).flat(), 'placedAt', first).map(values),
      tickets: async (customer: CustomerParent, { status, first }: { status?: string[] | null; first: number }, { loaders }: ReferenceContext) => {
        const wanted = status && status.length > 0 ? new Set(status) : null;
        const tickets = (await many(loaders.supportTickets, idsOf(customer, 'support', 'user'))).flat().filter((t) => !wanted || wanted.has(String(t.values.status)));
        return newest(tickets, 'createdAt', first).map(values);
      },
      events: async (customer: CustomerParent, { first }: { first: number }, { loaders }: ReferenceContext) =>
        newest((await many(loaders.analyticsEvents, idsOf(customer, 'analytics', 'device'))).flat(), 'occurredAt', first).map(values),
    },
    Order: {
      total: (order: Record<string, unknown>) => money(order.totalMinor, order.currency),
      lineItems: (order: Record<string, unknown>) =>
        (order.lineItems as Record<string, unknown>[]).map((item) => ({ sku: item.sku, title: item.title, quantity: item.quantity ?? 0, unitPrice: money(item.unitPriceMinor, order.currency) })),
    },
    Ticket: { status: (t: Record<string, unknown>) => ticketStatus(t.status), priority: (t: Record<string, unknown>) => ticketPriority(t.priority) },
    Marketing: { status: (m: Record<string, unknown>) => marketingStatus(m.status) },
    AnalyticsEvent: { name: (e: Record<string, unknown>) => e.name ?? 'unknown', deviceId: (e: Record<string, unknown>) => e.deviceId ?? '' },
  };
}

export interface RunningReference {
  url: string;
  close(): Promise<void>;
}

/** Starts the reference hub on `host:port` (port 0 = ephemeral) over the demo config's sources and a built link table. */
export async function startReferenceHub(config: HubConfig, store: LinkStore, listen: { host?: string; port?: number } = {}): Promise<RunningReference> {
  const upstreams = createUpstreams(config);
  const map = mappers({ defaultPhoneRegion: config.identity.defaultPhoneRegion });
  const apollo = new ApolloServer<ReferenceContext>({ typeDefs: TYPE_DEFS, resolvers: resolvers(store) as never });
  const { url } = await startStandaloneServer(apollo, {
    listen: { host: listen.host ?? '127.0.0.1', port: listen.port ?? 0 },
    context: async () => ({ loaders: createLoaders(upstreams.call, map) }),
  });
  return {
    url,
    async close() {
      await apollo.stop();
      await upstreams.close();
    },
  };
}
