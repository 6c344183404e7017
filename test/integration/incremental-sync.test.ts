// Incremental syncs: an entity with `sync.modifiedSince` reads only what changed, deletes nothing, and is read whole on schedule or on `--full`.
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import type { HubConfig } from '../../src/config/schema.js';
import { startSimulatedSystems, type SimulatedSystems } from '../../src/demo/systems.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import { syncLinks, type SyncOptions } from '../../src/identity/sync.js';
import { createServices } from '../../src/server/hub.js';

const DAY_MS = 86_400_000;

let systems: SimulatedSystems;
let config: HubConfig;
let store: SqliteLinkStore;
let services: ReturnType<typeof createServices>;

beforeAll(async () => {
  systems = await startSimulatedSystems({ people: 300, seed: 31, latencyMs: 0 });
  config = demoConfig(systems.urls, { PORT: '0' });
  const contact = config.sources.crm!.entities.contact!;
  contact.list!.query = { ...contact.list!.query, updated_since: '{since}' };
  contact.sync = { modifiedSince: { field: 'updated_at', format: 'iso' }, fullEvery: DAY_MS };
  store = new SqliteLinkStore(':memory:');
  services = createServices(config, store);
});
afterAll(async () => {
  await services.registry.close();
  await store.close();
  await systems.close();
});

/** One sync; the CRM contact entity's summary and the list requests the CRM served for it. */
async function syncCrm(options: SyncOptions = {}) {
  systems.resetStats();
  const summary = await syncLinks({ registry: services.registry, links: services.links, store }, options);
  return { crm: summary.entities.find((e) => e.source === 'crm' && e.entity === 'contact')!, listRequests: systems.systems.crm.stats().routes['GET /contacts'] ?? 0, summary };
}

async function writeContact(id: string, fields: Record<string, unknown>, method: 'PUT' | 'DELETE' = 'PUT') {
  const response = await fetch(`${systems.urls.crm}/contacts/${id}`, {
    method,
    headers: { authorization: 'Bearer demo-crm-token', 'content-type': 'application/json' },
    ...(method === 'PUT' ? { body: JSON.stringify(fields) } : {}),
  });
  expect(response.status).toBe(200);
}

const contacts = () => systems.dataset.crm.contacts;
const latestChange = () => Math.max(...contacts().map((c) => Date.parse(c.updated_at)));

test('an incremental pass reads only the contacts changed since the last pass; after one change, exactly that change', async () => {
  const first = await syncCrm();
  expect(first.crm).toMatchObject({ mode: 'full', since: null, records: contacts().length, pages: 1, reconciled: 0 });
  expect(first.listRequests).toBe(1);
  const watermark = latestChange();
  const [a] = contacts();

  await writeContact(a!.id, { phone: '+14155550101' });
  const second = await syncCrm();
  // The filter is inclusive (as HubSpot's GTE): the contacts changed at the last time read are read again.
  const atOrAfter = contacts().filter((c) => Date.parse(c.updated_at) >= watermark).length;
  expect(second.crm).toMatchObject({ mode: 'incremental', since: new Date(watermark).toISOString(), records: atOrAfter, pages: 1, reconciled: 0 });
  expect(atOrAfter).toBeLessThan(contacts().length);

  // The second change is to the contact changed last: the pass reads that one record and nothing else.
  await writeContact(a!.id, { primary_email: 'incremental.change@example.net' });
  const third = await syncCrm();
  expect(third.crm).toMatchObject({ mode: 'incremental', records: 1, pages: 1 });
  expect(third.listRequests).toBe(1);
  const customerId = await store.findCustomerIdByRecord({ source: 'crm', entity: 'contact', recordId: a!.id });
  expect(await store.findCustomerIdsByIdentifier('email', 'incremental.change@example.net')).toEqual([customerId]);
  // Entities without the filter are read whole on every pass.
  expect(third.summary.entities.find((e) => e.source === 'shop')).toMatchObject({ mode: 'full', records: systems.dataset.shop.customers.length });
});

test('an incremental pass deletes no link; a full pass (--full, or once sync.fullEvery has passed) reconciles the deletion', async () => {
  const gone = contacts()[1]!;
  await writeContact(gone.id, {}, 'DELETE');
  const incremental = await syncCrm();
  expect(incremental.crm).toMatchObject({ mode: 'incremental', reconciled: 0 });
  expect(await store.findCustomerIdByRecord({ source: 'crm', entity: 'contact', recordId: gone.id })).not.toBeNull();

  // Not yet due: a day has not passed since the full pass.
  const almostADay = new Date(Date.now() + DAY_MS - 60_000);
  expect((await syncCrm({ now: () => almostADay })).crm).toMatchObject({ mode: 'incremental', reconciled: 0 });
  // Due: the schedule brings a full pass, which reads every contact and removes the deleted one's link.
  const nextDay = new Date(Date.now() + DAY_MS + 60_000);
  const scheduled = await syncCrm({ now: () => nextDay });
  expect(scheduled.crm).toMatchObject({ mode: 'full', records: contacts().length, reconciled: 1 });
  expect(await store.findCustomerIdByRecord({ source: 'crm', entity: 'contact', recordId: gone.id })).toBeNull();

  // `--full` reads everything whatever the schedule says.
  const forced = await syncCrm({ full: true, now: () => nextDay });
  expect(forced.crm).toMatchObject({ mode: 'full', records: contacts().length, reconciled: 0 });
  expect((await syncCrm({ now: () => nextDay })).crm).toMatchObject({ mode: 'incremental' });
});

test('a full pass over unchanged records reads each page\'s neighbourhood once and writes no link row', async () => {
  await syncCrm({ full: true });
  const loads = vi.spyOn(store, 'loadGraph');
  const rowsBefore = store.rowsWritten;
  try {
    // Pages holding unversioned records (an empty last page has no neighbourhood to read).
    const recordsSoFar = new Map<string, number>();
    let pagesWithRecords = 0;
    const { summary } = await syncCrm({
      full: true,
      onPage: ({ source, entity, records }) => {
        // The CRM's contacts carry versions: at the same versions they are ignored before any read.
        if (source !== 'crm' && records > (recordsSoFar.get(`${source}.${entity}`) ?? 0)) pagesWithRecords += 1;
        recordsSoFar.set(`${source}.${entity}`, records);
      },
    });
    expect(summary.customersChanged).toBe(0);
    expect(store.rowsWritten - rowsBefore).toBe(0);
    // Without the shortcut, each page's records would be followed through their customers' other identifiers too.
    expect(pagesWithRecords).toBeGreaterThan(0);
    expect(loads).toHaveBeenCalledTimes(pagesWithRecords);
  } finally {
    loads.mockRestore();
  }
});
