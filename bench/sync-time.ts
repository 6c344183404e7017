// `npm run bench:sync`: how long a full sync of the simulated sources takes into each link store, at several sizes.
//
// Per size, one dataset is generated and served by the five simulated systems with no latency (so the figure is
// the hub's and the store's cost, not a network's), in a child process of their own (bench/sources-process.ts), as
// production's sources are remote: the sync reads them over HTTP on loopback, and this process's CPU time and peak
// RSS are the sync's alone, the sources' reported beside them. Each store gets a fresh, empty link table and one full
// sync. SQLite writes a file in a temporary directory; PostgreSQL a fresh schema of DATABASE_URL, dropped afterwards.
//
// This process's V8 flags come from NODE_OPTIONS (e.g. `--max-semi-space-size=64`, or `--max-old-space-size` for a
// million people); the sources' process does not inherit them and gets a heap sized for its dataset (`--sources-heap-mb`).
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { Command, InvalidArgumentError } from 'commander';
import pg, { Client } from 'pg';
import { demoConfig } from '../src/cli/demo-config.js';
import { PostgresLinkStore } from '../src/identity/postgres-store.js';
import { SqliteLinkStore } from '../src/identity/sqlite-store.js';
import type { LinkStore } from '../src/identity/store.js';
import { syncLinks, type SyncSummary } from '../src/identity/sync.js';
import { createServices } from '../src/server/hub.js';
import { defaultSourcesHeapMb, startSourcesProcess, type SourcesProcess } from './sources-process.js';

const STORE_KINDS = ['sqlite', 'postgres'] as const;
/** Issue 18's target for a first sync, judged on each store when the run includes that size (printed, not asserted). */
const TARGET = { people: 100_000, seconds: 60 };
type StoreKind = (typeof STORE_KINDS)[number];

interface Options {
  people: number[];
  stores: StoreKind[];
  databaseUrl: string;
  seed: number;
  /** The sources' process's old-space limit (MiB); by default sized for the dataset. */
  sourcesHeapMb?: number;
  /** Seconds between progress lines during a sync (0: none). */
  progress: number;
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
    .option('--sources-heap-mb <n>', "the sources' process's --max-old-space-size (default: 1 GiB + 10 KB a person)", (text) => Number(text))
    .option('--progress <seconds>', 'print records/s and both processes\' RSS every so many seconds during a sync (0: off)', (text) => Number(text), 30)
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
  /** CPU seconds of this process during the sync: the hub's side alone (PostgreSQL's server CPU is not in it). */
  cpuSeconds: number;
  /** CPU seconds the sources' process spent serving the sync's requests. */
  sourcesCpuSeconds: number;
  /** This process's peak RSS so far (MB): the run's every size and store before this one included. */
  peakRssMb: number;
  /** The sources' process's peak RSS (MB), its dataset included. */
  sourcesPeakRssMb: number;
  pages: number;
  /** PostgreSQL statements per page of records (0 for SQLite). */
  roundTripsPerPage: number;
}

const mb = (kb: number) => Math.round(kb / 1024);
const load = () => loadavg().map((n) => n.toFixed(1)).join(' ');

/** The sources' process, killed however this process ends: an exception, a signal, or a normal exit. */
let sources: SourcesProcess | null = null;
process.once('exit', () => sources?.kill());
/**
 * A first SIGINT/SIGTERM stops the sync at its next page (as a crash would), so the store is closed and the
 * PostgreSQL schema dropped; a second one exits at once.
 */
let stopRequested: NodeJS.Signals | null = null;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopRequested) {
      sources?.kill();
      process.exit(130);
    }
    stopRequested = signal;
    console.error(`${signal}: stopping the sync at its next page (again to exit at once)`);
  });
}

interface ProgressReporter {
  onPage(progress: { source: string; entity: string; records: number }): void;
  stop(): Promise<void>;
}

/**
 * Prints records/s and both processes' memory every `seconds` while a sync runs, so a run stopped early still says
 * how far it got. Its page hook is also where a stop asked for by a signal ends the sync.
 */
function progressReporter(seconds: number, sourcesProcess: SourcesProcess): ProgressReporter {
  const started = performance.now();
  const perEntity = new Map<string, number>();
  const records = () => [...perEntity.values()].reduce((a, b) => a + b, 0);
  let inFlight: Promise<void> = Promise.resolve();
  const report = async () => {
    const elapsed = (performance.now() - started) / 1000;
    const { user, system } = process.cpuUsage();
    const usage = await sourcesProcess.usage();
    console.log(
      `  … ${elapsed.toFixed(0)} s  ${records()} records  ${Math.round(records() / elapsed)} records/s  sync RSS ${mb(process.memoryUsage.rss() / 1024)} MB (peak ${mb(process.resourceUsage().maxRSS)})  heap ${mb(process.memoryUsage().heapUsed / 1024)} MB  sync process CPU ${((user + system) / 1e6).toFixed(0)} s  sources CPU ${(usage.cpuMicros / 1e6).toFixed(0)} s, peak RSS ${mb(usage.maxRssKb)} MB  load ${load()}`,
    );
  };
  const timer =
    seconds > 0
      ? setInterval(() => {
          inFlight = report().catch((error: unknown) => console.error("progress: the sources' process did not answer", error));
        }, seconds * 1000)
      : null;
  return {
    onPage({ source, entity, records: n }) {
      perEntity.set(`${source}.${entity}`, n);
      if (stopRequested) throw new Error(`sync stopped by ${stopRequested} after ${records()} records in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    },
    async stop() {
      if (timer) clearInterval(timer);
      // A usage question still out would take the answer meant for the caller's next one.
      await inFlight;
    },
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  console.log(`sync process: pid ${process.pid}, V8 heap limit ${Math.round(getHeapStatistics().heap_size_limit / 2 ** 20)} MB, NODE_OPTIONS ${JSON.stringify(process.env.NODE_OPTIONS ?? '')}`);
  const rows: Measured[] = [];
  for (const people of options.people) {
    const heapMb = options.sourcesHeapMb ?? defaultSourcesHeapMb(people);
    const generating = performance.now();
    const running = await startSourcesProcess({ people, seed: options.seed, heapMb });
    sources = running;
    console.log(`sources process: pid ${running.pid}, ${people} people generated in ${(running.generateMs / 1000).toFixed(1)} s, serving in ${((performance.now() - generating) / 1000).toFixed(1)} s, --max-old-space-size=${heapMb}`);
    try {
      for (const kind of options.stores) {
        const config = demoConfig(running.urls, { PORT: '0' });
        const { store, where, dispose } = await freshStore(kind, options);
        try {
          const services = createServices(config, store);
          const sourcesBefore = await running.usage();
          const cpuBefore = process.cpuUsage();
          const statementsBefore = statements;
          const progress = progressReporter(options.progress, running);
          let summary: SyncSummary;
          try {
            summary = await syncLinks({ registry: services.registry, links: services.links, store }, { onPage: progress.onPage });
          } finally {
            await progress.stop();
          }
          const cpu = process.cpuUsage(cpuBefore);
          const sourcesAfter = await running.usage();
          await services.registry.close();
          const pages = summary.entities.reduce((n, e) => n + e.pages, 0);
          const row: Measured = {
            people,
            store: kind,
            summary,
            cpuSeconds: (cpu.user + cpu.system) / 1e6,
            sourcesCpuSeconds: (sourcesAfter.cpuMicros - sourcesBefore.cpuMicros) / 1e6,
            peakRssMb: mb(process.resourceUsage().maxRSS),
            sourcesPeakRssMb: mb(sourcesAfter.maxRssKb),
            pages,
            roundTripsPerPage: kind === 'postgres' ? (statements - statementsBefore) / pages : 0,
          };
          rows.push(row);
          console.log(
            `${String(people).padStart(7)} people  ${kind.padEnd(8)}  ${(summary.ms / 1000).toFixed(1).padStart(6)} s  sync ${row.cpuSeconds.toFixed(1)} CPU-s, peak RSS ${row.peakRssMb} MB  sources ${row.sourcesCpuSeconds.toFixed(1)} CPU-s, peak RSS ${row.sourcesPeakRssMb} MB  ${summary.records} records  ${summary.customers} customers  ${pages} pages  load ${load()}  (${where})`,
          );
        } finally {
          await store.close();
          await dispose();
        }
      }
    } finally {
      await running.stop();
      sources = null;
    }
  }
  console.log('\npeople   store     seconds  sync CPU-s  sync peak RSS  sources CPU-s  sources peak RSS  records  customers  records/s  round trips/page');
  for (const r of rows) {
    console.log(
      `${String(r.people).padEnd(8)} ${r.store.padEnd(9)} ${(r.summary.ms / 1000).toFixed(1).padStart(7)}  ${r.cpuSeconds.toFixed(1).padStart(10)}  ${`${r.peakRssMb} MB`.padStart(13)}  ${r.sourcesCpuSeconds.toFixed(1).padStart(13)}  ${`${r.sourcesPeakRssMb} MB`.padStart(16)}  ${String(r.summary.records).padStart(7)}  ${String(r.summary.customers).padStart(9)}  ${String(Math.round(r.summary.records / (r.summary.ms / 1000))).padStart(9)}  ${r.store === 'postgres' ? r.roundTripsPerPage.toFixed(1).padStart(16) : '               —'}`,
    );
  }
  // This process's peak RSS is the run's (every size and store so far), as the kernel counts it; run one size and
  // store per invocation for a figure of that sync alone.
  for (const r of rows.filter((row) => row.people === TARGET.people)) {
    const seconds = r.summary.ms / 1000;
    console.log(`${seconds < TARGET.seconds ? 'met' : 'unmet'}  ${TARGET.people} people into ${r.store} under ${TARGET.seconds} s: ${seconds.toFixed(1)} s`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
