// Browser apps on another origin: preflights answered for the configured origins only, in headless Chromium and on
// the wire, with Apollo's CSRF prevention still refusing simple requests.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const STEP_MS = 15_000;
const QUERY = 'query($id: ID!) { customer(id: $id) { id profile { email } } }';

/** A loopback server of one HTML page: the frontend app whose origin the hub allows or not. */
async function pageServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>app</title>'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

let t: TestHub;
let allowed: Awaited<ReturnType<typeof pageServer>>;
let refused: Awaited<ReturnType<typeof pageServer>>;
let browser: Browser | undefined;
let customerId: string;

beforeAll(async () => {
  allowed = await pageServer();
  refused = await pageServer();
  t = await startTestHub({ people: 20, config: (config) => ({ ...config, server: { ...config.server, cors: { origins: [allowed.origin, 'http://localhost:5173'], maxAgeSec: 300 } } }) });
  customerId = (await t.store.pageCustomers(1, null)).customers[0]!.customerId;
});
afterAll(async () => {
  await browser?.close();
  await t.close();
  allowed.server.close();
  refused.server.close();
});

function preflight(origin: string, requestHeaders = 'content-type') {
  return fetch(t.hub.url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': requestHeaders } });
}

describe('CORS on the wire', () => {
  test('a preflight from an allowed origin is answered 204 with that exact origin and every header a client sends', async () => {
    const response = await preflight(allowed.origin, 'content-type,x-api-key,apollo-require-preflight,x-rosetta-explain');
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(allowed.origin);
    expect(response.headers.get('vary')).toContain('Origin');
    expect(response.headers.get('access-control-allow-methods')).toBe('GET,POST');
    expect(response.headers.get('access-control-allow-headers')?.split(',')).toEqual(expect.arrayContaining(['content-type', 'authorization', 'x-api-key', 'apollo-require-preflight', 'x-rosetta-explain']));
    expect(response.headers.get('access-control-max-age')).toBe('300');
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect(await response.text()).toBe('');
  });

  test('a preflight from any other origin is refused with 403 and no allow-origin header', async () => {
    for (const origin of [refused.origin, 'http://localhost:3000', 'null']) {
      const response = await preflight(origin);
      expect(response.status).toBe(403);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(((await response.json()) as any).errors[0].extensions.code).toBe('CORS_ORIGIN_NOT_ALLOWED');
    }
  });

  test('CSRF prevention still refuses a simple GET from an allowed origin; the preflight header lets it through', async () => {
    const url = `${t.hub.url}?query=${encodeURIComponent(QUERY)}&variables=${encodeURIComponent(JSON.stringify({ id: customerId }))}`;
    const simple = await fetch(url, { headers: { origin: allowed.origin } });
    expect(simple.status).toBe(400);
    expect(await simple.text()).toContain('CSRF');
    const marked = await fetch(url, { headers: { origin: allowed.origin, 'apollo-require-preflight': 'true' } });
    expect(marked.status).toBe(200);
    expect(marked.headers.get('access-control-allow-origin')).toBe(allowed.origin);
    expect(marked.headers.get('access-control-expose-headers')).toBe('x-request-id');
    expect(((await marked.json()) as any).data.customer.id).toBe(customerId);
  });
});

describe('CORS config', () => {
  test.each([
    ['http://localhost:5173/', 'must be an origin'],
    ['http://localhost:5173/app', 'must be an origin'],
    ['localhost:5173', ''],
  ])('origin %s fails at start, naming server.cors.origins[0]', (origin, message) => {
    let problems: readonly { path: string; message: string }[] = [];
    try {
      parseConfig({ ...t.config, server: { ...t.config.server, cors: { origins: [origin] } } }, {});
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe('server.cors.origins[0]');
    expect(problems[0]!.message).toContain(message);
  });
});

describe('CORS in headless Chromium', () => {
  test('a page on an allowed origin queries the hub; a page on another origin cannot, and its query never runs', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`this test needs Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      timeout: 30_000,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const query = async (origin: string) => {
      const page = await browser!.newPage();
      page.setDefaultTimeout(STEP_MS);
      await page.goto(origin, { timeout: STEP_MS });
      const outcome = await page.evaluate(
        async ({ url, query, id }) => {
          try {
            const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables: { id } }) });
            return { status: response.status, body: await response.json() };
          } catch (error) {
            return { failed: String(error) };
          }
        },
        { url: t.hub.url, query: QUERY, id: customerId },
      );
      await page.close();
      return outcome;
    };

    t.resetStats();
    const ok = await query(allowed.origin);
    expect(ok).toMatchObject({ status: 200, body: { data: { customer: { id: customerId } } } });
    expect((ok as { body: { data: { customer: { profile: { email: string } } } } }).body.data.customer.profile.email).toContain('@');
    const crmCallsOfAllowed = t.routes('crm');
    expect(Object.values(crmCallsOfAllowed).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

    t.resetStats();
    expect(await query(refused.origin)).toEqual({ failed: 'TypeError: Failed to fetch' });
    // The browser stopped at the refused preflight: the POST never reached the hub, so no source was asked.
    expect(t.routes('crm')).toEqual({});
  }, 60_000);
});
