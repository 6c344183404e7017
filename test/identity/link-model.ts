// The model-based check of the link table: random CRM writes, replays, held-back deliveries and syncs, then a clean rebuild to compare with.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import type { HubConfig } from '../../src/config/schema.js';
import type { SimulatedSystems } from '../../src/demo/systems.js';
import type { LinkStore } from '../../src/identity/store.js';
import { syncLinks } from '../../src/identity/sync.js';
import type { HubServices } from '../../src/request/context.js';
import { syncLinkTable } from '../support/hub-harness.js';

/** Which records share a customer, independent of customer IDs. */
export async function partitionOf(store: LinkStore): Promise<string[]> {
  const { customers } = await store.pageCustomers(1_000_000, null);
  return customers.map((c) => c.links.map((l) => `${l.source}:${l.entity}:${l.recordId}`).sort().join(' ')).sort();
}

interface Delivery {
  body: string;
  signature: string;
}

/**
 * Sits between the simulated CRM's webhook emitter and the hubs over real HTTP: forwards each delivery to a hub
 * (in turn, when there are several), or holds it back to be delivered later in another order, and keeps every
 * delivery so a test can replay it.
 */
export class DeliveryRelay {
  readonly log: Delivery[] = [];
  private held: Delivery[] = [];
  holding = false;
  private turn = 0;
  private server!: Server;
  url = '';

  constructor(private readonly hubUrls: readonly string[]) {}

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const delivery = { body: Buffer.concat(chunks).toString('utf8'), signature: String(request.headers['x-rosetta-signature']) };
        this.log.push(delivery);
        const answer = (status: number) => response.writeHead(status, { 'content-type': 'application/json' }).end('{}');
        if (this.holding) {
          this.held.push(delivery);
          answer(200);
          return;
        }
        this.send(delivery).then(answer, (error: Error) => {
          response.writeHead(502).end(error.message);
        });
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this;
  }

  /** Delivers to the next hub in turn; a refusal (anything but 200) fails the sequence. */
  async send(delivery: Delivery): Promise<number> {
    const hub = this.hubUrls[this.turn++ % this.hubUrls.length]!;
    const response = await fetch(hub, { method: 'POST', headers: { 'content-type': 'application/json', 'x-rosetta-signature': delivery.signature }, body: delivery.body });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`hub answered ${response.status} to a delivery`);
    return response.status;
  }

  /** Delivers what was held back, in the order `order` gives (a permutation seed), and stops holding. */
  async release(seed: number): Promise<void> {
    this.holding = false;
    const held = this.held.splice(0);
    // A seeded Fisher-Yates shuffle: out of order, but the same seed gives the same order when fast-check shrinks.
    let state = seed >>> 0 || 1;
    for (let i = held.length - 1; i > 0; i -= 1) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      const j = state % (i + 1);
      [held[i], held[j]] = [held[j]!, held[i]!];
    }
    for (const delivery of held) await this.send(delivery);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export type Step =
  | { kind: 'put'; contact: number; email: number | null; phone: number | null }
  | { kind: 'delete'; contact: number }
  | { kind: 'hold' }
  | { kind: 'release'; seed: number }
  | { kind: 'replay'; index: number }
  | { kind: 'sync'; hub: number };

/** The values CRM writes draw from: a few of their own, and some that real people in the other systems hold. */
export interface ModelPools {
  contactIds: string[];
  emails: string[];
  phones: string[];
}

/** Pools over the dataset: two seeded contacts (synced before), four new ones, and identifiers shared with other systems. */
export function modelPools(systems: SimulatedSystems): ModelPools {
  const data = systems.dataset;
  const shopWithPhone = data.shop.customers.filter((c) => c.contact_email && c.phone);
  return {
    contactIds: [...data.crm.contacts.slice(0, 2).map((c) => c.id), 'C-770001', 'C-770002', 'C-770003', 'C-770004'],
    emails: ['model.one@example.org', 'model.two@example.org', ...shopWithPhone.slice(0, 3).map((c) => c.contact_email!)],
    phones: ['+1 415 555 0134', ...shopWithPhone.slice(3, 5).map((c) => c.phone!)],
  };
}

export function stepArbitrary(pools: ModelPools): fc.Arbitrary<Step> {
  const contact = fc.nat({ max: pools.contactIds.length - 1 });
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('put' as const), contact, email: fc.option(fc.nat({ max: pools.emails.length - 1 })), phone: fc.option(fc.nat({ max: pools.phones.length - 1 })) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), contact }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'hold' as const }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), seed: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('replay' as const), index: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('sync' as const), hub: fc.nat({ max: 1 }) }) },
  );
}

/** Runs one sequence against the CRM (whose writes reach the hubs through the relay), then delivers anything held. */
export async function runSteps(steps: readonly Step[], context: { systems: SimulatedSystems; relay: DeliveryRelay; pools: ModelPools; hubs: readonly { services: HubServices; store: LinkStore }[] }): Promise<void> {
  const { systems, relay, pools, hubs } = context;
  for (const step of steps) {
    switch (step.kind) {
      case 'put': {
        const body = { primary_email: step.email === null ? null : pools.emails[step.email], phone: step.phone === null ? null : pools.phones[step.phone], first_name: 'Model', last_name: 'Step' };
        const response = await fetch(`${systems.urls.crm}/contacts/${pools.contactIds[step.contact]}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        if (response.status !== 200) throw new Error(`CRM PUT answered ${response.status}`);
        await response.arrayBuffer();
        break;
      }
      case 'delete': {
        const response = await fetch(`${systems.urls.crm}/contacts/${pools.contactIds[step.contact]}`, { method: 'DELETE' });
        // 404: the contact does not exist (never created, or deleted already); nothing was announced.
        if (response.status !== 200 && response.status !== 404) throw new Error(`CRM DELETE answered ${response.status}`);
        await response.arrayBuffer();
        break;
      }
      case 'hold':
        relay.holding = true;
        break;
      case 'release':
        await relay.release(step.seed);
        break;
      case 'replay':
        if (relay.log.length > 0) await relay.send(relay.log[step.index % relay.log.length]!);
        break;
      case 'sync': {
        const hub = hubs[step.hub % hubs.length]!;
        await syncLinks({ registry: hub.services.registry, links: hub.services.links, store: hub.store });
        break;
      }
    }
  }
  await relay.release(steps.length);
}

/** A clean rebuild: a fresh store synced from the sources as they are now. */
export async function rebuiltPartition(config: HubConfig, open: () => Promise<LinkStore>): Promise<string[]> {
  const store = await open();
  try {
    await syncLinkTable(config, store);
    return await partitionOf(store);
  } finally {
    await store.close();
  }
}
