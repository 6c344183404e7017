// Real APIs' shapes through config alone: pagination styles, per-item not-found in a 207, and lists that cannot be paged to their end.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { HubConfigInput } from '../../src/config/schema.js';
import { HttpApp, Reply } from '../../src/demo/http-app.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import { startHub } from '../../src/server/hub.js';
import { SourcePaginationError } from '../../src/sources/errors.js';
import { SourceRegistry } from '../../src/sources/registry.js';
import { syncLinkTable } from '../support/hub-harness.js';

const CUSTOMERS = Array.from({ length: 209 }, (_, i) => ({ id: `cus_${String(i + 1).padStart(4, '0')}`, email: `Person${i + 1}@Example.com` }));
const PAGE = 100;

/** One server speaking several vendors' dialects, each as its public reference describes it. */
function vendor() {
  const pageFrom = (start: number, limit: number) => CUSTOMERS.slice(start, start + limit);
  const app = new HttpApp('vendor')
    // Stripe: `starting_after` = last id of the previous page, `has_more`.
    .get('/v1/customers', ({ query }) => {
      // Stripe's email filter is exact and case-sensitive.
      const email = query.get('email');
      if (email !== null) return { object: 'list', data: CUSTOMERS.filter((c) => c.email === email), has_more: false, url: '/v1/customers' };
      const after = query.get('starting_after');
      const start = after ? CUSTOMERS.findIndex((c) => c.id === after) + 1 : 0;
      const limit = Number(query.get('limit') ?? '10');
      return { object: 'list', data: pageFrom(start, limit), has_more: start + limit < CUSTOMERS.length, url: '/v1/customers' };
    })
    // Zendesk: an absolute `next_page` URL, null on the last page.
    .get('/api/v2/users.json', ({ query, baseUrl }) => {
      const page = Number(query.get('page') ?? '1');
      const perPage = Number(query.get('per_page') ?? '100');
      const more = page * perPage < CUSTOMERS.length;
      return { users: pageFrom((page - 1) * perPage, perPage), next_page: more ? `${baseUrl}/api/v2/users.json?page=${page + 1}&per_page=${perPage}` : null, count: CUSTOMERS.length };
    })
    // Shopify: RFC 8288 Link header with page_info.
    .get('/admin/api/2024-01/customers.json', ({ query, baseUrl }) => {
      const start = Number(query.get('page_info') ?? '0');
      const limit = Number(query.get('limit') ?? '50');
      const links: string[] = [];
      if (start > 0) links.push(`<${baseUrl}/admin/api/2024-01/customers.json?limit=${limit}&page_info=${Math.max(0, start - limit)}>; rel="previous"`);
      if (start + limit < CUSTOMERS.length) links.push(`<${baseUrl}/admin/api/2024-01/customers.json?limit=${limit}&page_info=${start + limit}>; rel="next"`);
      return new Reply(200, { customers: pageFrom(start, limit) }, links.length > 0 ? { headers: { link: links.join(', ') } } : {});
    })
    // A next-page URL on another host: never followed.
    .get('/escape', () => ({ users: pageFrom(0, 5), next_page: 'http://198.51.100.7/api/v2/users.json?page=2' }))
    // A cursor that comes back: page 2 says its next page is page 2 again.
    .get('/loop', ({ query }) => {
      const after = query.get('after');
      return after === null ? { results: pageFrom(0, PAGE), paging: { next: { after: 'p2' } } } : { results: pageFrom(PAGE, PAGE), paging: { next: { after: 'p2' } } };
    })
    // Stripe-shaped, but the cursor path written the old way would never resolve: has_more is promised, no last item id.
    .get('/stall', () => ({ data: [], has_more: true }))
    // HubSpot CRM v3 batch read: 207 with the ids it could not find under errors[].context.ids.
    .post('/crm/v3/objects/contacts/batch/read', ({ body }) => {
      const inputs = (body as { inputs: { id: string }[] }).inputs.map((i) => i.id);
      const found = CUSTOMERS.filter((c) => inputs.includes(c.id)).map((c) => ({ id: c.id, properties: { email: c.email } }));
      const missing = inputs.filter((id) => !CUSTOMERS.some((c) => c.id === id));
      if (missing.length === 0) return { status: 'COMPLETE', results: found };
      return new Reply(207, {
        status: 'COMPLETE',
        results: found,
        numErrors: 1,
        errors: [{ status: 'error', category: 'OBJECT_NOT_FOUND', message: 'Could not get some CONTACT objects, they may be deleted or not exist.', context: { ids: missing } }],
      });
    });
  return app;
}

let app: HttpApp;
beforeAll(async () => {
  app = vendor();
  await app.listen(0);
});
afterAll(() => app.close());

const EMAIL = [{ kind: 'email', path: 'email' }];

function configWith(entities: Record<string, unknown>): HubConfigInput {
  return { sources: { vendor: { baseUrl: app.url, entities } } } as HubConfigInput;
}

async function readAll(entities: Record<string, unknown>, entity: string) {
  const registry = new SourceRegistry(parseConfig(configWith(entities), {}));
  const pages: number[] = [];
  try {
    for await (const page of registry.reader('vendor', entity).listPages()) pages.push(page.items.length);
    return pages;
  } finally {
    await registry.close();
  }
}

describe('pagination styles', () => {
  test.each([
    ['lastItemId (Stripe)', { path: '/v1/customers', query: { limit: '{limit}', starting_after: '{cursor}' }, envelope: 'data', pageSize: PAGE, pagination: { style: 'lastItemId', hasMorePath: 'has_more' } }, 'GET /v1/customers'],
    ['nextUrl (Zendesk)', { path: '/api/v2/users.json', query: { per_page: '{limit}' }, envelope: 'users', pageSize: PAGE, pagination: { style: 'nextUrl', nextUrlPath: 'next_page' } }, 'GET /api/v2/users.json'],
    ['linkHeader (Shopify)', { path: '/admin/api/2024-01/customers.json', query: { limit: '{limit}' }, envelope: 'customers', pageSize: PAGE, pagination: { style: 'linkHeader' } }, 'GET /admin/api/2024-01/customers.json'],
    ['cursor from the last item, by JSONPath data[-1].id', { path: '/v1/customers', query: { limit: '{limit}', starting_after: '{cursor}' }, envelope: 'data', pageSize: PAGE, pagination: { style: 'cursor', nextCursorPath: 'data[-1].id', hasMorePath: 'has_more' } }, 'GET /v1/customers'],
  ])('%s reads all 209 records in 3 requests', async (_name, list, route) => {
    app.resetStats();
    expect(await readAll({ customer: { identifiers: EMAIL, list } }, 'customer')).toEqual([100, 100, 9]);
    expect(app.stats().routes).toEqual({ [route]: 3 });
  });

  test('a sync over a repeating cursor stops with an error naming source, entity and cursor, keeping only whole pages', async () => {
    const store = new SqliteLinkStore(':memory:');
    const list = { path: '/loop', query: { after: '{cursor}' }, envelope: 'results', pageSize: PAGE, pagination: { style: 'cursor', nextCursorPath: 'paging.next.after' } };
    const config = parseConfig(configWith({ customer: { identifiers: EMAIL, list } }), {});
    app.resetStats();
    const failed = await syncLinkTable(config, store).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(SourcePaginationError);
    expect((failed as SourcePaginationError).message).toBe('source "vendor": customer.list: the next page ("p2") was already read in this pass (at cursor "p2")');
    expect(app.stats().routes).toEqual({ 'GET /loop': 2 });
    // Page 1 linked with the cursor after it; page 2 (the repeat's) never applied, so the next run resumes at "p2".
    expect(await store.getSyncCursor('vendor', 'customer')).toMatchObject({ cursor: 'p2', completedAt: null });
    expect(await store.countCustomers()).toBe(PAGE);
    await store.close();
  });

  test('more promised but unreachable, or a next page on another host, fails instead of ending early', async () => {
    const stall = { path: '/stall', query: { starting_after: '{cursor}' }, envelope: 'data', pagination: { style: 'lastItemId', hasMorePath: 'has_more' } };
    await expect(readAll({ customer: { identifiers: EMAIL, list: stall } }, 'customer')).rejects.toThrow('customer.list: "has_more" says more pages follow, but the page has no last item with an id at "id" (at the first page)');
    const escape = { path: '/escape', envelope: 'users', pagination: { style: 'nextUrl', nextUrlPath: 'next_page' } };
    app.resetStats();
    await expect(readAll({ customer: { identifiers: EMAIL, list: escape } }, 'customer')).rejects.toThrow(`next-page URL "http://198.51.100.7/api/v2/users.json?page=2" leaves the source's origin ${app.url}`);
    expect(app.stats().routes).toEqual({ 'GET /escape': 1 });
  });

  test('a flag path that never resolves is an error, not the last page', async () => {
    const wrongFlag = { path: '/v1/customers', query: { limit: '{limit}', starting_after: '{cursor}' }, envelope: 'data', pageSize: PAGE, pagination: { style: 'lastItemId', hasMorePath: 'hasMore' } };
    await expect(readAll({ customer: { identifiers: EMAIL, list: wrongFlag } }, 'customer')).rejects.toThrow('no true/false at "hasMore" (found nothing)');
  });
});

describe('per-item errors in a 207', () => {
  test('HubSpot batch read: ids reported OBJECT_NOT_FOUND read as absent, the rest as records, in one request', async () => {
    const registry = new SourceRegistry(
      parseConfig(
        configWith({
          contact: {
            provides: 'profile',
            batch: {
              method: 'POST',
              path: '/crm/v3/objects/contacts/batch/read',
              body: { properties: ['email'], inputs: [{ id: '{id}' }] },
              maxBatchSize: 100,
              envelope: 'results',
              missing: "$.errors[?@.category == 'OBJECT_NOT_FOUND'].context.ids[*]",
            },
            mapping: { email: { path: 'properties.email', transform: 'email' } },
          },
        }),
        {},
      ),
    );
    try {
      app.resetStats();
      const ids = ['cus_0001', 'gone_1', 'cus_0050', 'gone_2'];
      const results = await registry.reader('vendor', 'contact').fetchRecords(ids);
      expect(results.map((r) => (r instanceof Error ? 'error' : r === null ? null : r.values.email))).toEqual(['person1@example.com', null, 'person50@example.com', null]);
      expect(app.stats().routes).toEqual({ 'POST /crm/v3/objects/contacts/batch/read': 1 });
    } finally {
      await registry.close();
    }
  });
});

describe('search for on-demand lookup', () => {
  test.each([
    ['as-typed', 'Person7@Example.com', 1, 'cus_0007'],
    ['normalized', 'Person7@Example.com', 1, null],
    ['both', ' Person7@Example.com ', 2, 'cus_0007'],
  ])('valueCase %s sends %s to a case-sensitive filter: %i calls, all in explain', async (valueCase, typed, calls, found) => {
    const config = parseConfig(
      {
        ...configWith({
          customer: {
            provides: 'profile',
            single: { path: '/v1/customers/{id}' },
            search: { email: { path: '/v1/customers', query: { email: '{value}' }, envelope: 'data', valueCase } },
            identifiers: EMAIL,
            mapping: { email: { path: 'email', transform: 'email' } },
          },
        }),
        server: { port: 0 },
        linkStore: { kind: 'sqlite', path: ':memory:' },
      } as HubConfigInput,
      {},
    );
    const store = new SqliteLinkStore(':memory:');
    const hub = await startHub(config, { store });
    try {
      app.resetStats();
      const response = await fetch(hub.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-rosetta-explain': '1' },
        body: JSON.stringify({ query: 'query($v: String!) { customerByIdentity(kind: EMAIL, value: $v) { id } }', variables: { v: typed } }),
      });
      const body = (await response.json()) as { data: { customerByIdentity: { id: string } | null }; extensions: { explain: { upstream: { source: string; operation: string }[] } } };
      expect(app.stats().routes).toEqual({ 'GET /v1/customers': calls });
      expect(body.extensions.explain.upstream.filter((c) => c.operation === 'customer.search')).toHaveLength(calls);
      if (found === null) expect(body.data.customerByIdentity).toBeNull();
      else expect(await store.findCustomerIdByRecord({ source: 'vendor', entity: 'customer', recordId: found })).toBe(body.data.customerByIdentity!.id);
    } finally {
      await hub.close();
      await store.close();
    }
  });
});
