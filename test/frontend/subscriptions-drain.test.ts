// Shutting down with subscriptions open: the hub's drain closes their sockets with 1001 (going away) instead of
// waiting on them until its timeout; and explain covers subscription events as it does queries.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { drainHttpServer } from '../../src/server/http-drain.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';
import { subscriber } from '../support/subscriber.js';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ people: 30 });
  t.systems.webhooks.crm.target = { url: t.hub.url.replace('/graphql', '/webhooks/crm'), secret: 'demo-crm-webhook-secret' };
});
afterAll(() => t.close());

test('an event asked for with explain carries the upstream calls its customer cost; the drain then closes the socket with 1001', async () => {
  const customer = (await t.store.pageCustomers(30, null)).customers.find((c) => c.links.some((l) => l.source === 'crm'))!;
  const contactId = customer.links.find((l) => l.source === 'crm')!.recordId;
  const client = subscriber(t.hub.url, { explain: true });
  await client.connected;
  const events = client.subscribe('subscription($id: ID!) { customerChanged(id: $id) { kind customer { profile { name } } } }', { id: customer.customerId });
  await expect.poll(() => t.hub.services.changes.subscribers).toBe(1);
  const write = await fetch(`${t.systems.urls.crm}/contacts/${contactId}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ first_name: 'Explained', last_name: 'Event' }) });
  expect(write.status).toBe(200);
  await expect.poll(() => events.results.length).toBe(1);
  const upstream = (events.results[0]!.extensions?.explain as { upstream: { source: string }[] }).upstream;
  expect(upstream.filter((call) => call.source === 'crm')).toHaveLength(1);

  // A drain that had to wait for the socket would time out and answer false.
  expect(await drainHttpServer(t.hub.server, 10_000)).toBe(true);
  await expect.poll(() => client.closedWith()).toBe(1001);
  expect(t.hub.services.changes.subscribers).toBe(0);
});
