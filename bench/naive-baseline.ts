// The benchmark's yardstick: the quick hand-written Apollo server over REST, one upstream call per record per field.
//
// It serves the hub's schema (`loadTypeDefs()`) and maps every record with the hub's own compiled mapping
// (`EntityReader.toRecord`) and survivorship rule, so both servers return the same data. What it leaves out is
// what the hub adds: no DataLoader batching (each resolver calls the source's single-record endpoint for each
// linked record it needs), no link cache (each root field reads the link store), no concurrency cap, global fetch.
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import type { HubConfig, UnifiedTarget } from '../src/config/schema.js';
import { identitiesOf, type CustomerRef } from '../src/customer/model.js';
import { SurvivorshipRule } from '../src/customer/survivorship.js';
import { graphExtensions } from '../src/extensions/graph-extensions.js';
import type { QueryResolvers, CustomerResolvers, CustomerConnectionResolvers } from '../src/generated/graphql.js';
import type { CustomerLinks, Link } from '../src/identity/model.js';
import { normalizeEmail, normalizePhone } from '../src/sources/normalize.js';
import type { LinkStore } from '../src/identity/store.js';
import type { MappedRecord } from '../src/sources/connector.js';
import { SourceRegistry } from '../src/sources/registry.js';
import { authHeaders } from '../src/sources/http-client.js';
import { loadTypeDefs } from '../src/sdl/type-defs.js';
import { AnalyticsEvent, Marketing, Order, Ticket } from '../resolvers/records.js';
import { customerCursor } from './queries.js';

/** One hand-written REST call: the request for a key, and where the answer sits in the response body. */
interface RestCall {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  pick(body: any): unknown;
}

const enc = encodeURIComponent;

/** Single-record reads, by the `source.entity` whose record ID is the key. */
const RECORD_CALLS: Record<string, (id: string) => RestCall> = {
  'crm.contact': (id) => ({ method: 'GET', path: `/contacts/${enc(id)}`, pick: (b) => b.contact }),
  'shop.customer': (id) => ({ method: 'GET', path: `/customers/${enc(id)}`, pick: (b) => b.customer }),
  'support.user': (id) => ({ method: 'GET', path: `/users/${enc(id)}`, pick: (b) => b.user }),
  'marketing.member': (id) => ({ method: 'GET', path: `/members/${enc(id)}`, pick: (b) => b.data?.member }),
};

/** Child lists of one parent record, by the child `source.entity`; the key is the parent's record ID. */
const CHILD_CALLS: Record<string, (parentId: string) => RestCall> = {
  'shop.order': (id) => ({ method: 'GET', path: `/customers/${enc(id)}/orders`, pick: (b) => b.orders }),
  'support.ticket': (id) => ({ method: 'GET', path: `/users/${enc(id)}/tickets?per_page=100`, pick: (b) => b.tickets }),
  // The analytics tool has no per-device endpoint: its batch query with a single device is the per-record call.
  'analytics.event': (id) => ({ method: 'POST', path: '/events/query', body: { device_ids: [id], limit_per_device: 50 }, pick: (b) => b.results?.[0]?.events ?? [] }),
};

export class BaselineUpstreamError extends Error {
  readonly code = 'BASELINE_UPSTREAM_ERROR';
}

/** Long-lived parts every request of the baseline shares; there is no per-request state at all. */
export interface BaselineContext {
  config: HubConfig;
  store: LinkStore;
  registry: SourceRegistry;
  survivorship: SurvivorshipRule;
  /** Calls a source and returns the JSON body, or null on 404. */
  call(source: string, call: RestCall): Promise<unknown>;
}

function createCaller(config: HubConfig): BaselineContext['call'] {
  const sources = new Map(
    Object.entries(config.sources).map(([name, source]) => [name, { base: source.baseUrl.replace(/\/$/, ''), headers: { accept: 'application/json', ...authHeaders(source.auth) } }]),
  );
  return async (source, { method, path, body }) => {
    const target = sources.get(source);
    if (!target) throw new BaselineUpstreamError(`no source "${source}"`);
    const response = await fetch(`${target.base}${path}`, {
      method,
      headers: body === undefined ? target.headers : { ...target.headers, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    if (!response.ok) throw new BaselineUpstreamError(`${source} ${method} ${path}: HTTP ${response.status}`);
    return response.json();
  };
}

function callFor(table: Record<string, (id: string) => RestCall>, source: string, entity: string): (id: string) => RestCall {
  const make = table[`${source}.${entity}`];
  if (!make) throw new Error(`the baseline has no hand-written call for ${source}.${entity}`);
  return make;
}

const linksOf = (customer: CustomerRef, source: string, entity: string): Link[] => customer.links.filter((l) => l.source === source && l.entity === entity);

/** Each linked record of the entities providing `target`, one single-record call per link. */
async function linkedRecords(ctx: BaselineContext, customer: CustomerRef, target: UnifiedTarget): Promise<MappedRecord[]> {
  const reads = ctx.registry.recordProviders(target).flatMap(({ source, entity, reader }) => {
    const make = callFor(RECORD_CALLS, source, entity);
    return linksOf(customer, source, entity).map(async (link) => {
      const call = make(link.recordId);
      const body = await ctx.call(source, call);
      const raw = body === null ? null : call.pick(body);
      return raw === null || raw === undefined ? null : reader.toRecord(raw, new Date().toISOString());
    });
  });
  return (await Promise.all(reads)).filter((record): record is MappedRecord => record !== null);
}

/** Children of each linked parent record of the entities providing `target`, one list call per parent. */
async function linkedChildren(ctx: BaselineContext, customer: CustomerRef, target: UnifiedTarget): Promise<MappedRecord[]> {
  const reads = ctx.registry.childProviders(target).flatMap(({ source, entity, reader, parentEntity }) => {
    const make = callFor(CHILD_CALLS, source, entity);
    return linksOf(customer, source, parentEntity).map(async (link) => {
      const call = make(link.recordId);
      const body = await ctx.call(source, call);
      const items = body === null ? [] : call.pick(body);
      if (!Array.isArray(items)) throw new BaselineUpstreamError(`${source}.${entity}: no item array`);
      const fetchedAt = new Date().toISOString();
      return items.map((raw) => reader.toRecord(raw, fetchedAt));
    });
  });
  return (await Promise.all(reads)).flat();
}

/** Newest first by `dateField`, at most `first`: the same order the hub returns. */
function newest(records: MappedRecord[], dateField: string, first: number, keep: (r: MappedRecord) => boolean = () => true): MappedRecord[] {
  return records
    .filter(keep)
    .sort((a, b) => String(b.values[dateField] ?? '').localeCompare(String(a.values[dateField] ?? '')))
    .slice(0, first);
}

const toRef = (customer: CustomerLinks | undefined | null): CustomerRef | null => (customer ? { id: customer.customerId, links: customer.links, mergedIds: customer.mergedIds } : null);

async function readCustomer(store: LinkStore, id: string): Promise<CustomerRef | null> {
  return toRef((await store.getCustomers([id])).get(id));
}

const Query: QueryResolvers<BaselineContext> = {
  customer: (_parent, { id }, ctx) => readCustomer(ctx.store, id),

  customers: async (_parent, { first, after }, ctx) => {
    const page = await ctx.store.pageCustomers(first, after ? Buffer.from(after, 'base64url').toString('utf8') : null);
    const edges = page.customers.map((customer) => ({ cursor: customerCursor(customer.customerId), node: toRef(customer)! }));
    return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null }, totalCount: 0 };
  },

  customerByIdentity: async (_parent, { kind, value }, ctx) => {
    let found: string | undefined;
    if (kind === 'EMAIL') {
      const email = normalizeEmail(value);
      [found] = email ? await ctx.store.findCustomerIdsByIdentifier('email', email) : [];
    } else if (kind === 'PHONE') {
      const phone = normalizePhone(value, ctx.config.identity.defaultPhoneRegion);
      [found] = phone ? await ctx.store.findCustomerIdsByIdentifier('phone', phone) : [];
    } else {
      const separator = value.indexOf(':');
      found = (await ctx.store.findCustomerIdByRecord({ source: value.slice(0, separator), recordId: value.slice(separator + 1) })) ?? undefined;
    }
    return found === undefined ? null : readCustomer(ctx.store, found);
  },
};

const Customer: CustomerResolvers<BaselineContext> = {
  id: (customer) => customer.id,
  identities: identitiesOf,
  profile: async (customer, _args, ctx) => ({ ...ctx.survivorship.merge(await linkedRecords(ctx, customer, 'profile')), id: customer.id }),
  marketing: async (customer, _args, ctx) => {
    const members = await linkedRecords(ctx, customer, 'marketing');
    const newest = members.sort((a, b) => String(b.values.updatedAt ?? '').localeCompare(String(a.values.updatedAt ?? '')))[0];
    return newest ? { ...newest, customerId: customer.id } : null;
  },
  orders: async (customer, { first }, ctx) => newest(await linkedChildren(ctx, customer, 'orders'), 'placedAt', first),
  tickets: async (customer, { status, first }, ctx) => {
    const wanted = status && status.length > 0 ? new Set<string>(status) : null;
    return newest(await linkedChildren(ctx, customer, 'tickets'), 'createdAt', first, (t) => !wanted || wanted.has(String(t.values.status)));
  },
  events: async (customer, { first }, ctx) => newest(await linkedChildren(ctx, customer, 'events'), 'occurredAt', first),
};

const CustomerConnection: CustomerConnectionResolvers<BaselineContext> = {
  totalCount: (_connection, _args, ctx) => ctx.store.countCustomers(),
};

export interface RunningBaseline {
  url: string;
  close(): Promise<void>;
}

/** Starts the baseline on `host:port` (port 0 = ephemeral) over the hub's config and an already-built link store. */
export async function startNaiveBaseline(config: HubConfig, store: LinkStore, listen: { host?: string; port?: number } = {}): Promise<RunningBaseline> {
  const context: BaselineContext = {
    config,
    store,
    // Only for the compiled mapping (`toRecord`) and which entities feed which facet; its pools stay unused.
    registry: new SourceRegistry(config),
    survivorship: new SurvivorshipRule(config.survivorship.sourcePriority, graphExtensions(config).profileFields),
    call: createCaller(config),
  };
  const apollo = new ApolloServer<BaselineContext>({
    typeDefs: loadTypeDefs(),
    // The record field resolvers read mapped values only and never touch the context, so the hub's serve as they are.
    resolvers: { Query, Customer, CustomerConnection, Order, Ticket, Marketing, AnalyticsEvent } as never,
  });
  const { url } = await startStandaloneServer(apollo, { listen: { host: listen.host ?? '127.0.0.1', port: listen.port ?? 0 }, context: async () => context });
  return {
    url,
    async close() {
      await apollo.stop();
      await context.registry.close();
    },
  };
}
