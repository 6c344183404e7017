// What the playground sends over HTTP: the page only to browsers, assets from the hub with long caching and a strict
// CSP, nothing from another origin, and nothing at all in production unless the config asks for it.
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PLAYGROUND_CSP, prefersHtml } from '../../src/playground/playground.js';
import { withAuth } from '../auth/auth-fixture.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

async function openPage(url: string): Promise<{ response: Response; html: string }> {
  const response = await fetch(url, { headers: { accept: BROWSER_ACCEPT } });
  return { response, html: await response.text() };
}

/** Every URL the page loads: `src` and `href` attributes. */
const pageUrls = (html: string) => [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);

describe('content negotiation', () => {
  test.each([
    [BROWSER_ACCEPT, true],
    ['text/html', true],
    ['text/html;q=0.9, application/json;q=0.5', true],
    ['application/json', false],
    ['application/graphql-response+json, application/json;q=0.9', false],
    ['*/*', false],
    ['text/html, application/json', false],
    ['application/json;q=0.5, text/*', true],
    ['text/html;q=0', false],
    ['', false],
    [undefined, false],
  ])('Accept %j prefers the playground: %s', (accept, expected) => {
    expect(prefersHtml(accept)).toBe(expected);
  });
});

describe('an open hub in development', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ people: 60 });
  });
  afterAll(() => t.close());

  test('a browser asking for /graphql gets the page, uncached, under a CSP that allows only the hub itself', async () => {
    const [first] = (await t.store.pageCustomers(1, null)).customers;
    const { response, html } = await openPage(t.hub.url);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('content-security-policy')).toBe(PLAYGROUND_CSP);
    expect(PLAYGROUND_CSP).not.toMatch(/https?:|\*|'unsafe-/);
    expect(html).toContain(`\\"id\\": \\"${first!.customerId}\\"`);
    // Relative URLs only: nothing names another origin, not even a protocol-relative one.
    const urls = pageUrls(html);
    expect(urls.filter((url) => /^[a-z]+:|^\/\//i.test(url) && url !== 'data:,')).toEqual([]);
    expect(urls.filter((url) => url.startsWith('playground/assets/'))).toHaveLength(6);
  });

  test('?customer= puts that customer in the example', async () => {
    const { html } = await openPage(`${t.hub.url}?customer=cus_feedfacecafe0001`);
    expect(html).toContain('\\"id\\": \\"cus_feedfacecafe0001\\"');
  });

  test('every asset the page names is served from node_modules or the hub, typed, immutable and versioned', async () => {
    const { html } = await openPage(t.hub.url);
    const assets = pageUrls(html).filter((url) => url.startsWith('playground/assets/'));
    const require = createRequire(import.meta.url);
    const graphiqlDir = dirname(require.resolve('graphiql/package.json'));
    // Uncompressed, so the length on the wire is the file's (compression.test.ts covers the other codings).
    const identity = { headers: { 'accept-encoding': 'identity' } };
    for (const asset of assets) {
      const response = await fetch(new URL(asset, t.hub.url), identity);
      const body = Buffer.from(await response.arrayBuffer());
      expect(response.status, asset).toBe(200);
      expect(response.headers.get('content-type'), asset).toBe(asset.includes('.css?') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8');
      expect(response.headers.get('cache-control'), asset).toBe('public, max-age=31536000, immutable');
      expect(response.headers.get('content-security-policy'), asset).toBe(PLAYGROUND_CSP);
      expect(response.headers.get('x-content-type-options'), asset).toBe('nosniff');
      expect(Number(response.headers.get('content-length')), asset).toBe(body.length);
      expect(asset, 'versioned').toMatch(/\?v=[\w.]+$/);
    }
    const graphiql = await fetch(new URL('playground/assets/graphiql.min.js', t.hub.url), identity);
    expect(Number(graphiql.headers.get('content-length'))).toBe(statSync(join(graphiqlDir, 'graphiql.min.js')).size);
    await graphiql.arrayBuffer();
  });

  test('an asset the page does not use is not served', async () => {
    for (const path of ['playground/assets/../../package.json', 'playground/assets/graphiql.min.js.map', 'playground/assets/']) {
      const response = await fetch(new URL(path, t.hub.url));
      await response.arrayBuffer();
      expect(response.status, path).toBe(404);
    }
  });

  test('GraphQL clients on GET /graphql still get GraphQL', async () => {
    // CSRF prevention wants the preflight header on a GET that is not from a browser form.
    const response = await fetch(`${t.hub.url}?query=${encodeURIComponent('{ __typename }')}`, { headers: { accept: 'application/json', 'apollo-require-preflight': 'true' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
  });
});

describe('production mode', () => {
  test('serves no playground, and no CDN landing page either', async () => {
    const t = await startTestHub({ people: 20, config: withAuth(null, { mode: 'production' }) });
    try {
      const { response, html } = await openPage(t.hub.url);
      expect(response.headers.get('content-type')).not.toContain('text/html');
      expect(html).not.toMatch(/<html|cdn|apollographql/i);
      const asset = await fetch(new URL('playground/assets/graphiql.min.js', t.hub.url));
      await asset.arrayBuffer();
      expect(asset.status).toBe(404);
    } finally {
      await t.close();
    }
  });

  test('serves the playground when limits.landingPage enables it, without naming a customer and asking for an API key', async () => {
    const t = await startTestHub({ people: 20, config: withAuth(null, { mode: 'production', limits: { landingPage: true } }) });
    try {
      const [first] = (await t.store.pageCustomers(1, null)).customers;
      const { response, html } = await openPage(t.hub.url);
      expect(response.status).toBe(200);
      expect(html).not.toContain(first!.customerId);
      expect(html).toContain('\\"x-api-key\\": \\"\\"');
    } finally {
      await t.close();
    }
  });
});
