// `rosetta check` fails the configs that once lost data without a word (issue 19), naming the key; some are now config errors at start.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse, stringify } from 'yaml';
import type { VendorName } from '../../src/demo/vendors/index.js';
import { recipePath, startRecipe, type RecipeRun } from '../recipes/recipe-harness.js';
import { runCli, tempDir } from './cli-harness.js';

const dir = tempDir();
const runs = new Map<VendorName, RecipeRun>();
beforeAll(async () => {
  for (const vendor of ['stripe', 'hubspot', 'shopify'] as const) runs.set(vendor, await startRecipe(vendor));
});
afterAll(async () => {
  for (const run of runs.values()) await run.close();
});

/** The vendor's recipe with `change` applied to its parsed YAML, checked against the simulated vendor. */
async function checkVariant(vendor: VendorName, name: string, change: (entities: any) => void, ...args: string[]) {
  const raw = parse(readFileSync(recipePath(vendor), 'utf8'));
  change(raw.sources[vendor].entities);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(raw));
  return runCli(['check', '--config', file, ...args], { env: runs.get(vendor)!.env, timeoutMs: 60_000 });
}

describe('rosetta check fails configs that would lose data', () => {
  test('Stripe: a cursor read from a field the API does not send stops the list after one page: check names list.pagination and has_more', async () => {
    const { code, stdout, stderr } = await checkVariant('stripe', 'stripe-early-stop', (e) => {
      e.customer.list.pagination = { style: 'cursor', nextCursorPath: 'next_cursor' };
    });
    expect(code).toBe(1);
    expect(stdout).toMatch(/^stripe\s+customer\s+1\s+100\s+-\s+end\s+1$/m);
    expect(stderr).toContain('error: stripe.customer list (sources.stripe.entities.customer.list.pagination): the list stopped after 1 pages and 100 records, but its last page says more follow ("has_more" is true)');
  });

  test('Stripe: the issue’s cursor path data[-1].id now reads the last item (RFC 9535), so every customer is listed and check passes', async () => {
    const run = runs.get('stripe')!;
    const { code, stdout } = await checkVariant('stripe', 'stripe-last-item', (e) => {
      e.customer.list.pagination = { style: 'cursor', nextCursorPath: 'data[-1].id' };
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^stripe\\s+customer\\s+\\d+\\s+${run.vendor.customers.length}\\s+-\\s+end`, 'm'));
  });

  test('Stripe: the issue’s config as written (cursorParam, limitParam) is refused at start with the key’s path', async () => {
    const { code, stderr } = await checkVariant('stripe', 'stripe-old-keys', (e) => {
      e.customer.list = { path: '/v1/customers', envelope: 'data', pagination: { style: 'cursor', cursorParam: 'starting_after', limitParam: 'limit', nextCursorPath: 'data[-1].id' } };
    });
    expect(code).toBe(2);
    expect(stderr).toContain('sources.stripe.entities.customer.list.pagination');
  });

  test('Stripe: the issue’s charge path with its own "?" now merges with `query` (URL API), and every sampled customer’s charges are read', async () => {
    const { code, stdout } = await checkVariant('stripe', 'stripe-query-in-path', (e) => {
      e.charge.single = { path: '/v1/charges?customer={id}', query: { limit: '100' }, envelope: 'data' };
    }, '--sample', '1');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^stripe\s+charge\s+50\s+[1-9]\d*\s+[1-9]\d*\s+50$/m);
  });

  test('Stripe: a second "?" glues "?limit=100" onto the customer id: no sampled customer has a charge, and check names charge.single', async () => {
    const { code, stdout, stderr } = await checkVariant('stripe', 'stripe-query-after-query', (e) => {
      e.charge.single = { path: '/v1/charges?customer={id}?limit=100', envelope: 'data' };
    }, '--sample', '1');
    expect(code).toBe(1);
    expect(stdout).toMatch(/^stripe\s+charge\s+50\s+0\s+0\s+50$/m);
    expect(stderr).toContain('error: stripe.charge children (sources.stripe.entities.charge.single): none of 50 sampled parents has a child: the request probably does not select by parent (check its path and query)');
  });

  test('HubSpot: a batch body of bare ids is refused by the API: check names contact.batch and the 400', async () => {
    const { code, stderr } = await checkVariant('hubspot', 'hubspot-bare-ids', (e) => {
      e.contact.batch.body = { properties: ['email'], inputs: '{ids}' };
    }, '--sample', '1');
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: hubspot\.contact batch \(sources\.hubspot\.entities\.contact\.batch\): 50 of 50 listed records could not be read back \(partial batch\): record \d+: SOURCE_\w+: .*400$/m);
  });

  test('HubSpot: the issue’s batch keys (idsBodyKey) are refused at start with the key’s path', async () => {
    const { code, stderr } = await checkVariant('hubspot', 'hubspot-old-keys', (e) => {
      e.contact.batch = { method: 'POST', path: '/crm/v3/objects/contacts/batch/read', idsBodyKey: 'inputs', maxBatchSize: 100, envelope: 'results' };
    });
    expect(code).toBe(2);
    expect(stderr).toContain('sources.hubspot.entities.contact.batch');
  });

  test('Shopify: ids read back without `limit` come back 50 at most: check reports the partial batch with its numbers', async () => {
    const { code, stdout, stderr } = await checkVariant('shopify', 'shopify-default-limit', (e) => {
      delete e.customer.batch.query.limit;
    }, '--records', '80');
    expect(code).toBe(1);
    expect(stdout).toMatch(/^shopify\s+customer\s+batch\s+80\s+50\s+1\s+1$/m);
    expect(stderr).toContain('error: shopify.customer batch (sources.shopify.entities.customer.batch): 30 of 80 listed records could not be read back (partial batch): record ');
  });

  test('a mapped path that never resolves is an error, naming the mapping key', async () => {
    const { code, stderr } = await checkVariant('hubspot', 'hubspot-bad-path', (e) => {
      e.contact.mapping.city = 'properties.town';
    }, '--sample', '1');
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: hubspot\.contact paths \(sources\.hubspot\.entities\.contact\.mapping\.city\): mapping city "properties\.town" resolves in none of 50 sampled records$/m);
  });
});
