// Contract of the simulated product analytics: device batch reads, page tokens, per-device event queries, search.
import { describe, expect, it } from 'vitest';
import { createAnalyticsServer } from '../../src/demo/analytics.js';
import { getJson, postJson, serve, smallDataset } from './helpers.js';

const { devices, events } = smallDataset.analytics;
const analytics = serve(createAnalyticsServer(smallDataset));
const deviceIds = (items: Array<{ device_id: string }>) => items.map((d) => d.device_id);
const eventsOf = (deviceId: string) => events.filter((e) => e.device_id === deviceId);

describe('Analytics', () => {
  it('batch-reads devices by ids, up to 100', async () => {
    const wanted = [devices[1]!.device_id, 'dev_000000000000', devices[0]!.device_id];
    const { body } = await getJson(`${analytics.url}/devices?ids=${wanted.join(',')}`);
    expect(deviceIds(body.devices)).toEqual([devices[1]!.device_id, devices[0]!.device_id]);
    const tooMany = Array.from({ length: 101 }, (_, i) => `dev_${i}`);
    expect((await getJson(`${analytics.url}/devices?ids=${tooMany.join(',')}`)).status).toBe(400);
  });

  it('lists every device once through page tokens', async () => {
    const seen: string[] = [];
    let token: string | null = null;
    do {
      const query: string = token === null ? '' : `&page_token=${encodeURIComponent(token)}`;
      const { body } = await getJson(`${analytics.url}/devices?page_size=40${query}`);
      seen.push(...deviceIds(body.devices));
      token = body.next_page_token;
    } while (token !== null);
    expect(seen).toEqual(deviceIds(devices));
    expect((await getJson(`${analytics.url}/devices?page_token=garbage`)).status).toBe(400);
  });

  it('queries events per device, newest first, capped by limit_per_device', async () => {
    const busy = devices.filter((d) => eventsOf(d.device_id).length >= 3).slice(0, 2).map((d) => d.device_id);
    const { body } = await postJson(`${analytics.url}/events/query`, { device_ids: [...busy, 'dev_unknown'], limit_per_device: 2 });
    expect(body.results.map((r: { device_id: string }) => r.device_id)).toEqual([...busy, 'dev_unknown']);
    for (const result of body.results.slice(0, 2)) {
      const newest = eventsOf(result.device_id).map((e) => e.timestamp).sort().reverse().slice(0, 2);
      expect(result.events.map((e: { timestamp: string }) => e.timestamp)).toEqual(newest);
      expect(result.events[0]).not.toHaveProperty('personId');
    }
    expect(body.results[2].events).toEqual([]);
  });

  it('defaults to 50 events per device and rejects limits over 200 or more than 100 devices', async () => {
    const busiest = [...devices].sort((a, b) => eventsOf(b.device_id).length - eventsOf(a.device_id).length)[0]!;
    const { body } = await postJson(`${analytics.url}/events/query`, { device_ids: [busiest.device_id] });
    expect(body.results[0].events.length).toBe(Math.min(50, eventsOf(busiest.device_id).length));
    expect((await postJson(`${analytics.url}/events/query`, { device_ids: [busiest.device_id], limit_per_device: 201 })).status).toBe(400);
    const tooMany = Array.from({ length: 101 }, (_, i) => `dev_${i}`);
    expect((await postJson(`${analytics.url}/events/query`, { device_ids: tooMany })).status).toBe(400);
  });

  it('searches devices by email md5 or CRM user id', async () => {
    const byMd5 = devices.find((d) => d.email_md5)!;
    const found = await getJson(`${analytics.url}/devices/search?email_md5=${byMd5.email_md5}`);
    expect(deviceIds(found.body.devices)).toEqual(deviceIds(devices.filter((d) => d.email_md5 === byMd5.email_md5)));

    const byUser = devices.find((d) => d.user_id)!;
    const foundByUser = await getJson(`${analytics.url}/devices/search?user_id=${byUser.user_id}`);
    expect(deviceIds(foundByUser.body.devices)).toContain(byUser.device_id);
    expect((await getJson(`${analytics.url}/devices/search`)).status).toBe(400);
  });
});
