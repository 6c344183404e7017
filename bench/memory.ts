// `npm run bench:memory`: does the hub's memory stay flat under a long mixed load?
//
// Starts the simulated sources (this process), syncs the link table, starts the hub in its own process, then drives
// the benchmark's three queries interleaved for `--duration` seconds (default 60) in `--samples` slices, reading the
// hub's RSS and its live heap after a full GC at the end of each slice. A leak shows as a live heap that keeps
// climbing slice after slice; RSS may rise once while V8 and the allocator size themselves to the load, then should
// plateau. Prints the series and the growth over the second half of the run, where warm-up effects are over.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { positiveInteger } from '../src/cli/options.js';
import { demoConfig } from '../src/cli/demo-config.js';
import { startSimulatedSystems, SYSTEM_NAMES } from '../src/demo/systems.js';
import { SqliteLinkStore } from '../src/identity/sqlite-store.js';
import { syncLinks } from '../src/identity/sync.js';
import { createServices } from '../src/server/hub.js';
import { drive } from './load.js';
import { BENCH_QUERIES } from './queries.js';
import { startServerProcess } from './servers.js';
import { buildWorkloads } from './workload.js';

interface Sample {
  atSeconds: number;
  responses: number;
  rssMb: number;
  liveHeapMb: number;
}

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

async function main(): Promise<void> {
  const options = new Command('bench:memory')
    .option('--duration <s>', 'seconds of load in all', positiveInteger, 60)
    .option('--samples <n>', 'slices the load is cut into, with a memory reading after each', positiveInteger, 12)
    .option('--latency <ms>', 'latency of every simulated source', (raw) => Number(raw), 20)
    .option('--concurrency <n>', 'load generator connections', positiveInteger, 50)
    .option('--people <n>', 'seeded people', positiveInteger, 10_000)
    .parse(process.argv)
    .opts<{ duration: number; samples: number; latency: number; concurrency: number; people: number }>();

  const workDir = mkdtempSync(join(tmpdir(), 'rosetta-memory-'));
  const systems = await startSimulatedSystems({ people: options.people, seed: 42, latencyMs: 0 });
  try {
    const linkDb = join(workDir, 'links.sqlite');
    const config = demoConfig(systems.urls, { PORT: '0', LINK_DB: linkDb });
    const store = new SqliteLinkStore(linkDb);
    const services = createServices(config, store);
    await syncLinks({ registry: services.registry, links: services.links, store });
    await services.registry.close();
    const workloads = await buildWorkloads(systems.dataset, store, { lookups: 2_000 });
    await store.close();
    // Interleaved: one page request for every ten lookups, the mix a support tool and a list view make together.
    const bodies: string[] = [];
    const [context, page, field] = BENCH_QUERIES.map((query) => workloads[query.name].map((item) => JSON.stringify({ query: query.document, variables: item.variables })));
    for (let i = 0; i < context!.length; i++) {
      bodies.push(context![i]!, field![i % field!.length]!);
      if (i % 5 === 0) bodies.push(page![(i / 5) % page!.length]!);
    }

    for (const name of SYSTEM_NAMES) systems.systems[name].latencyMs = options.latency;
    const hub = await startServerProcess('rosetta', { config });
    try {
      const start = await hub.usage({ collectGarbage: true });
      const samples: Sample[] = [{ atSeconds: 0, responses: 0, rssMb: mb(start.rssBytes), liveHeapMb: mb(start.heapUsedBytes) }];
      const slice = options.duration / options.samples;
      let offset = 0;
      let responses = 0;
      console.log(`hub memory under a mixed load: ${options.duration} s at concurrency ${options.concurrency}, L = ${options.latency} ms, ${options.people} people`);
      console.log(`${'s'.padStart(5)}  ${'responses'.padStart(9)}  ${'RSS MB'.padStart(7)}  ${'live heap MB'.padStart(12)}`);
      const print = (s: Sample) => console.log(`${String(s.atSeconds).padStart(5)}  ${String(s.responses).padStart(9)}  ${String(s.rssMb).padStart(7)}  ${String(s.liveHeapMb).padStart(12)}`);
      print(samples[0]!);
      for (let i = 1; i <= options.samples; i++) {
        const load = await drive({ url: hub.url, bodies, connections: options.concurrency, durationSeconds: slice, maxRequests: 200_000, offset });
        offset += load.rotated;
        responses += load.responses;
        const usage = await hub.usage({ collectGarbage: true });
        const sample = { atSeconds: Math.round(i * slice), responses, rssMb: mb(usage.rssBytes), liveHeapMb: mb(usage.heapUsedBytes) };
        samples.push(sample);
        print(sample);
      }
      const mid = samples[Math.floor(samples.length / 2)]!;
      const end = samples.at(-1)!;
      console.log(`\nwhole run: RSS ${samples[0]!.rssMb} → ${end.rssMb} MB, live heap ${samples[0]!.liveHeapMb} → ${end.liveHeapMb} MB`);
      console.log(`second half (${mid.atSeconds} s → ${end.atSeconds} s, ${end.responses - mid.responses} responses): RSS ${signed(end.rssMb - mid.rssMb)} MB, live heap ${signed(end.liveHeapMb - mid.liveHeapMb)} MB`);
    } finally {
      await hub.stop();
    }
  } finally {
    await systems.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

const signed = (n: number): string => `${n >= 0 ? '+' : ''}${Math.round(n * 10) / 10}`;

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
