// `npm run bench:sync`: how long a full sync of the simulated sources takes into each link store, at several sizes.
//
// Per size, one dataset is generated and served by the five simulated systems with no latency (so the figure is
// the hub's and the store's cost, not a network's); each store gets a fresh, empty link table and one full sync.
// SQLite writes a file in a temporary directory; PostgreSQL a fresh schema of DATABASE_URL, dropped afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import pg, { Client } from 'pg';
import { demoConfig } from '../src/cli/demo-config.js';
import { generateDataset } from '../src/demo/dataset.js';
import { startSimulatedSystems } from '../src/demo/systems.js';
import { PostgresLinkStore } from '../src/identity/postgres-store.js';
import { SqliteLinkStore } from '../src/identity/sqlite-store.js';
import type { LinkStore } from '../src/identity/store.js';
import { syncLinks, type SyncSummary } from '../src/identity/sync.js';
import { createServices } from '../src/server/hub.js';

const STORE_KINDS = ['sqlite', 'postgres'] as const;
type StoreKind = (typeof STORE_KINDS)[number];

interface Options {
  people: number[];
  stores: StoreKind[];
  databaseUrl: string;
  seed: number;
}

function parseOptions(argv: readonly string[]): Options {
  const sizes = (text: string) =>
    text.split(',').map((part) => {
      const n = Number(part.replace(/_/g, ''));
      if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`"${part}" is not a positive whole number`);
      return n;
    });
  const stores = (text: string) =>
    text.split(',').map((part) => {
      if (!(STORE_KINDS as readonly string[]).includes(part)) throw new InvalidArgumentError(`"${part}" is not one of ${STORE_KINDS.join(', ')}`);
      return part as StoreKind;
    });
  const program = new Command('bench:sync')
    .option('--people <n,...>', 'people in the generated dataset, one run per size', sizes, [10_000, 100_000])
    .option('--stores <kind,...>', `link stores to sync into (${STORE_KINDS.join(', ')})`, stores, [...STORE_KINDS])
    .option('--database-url <url>', 'PostgreSQL to sync into, in a fresh schema', process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test')
    .option('--seed <n>', 'dataset seed', (text) => Number(text), 42)
    .parse(argv, { from: 'user' });
  return program.opts<Options>();
}

/** A fresh, empty link table of the kind asked for, and how to dispose of it after the run. */
async function freshStore(kind: StoreKind, options: Options): Promise<{ store: LinkStore; where: string; dispose(): Promise<void> }> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'rosetta-bench-'));
    const path = join(dir, 'links.sqlite');
    return { store: new SqliteLinkStore(path), where: path, dispose: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const schema = `rosetta_bench_${process.pid}_${Date.now()}`;
  return {
    store: await PostgresLinkStore.open({ url: options.databaseUrl, schema }),
    where: `schema ${schema}`,
    async dispose() {
      const client = new Client({ connectionString: options.databaseUrl });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * Statements sent to PostgreSQL (each a round trip: pg sends the next only once the last is answered), counted at
 * `Client.prototype.query`, which pool queries go through too.
 */
let statements = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  statements += 1;
  return (query as (...a: unknown[]) => unknown).apply(this, args);
} as typeof query;

interface Measured {
  people: number;
  store: StoreKind;
  summary: SyncSummary;
  /** CPU seconds of this process (the hub and the simulated sources; PostgreSQL's own server CPU is not in it). */
  cpuSeconds: number;
  pages: number;
  /** PostgreSQL statements per page of records (0 for SQLite). */
  roundTripsPerPage: number;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const rows: Measured[] = [];
  for (const people of options.people) {
    const dataset = generateDataset({ people, seed: options.seed });
    const systems = await startSimulatedSystems({ dataset, latencyMs: 0 });
    try {
      for (const kind of options.stores) {
        const config = demoConfig(systems.urls, { PORT: '0' });
        const { store, where, dispose } = await freshStore(kind, options);
        try {
          const services = createServices(config, store);
          const cpuBefore = process.cpuUsage();
          const statementsBefore = statements;
          const summary = await syncLinks({ registry: services.registry, links: services.links, store });
          const cpu = process.cpuUsage(cpuBefore);
          await services.registry.close();
          const pages = summary.entities.reduce((n, e) => n + e.pages, 0);
          const row: Measured = { people, store: kind, summary, cpuSeconds: (cpu.user + cpu.system) / 1e6, pages, roundTripsPerPage: kind === 'postgres' ? (statements - statementsBefore) / pages : 0 };
          rows.push(row);
          console.log(
            `${String(people).padStart(7)} people  ${kind.padEnd(8)}  ${(summary.ms / 1000).toFixed(1).padStart(6)} s  ${row.cpuSeconds.toFixed(1)} CPU-s  ${summary.records} records  ${summary.customers} customers  ${pages} pages  (${where})`,
          );
        } finally {
          await store.close();
          await dispose();
        }
      }
    } finally {
      await systems.close();
    }
  }
  console.log('\npeople   store     seconds  CPU-s  records  customers  records/s  round trips/page');
  for (const { people, store, summary, cpuSeconds, roundTripsPerPage } of rows) {
    console.log(
      `${String(people).padEnd(8)} ${store.padEnd(9)} ${(summary.ms / 1000).toFixed(1).padStart(7)}  ${cpuSeconds.toFixed(1).padStart(5)}  ${String(summary.records).padStart(7)}  ${String(summary.customers).padStart(9)}  ${String(Math.round(summary.records / (summary.ms / 1000))).padStart(9)}  ${store === 'postgres' ? roundTripsPerPage.toFixed(1).padStart(16) : '               —'}`,
    );
  }
  // Peak RSS of the whole run (every size and store), as the kernel counts it.
  console.log(`\npeak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
