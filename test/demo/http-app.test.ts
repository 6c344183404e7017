// Guarantees every simulated source inherits from the shared HTTP framework: routing, stats, errors, latency, shutdown.
import { describe, expect, it, vi } from 'vitest';
import { HttpApp, badRequest, bodyArray, isInteger } from '../../src/demo/http-app.js';
import { getJson, postJson, serve } from './helpers.js';

function testApp(): HttpApp {
  return new HttpApp('test')
    .get('/users', () => ({ users: [] }))
    .get('/users/search', () => ({ matched: 'search' }))
    .get('/users/:id', ({ params }) => ({ matched: 'user', id: params.id }))
    .get('/users/:id/tickets', ({ params }) => ({ matched: 'tickets', id: params.id }))
    .get('/fail', () => {
      throw badRequest('nope');
    })
    .get('/crash', () => {
      throw new Error('boom');
    })
    .post('/echo', ({ body }) => ({ ids: bodyArray(body, 'ids', { max: 3, isItem: isInteger, itemKind: 'integers' }) }));
}

describe('HttpApp', () => {
  const app = serve(testApp());

  it('stats count requests by route template', async () => {
    app.resetStats();
    await getJson(`${app.url}/users/1`);
    await getJson(`${app.url}/users/2`);
    await getJson(`${app.url}/users/2/tickets`);
    await getJson(`${app.url}/nowhere`);
    await getJson(`${app.url}/__stats`);

    const expected = { total: 4, routes: { 'GET /users/:id': 2, 'GET /users/:id/tickets': 1, unmatched: 1 } };
    expect(app.stats()).toEqual(expected);
    expect((await getJson(`${app.url}/__stats`)).body).toEqual(expected);
  });

  it('POST /__stats/reset and resetStats() zero the counters', async () => {
    await getJson(`${app.url}/users`);
    const reset = await postJson(`${app.url}/__stats/reset`, {});
    expect(reset.body).toEqual({ total: 0, routes: {} });
    expect(app.stats().total).toBe(0);

    await getJson(`${app.url}/users`);
    app.resetStats();
    expect(app.stats()).toEqual({ total: 0, routes: {} });
  });

  it('prefers a static segment over a path parameter', async () => {
    expect((await getJson(`${app.url}/users/search`)).body).toEqual({ matched: 'search' });
    expect((await getJson(`${app.url}/users/C%2F1`)).body).toEqual({ matched: 'user', id: 'C/1' });
  });

  it('answers unknown routes and wrong methods with 404 not_found', async () => {
    for (const reply of [await getJson(`${app.url}/nowhere`), await postJson(`${app.url}/users`, {})]) {
      expect(reply.status).toBe(404);
      expect(reply.body).toEqual({ error: 'not_found' });
    }
  });

  it('answers bad input with 400 and a message', async () => {
    const thrown = await getJson(`${app.url}/fail`);
    expect(thrown.status).toBe(400);
    expect(thrown.body).toEqual({ error: 'bad_request', message: 'nope' });

    const invalidJson = await postJson(`${app.url}/echo`, '{"ids": [1,');
    expect(invalidJson.status).toBe(400);
    expect(invalidJson.body.message).toMatch(/JSON/);

    const tooMany = await postJson(`${app.url}/echo`, { ids: [1, 2, 3, 4] });
    expect(tooMany.status).toBe(400);
    expect((await postJson(`${app.url}/echo`, { ids: ['1'] })).status).toBe(400);
    expect((await postJson(`${app.url}/echo`, [1])).status).toBe(400);
    expect((await postJson(`${app.url}/echo`, { ids: [1, 2] })).body).toEqual({ ids: [1, 2] });
  });

  it('rejects bodies over 1 MB with 413 and keeps serving', async () => {
    const huge = JSON.stringify({ ids: [], padding: 'x'.repeat(1024 * 1024) });
    const reply = await postJson(`${app.url}/echo`, huge);
    expect(reply.status).toBe(413);
    expect((await getJson(`${app.url}/users`)).status).toBe(200);
  });

  it('turns handler crashes into 500 without taking the server down', async () => {
    const reply = await getJson(`${app.url}/crash`);
    expect(reply.status).toBe(500);
    expect(reply.body.error).toBe('internal_error');
    expect((await getJson(`${app.url}/users`)).status).toBe(200);
  });

  it('latency setting delays responses, but not /__stats', async () => {
    // A latency far beyond the test's own time: the order of answers shows the delay, no clock is read.
    app.latencyMs = 60_000;
    app.resetStats();
    const aborted = new AbortController();
    let usersAnswered = false;
    const users = fetch(`${app.url}/users`, { signal: aborted.signal }).then(
      () => (usersAnswered = true),
      () => 'aborted',
    );
    try {
      await vi.waitFor(() => expect(app.stats().total).toBe(1));
      expect((await getJson(`${app.url}/__stats`)).status).toBe(200);
      expect(usersAnswered).toBe(false);
    } finally {
      aborted.abort();
      app.latencyMs = 0;
    }
    expect(await users).toBe('aborted');
  });
});

describe('HttpApp lifecycle', () => {
  it('has no url before listen() and after close()', async () => {
    const app = testApp();
    expect(() => app.url).toThrow(/not listening/);
    const url = await app.listen();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(app.url).toBe(url);
    await app.close();
    expect(() => app.url).toThrow(/not listening/);
    await app.close();
  });

  // Bounded by the test's timeout rather than a clock read: Node keeps an idle connection 5 s, a latency here is 60 s.
  it('close() drops idle keep-alive connections instead of waiting for them', { timeout: 3_000 }, async () => {
    const app = testApp();
    await app.listen();
    await getJson(`${app.url}/users`);
    await app.close();
    expect(() => app.url).toThrow(/not listening/);
  });

  it('close() does not wait for responses still sleeping in their latency', { timeout: 3_000 }, async () => {
    const app = testApp();
    app.latencyMs = 60_000;
    await app.listen();
    const pending = fetch(`${app.url}/users`).catch(() => 'aborted');
    await vi.waitFor(() => expect(app.stats().total).toBe(1));
    await app.close();
    expect(await pending).toBe('aborted');
  });
});
