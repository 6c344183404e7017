// Adding a sixth source system takes a config entry and no code: it is linked, batched, mapped and merged like the five.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse, stringify } from 'yaml';
import { DEMO_CONFIG_PATH, demoConfig } from '../../src/cli/demo-config.js';
import { HttpApp } from '../../src/demo/http-app.js';
import { startSimulatedSystems, type SimulatedSystems } from '../../src/demo/systems.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import { startHub, type RunningHub } from '../../src/server/hub.js';
import { syncLinkTable } from '../support/hub-harness.js';

/**
 * A point-of-sale system in yet another API style: `account_ids` in the query, a `result.accounts` envelope,
 * page-number pagination reporting `meta.pages`, and purchases in decimal major units.
 */
function startPointOfSale(systems: SimulatedSystems) {
  const people = systems.dataset.people.slice(0, 40);
  const accounts = people.map((p, i) => ({
    account_no: `A-${9000 + i}`,
    email_address: i % 2 === 0 ? p.email.toUpperCase() : ` ${p.email}`,
    mobile: p.phone.replace(/^\+1(\d{3})(\d{3})(\d{4})$/, '$1-$2-$3'),
    display_name: `${p.firstName} ${p.lastName}`,
    modified: '2026-10-01T00:00:00Z',
  }));
  const purchases = accounts.flatMap((a, i) => [
    { receipt: `R-${i}-1`, account_no: a.account_no, at: '2026-09-01T10:00:00Z', amount: '19.99', currency: 'EUR', kind: 'sale' },
    { receipt: `R-${i}-2`, account_no: a.account_no, at: '2026-09-02T10:00:00Z', amount: '5.00', currency: 'EUR', kind: 'sale' },
  ]);
  const app = new HttpApp('pos')
    .get('/v2/accounts', ({ query }) => {
      const ids = query.get('account_ids');
      if (ids) return { result: { accounts: accounts.filter((a) => ids.split(',').includes(a.account_no)) } };
      const page = Number(query.get('p') ?? '1');
      const size = Number(query.get('size') ?? '10');
      return { result: { accounts: accounts.slice((page - 1) * size, page * size) }, meta: { pages: Math.ceil(accounts.length / size) } };
    })
    .get('/v2/purchases', ({ query }) => {
      const ids = (query.get('account_ids') ?? '').split(',');
      return { result: { purchases: purchases.filter((p) => ids.includes(p.account_no)) } };
    });
  return { app, accounts };
}

const POS_SOURCE = (url: string) => ({
  baseUrl: `${url}/v2`,
  auth: { type: 'header', name: 'X-Api-Key', value: '${POS_KEY:-pos-demo}' },
  entities: {
    account: {
      provides: 'profile',
      idPath: 'account_no',
      batch: { method: 'GET', path: '/accounts', query: { account_ids: '{ids}' }, maxBatchSize: 25, envelope: 'result.accounts' },
      list: { path: '/accounts', query: { p: '{page}', size: '{limit}' }, envelope: 'result.accounts', pageSize: 10, pagination: { style: 'page', totalPagesPath: 'meta.pages' } },
      identifiers: [
        { kind: 'email', path: 'email_address' },
        { kind: 'phone', path: 'mobile' },
      ],
      mapping: { name: 'display_name', email: { path: 'email_address', transform: 'email' }, phone: { path: 'mobile', transform: 'phone' }, updatedAt: { path: 'modified', transform: 'date' } },
    },
    purchase: {
      provides: 'orders',
      parent: 'account',
      parentPath: 'account_no',
      idPath: 'receipt',
      batch: { method: 'GET', path: '/purchases', query: { account_ids: '{ids}' }, maxBatchSize: 25, envelope: 'result.purchases' },
      mapping: { id: 'receipt', status: 'kind', placedAt: { path: 'at', transform: 'date' }, totalMinor: { path: 'amount', transform: 'moneyMajor' }, currency: 'currency' },
    },
  },
});

let systems: SimulatedSystems;
let pos: ReturnType<typeof startPointOfSale>;
let hub: RunningHub;
let store: SqliteLinkStore;

beforeAll(async () => {
  systems = await startSimulatedSystems({ people: 150, seed: 5 });
  pos = startPointOfSale(systems);
  await pos.app.listen(0);
  // The new source is written into a copy of the demo config file: nothing else changes.
  const raw = parse(readFileSync(DEMO_CONFIG_PATH, 'utf8'));
  raw.sources.pos = POS_SOURCE(pos.app.url);
  // The demo's extension folder is named relative to config/demo.yaml; the copy lives elsewhere.
  raw.schema.extensions = join(dirname(DEMO_CONFIG_PATH), raw.schema.extensions);
  const file = join(mkdtempSync(join(tmpdir(), 'rosetta-')), 'with-pos.yaml');
  writeFileSync(file, stringify(raw));
  const config = demoConfig(systems.urls, { PORT: '0' }, file);
  store = new SqliteLinkStore(':memory:');
  await syncLinkTable(config, store);
  hub = await startHub(config, { store });
  systems.resetStats();
  pos.app.resetStats();
});
afterAll(async () => {
  await hub.close();
  await pos.app.close();
  await systems.close();
});

async function graphql(query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(hub.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return (await response.json()) as { data: any; errors?: unknown[] };
}

describe('a sixth source added through config alone', () => {
  test('its records link to the existing customers by normalised email and phone', async () => {
    for (const account of pos.accounts) {
      const customerId = await store.findCustomerIdByRecord({ source: 'pos', recordId: account.account_no });
      const [customer] = (await store.getCustomers([customerId!])).values();
      expect(customer!.links.length, `${account.account_no} linked to nobody`).toBeGreaterThan(1);
    }
  });

  test('its orders join the customer\'s orders, mapped from decimal amounts, in one batched request', async () => {
    const response = await graphql('{ customers(first: 100) { edges { node { identities { source } orders(first: 50) { id total { amountMinor currency } } } } } }');
    expect(response.errors).toBeUndefined();
    const withPos = response.data.customers.edges.map((e: any) => e.node).filter((n: any) => n.identities.some((i: any) => i.source === 'pos'));
    expect(withPos.length).toBeGreaterThan(0);
    for (const node of withPos) {
      expect(node.orders).toEqual(expect.arrayContaining([{ id: expect.stringMatching(/^R-\d+-1$/), total: { amountMinor: 1999, currency: 'EUR' } }]));
    }
    // 100 customers' POS accounts: ceil(accounts / 25) requests, however many customers hold one.
    expect(pos.app.stats().routes).toEqual({ 'GET /v2/purchases': Math.ceil(withPos.length / 25) });
  });

  test('its profile values are merged by survivorship and attributed to it where it wins', async () => {
    const account = pos.accounts[0]!;
    const response = await graphql('query($v: String!) { customerByIdentity(kind: SOURCE_RECORD, value: $v) { profile { email provenance { field source } } } }', { v: `pos:${account.account_no}` });
    expect(response.data.customerByIdentity.profile.email).toBe(account.email_address.trim().toLowerCase());
  });
});
