// Production mode hides the schema (introspection, landing page, "did you mean"), never runs open, and leaks no internals.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import type { HubConfigInput } from '../../src/config/schema.js';
import { startHub } from '../../src/server/hub.js';
import { queryLimits } from '../../src/server/limits.js';
import { playgroundEnabled } from '../../src/playground/playground.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';
import { keyHeader, withAuth } from './auth-fixture.js';

const DUMMY_URLS = { crm: 'http://127.0.0.1:1', shop: 'http://127.0.0.1:2', support: 'http://127.0.0.1:3', marketing: 'http://127.0.0.1:4', analytics: 'http://127.0.0.1:5' };
const configWith = (extra: Partial<HubConfigInput>) => parseConfig({ ...demoConfig(DUMMY_URLS, { PORT: '0', LINK_DB: ':memory:' }), ...extra }, {});

describe('what production mode turns off', () => {
  test.each([
    ['development (default)', {}, {}, { introspection: true, landingPageDisabled: false }],
    ['mode: production', { mode: 'production' }, {}, { introspection: false, landingPageDisabled: true }],
    ['NODE_ENV=production', {}, { NODE_ENV: 'production' }, { introspection: false, landingPageDisabled: true }],
    ['mode: development beats NODE_ENV=production', { mode: 'development' }, { NODE_ENV: 'production' }, { introspection: true, landingPageDisabled: false }],
    ['production with both enabled in limits', { mode: 'production', limits: { introspection: true, landingPage: true } }, {}, { introspection: true, landingPageDisabled: false }],
    ['development with both disabled in limits', { limits: { introspection: false, landingPage: false } }, {}, { introspection: false, landingPageDisabled: true }],
  ] as const)('%s', (_case, extra, env, expected) => {
    const config = configWith(extra as Partial<HubConfigInput>);
    const options = queryLimits(config, env);
    expect({ introspection: options.introspection, landingPageDisabled: !playgroundEnabled(config, env) }).toEqual(expected);
    expect(options.hideSchemaDetailsFromClientErrors).toBe(!expected.introspection);
    expect(options.csrfPrevention).toBe(true);
    expect(options.allowBatchedHttpRequests).toBe(false);
  });

  test('a production hub without auth refuses to start', async () => {
    await expect(startHub(configWith({ mode: 'production' }))).rejects.toThrow(ConfigError);
    await expect(startHub(configWith({ mode: 'production' }))).rejects.toThrow('auth: production mode needs an auth section');
  });
});

describe('a production hub', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ people: 30, config: withAuth(null, { mode: 'production' }) });
  });
  afterAll(() => t.close());

  test('refuses introspection, even to an admin', async () => {
    for (const query of ['{ __schema { types { name } } }', '{ __type(name: "Customer") { fields { name } } }']) {
      const response = await t.graphql(query, { headers: keyHeader('admin') });
      expect(response.status).toBe(400);
      expect(response.data).toBeUndefined();
      expect(response.errors?.[0]?.message).toContain('introspection is not allowed');
    }
  });

  test('does not hint at field names it hides', async () => {
    const response = await t.graphql('{ custmer(id: "x") { id } }', { headers: keyHeader('admin') });
    expect(response.status).toBe(400);
    expect(response.errors?.[0]?.message).toBe('Cannot query field "custmer" on type "Query".');
  });

  test('serves no landing page', async () => {
    const response = await fetch(t.hub.url, { headers: { accept: 'text/html', ...keyHeader('admin') } });
    expect(response.headers.get('content-type')).not.toContain('text/html');
    expect(response.status).toBe(400);
  });

  test('reports a failing source by name and code, with no upstream URL and no stack trace', async () => {
    const id = (await t.store.pageCustomers(50, null)).customers.find((c) => c.links.some((l) => l.source === 'shop'))!.customerId;
    await t.systems.systems.shop.close();
    const response = await t.graphql('query($id: ID!) { customer(id: $id) { id orders { id } } }', { variables: { id }, headers: keyHeader('admin') });
    expect(response.data.customer).toEqual({ id, orders: null });
    expect(response.errors).toEqual([expect.objectContaining({ path: ['customer', 'orders'], extensions: expect.objectContaining({ source: 'shop' }) })]);
    const body = JSON.stringify(response.errors);
    expect(body).not.toMatch(/https?:\/\//);
    expect(body).not.toContain('127.0.0.1');
    expect(body).not.toContain('stacktrace');
    expect(body).not.toMatch(/\.ts:\d+/);
  });
});
