// The playground in a real headless Chromium: it loads with no request leaving the machine, and its example query
// runs and shows the customer.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = 'test-artifacts/playground.png';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
/** Every wait in the browser is bounded by this, well inside the test's own timeout. */
const STEP_MS = 15_000;

let t: TestHub;
let browser: Browser | undefined;
beforeAll(async () => {
  mkdirSync(dirname(SCREENSHOT), { recursive: true });
  t = await startTestHub();
});
afterAll(async () => {
  await browser?.close();
  await t.close();
});

async function launchChromium(): Promise<Browser> {
  // A failure, never a skip: a playground nobody checked is what this test exists to catch (.ci/run installs it).
  if (!existsSync(CHROMIUM)) throw new Error(`the playground test needs Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
  return chromium.launch({
    executablePath: CHROMIUM,
    timeout: 30_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

describe('playground in a browser', () => {
  test('loads from the hub alone and runs its example query for the first customer of the link table', async () => {
    const [first] = (await t.store.pageCustomers(1, null)).customers;
    const truth = await t.graphql(`query($id: ID!) { customer(id: $id) { id profile { name email } } }`, { variables: { id: first!.customerId } });
    expect(truth.data.customer.profile.email).toContain('@');

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1360, height: 860 } });
    page.setDefaultTimeout(STEP_MS);
    const offMachine: string[] = [];
    const loopbackRequests: string[] = [];
    await page.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (LOOPBACK.has(url.hostname)) {
        loopbackRequests.push(`${route.request().method()} ${url.pathname}`);
        return route.continue();
      }
      offMachine.push(url.href);
      return route.abort('blockedbyclient');
    });
    const assetEncodings = new Map<string, string | undefined>();
    page.on('response', (response) => {
      const { pathname } = new URL(response.url());
      if (pathname.startsWith('/playground/assets/')) assetEncodings.set(pathname.slice('/playground/assets/'.length), response.headers()['content-encoding']);
    });
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));

    const response = await page.goto(t.hub.url, { timeout: STEP_MS });
    expect(response?.status()).toBe(200);
    await page.locator('.graphiql-execute-button').click();
    const result = page.locator('.result-window');
    await expect.poll(() => result.innerText(), { timeout: STEP_MS }).toContain(`"id": "${first!.customerId}"`);
    // CodeMirror draws only the lines in view; the whole response is in its document.
    const shown = JSON.parse(await result.locator('.CodeMirror').evaluate((editor) => (editor as unknown as { CodeMirror: { getValue(): string } }).CodeMirror.getValue()));
    await page.screenshot({ path: SCREENSHOT });

    expect(shown.errors).toBeUndefined();
    expect(shown.data.customer.id).toBe(first!.customerId);
    expect(shown.data.customer.profile).toMatchObject(truth.data.customer.profile);
    expect(await result.innerText()).toContain(truth.data.customer.profile.email);
    expect(offMachine).toEqual([]);
    // No CSP violation, no script error: the browser reports both on the console.
    expect(consoleErrors).toEqual([]);
    expect(loopbackRequests.filter((r) => r.startsWith('GET /playground/assets/'))).toHaveLength(6);
    // Chromium offers brotli even over plain HTTP to loopback: the page above ran on brotli-decoded scripts.
    expect([...assetEncodings].filter(([, encoding]) => encoding !== 'br')).toEqual([]);
    expect(assetEncodings.size).toBe(6);
    await page.close();
  }, 60_000);
});
