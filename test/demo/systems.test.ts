// Guarantees of startSimulatedSystems: five live sources over one dataset, aggregate stats, no ground truth on the wire.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SYSTEM_NAMES, startSimulatedSystems } from '../../src/demo/systems.js';
import type { SimulatedSystems } from '../../src/demo/systems.js';
import { getJson, postJson, SMALL_PEOPLE } from './helpers.js';

let sim: SimulatedSystems;

beforeAll(async () => {
  sim = await startSimulatedSystems({ people: SMALL_PEOPLE, seed: 3 });
});
afterAll(async () => {
  await sim.close();
});

describe('startSimulatedSystems', () => {
  it('starts all five systems on distinct loopback ports', () => {
    expect(Object.keys(sim.urls).sort()).toEqual([...SYSTEM_NAMES].sort());
    const urls = Object.values(sim.urls);
    expect(new Set(urls).size).toBe(5);
    for (const url of urls) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sim.dataset.people).toHaveLength(SMALL_PEOPLE);
  });

  it('counts requests across all systems and resets them together', async () => {
    sim.resetStats();
    await getJson(`${sim.urls.crm}/contacts?limit=1`);
    await getJson(`${sim.urls.support}/users/${sim.dataset.support.users[0]!.id}`);
    await getJson(`${sim.urls.marketing}/members?count=1`);
    expect(sim.totalRequests()).toBe(3);
    expect(sim.systems.support.stats().routes).toEqual({ 'GET /users/:id': 1 });
    sim.resetStats();
    expect(sim.totalRequests()).toBe(0);
  });

  it('never serves the ground-truth personId', async () => {
    const { crm, shop, support, marketing, analytics } = sim.urls;
    const d = sim.dataset;
    const replies = await Promise.all([
      getJson(`${crm}/contacts?limit=500`),
      getJson(`${shop}/customers?limit=250`),
      postJson(`${shop}/orders/batch`, { customer_ids: d.shop.customers.slice(0, 50).map((c) => c.id) }),
      getJson(`${support}/users?per_page=100`),
      getJson(`${support}/users/${d.support.tickets[0]!.requester_id}/tickets`),
      getJson(`${marketing}/members?count=1000`),
      getJson(`${analytics}/devices?page_size=1000`),
      postJson(`${analytics}/events/query`, { device_ids: d.analytics.devices.slice(0, 100).map((v) => v.device_id) }),
    ]);
    for (const reply of replies) {
      expect(reply.status).toBe(200);
      expect(reply.text).not.toContain('personId');
    }
  });

  it('applies the latency option to every system and lets it change at run time', async () => {
    const slow = await startSimulatedSystems({ dataset: sim.dataset, latencyMs: 40 });
    try {
      for (const name of SYSTEM_NAMES) expect(slow.systems[name].latencyMs).toBe(40);
      slow.systems.crm.latencyMs = 0;
      expect(slow.systems.crm.latencyMs).toBe(0);
      // A change applies to the next request. With the shop's latency far beyond the test's own time, the CRM (now 0)
      // answers while the shop's request still sleeps: the order of answers shows it, no clock is read.
      slow.systems.shop.latencyMs = 60_000;
      const aborted = new AbortController();
      let shopAnswered = false;
      const shop = fetch(`${slow.urls.shop}/customers?limit=1`, { signal: aborted.signal }).then(
        () => (shopAnswered = true),
        () => 'aborted',
      );
      await vi.waitFor(() => expect(slow.systems.shop.stats().total).toBe(1));
      expect((await getJson(`${slow.urls.crm}/contacts?limit=1`)).status).toBe(200);
      expect(shopAnswered).toBe(false);
      aborted.abort();
      expect(await shop).toBe('aborted');
    } finally {
      await slow.close();
    }
  });

  it('fails cleanly when a fixed port is taken', async () => {
    const taken = Number(new URL(sim.urls.crm).port);
    await expect(startSimulatedSystems({ dataset: sim.dataset, ports: { shop: taken } })).rejects.toThrow(/EADDRINUSE/);
  });
});
