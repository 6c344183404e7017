// Shared fixtures for the simulated vendor API tests: one small dataset, a movable clock, JSON over fetch with headers.
import { afterAll, beforeAll } from 'vitest';
import { generateVendorData } from '../../src/demo/vendors/people.js';
import type { VendorApp } from '../../src/demo/vendors/vendor-app.js';

export const vendorData = generateVendorData({ people: 250, seed: 7 });

/** A clock tests move by hand, so rate limits and token expiry never depend on real time. */
export function manualClock(start = Date.UTC(2026, 0, 1)) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

export interface Answer<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export async function call<T = any>(url: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<Answer<T>> {
  const response = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { ...(init.body !== undefined && typeof init.body !== 'string' ? { 'content-type': 'application/json' } : {}), ...init.headers },
    ...(init.body !== undefined ? { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) } : {}),
  });
  const text = await response.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Plain-text bodies (Zendesk's 429) stay text: tests assert on them as such.
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** Starts the vendor for the current test file and closes it afterwards. */
export function serveVendor(app: VendorApp): VendorApp {
  beforeAll(async () => {
    await app.listen(0);
  });
  afterAll(async () => {
    await app.close();
  });
  return app;
}

export const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
