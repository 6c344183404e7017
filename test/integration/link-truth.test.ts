// The link table stays true: replays refused, stale events ignored, merges undone when their evidence goes, deletions reconciled.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { signBody, signTimestamped } from '../../src/demo/webhook-emitter.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import { syncLinks } from '../../src/identity/sync.js';
import { createServices } from '../../src/server/hub.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

const WEBHOOK_SECRET = 'demo-crm-webhook-secret';

let t: TestHub;
let webhookUrl: string;
beforeAll(async () => {
  t = await startTestHub({
    people: 200,
    seed: 18,
    // Small shop pages, so a sync has pages to fail between.
    config: (config) => {
      config.sources.shop!.entities.customer!.list!.pageSize = 20;
      return config;
    },
  });
  webhookUrl = t.hub.url.replace('/graphql', '/webhooks/crm');
});
afterAll(() => t.close());
beforeEach(() => {
  t.systems.webhooks.crm.target = null;
});

const counters = () => ({ ...t.hub.services.links.counters, invalid: { ...t.hub.services.links.counters.invalid } });

async function deliver(event: unknown, options: { at?: number; header?: string } = {}) {
  const body = JSON.stringify(event);
  const response = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-rosetta-signature': options.header ?? signTimestamped(body, WEBHOOK_SECRET, options.at) }, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const contactEvent = (id: string, email: string, updatedAt: string, phone: string | null = null) => ({
  type: 'upsert',
  entity: 'contact',
  record: { id, primary_email: email, phone, first_name: 'Event', last_name: 'Order', updated_at: updatedAt },
});

/** People seen only in the shop (no CRM contact, no support user): each is a customer of one record. */
function shopOnlyPeople() {
  const data = t.systems.dataset;
  const elsewhere = new Set([...data.crm.contacts.map((c) => c.personId), ...data.support.users.map((u) => u.personId)]);
  return data.shop.customers.filter((c) => c.contact_email && !elsewhere.has(c.personId));
}

const customerOf = (source: string, recordId: string) => t.store.findCustomerIdByRecord({ source, recordId });

describe('ordered, replay-proof webhooks', () => {
  test('a delivery signed more than 300 s ago, or in the future, is refused with 401 and changes nothing', async () => {
    const before = counters();
    const event = contactEvent('C-800001', 'replayed@example.net', '2026-06-01T00:00:00.000Z');
    // Margins beyond the 300 s, so the second that passes between signing and checking cannot flip the verdict.
    const now = Math.floor(Date.now() / 1000);
    expect(await deliver(event, { at: now - 301 - 5 })).toEqual({ status: 401, body: { error: 'TIMESTAMP_OUTSIDE_TOLERANCE', requestId: expect.any(String) } });
    expect(await deliver(event, { at: now + 301 + 60 })).toEqual({ status: 401, body: { error: 'TIMESTAMP_OUTSIDE_TOLERANCE', requestId: expect.any(String) } });
    expect(await customerOf('crm', 'C-800001')).toBeNull();
    expect(counters().replays - before.replays).toBe(2);
    expect(counters().applied - before.applied).toBe(0);
  });

  test('an older upsert delivered after a newer one is ignored (200, counted as stale): the newer email stays', async () => {
    const before = counters();
    const older = contactEvent('C-800002', 'first.address@example.net', '2026-06-01T00:00:00.000Z');
    const newer = contactEvent('C-800002', 'second.address@example.net', '2026-06-01T00:00:01.000Z');
    expect((await deliver(older)).status).toBe(200);
    expect((await deliver(newer)).status).toBe(200);
    const replay = await deliver(older);
    expect(replay).toMatchObject({ status: 200, body: { applied: 0, stale: 1 } });
    // And the same version again is not newer either.
    expect((await deliver(newer)).body).toMatchObject({ applied: 0, stale: 1 });
    const id = await customerOf('crm', 'C-800002');
    expect(await t.store.findCustomerIdsByIdentifier('email', 'second.address@example.net')).toEqual([id]);
    expect(await t.store.findCustomerIdsByIdentifier('email', 'first.address@example.net')).toEqual([]);
    expect({ applied: counters().applied - before.applied, stale: counters().stale - before.stale, replays: counters().replays - before.replays }).toEqual({ applied: 2, stale: 2, replays: 0 });
  });

  test('an upsert sent before a delete and delivered after it does not bring the record back', async () => {
    await deliver(contactEvent('C-800003', 'deleted.later@example.net', '2026-06-01T00:00:00.000Z'));
    await deliver({ type: 'delete', entity: 'contact', id: 'C-800003', version: '2026-06-01T00:00:02.000Z' });
    expect((await deliver(contactEvent('C-800003', 'deleted.later@example.net', '2026-06-01T00:00:01.000Z'))).body).toMatchObject({ stale: 1 });
    expect(await customerOf('crm', 'C-800003')).toBeNull();
  });

  test('a stale upsert that merged two people is undone by the correcting upsert: the merged-away ID comes back', async () => {
    const [victim, other] = shopOnlyPeople().filter((c) => c.phone);
    const victimId = (await customerOf('shop', String(victim!.id)))!;
    // Contact C-800004 belongs to `other` (its email and phone); an event with the victim's email merges the two.
    await deliver(contactEvent('C-800004', other!.contact_email!, '2026-06-01T00:00:00.000Z', other!.phone));
    const otherId = (await customerOf('shop', String(other!.id)))!;
    await deliver(contactEvent('C-800004', victim!.contact_email!, '2026-06-01T00:00:01.000Z', other!.phone));
    const merged = await customerOf('shop', String(victim!.id));
    expect(await customerOf('shop', String(other!.id))).toBe(merged);
    // Warm the cache, so the split must drop it.
    await t.graphql('query($id: ID!) { customer(id: $id) { id } }', { variables: { id: victimId } });
    await deliver(contactEvent('C-800004', other!.contact_email!, '2026-06-01T00:00:02.000Z', other!.phone));
    expect(await customerOf('shop', String(victim!.id))).not.toBe(await customerOf('shop', String(other!.id)));
    expect(await customerOf('crm', 'C-800004')).toBe(await customerOf('shop', String(other!.id)));
    const response = await t.graphql('query($a: ID!, $b: ID!) { a: customer(id: $a) { id mergedIds } b: customer(id: $b) { id mergedIds } }', { variables: { a: victimId, b: otherId } });
    expect(response.data.a).toEqual({ id: victimId, mergedIds: [] });
    expect(response.data.b.id).toBe(otherId);
    // The split is audited.
    const { entries } = await t.store.readAudit({ action: 'LINK_CHANGE', actor: 'webhook:crm', first: 50 });
    expect(entries.some((e) => /split/.test(e.detail ?? ''))).toBe(true);
  });

  test('a source that dedupes by event ID: a delivery whose ID was applied within the window is refused once more', async () => {
    const services = t.hub.services;
    const webhook = services.config.sources.crm!.webhook!;
    const saved = { ...webhook };
    Object.assign(webhook, { replayProtection: 'eventId', eventIdPath: 'event_id' });
    try {
      const before = counters();
      const body = JSON.stringify({ event_id: 'evt-1', ...contactEvent('C-800005', 'by.event.id@example.net', '2026-06-01T00:00:00.000Z') });
      const send = () => deliver(JSON.parse(body), { header: signBody(body, WEBHOOK_SECRET) });
      expect((await send()).body).toMatchObject({ applied: 1, replayed: false });
      expect((await send()).body).toMatchObject({ applied: 0, replayed: true });
      expect(counters().replays - before.replays).toBe(1);
      expect(counters().applied - before.applied).toBe(1);
    } finally {
      Object.assign(webhook, saved);
    }
  });
});

test('/metrics reports the same counts: changes applied, ignored as stale, refused as replays, invalid inputs', async () => {
  const c = counters();
  const text = await t.hub.services.telemetry.metrics.render();
  expect(text).toContain(`rosetta_link_changes{outcome="applied"} ${c.applied}`);
  expect(text).toContain(`rosetta_link_changes{outcome="stale"} ${c.stale}`);
  expect(text).toContain(`rosetta_link_changes{outcome="replay"} ${c.replays}`);
  expect(text).toContain(`rosetta_link_invalid_inputs{input="record_id"} ${c.invalid.record_id}`);
});

describe('input hygiene', () => {
  test('an empty record id is refused and counted; a 900 KB "email" is counted and never stored', async () => {
    const before = counters();
    expect(await deliver({ type: 'upsert', entity: 'contact', record: { id: '', primary_email: 'empty.id@example.net' } })).toMatchObject({ status: 400, body: { error: 'INVALID_RECORD_ID' } });
    expect(await deliver({ type: 'upsert', entity: 'contact', record: { id: 'x'.repeat(257) } })).toMatchObject({ status: 400, body: { error: 'INVALID_RECORD_ID' } });
    const huge = `${'a'.repeat(900_000)}@example.net`;
    expect((await deliver({ type: 'upsert', entity: 'contact', record: { id: 'C-800006', primary_email: huge, phone: '1'.repeat(40) } })).status).toBe(200);
    expect(await t.store.findCustomerIdsByIdentifier('email', huge)).toEqual([]);
    const id = (await customerOf('crm', 'C-800006'))!;
    const graph = await t.store.loadGraph({ tokens: [{ kind: 'ref', value: 'crm:contact:C-800006' }], candidateIds: [] });
    expect(graph.customers.get(id)!.records.get('crm:contact:C-800006')!.tokens).toEqual([{ kind: 'ref', value: 'crm:contact:C-800006' }]);
    expect(counters().invalid.record_id - before.invalid.record_id).toBe(2);
    expect(counters().invalid.email - before.invalid.email).toBe(1);
    expect(counters().invalid.phone - before.invalid.phone).toBe(1);
  });
});

describe('reconciliation', () => {
  test('a complete sync pass removes the links of records the source no longer lists; an incomplete one removes nothing', async () => {
    const store = new SqliteLinkStore(':memory:');
    const services = createServices(t.config, store);
    try {
      await syncLinks({ registry: services.registry, links: services.links, store });
      const customersBefore = await store.countCustomers();
      // Deleted at the source with no webhook to say so.
      const gone = shopOnlyPeople().slice(0, 3);
      // A customer goes with its last record; those also known to marketing or analytics stay.
      let customersLeft = customersBefore;
      for (const person of gone) {
        const id = (await store.findCustomerIdByRecord({ source: 'shop', recordId: String(person.id) }))!;
        if ((await store.getCustomers([id])).get(id)!.links.length === 1) customersLeft -= 1;
      }
      const shop = t.systems.dataset.shop.customers;
      for (const person of gone) shop.splice(shop.indexOf(person), 1);
      try {
        // The shop fails from its third page on (the second may already be read ahead when the first is linked).
        const failShop = (p: { source: string; pages: number }) => {
          if (p.source === 'shop' && p.pages === 1) t.systems.systems.shop.faults.set([{ kind: 'status', status: 404, route: 'GET /customers' }]);
        };
        await expect(syncLinks({ registry: services.registry, links: services.links, store }, { onPage: failShop })).rejects.toThrow();
        for (const person of gone) expect(await store.findCustomerIdByRecord({ source: 'shop', recordId: String(person.id) })).not.toBeNull();
        t.systems.systems.shop.faults.clear();
        // The failed pass left a cursor: this run resumes it (it saw only the tail, so it deletes nothing) …
        expect((await syncLinks({ registry: services.registry, links: services.links, store })).reconciled).toBe(0);
        // … and the next pass is complete.
        const summary = await syncLinks({ registry: services.registry, links: services.links, store });
        expect(summary.reconciled).toBe(3);
        for (const person of gone) expect(await store.findCustomerIdByRecord({ source: 'shop', recordId: String(person.id) })).toBeNull();
        expect(await store.countCustomers()).toBe(customersLeft);
      } finally {
        t.systems.systems.shop.faults.clear();
        shop.push(...gone);
        shop.sort((a, b) => a.id - b.id);
      }
    } finally {
      await services.registry.close();
      await store.close();
    }
  });
});
