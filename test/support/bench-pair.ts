// The bench's comparisons (the reference hub, the naive baseline) are each tested against the real hub on the same
// simulated systems and workloads: one harness starts the pair, so both tests compare under the same conditions.
import { afterAll, beforeAll, expect } from 'vitest';
import type { BenchQuery, QueryName } from '../../bench/queries.js';
import { buildWorkloads, type WorkItem, type Workloads } from '../../bench/workload.js';
import type { HubConfig } from '../../src/config/schema.js';
import { SYSTEM_NAMES, type SystemName } from '../../src/demo/systems.js';
import type { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import { startTestHub, type TestHub } from './hub-harness.js';

export interface ComparedServer {
  url: string;
  close(): Promise<void>;
}

export interface BenchPair<S extends ComparedServer> {
  /** The hub, its simulated systems and link table (300 people, seed 5). */
  readonly t: TestHub;
  /** The server compared with the hub, over the same systems and link table. */
  readonly other: S;
  readonly workloads: Workloads;
  /** A bench query's answer from the other server (a 200 is expected: errors travel in the body). */
  ask(query: BenchQuery, variables: Record<string, unknown>): Promise<{ data?: any; errors?: unknown[] }>;
  /** `count` requests of a query, customers linked in the most sources first, so every facet has data to compare. */
  sample(name: QueryName, count: number): WorkItem[];
  /** Requests per route template of every simulated system since the last reset. */
  allRoutes(): Record<SystemName, Record<string, number>>;
}

/** Starts the hub and `start`'s server before the file's tests (40 lookups per workload) and closes both after them. */
export function benchPair<S extends ComparedServer>(start: (config: HubConfig, store: SqliteLinkStore) => Promise<S>): BenchPair<S> {
  let t: TestHub | undefined;
  let other: S | undefined;
  let workloads: Workloads | undefined;
  beforeAll(async () => {
    t = await startTestHub({ people: 300, seed: 5 });
    other = await start(t.config, t.store);
    workloads = await buildWorkloads(t.systems.dataset, t.store, { lookups: 40 });
  });
  afterAll(async () => {
    await other?.close();
    await t?.close();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('benchPair: used before its beforeAll ran');
    return value;
  };
  const pair: BenchPair<S> = {
    get t() {
      return started(t);
    },
    get other() {
      return started(other);
    },
    get workloads() {
      return started(workloads);
    },
    async ask(query, variables) {
      const response = await fetch(pair.other.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: query.document, variables }) });
      expect(response.status).toBe(200);
      return (await response.json()) as { data?: any; errors?: unknown[] };
    },
    sample(name, count) {
      const richness = (item: WorkItem) => new Set(item.customers.flatMap((c) => c.links.map((l) => l.source))).size;
      return [...pair.workloads[name]].sort((a, b) => richness(b) - richness(a)).slice(0, count);
    },
    allRoutes: () => Object.fromEntries(SYSTEM_NAMES.map((s) => [s, pair.t.routes(s)])) as Record<SystemName, Record<string, number>>,
  };
  return pair;
}
