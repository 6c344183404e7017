// `npm run bench`: the Rosetta hub against a minimal reference hub, a naive baseline and the ideal, on the simulated
// sources, under load.
//
// One run: the five simulated systems (this process), the link table synced from them, the servers (each in its own
// child process, see server-process.ts), then per query: a counted pass (exact upstream requests per query against
// the ideal), a closed-loop autocannon phase per server (throughput, CPU per query) and an open-loop phase for the hub
// and the reference at half the hub's closed-loop maximum (latency from each request's due time). Prints one table
// per query with its targets and writes JSON.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { nonNegativeInteger, positiveInteger } from '../src/cli/options.js';
import { demoConfig } from '../src/cli/demo-config.js';
import type { HubConfig, RecordCacheConfig } from '../src/config/schema.js';
import { startSimulatedSystems, SYSTEM_NAMES, type SimulatedSystems } from '../src/demo/systems.js';
import { SqliteLinkStore } from '../src/identity/sqlite-store.js';
import { syncLinks } from '../src/identity/sync.js';
import { createServices } from '../src/server/hub.js';
import type { SourceRegistry } from '../src/sources/registry.js';
import { DEPENDENCY_DEPTH, idealOfSent, idealOperations, idealRequests, openLoopCapFloorMs, sourceCapFloorMs, sourceUtilisation, type OperationCounts } from './ideal.js';
import { chooseHubBuild, type HubBuild } from './hub-build.js';
import { drive, type LoadResult } from './load.js';
import { driveOpenLoop, type OpenLoopResult } from './open-loop.js';
import { PHASES, summariseProfile, type ProfileSummary } from './profile-summary.js';
import { BENCH_QUERIES, type BenchQuery, type QueryName } from './queries.js';
import { countRecipe, RECIPE_CASES, type RecipeCount } from './recipes.js';
import { buildPeerWorkloads, PEER_SCENARIOS, type PeerScenarioName, type PeerWorkItem } from './peer-queries.js';
import type { ProcessUsage, ServerKind } from './server-process.js';
import { startServerProcess, type ServerHandle } from './servers.js';
import { buildWorkloads, type WorkItem } from './workload.js';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
/** Present once `npm run bench:peer-install` has installed GraphQL Mesh into bench/peer/. */
const PEER_INSTALLED = existsSync(fileURLToPath(new URL('./peer/node_modules/@graphql-hive/gateway/package.json', import.meta.url)));
const SERVER_KINDS: readonly ServerKind[] = ['rosetta', 'reference', 'cached', 'baseline'];
/** The servers whose latency the open loop measures, at the hub's rate: the hub, and the reference beside it. */
const OPEN_LOOP_SERVERS: readonly ServerKind[] = ['rosetta', 'reference'];
/** The servers `--cpu-prof` profiles, to compare the hub's CPU with the reference's phase by phase. */
const PROFILED_SERVERS: readonly ServerKind[] = ['rosetta', 'reference'];
/** The record cache of the `cached` variant: opt-in per entity in a deployment, on for every entity here. */
const CACHED_RECORDS: RecordCacheConfig = { ttlMs: 30_000, staleWhileRevalidateMs: 60_000, maxEntries: 50_000 };
/** Distinct customers each lookup query rotates through, so no single record is hot. */
const LOOKUPS = 2_000;
/** Requests per query in the counted pass: sequential, so each one's upstream calls are its own. */
const COUNTED_SAMPLES = 20;
/** The smoke run (`--quick`) counts fewer, and drives only the hub and the reference unless told otherwise. */
const QUICK_COUNTED_SAMPLES = 5;
const QUICK_SERVERS: readonly ServerKind[] = ['rosetta', 'reference'];

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

interface BenchOptions {
  latency: number;
  concurrency: number;
  duration: number;
  warmup: number;
  people: number;
  seed: number;
  maxRequests: number;
  queries: QueryName[];
  servers: ServerKind[];
  cpuProf: boolean;
  workers: number;
  quick: boolean;
  /** Seconds of each open-loop phase (0: none). */
  openLoopDuration: number;
  /** The open loop's rate as a share of the hub's closed-loop throughput for the query. */
  openLoopShare: number;
  /** Run the peer (GraphQL Mesh) scenarios, when it is installed. */
  peer: boolean;
  /** Only the peer scenarios: none of the three bench queries. */
  peerOnly: boolean;
  /** Which peer scenarios to run. */
  peerScenarios: PeerScenarioName[];
  /** `--max-semi-space-size` (MiB) for every server process alike; Node's default when absent. */
  semiSpaceMb?: number;
  /** Count the recipe sources' upstream requests (HubSpot, Stripe) against the ideal. */
  recipes: boolean;
  /** Sequential requests per query in the counted pass. */
  countedSamples: number;
  /** The hub's code: the production build, the sources, or the build when it is current (hub-build.ts). */
  hubBuild: HubBuild | 'auto';
  out: string;
}

function listOf<T extends string>(allowed: readonly T[]) {
  return (raw: string): T[] => {
    const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = items.filter((item) => !(allowed as readonly string[]).includes(item));
    if (bad.length > 0 || items.length === 0) throw new InvalidArgumentError(`expected a comma-separated list of ${allowed.join(', ')}`);
    return items as T[];
  };
}

function shareOf(raw: string): number {
  const share = Number(raw);
  if (!Number.isFinite(share) || share <= 0 || share > 1) throw new InvalidArgumentError('expected a share between 0 and 1, e.g. 0.5');
  return share;
}

const env = (name: string): string | undefined => (process.env[name] === '' ? undefined : process.env[name]);

function parseOptions(argv: string[]): BenchOptions {
  const program = new Command('bench')
    .description('Benchmark the Rosetta hub against a naive Apollo-over-REST baseline and the ideal, on the simulated sources.')
    .option('--latency <ms>', 'latency of every simulated source (env BENCH_LATENCY_MS)', nonNegativeInteger, Number(env('BENCH_LATENCY_MS') ?? 20))
    .option('--concurrency <n>', 'concurrent connections of the load generator (env BENCH_CONCURRENCY)', positiveInteger, Number(env('BENCH_CONCURRENCY') ?? 50))
    .option('--duration <s>', 'seconds of measured load per query and server (env BENCH_DURATION_S)', positiveInteger)
    .option('--warmup <s>', 'seconds of unmeasured load before each phase', nonNegativeInteger)
    .option('--people <n>', 'people the simulated systems are seeded with (env BENCH_PEOPLE)', positiveInteger)
    .option('--seed <n>', 'seed of the generated data', nonNegativeInteger, 42)
    .option('--max-requests <n>', 'cap on requests per phase, whatever the duration', positiveInteger, 200_000)
    .option('--queries <list>', 'queries to run: context,page,field', listOf<QueryName>(['context', 'page', 'field']), ['context', 'page', 'field'] as QueryName[])
    .option('--servers <list>', `servers to drive: ${SERVER_KINDS.join(',')} (default: all; --quick: ${QUICK_SERVERS.join(',')})`, listOf<ServerKind>(SERVER_KINDS))
    .option('--open-loop-duration <s>', 'seconds of each open-loop phase (0: none; default: --duration)', nonNegativeInteger)
    .option('--hub-build <which>', 'the hub from dist (the production build), src, or auto: dist when it is current', (raw: string) => {
      if (raw !== 'dist' && raw !== 'src' && raw !== 'auto') throw new InvalidArgumentError('expected dist, src or auto');
      return raw;
    }, 'auto')
    .option('--no-recipes', 'skip the recipe sources (HubSpot, Stripe) counted pass')
    .option('--no-peer', 'skip the peer (GraphQL Mesh) scenarios even when bench/peer/ is installed')
    .option('--peer-scenarios <list>', 'peer scenarios to run: peer-profile,peer-orders', listOf<PeerScenarioName>(PEER_SCENARIOS.map((s) => s.name)), PEER_SCENARIOS.map((s) => s.name))
    .option('--semi-space-mb <MiB>', "V8's young generation (--max-semi-space-size) for every server process alike (default: Node's)", positiveInteger)
    .option('--peer-only', 'run only the peer (GraphQL Mesh) scenarios, not the three bench queries', false)
    .option('--open-loop-share <x>', "the open loop's rate as a share of the hub's closed-loop maximum", shareOf, 0.5)
    .option('--cpu-prof', "profile the hub's and the reference's measured phases (V8 sampling) and compare them by phase", false)
    .option('--workers <n>', 'hub worker processes (server.workers; 1 = the hub in one process)', positiveInteger, 1)
    .option('--quick', 'a short smoke run: 3 s phases, 2 s open loop, 1 s warm-up, 2,000 people', false)
    .option('--out <file>', 'where to write the JSON figures (default bench/results/latest.json; --quick: quick.json, so a smoke run never replaces a full one)')
    .parse(argv);
  const raw = program.opts<Omit<BenchOptions, 'duration' | 'warmup' | 'people' | 'openLoopDuration' | 'servers' | 'countedSamples'> & { duration?: number; warmup?: number; people?: number; openLoopDuration?: number; servers?: ServerKind[] }>();
  const quick = raw.quick;
  const duration = raw.duration ?? Number(env('BENCH_DURATION_S') ?? (quick ? 3 : 20));
  return {
    ...raw,
    queries: raw.peerOnly ? [] : raw.queries,
    out: raw.out ?? join(RESULTS_DIR, quick ? 'quick.json' : 'latest.json'),
    duration,
    openLoopDuration: raw.openLoopDuration ?? (quick ? 2 : duration),
    servers: raw.servers ?? [...(quick ? QUICK_SERVERS : SERVER_KINDS)],
    countedSamples: quick ? QUICK_COUNTED_SAMPLES : COUNTED_SAMPLES,
    warmup: raw.warmup ?? (quick ? 1 : 3),
    people: raw.people ?? Number(env('BENCH_PEOPLE') ?? (quick ? 2_000 : 10_000)),
  };
}

// ---------------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------------

interface CountedPass {
  samples: number;
  /** Upstream requests per query, measured with the systems' own counters. */
  upstreamPerQuery: number;
  idealPerQuery: number;
  /** Per route of each system, summed over the samples and divided by them. */
  routesPerQuery: Record<string, number>;
  idealOperationsPerQuery: OperationCounts;
}

interface Phase {
  query: QueryName;
  server: ServerKind;
  load: LoadResult;
  counted: CountedPass;
  /** Upstream requests the sources saw during the load phase, per response. */
  upstreamPerResponseUnderLoad: number;
  /**
   * The mean ideal of the very requests the measured phase sent: the rotation covers far more customers than the
   * counted pass's sample. (`upstreamPerResponseUnderLoad` also holds the calls of the requests still in flight when
   * the phase ended, up to `concurrency` of them, so for a long query with few responses it reads a little high.)
   */
  idealPerRequestUnderLoad: number;
  /** Server process CPU (user + system) per response. */
  cpuMsPerQuery: number;
  /** The server process's CPU busy share of one core during the phase. */
  serverCpuPercent: number;
  /** This process (simulated sources + load generator): share of one core, to see whether the driver was the limit. */
  driverCpuPercent: number;
  /** Server + driver CPU per response: what one query costs this machine as a whole, sources and load generator included. */
  machineCpuMsPerQuery: number;
  /**
   * The p50 this machine could reach at this concurrency if nothing but CPU limited it: a closed loop of c connections
   * completes at most cores ÷ machineCpuMsPerQuery queries per ms, so each waits at least c × machineCpuMsPerQuery ÷ cores.
   */
  cpuFloorMs: number;
  rssAfterMb: number;
}

/** A constant-rate phase: latency counted from each request's due time, at a rate set by the hub's closed-loop maximum. */
interface OpenLoopPhase {
  query: QueryName;
  server: ServerKind;
  load: OpenLoopResult;
  /** The hub's closed-loop throughput for this query, of which the rate is `openLoopShare`. */
  closedLoopThroughput: number;
  cpuMsPerQuery: number;
  serverCpuPercent: number;
  /** L × dependency depth. */
  idealLatencyMs: number;
  /** The least one query alone waits for the sources' caps (ideal.ts, openLoopCapFloorMs). */
  sourceCapFloorMs: number;
  /** max(ideal, source-cap floor): what the open loop's latency is judged against. */
  reachableMs: number;
  /** How busy this rate keeps the busiest capped source (1 = saturated). */
  sourceUtilisation: number;
  p50VsReachable: number | null;
  p99VsReachable: number | null;
}

/** Both CPU figures of a phase: per query for the whole machine, and the latency floor that cost sets at concurrency c. */
function machineCost(cpuMicros: number, responses: number, concurrency: number): Pick<Phase, 'machineCpuMsPerQuery' | 'cpuFloorMs'> {
  if (responses === 0) return { machineCpuMsPerQuery: 0, cpuFloorMs: 0 };
  const perQueryMs = cpuMicros / 1000 / responses;
  return { machineCpuMsPerQuery: Math.round(perQueryMs * 1000) / 1000, cpuFloorMs: Math.round(((concurrency * perQueryMs) / cpus().length) * 10) / 10 };
}

/** The config with the record cache on for every entity that is read at query time. */
function withRecordCache(config: HubConfig, cache: RecordCacheConfig): HubConfig {
  const sources = Object.fromEntries(
    Object.entries(config.sources).map(([name, source]) => [
      name,
      { ...source, entities: Object.fromEntries(Object.entries(source.entities).map(([entityName, entity]) => [entityName, entity.provides ? { ...entity, cache } : entity])) },
    ]),
  );
  return { ...config, sources };
}

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
const cpuMicros = (usage: { cpuUserMicros: number; cpuSystemMicros: number }): number => usage.cpuUserMicros + usage.cpuSystemMicros;

function body(query: BenchQuery, item: WorkItem): string {
  return JSON.stringify({ query: query.document, variables: item.variables });
}

function spreadSample<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  return Array.from({ length: count }, (_, i) => items[Math.floor((i * items.length) / count)]!);
}

/**
 * Waits until the sources have seen no request for a while. A phase ends by dropping its connections, but the
 * server keeps working on what they asked; that backlog must not load the next phase or its counters.
 */
async function waitUntilQuiet(systems: SimulatedSystems, latencyMs: number, maxMs = 60_000): Promise<void> {
  const quietMs = Math.max(300, 3 * latencyMs);
  const deadline = Date.now() + maxMs;
  let last = systems.totalRequests();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    const now = systems.totalRequests();
    if (now === last || Date.now() > deadline) return;
    last = now;
  }
}

function routeTotals(systems: SimulatedSystems): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const name of SYSTEM_NAMES) {
    for (const [route, count] of Object.entries(systems.systems[name].stats().routes)) totals[`${name} ${route}`] = count;
  }
  return totals;
}

/** Sends each sample alone and reads the sources' counters after it: exact, not an average under load. */
async function countUpstream(server: ServerHandle, query: BenchQuery, items: readonly WorkItem[], systems: SimulatedSystems, registry: SourceRegistry): Promise<CountedPass> {
  let upstream = 0;
  let ideal = 0;
  const routes: Record<string, number> = {};
  const idealOps: OperationCounts = {};
  for (const item of items) {
    systems.resetStats();
    const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(query, item) });
    const reply = (await response.json()) as { data?: unknown; errors?: { message: string }[] };
    if (response.status !== 200 || reply.errors) throw new Error(`${server.kind} failed ${query.name} ${JSON.stringify(item.variables)}: ${JSON.stringify(reply.errors ?? response.status)}`);
    upstream += systems.totalRequests();
    for (const [route, count] of Object.entries(routeTotals(systems))) routes[route] = (routes[route] ?? 0) + count;
    const operations = idealOperations(registry, item.customers, query.facets);
    for (const [operation, count] of Object.entries(operations)) idealOps[operation] = (idealOps[operation] ?? 0) + count;
    ideal += Object.values(operations).reduce((sum, n) => sum + n, 0);
  }
  const perQuery = (n: number) => Math.round((n / items.length) * 100) / 100;
  return {
    samples: items.length,
    upstreamPerQuery: perQuery(upstream),
    idealPerQuery: perQuery(ideal),
    routesPerQuery: Object.fromEntries(Object.entries(routes).map(([route, n]) => [route, perQuery(n)])),
    idealOperationsPerQuery: Object.fromEntries(Object.entries(idealOps).map(([op, n]) => [op, perQuery(n)])),
  };
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

const ratio = (a: number, b: number): number | null => (b > 0 && Number.isFinite(a / b) ? Math.round((a / b) * 100) / 100 : null);
const fmt = (value: number | null, suffix = ''): string => (value === null ? '–' : `${value}${suffix}`);

/** A hub variant's figures for one query, side by side with the baseline and the ideal. */
interface Comparison {
  query: QueryName;
  /** `rosetta` (every read live) or `cached` (the same hub with the record cache on for every entity). */
  server: 'rosetta' | 'cached';
  /** This variant's throughput ÷ baseline throughput. */
  throughputVsBaseline: number | null;
  /** This variant's p50 ÷ baseline p50 (below 1 means Rosetta is faster). */
  p50VsBaseline: number | null;
  /** Ideal latency: L × dependency depth. */
  idealLatencyMs: number;
  p50VsIdeal: number | null;
  p99VsIdeal: number | null;
  /** The p50 the sources' declared concurrency caps allow at this concurrency and latency (ideal.ts). */
  sourceCapFloorMs: number;
  /** The p50 this machine's CPU allows at this concurrency and this variant's cost per query. */
  cpuFloorMs: number;
  /** The largest of the ideal and both floors: the best this run could have shown. */
  reachableMs: number;
  p50VsReachable: number | null;
}

function compare(phases: readonly Phase[], options: BenchOptions, registry: SourceRegistry): Comparison[] {
  const idealLatencyMs = options.latency * DEPENDENCY_DEPTH;
  return phases.flatMap((phase): Comparison[] => {
    if (phase.server !== 'rosetta' && phase.server !== 'cached') return [];
    const baseline = phases.find((p) => p.query === phase.query && p.server === 'baseline');
    const latency = phase.load.latencyMs;
    const capFloor = sourceCapFloorMs(registry, phase.counted.idealOperationsPerQuery, options.concurrency, options.latency);
    const reachable = Math.max(idealLatencyMs, phase.cpuFloorMs, capFloor);
    return [{
      query: phase.query,
      server: phase.server,
      throughputVsBaseline: baseline ? ratio(phase.load.throughput, baseline.load.throughput) : null,
      p50VsBaseline: latency && baseline?.load.latencyMs ? ratio(latency.p50, baseline.load.latencyMs.p50) : null,
      idealLatencyMs,
      p50VsIdeal: latency ? ratio(latency.p50, idealLatencyMs) : null,
      p99VsIdeal: latency ? ratio(latency.p99, idealLatencyMs) : null,
      sourceCapFloorMs: capFloor,
      cpuFloorMs: phase.cpuFloorMs,
      reachableMs: reachable,
      p50VsReachable: latency ? ratio(latency.p50, reachable) : null,
    }];
  });
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row, i) => {
    const line = row.map((cell, column) => (column < 2 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
    return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}

/** The hub or the peer on one of the peer's scenarios: closed loop, same sources, same upstream calls. */
interface PeerPhase {
  scenario: PeerScenarioName;
  /** The reference hub runs a scenario only where it serves the hub's document (peer-queries.ts, referenceServes). */
  server: 'rosetta' | 'reference' | 'mesh';
  load: LoadResult;
  /** Upstream requests per query over a counted pass of sequential requests, and their ideal. */
  upstreamPerQuery: number;
  idealPerQuery: number;
  cpuMsPerQuery: number;
  serverCpuPercent: number;
}

/** The hub ÷ Mesh ratios the issue sets targets for. */
const PEER_THROUGHPUT_MIN = 1.5;
const PEER_CPU_MAX = 0.67;

async function countPeerUpstream(url: string, document: string, items: readonly PeerWorkItem[], variablesOf: (item: PeerWorkItem) => Record<string, unknown>, systems: SimulatedSystems): Promise<{ upstream: number; ideal: number }> {
  let upstream = 0;
  let ideal = 0;
  for (const item of items) {
    systems.resetStats();
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: document, variables: variablesOf(item) }) });
    const reply = (await response.json()) as { errors?: unknown[] };
    if (response.status !== 200 || reply.errors) throw new Error(`peer scenario failed at ${url}: ${JSON.stringify(reply.errors ?? response.status)}`);
    upstream += systems.totalRequests();
    ideal += item.ideal;
  }
  return { upstream: Math.round((upstream / items.length) * 100) / 100, ideal: Math.round((ideal / items.length) * 100) / 100 };
}

/**
 * Each peer scenario: the hub, the reference hub where it serves the hub's document (it shows what plain Apollo +
 * DataLoader cost on the same query), then Mesh; each with a counted pass, a warm-up and a measured closed-loop phase.
 */
async function runPeer(servers: { hub: ServerHandle; reference: ServerHandle | null; mesh: ServerHandle }, workloads: Record<PeerScenarioName, PeerWorkItem[]>, systems: SimulatedSystems, options: BenchOptions, profiles: PhaseProfile[], profileFile: (name: string) => string): Promise<PeerPhase[]> {
  const results: PeerPhase[] = [];
  for (const scenario of PEER_SCENARIOS.filter((s) => options.peerScenarios.includes(s.name))) {
    const items = workloads[scenario.name];
    const hubVariables = (item: PeerWorkItem) => item.hubVariables;
    const runs: [ServerHandle, string, (item: PeerWorkItem) => Record<string, unknown>][] = [[servers.hub, scenario.hubDocument, hubVariables]];
    if (servers.reference && scenario.referenceServes) runs.push([servers.reference, scenario.hubDocument, hubVariables]);
    runs.push([servers.mesh, scenario.meshDocument, (item: PeerWorkItem) => item.meshVariables]);
    for (const [server, document, variablesOf] of runs) {
      const counted = await countPeerUpstream(server.url, document, spreadSample(items, options.countedSamples), variablesOf, systems);
      const bodies = items.map((item) => JSON.stringify({ query: document, variables: variablesOf(item) }));
      process.stdout.write(`${scenario.title} / ${server.kind}: `);
      let offset = 0;
      if (options.warmup > 0) offset = (await drive({ url: server.url, bodies, connections: options.concurrency, durationSeconds: options.warmup, maxRequests: options.maxRequests })).rotated;
      await waitUntilQuiet(systems, options.latency);
      if (options.cpuProf) await server.startProfile();
      const before = await server.usage();
      const load = await drive({ url: server.url, bodies, connections: options.concurrency, durationSeconds: options.duration, maxRequests: options.maxRequests, offset });
      const after = await server.usage();
      if (options.cpuProf) {
        const file = await server.stopProfile(profileFile(`${scenario.name}-${server.kind}`));
        if (file) profiles.push({ query: scenario.name, server: server.kind, file, responses: load.responses, summary: summariseProfile(file) });
      }
      const serverCpuMicros = cpuMicros(after) - cpuMicros(before);
      results.push({
        scenario: scenario.name,
        server: server.kind as PeerPhase['server'],
        load,
        upstreamPerQuery: counted.upstream,
        idealPerQuery: counted.ideal,
        cpuMsPerQuery: load.responses === 0 ? 0 : Math.round((serverCpuMicros / 1000 / load.responses) * 1000) / 1000,
        serverCpuPercent: Math.round(serverCpuMicros / 10_000 / load.durationSeconds),
      });
      console.log(`${load.throughput} req/s, ${results.at(-1)!.cpuMsPerQuery} ms CPU/q, upstream/q ${counted.upstream} (ideal ${counted.ideal})`);
      await waitUntilQuiet(systems, options.latency);
    }
  }
  return results;
}

function peerTargets(phases: readonly PeerPhase[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const scenario of PEER_SCENARIOS) {
    const hub = phases.find((p) => p.scenario === scenario.name && p.server === 'rosetta');
    const mesh = phases.find((p) => p.scenario === scenario.name && p.server === 'mesh');
    if (!hub || !mesh) continue;
    const throughput = ratio(hub.load.throughput, mesh.load.throughput);
    const cpu = ratio(hub.cpuMsPerQuery, mesh.cpuMsPerQuery);
    checks.push({ peer: scenario.name, target: 'upstream requests = ideal (hub and Mesh)', measured: `hub ${hub.upstreamPerQuery}, Mesh ${mesh.upstreamPerQuery}, ideal ${hub.idealPerQuery}`, met: hub.upstreamPerQuery === hub.idealPerQuery && mesh.upstreamPerQuery === mesh.idealPerQuery });
    checks.push({ peer: scenario.name, target: `hub req/s ≥ ${PEER_THROUGHPUT_MIN} × Mesh`, measured: `${hub.load.throughput} vs ${mesh.load.throughput} (${fmt(throughput, '×')})`, met: throughput === null ? null : throughput >= PEER_THROUGHPUT_MIN });
    checks.push({ peer: scenario.name, target: `hub CPU/query ≤ ${PEER_CPU_MAX} × Mesh`, measured: `${hub.cpuMsPerQuery} vs ${mesh.cpuMsPerQuery} ms (${fmt(cpu, '×')})`, met: cpu === null ? null : cpu <= PEER_CPU_MAX });
  }
  return checks;
}

function printPeerTables(phases: readonly PeerPhase[], targets: readonly TargetCheck[], options: BenchOptions): void {
  for (const scenario of PEER_SCENARIOS) {
    const rows = phases.filter((p) => p.scenario === scenario.name).map((p) => [p.server, String(p.load.throughput), fmt(p.load.latencyMs?.p50 ?? null), fmt(p.load.latencyMs?.p99 ?? null), String(p.cpuMsPerQuery), String(p.upstreamPerQuery), String(p.idealPerQuery), String(p.load.non2xx + p.load.errors + p.load.graphqlErrors)]);
    if (rows.length === 0) continue;
    console.log(`\n${scenario.title} — the hub against GraphQL Mesh v1 (closed loop, c = ${options.concurrency})\n${table([['', 'server', 'req/s', 'p50 ms', 'p99 ms', 'CPU ms/q', 'upstream/q', 'ideal/q', 'errors'], ...rows.map((row) => ['', ...row])])}`);
    for (const t of targets.filter((check) => check.peer === scenario.name)) console.log(`  ${TARGET_MARK(t.met)}  ${t.target}: ${t.measured}`);
  }
}

/** A measured closed-loop phase's CPU profile: a bench query's or a peer scenario's. */
interface PhaseProfile {
  query: QueryName | PeerScenarioName;
  server: ServerKind;
  file: string;
  responses: number;
  summary: ProfileSummary;
}

/** Per query: CPU ms per query by phase, the hub beside the reference, then the hub's top functions. */
function printProfiles(profiles: readonly PhaseProfile[], options: BenchOptions): void {
  const perQuery = (profile: PhaseProfile | undefined, phase: string): number | null => {
    const entry = profile?.summary.byPhase.find((p) => p.name === phase);
    return entry && profile!.responses > 0 ? Math.round((entry.ms / profile!.responses) * 1000) / 1000 : null;
  };
  const busy = (p: PhaseProfile | undefined) => (p && p.responses > 0 ? Math.round(((p.summary.totalMs - p.summary.idleMs) / p.responses) * 1000) / 1000 : null);
  const scenarios = [...BENCH_QUERIES.filter((q) => options.queries.includes(q.name)), ...PEER_SCENARIOS.filter((s) => options.peer && options.peerScenarios.includes(s.name))];
  for (const { name, title } of scenarios) {
    const hub = profiles.find((p) => p.query === name && p.server === 'rosetta');
    const reference = profiles.find((p) => p.query === name && p.server === 'reference');
    // Mesh is profiled on the peer scenarios only.
    const mesh = profiles.find((p) => p.query === name && p.server === 'mesh');
    if (!hub) continue;
    const rows = PHASES.map((phase) => {
      const h = perQuery(hub, phase);
      const r = perQuery(reference, phase);
      return [phase, fmt(h), fmt(r), h !== null && r !== null ? fmt(Math.round((h - r) * 1000) / 1000) : '–', ...(mesh ? [fmt(perQuery(mesh, phase))] : [])];
    });
    rows.push(['all (profiled busy time)', fmt(busy(hub)), fmt(busy(reference)), '', ...(mesh ? [fmt(busy(mesh))] : [])]);
    console.log(`\n${title}: CPU ms per query by phase (V8 samples over the measured closed-loop phase)\n${table([['phase', 'hub', 'reference', 'hub − ref', ...(mesh ? ['mesh'] : [])], ...rows])}`);
    console.log(`hub's top functions by self time:\n${hub.summary.topFunctions.slice(0, 12).map((f) => `  ${f.percent.toFixed(1).padStart(5)}%  ${f.name}`).join('\n')}`);
  }
  console.log(`\nprofiles: ${profiles.map((p) => p.file).join(', ')} (open in Chrome DevTools, or \`npx tsx bench/profile-summary.ts FILE\`)`);
}

const TARGET_MARK = (met: boolean | null) => (met === null ? '  n/a' : met ? '  met' : 'unmet');

/** One table per query: closed-loop throughput and CPU, open-loop latency, then the query's targets as met/unmet lines. */
function printQueryTables(phases: readonly Phase[], openLoop: readonly OpenLoopPhase[], targets: readonly TargetCheck[], options: BenchOptions): void {
  for (const query of BENCH_QUERIES.filter((q) => options.queries.includes(q.name))) {
    const closed = phases.filter((p) => p.query === query.name);
    const open = openLoop.filter((p) => p.query === query.name);
    const header = ['server', 'req/s', 'p50 ms', 'p99 ms', 'CPU ms/q', 'upstream/q', 'ideal/q', 'under load (ideal)', 'errors', 'open-loop req/s', 'OL p50 ms', 'OL p99 ms', 'OL CPU ms/q', 'OL errors'];
    const rows = closed.map((p) => {
      const o = open.find((phase) => phase.server === p.server);
      return [
        p.server,
        String(p.load.throughput),
        fmt(p.load.latencyMs?.p50 ?? null),
        fmt(p.load.latencyMs?.p99 ?? null),
        String(p.cpuMsPerQuery),
        String(p.counted.upstreamPerQuery),
        String(p.counted.idealPerQuery),
        `${p.upstreamPerResponseUnderLoad} (${p.idealPerRequestUnderLoad})`,
        String(p.load.non2xx + p.load.errors + p.load.graphqlErrors),
        o ? `${o.load.ratePerSecond}` : '–',
        o ? fmt(o.load.latencyMs?.p50 ?? null) : '–',
        o ? fmt(o.load.latencyMs?.p99 ?? null) : '–',
        o ? String(o.cpuMsPerQuery) : '–',
        o ? String(o.load.non2xx + o.load.errors + o.load.graphqlErrors) : '–',
      ];
    });
    const hubOpen = open.find((p) => p.server === 'rosetta') ?? open[0];
    const reach = hubOpen ? `; open loop at ${options.openLoopShare} × the hub's closed-loop max, judged against max(ideal ${hubOpen.idealLatencyMs} ms, source-cap floor ${hubOpen.sourceCapFloorMs} ms) = ${hubOpen.reachableMs} ms, busiest capped source ${Math.round(hubOpen.sourceUtilisation * 100)}% busy` : '';
    console.log(`\n${query.title} (closed loop: c = ${options.concurrency}${reach})\n${table([['', ...header], ...rows.map((row) => ['', ...row])])}`);
    for (const t of targets.filter((check) => check.query === query.name)) console.log(`  ${TARGET_MARK(t.met)}  ${t.target}: ${t.measured}`);
  }
}

function printReport(phases: readonly Phase[], comparisons: readonly Comparison[], options: BenchOptions): void {
  console.log(`\nclosed loop against the naive baseline and the closed-loop floors:\n${table([
    ['query', 'server', 'ideal', '÷baseline req/s', '÷baseline p50', 'p50÷ideal', 'p99÷ideal', 'source-cap floor', 'CPU floor', 'p50÷max(ideal, floors)'],
    ...comparisons.map((c) => [
      BENCH_QUERIES.find((q) => q.name === c.query)!.title,
      c.server,
      `${c.idealLatencyMs} ms`,
      fmt(c.throughputVsBaseline, '×'),
      fmt(c.p50VsBaseline, '×'),
      fmt(c.p50VsIdeal, '×'),
      fmt(c.p99VsIdeal, '×'),
      `${c.sourceCapFloorMs} ms`,
      `${c.cpuFloorMs} ms`,
      fmt(c.p50VsReachable, '×'),
    ]),
  ])}`);
  console.log(`\nupstream/q: counted over ${options.countedSamples} sequential requests per query with the sources' own counters (before any load: the record cache is cold); ideal/q: ceil(keys / maxBatchSize) per batchable source operation, one per distinct key where the source has no batch endpoint; under load: upstream requests the sources saw during the measured phase ÷ responses, beside (in brackets) the mean ideal of the very requests that phase sent; the calls of requests still in flight at its end count too, so a slow query with few responses reads a little high.`);
  if (phases.some((p) => p.server === 'cached')) console.log(`cached: the same hub with the record cache on for every entity (${CACHED_RECORDS.ttlMs / 1000} s fresh, ${CACHED_RECORDS.staleWhileRevalidateMs / 1000} s stale-while-revalidate); its reads are up to that old, which the live rows never are.`);
  for (const p of phases.filter((phase) => phase.load.responses < 2 * options.concurrency)) {
    console.log(`note: ${p.query}/${p.server} answered only ${p.load.responses} requests in ${p.load.durationSeconds} s; the ${p.load.unfinished} still in flight are in no percentile (closed loop), so its latency figures understate the wait. A longer --duration measures it.`);
  }
  console.log(`ideal latency: L (${options.latency} ms) × dependency depth (${DEPENDENCY_DEPTH}: links come from the local table). CPU ms/q: the server process's user+system CPU over the phase ÷ responses.`);
  console.log(`source-cap floor: concurrency × upstream requests per query × L ÷ the source's declared concurrency cap (per-key cap, or its bulkhead), the most demanding source — the p50 the sources' caps allow.`);
  console.log(`CPU floor: concurrency × (server + this process's CPU per response) ÷ ${cpus().length} cores — the p50 a closed loop of ${options.concurrency} connections cannot beat on this machine at this cost per query, whatever the server does with its time.`);
  const driverMax = Math.max(...phases.map((p) => p.driverCpuPercent));
  console.log(`load generator + simulated sources (this process) peaked at ${driverMax}% of one core; servers at ${Math.max(...phases.map((p) => p.serverCpuPercent))}%.`);
}

interface TargetCheck {
  /** The query a target is about; none for the run as a whole. */
  query?: QueryName;
  /** The peer scenario a target is about. */
  peer?: PeerScenarioName;
  target: string;
  measured: string;
  met: boolean | null;
}

/** The targets of the benchmark issue; null when this run's settings are not the ones a target is stated for. */
interface MemoryReport {
  startMb: number;
  endMb: number;
  /** Heap in use right after a full GC: what the process really holds, unlike RSS, which V8 grows and keeps. */
  liveHeapStartMb: number;
  liveHeapEndMb: number;
}

/** Issue 17's latency targets, for the open loop at L = 20 ms. */
const OPEN_LOOP_P50_LIMIT = 1.1;
const OPEN_LOOP_P99_LIMIT = 1.5;
/** The hub's CPU per query may be at most this multiple of the reference hub's. */
const CPU_VS_REFERENCE_LIMIT = 1.5;

function checkTargets(phases: readonly Phase[], openLoop: readonly OpenLoopPhase[], comparisons: readonly Comparison[], options: BenchOptions, rss: MemoryReport | null): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const rosetta = phases.filter((p) => p.server === 'rosetta');
  // The targets are for live reads: the cached variant is reported beside them, never judged in their place.
  for (const p of rosetta) {
    checks.push({ query: p.query, target: 'upstream requests = ideal', measured: `${p.counted.upstreamPerQuery} vs ${p.counted.idealPerQuery}`, met: p.counted.upstreamPerQuery === p.counted.idealPerQuery });
  }
  const atTwenty = options.latency === 20;
  for (const o of openLoop.filter((phase) => phase.server === 'rosetta')) {
    // No answer at all within the phase is a miss, not an absent figure.
    const within = (value: number | null, limit: number) => (atTwenty ? value !== null && value <= limit && o.load.errors === 0 : null);
    const at = `open loop ${o.load.ratePerSecond} req/s, L=20`;
    // The reference at the same rate, beside the hub's figure: what this machine allowed a hub with no features.
    const reference = openLoop.find((phase) => phase.query === o.query && phase.server === 'reference');
    const floor = (percentile: 'p50' | 'p99', vsReachable: number | null | undefined) =>
      reference ? `; reference at the same rate ${fmt(reference.load.latencyMs?.[percentile] ?? null, ' ms')} (${fmt(vsReachable ?? null, '×')})` : '';
    checks.push({ query: o.query, target: `p50 ≤ ${OPEN_LOOP_P50_LIMIT} × ${o.reachableMs} ms (${at})`, measured: `${fmt(o.load.latencyMs?.p50 ?? null, ' ms')} (${fmt(o.p50VsReachable, '×')})${floor('p50', reference?.p50VsReachable)}`, met: within(o.p50VsReachable, OPEN_LOOP_P50_LIMIT) });
    checks.push({ query: o.query, target: `p99 ≤ ${OPEN_LOOP_P99_LIMIT} × ${o.reachableMs} ms (${at})`, measured: `${fmt(o.load.latencyMs?.p99 ?? null, ' ms')} (${fmt(o.p99VsReachable, '×')})${floor('p99', reference?.p99VsReachable)}`, met: within(o.p99VsReachable, OPEN_LOOP_P99_LIMIT) });
  }
  for (const p of rosetta) {
    const reference = phases.find((phase) => phase.query === p.query && phase.server === 'reference');
    if (!reference) continue;
    const r = ratio(p.cpuMsPerQuery, reference.cpuMsPerQuery);
    checks.push({ query: p.query, target: `hub CPU/query ≤ ${CPU_VS_REFERENCE_LIMIT} × reference (closed loop, NODE_ENV=production)`, measured: `${p.cpuMsPerQuery} vs ${reference.cpuMsPerQuery} ms (${fmt(r, '×')})`, met: r === null ? null : r <= CPU_VS_REFERENCE_LIMIT });
  }
  const atZero = options.latency === 0;
  const page = comparisons.find((c) => c.query === 'page' && c.server === 'rosetta');
  if (page) checks.push({ query: 'page', target: 'throughput ≥ 3 × baseline (L=0)', measured: fmt(page.throughputVsBaseline, '×'), met: atZero && page.throughputVsBaseline !== null ? page.throughputVsBaseline >= 3 : null });
  const context = rosetta.find((p) => p.query === 'context');
  if (context) checks.push({ query: 'context', target: 'hub CPU < 1 ms per query (L=0)', measured: `${context.cpuMsPerQuery} ms`, met: atZero ? context.cpuMsPerQuery < 1 : null });
  if (rss) checks.push({ target: 'hub memory flat over the run (reported, not judged)', measured: `RSS ${rss.startMb} → ${rss.endMb} MB, live heap ${rss.liveHeapStartMb} → ${rss.liveHeapEndMb} MB`, met: null });
  return checks;
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

/**
 * The open-loop phases of one query: the hub and the reference, one after the other, at the same constant rate —
 * `openLoopShare` of the hub's closed-loop throughput just measured, a load the machine can carry.
 */
async function runOpenLoop(query: BenchQuery, bodies: readonly string[], phases: readonly Phase[], servers: readonly ServerHandle[], systems: SimulatedSystems, registry: SourceRegistry, options: BenchOptions): Promise<OpenLoopPhase[]> {
  const basis = phases.find((p) => p.query === query.name && p.server === 'rosetta');
  if (options.openLoopDuration === 0 || !basis || basis.load.throughput === 0) return [];
  const rate = Math.max(1, Math.round(basis.load.throughput * options.openLoopShare * 10) / 10);
  const idealLatencyMs = options.latency * DEPENDENCY_DEPTH;
  const results: OpenLoopPhase[] = [];
  for (const server of servers.filter((s) => OPEN_LOOP_SERVERS.includes(s.kind))) {
    process.stdout.write(`${query.title} / ${server.kind}: open loop at ${rate} req/s for ${options.openLoopDuration} s… `);
    const counted = phases.find((p) => p.query === query.name && p.server === server.kind)?.counted ?? basis.counted;
    const before = await server.usage();
    const load = await driveOpenLoop({ url: server.url, bodies, ratePerSecond: rate, durationSeconds: options.openLoopDuration });
    const after = await server.usage();
    const serverCpuMicros = cpuMicros(after) - cpuMicros(before);
    const capFloor = openLoopCapFloorMs(registry, counted.idealOperationsPerQuery, options.latency);
    const reachable = Math.max(idealLatencyMs, capFloor);
    results.push({
      query: query.name,
      server: server.kind,
      load,
      closedLoopThroughput: basis.load.throughput,
      cpuMsPerQuery: load.responses === 0 ? 0 : Math.round((serverCpuMicros / 1000 / load.responses) * 1000) / 1000,
      serverCpuPercent: Math.round(serverCpuMicros / 10_000 / options.openLoopDuration),
      idealLatencyMs,
      sourceCapFloorMs: capFloor,
      reachableMs: reachable,
      sourceUtilisation: sourceUtilisation(registry, counted.idealOperationsPerQuery, rate, options.latency),
      p50VsReachable: load.latencyMs ? ratio(load.latencyMs.p50, reachable) : null,
      p99VsReachable: load.latencyMs ? ratio(load.latencyMs.p99, reachable) : null,
    });
    console.log(`p50 ${fmt(load.latencyMs?.p50 ?? null, ' ms')}, p99 ${fmt(load.latencyMs?.p99 ?? null, ' ms')} (${load.responses} of ${load.scheduled}, driver lag ≤ ${load.maxSendLagMs} ms)`);
    await waitUntilQuiet(systems, options.latency);
  }
  return results;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv);
  const startedAt = new Date();
  // Other work on the machine skews every figure; the load average at start says whether there was any.
  const loadAverageAtStart = loadavg()[0]!;
  console.log(`Rosetta bench: ${options.people} people, L = ${options.latency} ms, concurrency ${options.concurrency}, hub workers ${options.workers}, ${options.duration} s per phase (+${options.warmup} s warm-up), ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);

  const hubBuild = chooseHubBuild(options.hubBuild);
  console.log(`hub code: ${hubBuild.why}; every server with NODE_ENV=production${options.semiSpaceMb ? ` and --max-semi-space-size=${options.semiSpaceMb}` : ""}`);
  const workDir = mkdtempSync(join(tmpdir(), 'rosetta-bench-'));
  const linkDb = join(workDir, 'links.sqlite');
  const profileDir = join(RESULTS_DIR, 'profiles');
  const servers: ServerHandle[] = [];
  // Sync at zero latency: building the table is not what is measured.
  const systems = await startSimulatedSystems({ people: options.people, seed: options.seed, latencyMs: 0 });
  try {
    const config = demoConfig(systems.urls, { PORT: '0', LINK_DB: linkDb });
    const store = new SqliteLinkStore(linkDb);
    const services = createServices(config, store);
    const sync = await syncLinks({ registry: services.registry, links: services.links, store });
    // The registry stays for its entity metadata (ideal costs); its pools are no longer needed.
    await services.registry.close();
    console.log(`link table: ${sync.customers} customers from ${sync.records} records in ${sync.ms} ms`);

    const workloads = await buildWorkloads(systems.dataset, store, { lookups: LOOKUPS });
    const queries = BENCH_QUERIES.filter((q) => options.queries.includes(q.name));

    if (options.cpuProf) mkdirSync(profileDir, { recursive: true });
    for (const kind of options.servers) {
      const serverConfig = kind === 'cached' ? withRecordCache(config, CACHED_RECORDS) : config;
      servers.push(await startServerProcess(kind, { config: serverConfig, workers: options.workers, build: hubBuild.build, ...(options.semiSpaceMb ? { semiSpaceMb: options.semiSpaceMb } : {}) }));
    }
    const memoryAtStart = new Map<ServerKind, ProcessUsage>();
    for (const server of servers) memoryAtStart.set(server.kind, await server.usage({ collectGarbage: true }));

    const counted = new Map<string, CountedPass>();
    for (const query of queries) {
      const sample = spreadSample(workloads[query.name], options.countedSamples);
      for (const server of servers) counted.set(`${query.name}/${server.kind}`, await countUpstream(server, query, sample, systems, services.registry));
    }

    for (const name of SYSTEM_NAMES) systems.systems[name].latencyMs = options.latency;
    const phases: Phase[] = [];
    const openLoop: OpenLoopPhase[] = [];
    const profiles: PhaseProfile[] = [];
    for (const query of queries) {
      const bodies = workloads[query.name].map((item) => body(query, item));
      // The ideal of exactly the requests the phase sent, so `under load` is read against its own ideal.
      const idealByItem = workloads[query.name].map((item) => idealRequests(services.registry, item.customers, query.facets));
      // The hub and the reference first, then their open loops, then the others: a slow server's backlog (the
      // baseline's page keeps the sources busy for seconds after its phase) must not land in an open loop.
      const ordered = [...servers.filter((s) => OPEN_LOOP_SERVERS.includes(s.kind)), null, ...servers.filter((s) => !OPEN_LOOP_SERVERS.includes(s.kind))];
      for (const server of ordered) {
        if (server === null) {
          openLoop.push(...(await runOpenLoop(query, bodies, phases, servers, systems, services.registry, options)));
          continue;
        }
        const label = `${query.title} / ${server.kind}`;
        let offset = 0;
        if (options.warmup > 0) {
          process.stdout.write(`${label}: warm-up… `);
          offset = (await drive({ url: server.url, bodies, connections: options.concurrency, durationSeconds: options.warmup, maxRequests: options.maxRequests })).rotated;
          await waitUntilQuiet(systems, options.latency);
        }
        process.stdout.write(`${options.warmup > 0 ? '' : `${label}: `}measuring ${options.duration} s… `);
        systems.resetStats();
        const profiled = options.cpuProf && PROFILED_SERVERS.includes(server.kind);
        if (profiled) await server.startProfile();
        const before: ProcessUsage = await server.usage();
        const driverBefore = process.cpuUsage();
        const load = await drive({ url: server.url, bodies, connections: options.concurrency, durationSeconds: options.duration, maxRequests: options.maxRequests, offset });
        const driverCpu = process.cpuUsage(driverBefore);
        const after = await server.usage();
        if (profiled) {
          const file = await server.stopProfile(join(profileDir, `${query.name}-${server.kind}-${startedAt.toISOString().replace(/[:.]/g, '-')}.cpuprofile`));
          if (file) profiles.push({ query: query.name, server: server.kind, file, responses: load.responses, summary: summariseProfile(file) });
        }
        const upstream = systems.totalRequests();
        const serverCpuMicros = cpuMicros(after) - cpuMicros(before);
        const phase: Phase = {
          query: query.name,
          server: server.kind,
          load,
          counted: counted.get(`${query.name}/${server.kind}`)!,
          upstreamPerResponseUnderLoad: load.responses === 0 ? 0 : Math.round((upstream / load.responses) * 100) / 100,
          idealPerRequestUnderLoad: load.rotated === 0 ? 0 : Math.round((idealOfSent(idealByItem, offset, load.rotated) / load.rotated) * 100) / 100,
          cpuMsPerQuery: load.responses === 0 ? 0 : Math.round((serverCpuMicros / 1000 / load.responses) * 1000) / 1000,
          serverCpuPercent: Math.round(serverCpuMicros / 10_000 / load.durationSeconds),
          driverCpuPercent: Math.round((driverCpu.user + driverCpu.system) / 10_000 / load.durationSeconds),
          ...machineCost(serverCpuMicros + driverCpu.user + driverCpu.system, load.responses, options.concurrency),
          rssAfterMb: mb(after.rssBytes),
        };
        phases.push(phase);
        console.log(`${load.throughput} req/s, p50 ${fmt(load.latencyMs?.p50 ?? null, ' ms')}, p99 ${fmt(load.latencyMs?.p99 ?? null, ' ms')} (${load.responses} responses)`);
        await waitUntilQuiet(systems, options.latency);
      }
    }

    const recipes: RecipeCount[] = [];
    if (options.recipes) {
      for (const recipe of RECIPE_CASES) {
        process.stdout.write(`recipe ${recipe.vendor} (${recipe.shape}): counting… `);
        recipes.push(await countRecipe(recipe, { people: Math.min(options.people, 500), pages: options.quick ? 1 : 4 }));
        console.log(`${recipes.at(-1)!.upstreamPerPage} upstream requests per page of 50 (ideal ${recipes.at(-1)!.idealPerPage})`);
      }
    }

    let peerPhases: PeerPhase[] = [];
    const hubServer = servers.find((s) => s.kind === 'rosetta');
    if (options.peer && !PEER_INSTALLED) console.log('peer (GraphQL Mesh) not installed: `npm run bench:peer-install` adds it to bench/peer/ (bench/README.md)');
    if (options.peer && PEER_INSTALLED && hubServer) {
      const mesh = await startServerProcess('mesh', { config, ...(options.semiSpaceMb ? { semiSpaceMb: options.semiSpaceMb } : {}) });
      try {
        const reference = servers.find((s) => s.kind === 'reference') ?? null;
        const profileFile = (name: string) => join(profileDir, `${name}-${startedAt.toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
        peerPhases = await runPeer({ hub: hubServer, reference, mesh }, await buildPeerWorkloads(systems.dataset, store, { lookups: LOOKUPS }), systems, options, profiles, profileFile);
      } finally {
        await mesh.stop();
      }
    }

    const memory: Partial<Record<ServerKind, MemoryReport>> = {};
    for (const server of servers.filter((s) => s.kind === 'rosetta' || s.kind === 'cached' || s.kind === 'reference')) {
      const atEnd = await server.usage({ collectGarbage: true });
      const atStart = memoryAtStart.get(server.kind)!;
      memory[server.kind] = { startMb: mb(atStart.rssBytes), endMb: mb(atEnd.rssBytes), liveHeapStartMb: mb(atStart.heapUsedBytes), liveHeapEndMb: mb(atEnd.heapUsedBytes) };
    }
    const rss = memory.rosetta ?? null;
    for (const server of servers.splice(0)) await server.stop();

    const comparisons = compare(phases, options, services.registry);
    const recipeTargets: TargetCheck[] = recipes.map((r) => ({ target: `recipe ${r.vendor}, ${r.shape}: upstream requests = ideal`, measured: `${r.upstreamPerPage} vs ${r.idealPerPage} per page of 50 (${Object.entries(r.routesPerPage).map(([route, n]) => `${route} ${n}`).join(', ')})`, met: r.upstreamPerPage === r.idealPerPage }));
    const targets = [...checkTargets(phases, openLoop, comparisons, options, rss), ...peerTargets(peerPhases), ...recipeTargets];
    printQueryTables(phases, openLoop, targets, options);
    printPeerTables(peerPhases, targets, options);
    if (phases.length > 0) printReport(phases, comparisons, options);
    for (const [kind, report] of Object.entries(memory)) {
      const loadSeconds = phases.filter((p) => p.server === kind).length * (options.duration + options.warmup);
      console.log(`${kind} memory: RSS ${report.startMb} MB before the load phases, ${report.endMb} MB after ${loadSeconds} s of load; live heap after a full GC ${report.liveHeapStartMb} MB → ${report.liveHeapEndMb} MB.`);
    }
    console.log('\ntargets (issues 7 and 17; per query above):');
    for (const t of targets) console.log(`  ${TARGET_MARK(t.met)}  ${t.query ? `${t.query}: ` : t.peer ? `${t.peer}: ` : ''}${t.target}: ${t.measured}`);

    if (profiles.length > 0) printProfiles(profiles, options);

    const report = {
      startedAt: startedAt.toISOString(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, memoryGb: Math.round(totalmem() / 1024 ** 3), node: process.version, platform: process.platform, loadAverageAtStart },
      settings: { ...options, out: undefined, hubBuild: hubBuild.build, dependencyDepth: DEPENDENCY_DEPTH, lookups: LOOKUPS },
      linkTable: { customers: sync.customers, records: sync.records },
      phases,
      openLoop,
      peer: peerPhases,
      recipes,
      comparisons,
      hubMemoryMb: memory,
      targets,
      profiles: profiles.map(({ summary, ...rest }) => ({ ...rest, byPhase: summary.byPhase, byArea: summary.byArea, topFunctions: summary.topFunctions })),
    };
    mkdirSync(join(options.out, '..'), { recursive: true });
    writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nfigures written to ${options.out}`);
    await store.close();
  } finally {
    for (const server of servers) await server.stop();
    await systems.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
