// The link table is derived state: after any random sequence of CRM writes, replays, out-of-order deliveries and
// syncs, through real webhooks to real hubs, it holds the same partition of records as a clean rebuild.
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import type { HubConfig } from '../../src/config/schema.js';
import { startSimulatedSystems, type SimulatedSystems } from '../../src/demo/systems.js';
import { PostgresLinkStore } from '../../src/identity/postgres-store.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import type { LinkStore } from '../../src/identity/store.js';
import { startHub, type RunningHub } from '../../src/server/hub.js';
import { syncLinkTable } from '../support/hub-harness.js';
import { TEST_DATABASE_URL, TestSchemas } from '../support/postgres.js';
import { DeliveryRelay, modelPools, partitionOf, rebuiltPartition, runSteps, stepArbitrary } from './link-model.js';

const WEBHOOK_SECRET = 'demo-crm-webhook-secret';
/** Small enough that a rebuild after every sequence costs little; the pools make records collide often anyway. */
const PEOPLE = 12;

interface Rig {
  systems: SimulatedSystems;
  config: HubConfig;
  hubs: { hub: RunningHub; store: LinkStore }[];
  relay: DeliveryRelay;
  close(): Promise<void>;
}

/** Simulated systems, `stores.length` hubs (one per store, all synced first) and a relay from the CRM's webhooks to them. */
async function startRig(seed: number, stores: LinkStore[]): Promise<Rig> {
  const systems = await startSimulatedSystems({ people: PEOPLE, seed });
  const config = demoConfig(systems.urls, { PORT: '0', LINK_DB: ':memory:' });
  await syncLinkTable(config, stores[0]!);
  const hubs: Rig['hubs'] = [];
  for (const store of stores) hubs.push({ hub: await startHub(config, { store }), store });
  const relay = await new DeliveryRelay(hubs.map(({ hub }) => hub.url.replace('/graphql', '/webhooks/crm'))).start();
  systems.webhooks.crm.target = { url: relay.url, secret: WEBHOOK_SECRET };
  return {
    systems,
    config,
    hubs,
    relay,
    async close() {
      systems.webhooks.crm.target = null;
      await relay.close();
      for (const { hub } of hubs) await hub.close();
      await systems.close();
    },
  };
}

async function checkModel(rig: Rig, runs: number, openRebuildStore: () => Promise<LinkStore>): Promise<number> {
  const pools = modelPools(rig.systems);
  const hubs = rig.hubs.map(({ hub, store }) => ({ services: hub.services, store }));
  let sequences = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(stepArbitrary(pools), { minLength: 1, maxLength: 8 }), async (steps) => {
      sequences += 1;
      await runSteps(steps, { systems: rig.systems, relay: rig.relay, pools, hubs });
      const live = await partitionOf(rig.hubs[0]!.store);
      expect(live).toEqual(await rebuiltPartition(rig.config, openRebuildStore));
    }),
    // Fixed seed: a failure is reproducible, and the run is the same on every machine.
    { numRuns: runs, seed: 18, endOnFailure: true },
  );
  return sequences;
}

describe('the link table equals a clean rebuild after any sequence of events (model-based)', () => {
  test('SQLite, one hub: 50 random sequences of writes, deletes, replays, out-of-order deliveries and syncs', async () => {
    const rig = await startRig(31, [new SqliteLinkStore(':memory:')]);
    try {
      const sequences = await checkModel(rig, 50, async () => new SqliteLinkStore(':memory:'));
      expect(sequences).toBe(50);
      const counters = rig.hubs[0]!.hub.services.links.counters;
      // Every replay and every held-back older delivery is ignored rather than applied; both kinds occurred.
      expect(counters.stale).toBeGreaterThan(0);
      expect(counters.applied).toBeGreaterThan(0);
    } finally {
      await rig.close();
    }
  }, 120_000);

  describe('PostgreSQL', () => {
    const schemas = new TestSchemas();
    afterAll(() => schemas.dropAll());

    test('two hubs over one schema, deliveries and syncs alternating between them: 12 random sequences', async () => {
      const schema = schemas.next();
      const stores = [await PostgresLinkStore.open({ url: TEST_DATABASE_URL, schema }), await PostgresLinkStore.open({ url: TEST_DATABASE_URL, schema })];
      const rig = await startRig(32, stores);
      try {
        const sequences = await checkModel(rig, 12, () => PostgresLinkStore.open({ url: TEST_DATABASE_URL, schema: schemas.next() }));
        expect(sequences).toBe(12);
        // Both hubs applied deliveries.
        expect(rig.hubs.map(({ hub }) => hub.services.links.counters.applied > 0)).toEqual([true, true]);
      } finally {
        // Each hub closes its store.
        await rig.close();
      }
    }, 180_000);
  });
});
