// A failure the hub did not expect, on any route, is answered 500 without detail and logged once, with its cause and
// the request id the answer carries; nothing goes to the console.
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import { parseConfig } from '../../src/config/load.js';
import { startSimulatedSystems, type SimulatedSystems } from '../../src/demo/systems.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import { startHub, type RunningHub } from '../../src/server/hub.js';
import { memoryLogger } from '../support/memory-logger.js';

const { logger: memoryLog, lines: logs } = memoryLogger();

let systems: SimulatedSystems;
let hub: RunningHub;
const consoleError = vi.spyOn(console, 'error');

beforeAll(async () => {
  systems = await startSimulatedSystems({ people: 5, seed: 4, latencyMs: 0 });
  const base = demoConfig(systems.urls, { PORT: '0', LINK_DB: ':memory:' });
  const config = parseConfig({ ...base, metrics: { ...base.metrics, port: 0 } }, {});
  hub = await startHub(config, {
    store: new SqliteLinkStore(':memory:', { forgetSecret: config.identity.forget.secret }),
    logger: memoryLog,
    // A route with a bug in it, and a metrics registry that cannot be gathered (a cluster missing a worker's counters).
    extend: () => [{ method: 'GET', match: (path) => (path === '/broken' ? {} : null), handle: () => Promise.reject(new TypeError('cannot read properties of undefined (reading "id")')) }],
    metrics: () => Promise.reject(new Error('worker 2 did not answer the metrics request')),
  });
});
afterAll(async () => {
  await hub?.close();
  await systems?.close();
});

test('a route that throws answers 500 INTERNAL_SERVER_ERROR with the request id, and its cause is logged once under that id', async () => {
  const response = await fetch(hub.url.replace('/graphql', '/broken'), { headers: { 'x-request-id': 'broken-1' } });
  expect(response.status).toBe(500);
  expect(response.headers.get('x-request-id')).toBe('broken-1');
  expect(await response.json()).toEqual({ error: 'INTERNAL_SERVER_ERROR', requestId: 'broken-1' });
  const logged = logs.filter((l) => l.requestId === 'broken-1');
  expect(logged).toMatchObject([{ level: 50, msg: 'unhandled request error', path: '/broken', err: { type: 'TypeError', message: expect.stringContaining('reading "id"') } }]);
  expect(consoleError).not.toHaveBeenCalled();
});

test('a scrape that cannot be gathered answers 503 METRICS_UNAVAILABLE and logs why, under the request id', async () => {
  const response = await fetch(hub.metricsUrl, { headers: { 'x-request-id': 'scrape-1' } });
  expect(response.status).toBe(503);
  expect(await response.json()).toEqual({ error: 'METRICS_UNAVAILABLE', requestId: 'scrape-1' });
  expect(logs.filter((l) => l.requestId === 'scrape-1')).toMatchObject([{ level: 40, err: { message: 'worker 2 did not answer the metrics request' } }]);
  expect(consoleError).not.toHaveBeenCalled();
});

test('an unknown path on the metrics port is 404 NOT_FOUND with a request id', async () => {
  const response = await fetch(hub.metricsUrl.replace('/metrics', '/elsewhere'));
  expect(response.status).toBe(404);
  const body = (await response.json()) as { error: string; requestId: string };
  expect(body).toEqual({ error: 'NOT_FOUND', requestId: response.headers.get('x-request-id') });
});
