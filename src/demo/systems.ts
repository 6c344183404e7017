// Starts all five simulated source systems on loopback over one seeded dataset.
import { createAnalyticsServer } from './analytics.js';
import { createCrmServer } from './crm.js';
import { generateDataset } from './dataset.js';
import type { Dataset } from './dataset.js';
import type { SimulatedSource, SourceOptions } from './http-app.js';
import { createMarketingServer } from './marketing.js';
import { createShopServer } from './shop.js';
import { createSupportServer } from './support.js';
import { WebhookEmitter } from './webhook-emitter.js';

export const SYSTEM_NAMES = ['crm', 'shop', 'support', 'marketing', 'analytics'] as const;
export type SystemName = (typeof SYSTEM_NAMES)[number];

const FACTORIES: Record<SystemName, (data: Dataset, options: SourceOptions) => SimulatedSource> = {
  crm: createCrmServer,
  shop: createShopServer,
  support: createSupportServer,
  marketing: createMarketingServer,
  analytics: createAnalyticsServer,
};

export interface SimulatedSystemsOptions {
  /** Ground-truth people to generate (default 10,000); ignored when `dataset` is given. */
  people?: number;
  /** PRNG seed (default 42); ignored when `dataset` is given. */
  seed?: number;
  /** A dataset generated beforehand, e.g. to share one between several runs. */
  dataset?: Dataset;
  /** Latency for every system (default 0); change it later per system via `systems[name].latencyMs`. */
  latencyMs?: number;
  /** Fixed ports; unlisted systems get an ephemeral one. */
  ports?: Partial<Record<SystemName, number>>;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
}

export interface SimulatedSystems {
  dataset: Dataset;
  systems: Record<SystemName, SimulatedSource>;
  urls: Record<SystemName, string>;
  /** Change notifications the CRM sends when its data is written (`PUT`/`DELETE /contacts/:id`); set `.target` to receive them. */
  webhooks: { crm: WebhookEmitter };
  /** Requests served by all five systems since start or the last reset. */
  totalRequests(): number;
  resetStats(): void;
  close(): Promise<void>;
}

function mapSystems<T>(fn: (name: SystemName) => T): Record<SystemName, T> {
  return Object.fromEntries(SYSTEM_NAMES.map((name) => [name, fn(name)])) as Record<SystemName, T>;
}

export async function startSimulatedSystems(options: SimulatedSystemsOptions = {}): Promise<SimulatedSystems> {
  const dataset = options.dataset ?? generateDataset({ people: options.people, seed: options.seed });
  const sourceOptions: SourceOptions = { latencyMs: options.latencyMs ?? 0 };
  const webhooks = { crm: new WebhookEmitter() };
  const systems = mapSystems((name) => (name === 'crm' ? createCrmServer(dataset, { ...sourceOptions, webhooks: webhooks.crm }) : FACTORIES[name](dataset, sourceOptions)));
  const all = Object.values(systems);
  const closeAll = async (): Promise<void> => {
    await Promise.all(all.map((system) => system.close()));
  };

  const started = await Promise.allSettled(
    SYSTEM_NAMES.map((name) => systems[name].listen(options.ports?.[name] ?? 0, options.host)),
  );
  const failure = started.find((result) => result.status === 'rejected');
  if (failure) {
    await closeAll();
    throw failure.reason;
  }

  return {
    dataset,
    systems,
    urls: mapSystems((name) => systems[name].url),
    webhooks,
    totalRequests: () => all.reduce((sum, system) => sum + system.stats().total, 0),
    resetStats: () => all.forEach((system) => system.resetStats()),
    close: closeAll,
  };
}
