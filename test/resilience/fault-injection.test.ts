// Every simulated source takes faults at run time (over HTTP or in process) and at start, and hits exactly the requests asked for.
import { request } from 'node:http';
import { afterEach, describe, expect, test } from 'vitest';
import { FaultInjector } from '../../src/demo/faults.js';
import { HttpApp } from '../../src/demo/http-app.js';
import { getJson, postJson, serve } from '../demo/helpers.js';

const app = serve(new HttpApp('test').get('/items', () => ({ items: [{ id: 1, amount: 250 }, { id: 2, amount: 990 }] })).get('/other', () => ({ ok: true })));

afterEach(() => {
  app.faults.clear();
  app.resetStats();
});

/** Status and raw text of a GET, or the transport error's code when the connection broke. */
function rawGet(path: string, timeoutMs = 2_000): Promise<{ status: number; text: string; headers: Record<string, unknown> } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(`${app.url}${path}`, { agent: false, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
      res.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.name === 'AbortError' ? 'ABORTED' : (error.code ?? error.message) }));
    req.end();
  });
}

async function statuses(path: string, n: number): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < n; i++) seen.push((await getJson(`${app.url}${path}`)).status);
  return seen;
}

describe('the /__faults control endpoint', () => {
  test('POST replaces the faults, GET lists them with their hit counts, DELETE clears them; none of it is counted', async () => {
    const set = await postJson(`${app.url}/__faults`, { faults: [{ kind: 'status', status: 503, every: 2 }] });
    expect(set.status).toBe(200);
    expect(await statuses('/items', 4)).toEqual([200, 503, 200, 503]);
    const listed = await getJson(`${app.url}/__faults`);
    expect(listed.body.faults).toEqual([{ fault: { kind: 'status', status: 503, every: 2, seed: 1 }, seen: 4, hits: 2 }]);
    const cleared = await fetch(`${app.url}/__faults`, { method: 'DELETE' });
    expect(await cleared.json()).toEqual({ faults: [] });
    expect(await statuses('/items', 2)).toEqual([200, 200]);
    expect(app.stats().total).toBe(6);
  });

  test('an invalid fault is refused with 400 naming the bad key, and the active faults stay', async () => {
    app.faults.set([{ kind: 'status', status: 500 }]);
    const refused = await postJson(`${app.url}/__faults`, { faults: [{ kind: 'status', status: 'soon' }] });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/^0\.status: /);
    expect(await statuses('/items', 1)).toEqual([500]);
  });

  test('faults given at start are active from the first request', async () => {
    const started = new HttpApp('start', { faults: [{ kind: 'status', status: 502, times: 1 }] }).get('/x', () => ({}));
    await started.listen();
    try {
      expect([(await getJson(`${started.url}/x`)).status, (await getJson(`${started.url}/x`)).status]).toEqual([502, 200]);
    } finally {
      await started.close();
    }
  });
});

describe('which requests a fault hits', () => {
  test('every Nth request, only on its route, at most `times` times', async () => {
    app.faults.set([{ kind: 'status', status: 500, route: 'GET /items', every: 3, times: 2 }]);
    expect(await statuses('/items', 9)).toEqual([200, 200, 500, 200, 200, 500, 200, 200, 200]);
    expect(await statuses('/other', 3)).toEqual([200, 200, 200]);
  });

  test('a rate draws from a seeded PRNG: the same seed hits the same requests, another seed others', () => {
    const pattern = (seed: number) => {
      const injector = new FaultInjector([{ kind: 'status', status: 500, rate: 0.3, seed }]);
      return Array.from({ length: 200 }, () => (injector.pick('GET /items').outcome ? 1 : 0)).join('');
    };
    expect(pattern(7)).toBe(pattern(7));
    expect(pattern(7)).not.toBe(pattern(8));
    // 51 of 200 with seed 7: near the 30% asked for, and the same on every run.
    expect([...pattern(7)].filter((c) => c === '1')).toHaveLength(51);
  });

  test('latency faults add up with the outcome fault that hits the same request', () => {
    const injector = new FaultInjector([
      { kind: 'latency', ms: 30 },
      { kind: 'latency', ms: 5, jitterMs: 10, seed: 3 },
      { kind: 'status', status: 503 },
      { kind: 'reset' },
    ]);
    const picked = injector.pick('GET /items');
    expect(picked.outcome?.kind).toBe('status');
    expect(picked.delayMs).toBeGreaterThanOrEqual(35);
    expect(picked.delayMs).toBeLessThan(45);
    expect(injector.list().map((f) => f.hits)).toEqual([1, 1, 1, 0]);
  });
});

describe('each fault', () => {
  test('status: the given code, with Retry-After when asked', async () => {
    app.faults.set([{ kind: 'status', status: 429, retryAfter: '7' }]);
    const reply = await rawGet('/items');
    expect(reply).toMatchObject({ status: 429, headers: { 'retry-after': '7' } });
  });

  test('malformed: 200 whose body is not JSON', async () => {
    app.faults.set([{ kind: 'malformed' }]);
    const reply = await rawGet('/items');
    expect(reply).toMatchObject({ status: 200 });
    expect(() => JSON.parse((reply as { text: string }).text)).toThrow();
  });

  test('truncate: the announced length never arrives and the connection closes', async () => {
    app.faults.set([{ kind: 'truncate' }]);
    expect(await rawGet('/items')).toEqual({ error: 'ECONNRESET' });
  });

  test('reset: the connection closes without a response', async () => {
    app.faults.set([{ kind: 'reset' }]);
    expect(await rawGet('/items')).toEqual({ error: 'ECONNRESET' });
  });

  test('hang: no response until the client gives up; the request is still counted', async () => {
    app.faults.set([{ kind: 'hang' }]);
    expect(await rawGet('/items', 100)).toEqual({ error: 'ABORTED' });
    expect(app.stats().routes).toEqual({ 'GET /items': 1 });
  });

  test('body: the wrong shape instead of the real reply', async () => {
    app.faults.set([{ kind: 'body', body: { unexpected: 'shape' } }]);
    expect((await getJson(`${app.url}/items`)).body).toEqual({ unexpected: 'shape' });
  });

  test('field: a word where a number belongs, everywhere the key appears', async () => {
    app.faults.set([{ kind: 'field', field: 'amount', value: 'lots' }]);
    expect((await getJson(`${app.url}/items`)).body).toEqual({ items: [{ id: 1, amount: 'lots' }, { id: 2, amount: 'lots' }] });
  });

  test('omit: the reply without the item whose key matches', async () => {
    app.faults.set([{ kind: 'omit', field: 'id', value: 2 }]);
    expect((await getJson(`${app.url}/items`)).body).toEqual({ items: [{ id: 1, amount: 250 }] });
  });

  test('latency: the reply comes, later', async () => {
    app.faults.set([{ kind: 'latency', ms: 20, jitterMs: 5 }]);
    expect((await getJson(`${app.url}/items`)).status).toBe(200);
  });
});

describe('concurrency', () => {
  test('peakConcurrency counts requests held at once', async () => {
    app.faults.set([{ kind: 'latency', ms: 50 }]);
    await Promise.all([getJson(`${app.url}/items`), getJson(`${app.url}/items`), getJson(`${app.url}/items`)]);
    expect(app.peakConcurrency()).toBe(3);
  });
});
