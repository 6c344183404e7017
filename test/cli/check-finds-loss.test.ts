// `rosetta check` fails the configs that once lost data without a word (issue 19), naming the key; some are now config errors at start.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse, stringify } from 'yaml';
import { UNIFIED_TARGETS, type UnifiedTarget } from '../../src/config/schema.js';
import type { VendorName } from '../../src/demo/vendors/index.js';
import { recipePath, startRecipe, type RecipeRun } from '../recipes/recipe-harness.js';
import { runCli, tempDir, type CliResult } from './cli-harness.js';

const dir = tempDir();
const runs = new Map<VendorName, RecipeRun>();

/** A source named `name`: the vendor's recipe source with `change` applied to its entities. */
function variant(vendor: VendorName, change: (entities: any) => void) {
  const source = parse(readFileSync(recipePath(vendor), 'utf8')).sources[vendor];
  source.baseUrl = runs.get(vendor)!.vendor.url;
  for (const [name, value] of Object.entries(runs.get(vendor)!.env)) source.auth = JSON.parse(JSON.stringify(source.auth).replaceAll(`\${${name}}`, value));
  // The variants share one config, which names no SDL extension folder: what the recipe provides through its own
  // extensions (Stripe's subscriptions, HubSpot's lifecycle stage) is left out.
  for (const [name, entity] of Object.entries<any>(source.entities)) {
    const core: readonly string[] | undefined = UNIFIED_TARGETS[entity.provides as UnifiedTarget];
    if (entity.provides && !core) delete source.entities[name];
    else if (core) for (const field of Object.keys(entity.mapping ?? {})) if (!core.includes(field)) delete entity.mapping[field];
  }
  change(source.entities);
  return source;
}

/** One `rosetta check` over a config holding every variant as its own source: each finding names its source's key. */
function check(name: string, sources: Record<string, unknown>, ...args: string[]): Promise<CliResult> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify({ linkStore: { kind: 'sqlite', path: join(dir, `${name}.sqlite`) }, sources }));
  return runCli(['check', '--config', file, ...args], { timeoutMs: 90_000 });
}

beforeAll(async () => {
  for (const vendor of ['stripe', 'hubspot', 'shopify'] as const) runs.set(vendor, await startRecipe(vendor));
});
afterAll(async () => {
  for (const run of runs.values()) await run.close();
});

describe('rosetta check fails configs that would lose data, naming the key', () => {
  let result: CliResult;
  const errorsOf = (source: string) => result.stderr.split('\n').filter((line) => line.startsWith(`error: ${source}.`));
  beforeAll(async () => {
    result = await check('variants', {
      // Issue: Stripe's cursor read from a field the API does not send: the list stops after one page.
      stripe_early_stop: variant('stripe', (e) => {
        e.customer.list.pagination = { style: 'cursor', nextCursorPath: 'next_cursor' };
        delete e.charge;
      }),
      // Issue: the cursor path data[-1].id, which the old dotted paths could not read; RFC 9535 reads the last item.
      stripe_last_item: variant('stripe', (e) => {
        e.customer.list.pagination = { style: 'cursor', nextCursorPath: 'data[-1].id' };
        delete e.charge;
      }),
      // Issue: the charge path with its own "?", which `query` was appended after; the URL API now merges them.
      stripe_query_in_path: variant('stripe', (e) => {
        e.charge.single = { path: '/v1/charges?customer={id}', query: { limit: '100' }, envelope: 'data' };
      }),
      // A child read that does not page, asking for 2 charges a customer: customers with more lose the rest.
      stripe_small_child_page: variant('stripe', (e) => {
        e.charge.single.query.limit = '2';
      }),
      // Still wrong: a second "?" glues "?limit=100" onto the customer id.
      stripe_query_after_query: variant('stripe', (e) => {
        e.charge.single = { path: '/v1/charges?customer={id}?limit=100', envelope: 'data' };
      }),
      // Issue: HubSpot's batch body; the ids as a bare array where the API wants [{ id }].
      hubspot_bare_ids: variant('hubspot', (e) => {
        e.contact.batch.body = { properties: ['email'], inputs: '{ids}' };
      }),
      hubspot_bad_path: variant('hubspot', (e) => {
        e.contact.mapping.city = 'properties.town';
      }),
      // `ids` without `limit`: Shopify returns at most 50 of the 80 asked for.
      shopify_default_limit: variant('shopify', (e) => {
        delete e.customer.batch.query.limit;
        delete e.order;
      }),
    }, '--records', '80');
  });

  test('exits 1, counting the errors of every broken source and none of the sound ones', () => {
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^check found 5 errors \(stripe_early_stop\.customer, stripe_query_after_query\.charge, hubspot_bare_ids\.contact, hubspot_bad_path\.contact, shopify_default_limit\.customer\)$/m);
  });

  test('Stripe, a cursor the API does not send: the list stopped after one page although its last page says has_more', () => {
    expect(result.stdout).toMatch(/^stripe_early_stop\s+customer\s+1\s+100\s+-\s+end\s+1$/m);
    expect(errorsOf('stripe_early_stop')).toEqual([
      'error: stripe_early_stop.customer list (sources.stripe_early_stop.entities.customer.list.pagination): the list stopped after 1 pages and 100 records, but its last page says more follow ("has_more" is true): check the cursor or next-page path',
    ]);
  });

  test('Stripe, the issue’s data[-1].id: every customer is listed, and nothing is wrong', () => {
    expect(result.stdout).toMatch(new RegExp(`^stripe_last_item\\s+customer\\s+\\d+\\s+${runs.get('stripe')!.vendor.customers.length}\\s+-\\s+end`, 'm'));
    expect(errorsOf('stripe_last_item')).toEqual([]);
  });

  test('Stripe, the issue’s "?" in the charge path: every sampled customer’s charges are read; a second "?" reads none and fails naming charge.single', () => {
    expect(result.stdout).toMatch(/^stripe_query_in_path\s+charge\s+80\s+[1-9]\d*\s+[1-9]\d*\s+80$/m);
    expect(errorsOf('stripe_query_in_path')).toEqual([]);
    expect(result.stdout).toMatch(/^stripe_query_after_query\s+charge\s+80\s+0\s+0\s+80$/m);
    expect(errorsOf('stripe_query_after_query')).toEqual([
      'error: stripe_query_after_query.charge children (sources.stripe_query_after_query.entities.charge.single): none of 80 sampled parents has a child: the request probably does not select by parent (check its path and query)',
    ]);
  });

  test('Stripe, a child read capped at 2 a parent: a warning naming the limit, the parents it caps, and no error', () => {
    expect(errorsOf('stripe_small_child_page')).toEqual([]);
    expect(result.stderr.split('\n').filter((line) => line.startsWith('warning: stripe_small_child_page.'))).toEqual([
      expect.stringMatching(
        /^warning: stripe_small_child_page\.charge children \(sources\.stripe_small_child_page\.entities\.charge\.single\.query\.limit\): [1-9]\d* of 80 sampled parents have 2 children, as many as one read returns \(limit=2\): any beyond are not read, since the child read does not page$/,
      ),
    ]);
    // The full page's own limit (100) is far above what any simulated customer holds: the recipe itself draws no warning.
    expect(result.stderr).not.toMatch(/^warning: stripe_query_in_path\.charge children/m);
  });

  test('HubSpot, a batch body the API refuses: every read-back fails, naming contact.batch and the 400', () => {
    expect(errorsOf('hubspot_bare_ids')).toEqual([expect.stringMatching(/^error: hubspot_bare_ids\.contact batch \(sources\.hubspot_bare_ids\.entities\.contact\.batch\): 80 of 80 listed records could not be read back \(partial batch\): record \d+: SOURCE_\w+: .*400$/)]);
  });

  test('a mapped path that never resolves is an error naming the mapping key', () => {
    expect(errorsOf('hubspot_bad_path')).toEqual(['error: hubspot_bad_path.contact paths (sources.hubspot_bad_path.entities.contact.mapping.city): mapping city "properties.town" resolves in none of 80 sampled records']);
  });

  test('Shopify, ids without limit: the partial batch with its numbers', () => {
    expect(result.stdout).toMatch(/^shopify_default_limit\s+customer\s+batch\s+80\s+50\s+1\s+1$/m);
    expect(errorsOf('shopify_default_limit')).toEqual([expect.stringMatching(/^error: shopify_default_limit\.customer batch \(sources\.shopify_default_limit\.entities\.customer\.batch\): 30 of 80 listed records could not be read back \(partial batch\): record \d+: SOURCE_BAD_RESPONSE: /)]);
  });
});

test('the issue’s configs as written (cursorParam and limitParam, idsBodyKey) are refused at start with each key’s path', async () => {
  const { code, stderr } = await check('old-keys', {
    stripe: variant('stripe', (e) => {
      e.customer.list = { path: '/v1/customers', envelope: 'data', pagination: { style: 'cursor', cursorParam: 'starting_after', limitParam: 'limit', nextCursorPath: 'data[-1].id' } };
    }),
    hubspot: variant('hubspot', (e) => {
      e.contact.batch = { method: 'POST', path: '/crm/v3/objects/contacts/batch/read', idsBodyKey: 'inputs', maxBatchSize: 100, envelope: 'results' };
    }),
  });
  expect(code).toBe(2);
  expect(stderr).toContain('sources.stripe.entities.customer.list.pagination');
  expect(stderr).toContain('sources.hubspot.entities.contact.batch');
});
