// `npm run load:faults`: the demo query mix at concurrency 50 while one source is down and another fails 30% of requests.
//
// Bounded: a fixed number of requests and a time limit, loopback only. The five simulated systems and the load
// generator run in this process; the hub runs alone in a child process (bench/server-process.ts) so its memory is
// its own. Prints requests served, non-2xx responses (must be 0: partial results are 200), p50/p99 latency, the
// hub's memory before and after, and what the hub reports of each source (Query.sources) at the end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { positiveInteger } from '../src/cli/options.js';
import { demoConfig } from '../src/cli/demo-config.js';
import { startSimulatedSystems, SYSTEM_NAMES, type SystemName } from '../src/demo/systems.js';
import { SqliteLinkStore } from '../src/identity/sqlite-store.js';
import { syncLinks } from '../src/identity/sync.js';
import { createServices } from '../src/server/hub.js';
import { drive } from './load.js';
import { BENCH_QUERIES } from './queries.js';
import type { ProcessUsage } from './server-process.js';
import { startServerProcess } from './servers.js';
import { buildWorkloads } from './workload.js';

/** Distinct customers the lookup queries rotate through. */
const LOOKUPS = 2_000;

interface LoadOptions {
  requests: number;
  timeLimit: number;
  concurrency: number;
  people: number;
  latency: number;
  down: SystemName;
  flaky: SystemName;
  errorRate: number;
  healthy: boolean;
}

function rate(raw: string): number {
  const value = Number(raw);
  if (!(value >= 0 && value <= 1)) throw new InvalidArgumentError('expected a number from 0 to 1');
  return value;
}

function parseOptions(argv: string[]): LoadOptions {
  const program = new Command('load:faults')
    .description('Load the hub with the demo query mix while one source is down and another fails a share of its requests.')
    .option('--requests <n>', 'requests to send in all (the run stops at whichever bound comes first)', positiveInteger, 6_000)
    .option('--time-limit <s>', 'seconds of load at most', positiveInteger, 60)
    .option('--concurrency <n>', 'concurrent client connections', positiveInteger, 50)
    .option('--people <n>', 'people the simulated sources are seeded with', positiveInteger, 10_000)
    .option('--latency <ms>', 'latency of every simulated source', positiveInteger, 20)
    .addOption(new Option('--down <source>', 'the source that is down (its port closed)').choices(SYSTEM_NAMES).default('shop'))
    .addOption(new Option('--flaky <source>', 'the source answering a share of requests with 503').choices(SYSTEM_NAMES).default('support'))
    .option('--error-rate <r>', 'share of the flaky source\'s requests that fail', rate, 0.3)
    .option('--healthy', 'inject no fault: the same run with every source up, for comparison', false);
  program.parse(argv);
  const options = program.opts<LoadOptions>();
  if (options.down === options.flaky) program.error('--down and --flaky must name different sources');
  return options;
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const memory = (usage: ProcessUsage): string => `rss ${mb(usage.rssBytes)}, heap used ${mb(usage.heapUsedBytes)}`;

interface SourceStatus {
  name: string;
  circuit: string;
  requests: number;
  errors: number;
  recentErrorRate: number;
  inFlight: number;
  queued: number;
}

async function sourceStatus(url: string): Promise<SourceStatus[]> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ sources { name circuit requests errors recentErrorRate inFlight queued } }' }),
  });
  return ((await response.json()) as { data: { sources: SourceStatus[] } }).data.sources;
}

/**
 * The load generator stops with requests still in the hub; their upstream calls end within the query deadline.
 * Waiting for them makes the memory figure one at rest, and keeps the shutdown from cutting calls off mid-way.
 */
async function waitUntilIdle(url: string, maxMs = 15_000): Promise<SourceStatus[]> {
  const until = Date.now() + maxMs;
  for (;;) {
    const sources = await sourceStatus(url);
    if (sources.every((s) => s.inFlight === 0 && s.queued === 0) || Date.now() > until) return sources;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv);
  const workDir = mkdtempSync(join(tmpdir(), 'rosetta-load-faults-'));
  const systems = await startSimulatedSystems({ people: options.people, seed: 42, latencyMs: options.latency });
  try {
    const linkDb = join(workDir, 'links.sqlite');
    const config = demoConfig(systems.urls, { PORT: '0', LINK_DB: linkDb });
    const store = new SqliteLinkStore(linkDb);
    const services = createServices(config, store);
    const sync = await syncLinks({ registry: services.registry, links: services.links, store });
    await services.registry.close();
    const workloads = await buildWorkloads(systems.dataset, store, { lookups: LOOKUPS });
    await store.close();
    console.log(`${options.people} people, ${sync.customers} customers linked; sources at ${options.latency} ms latency`);

    // The demo mix: the three benchmark queries in turn, each request about different customers.
    const bodies: string[] = [];
    const longest = Math.max(...BENCH_QUERIES.map((q) => workloads[q.name].length));
    for (let i = 0; i < longest; i++) {
      for (const query of BENCH_QUERIES) {
        const items = workloads[query.name];
        bodies.push(JSON.stringify({ query: query.document, variables: items[i % items.length]!.variables }));
      }
    }

    // The hub logs every operation at info; warnings (a circuit opening) are what this run is about.
    process.env.LOG_LEVEL ??= 'warn';
    const hub = await startServerProcess('rosetta', { config });
    try {
      const before = await hub.usage({ collectGarbage: true });
      if (options.healthy) {
        console.log('faults: none (--healthy)');
      } else {
        await systems.systems[options.down].close();
        systems.systems[options.flaky].faults.set([{ kind: 'status', status: 503, rate: options.errorRate, seed: 1 }]);
        console.log(`faults: ${options.down} down (port closed), ${options.flaky} answering ${Math.round(options.errorRate * 100)}% of requests with 503`);
      }
      console.log(`load: up to ${options.requests} requests or ${options.timeLimit} s, ${options.concurrency} connections, mix of ${BENCH_QUERIES.map((q) => q.name).join(' / ')}\n`);

      const flakyBefore = systems.systems[options.flaky].stats().total;
      const result = await drive({ url: hub.url, bodies, connections: options.concurrency, durationSeconds: options.timeLimit, maxRequests: options.requests });
      const sources = await waitUntilIdle(hub.url);
      const flakyRequests = systems.systems[options.flaky].stats().total - flakyBefore;
      const after = await hub.usage({ collectGarbage: true });

      console.log(`requests served      ${result.responses} in ${result.durationSeconds} s (${(result.responses / result.durationSeconds).toFixed(1)}/s)`);
      console.log(`non-2xx responses    ${result.non2xx}`);
      console.log(`connection errors    ${result.errors}`);
      console.log(`with partial errors  ${result.graphqlErrors} (200s carrying source errors beside the healthy sources' data)`);
      console.log(`latency              p50 ${result.latencyMs?.p50 ?? '-'} ms, p99 ${result.latencyMs?.p99 ?? '-'} ms, max ${result.latencyMs?.max ?? '-'} ms`);
      console.log(`hub memory before    ${memory(before)}`);
      console.log(`hub memory after     ${memory(after)} (both after a full GC, the after once the hub is idle)`);
      console.log(`${options.flaky} received       ${flakyRequests} requests (retries included)`);
      console.log('\nsource       circuit    requests   errors   recent error rate');
      for (const s of sources) console.log(`${s.name.padEnd(12)} ${s.circuit.padEnd(10)} ${String(s.requests).padStart(8)} ${String(s.errors).padStart(8)}   ${(s.recentErrorRate * 100).toFixed(1)}%`);

      if (result.non2xx > 0 || result.errors > 0) {
        console.error(`\nFAIL: ${result.non2xx} non-2xx responses and ${result.errors} connection errors; a failing source must never fail the request`);
        process.exitCode = 1;
      }
    } finally {
      await hub.stop();
    }
  } finally {
    await systems.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
