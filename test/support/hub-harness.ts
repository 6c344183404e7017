// Starts the simulated systems, builds the link table and runs a real hub on loopback, for integration tests.
import type { Logger } from 'pino';
import { demoConfig } from '../../src/cli/demo-config.js';
import { parseConfig } from '../../src/config/load.js';
import type { HubConfig, HubConfigInput } from '../../src/config/schema.js';
import { startSimulatedSystems, type SimulatedSystems, type SystemName } from '../../src/demo/systems.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import type { LinkStore } from '../../src/identity/store.js';
import { syncLinks, type SyncSummary } from '../../src/identity/sync.js';
import { createServices, startHub, type RunningHub } from '../../src/server/hub.js';

export interface GraphQLResponse<T = any> {
  status: number;
  headers: Headers;
  data?: T;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  extensions?: Record<string, any>;
}

export interface TestHub {
  systems: SimulatedSystems;
  hub: RunningHub;
  config: HubConfig;
  store: SqliteLinkStore;
  sync: SyncSummary;
  graphql<T = any>(query: string, options?: { variables?: Record<string, unknown>; headers?: Record<string, string> }): Promise<GraphQLResponse<T>>;
  /** Requests per route template of one system since the last reset. */
  routes(system: SystemName): Record<string, number>;
  resetStats(): void;
  close(): Promise<void>;
}

export interface TestHubOptions {
  people?: number;
  seed?: number;
  /**
   * Changes the demo config before the hub starts. The result is validated again, so sections added here as written
   * in YAML (e.g. `auth`, `limits`) get their defaults.
   */
  config?: (config: HubConfig) => HubConfig | HubConfigInput;
  /** The hub's logger, e.g. one writing to memory so a test can read the logs. */
  logger?: Logger;
  /** The record cache's clock, e.g. a `ManualClock`'s `now`, so a test passes a TTL without sleeping. */
  recordCacheClock?: () => number;
}

/** Real monotonic time plus whatever a test skipped ahead: timers and sockets keep real time, ages jump. */
export class ManualClock {
  private skipped = 0;
  readonly now = (): number => performance.now() + this.skipped;
  pass(ms: number): void {
    this.skipped += ms;
  }
}

/** Builds the link table into `store` from the config's sources, then closes the connection pools the sync used. */
export async function syncLinkTable(config: HubConfig, store: LinkStore, options: { logger?: Logger } = {}): Promise<SyncSummary> {
  const builder = createServices(config, store, options);
  try {
    return await syncLinks({ registry: builder.registry, links: builder.links, store });
  } finally {
    await builder.registry.close();
  }
}

export async function startTestHub(options: TestHubOptions = {}): Promise<TestHub> {
  const systems = await startSimulatedSystems({ people: options.people ?? 300, seed: options.seed ?? 7, latencyMs: 0 });
  let config = demoConfig(systems.urls, { PORT: '0', LINK_DB: ':memory:' });
  if (options.config) config = parseConfig(options.config(config), {});
  const store = new SqliteLinkStore(':memory:', { forgetSecret: config.identity.forget.secret });
  const sync = await syncLinkTable(config, store);
  const hub = await startHub(config, { store, ...(options.logger ? { logger: options.logger } : {}), ...(options.recordCacheClock ? { recordCacheClock: options.recordCacheClock } : {}) });
  systems.resetStats();
  return {
    systems,
    hub,
    config,
    store,
    sync,
    async graphql(query, { variables, headers } = {}) {
      const response = await fetch(hub.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as Omit<GraphQLResponse, 'status' | 'headers'>;
      return { status: response.status, headers: response.headers, ...body };
    },
    routes: (system) => systems.systems[system].stats().routes,
    resetStats: () => systems.resetStats(),
    async close() {
      await hub.close();
      await systems.close();
    },
  };
}
