// A child process running one system under test (the Rosetta hub or the naive baseline), steered over IPC.
//
// Each server runs alone in its own process so its CPU time and memory can be read without the simulated
// sources and the load generator (which share the parent) mixing in, and so `--cpu-prof` profiles only it.
// Started with `node --import tsx bench/server-process.ts` by `bench/run.ts` through `child_process.fork`.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { HubConfig } from '../src/config/schema.js';
import { SqliteLinkStore } from '../src/identity/sqlite-store.js';
import { authHeaders } from '../src/sources/credentials.js';
import { startHubCluster, type RunningCluster } from '../src/cluster/cluster.js';
import { startHub } from '../src/server/hub.js';
import type { HubBuild } from './hub-build.js';
import { startNaiveBaseline } from './naive-baseline.js';
import { startReferenceHub } from './reference/server.js';

/**
 * The hub, the hub with its record cache on, the minimal reference hub (bench/reference/), the naive baseline, and
 * the peer: GraphQL Mesh over two of the sources (bench/peer/, installed on demand).
 */
export type ServerKind = 'rosetta' | 'cached' | 'reference' | 'baseline' | 'mesh';

export type ParentMessage =
  /** The parent's parsed config, so both servers and the ideal-cost model read one and the same. */
  | { type: 'start'; server: ServerKind; config: HubConfig; /** Hub worker processes (node:cluster) when above 1. */ workers?: number; /** Where the hub's code comes from (hub-build.ts); src by default. */ build?: HubBuild }
  /** `collectGarbage` first runs a full GC (the process starts with --expose-gc), so the heap figure is live data only. */
  | { type: 'usage'; collectGarbage?: boolean }
  /** Starts or stops V8's sampling profiler in this process (the measured phase alone, not start-up); stop writes `file`. */
  | { type: 'profile'; action: 'start' }
  | { type: 'profile'; action: 'stop'; file: string }
  | { type: 'stop' };

export interface ProcessUsage {
  /** `process.cpuUsage()` of the server process since it started, in microseconds. */
  cpuUserMicros: number;
  cpuSystemMicros: number;
  rssBytes: number;
  heapUsedBytes: number;
}

export type ChildMessage = { type: 'ready'; url: string } | { type: 'profile'; file: string | null } | ({ type: 'usage' } & ProcessUsage) | { type: 'stopped' } | { type: 'failed'; message: string };

function send(message: ChildMessage): void {
  process.send!(message);
}

/** What bench/peer/mesh.ts offers; imported by a computed name, since it exists only once the peer is installed. */
interface PeerModule {
  startMeshPeer(sources: Record<'crm' | 'shop', { baseUrl: string; headers: Record<string, string> }>): Promise<{ url: string; close(): Promise<void> }>;
}

async function startPeer(config: HubConfig): Promise<{ url: string; close(): Promise<void> }> {
  const specifier = './peer/mesh.js';
  const { startMeshPeer } = (await import(specifier)) as PeerModule;
  const source = (name: 'crm' | 'shop') => ({ baseUrl: config.sources[name]!.baseUrl, headers: { ...authHeaders(config.sources[name]!.auth) } });
  return startMeshPeer({ crm: source('crm'), shop: source('shop') });
}

/** The hub's entry points, from the TypeScript sources or from the production build in dist/. */
async function hubModules(build: HubBuild): Promise<{ startHub: typeof startHub; startHubCluster: typeof startHubCluster; SqliteLinkStore: typeof SqliteLinkStore }> {
  if (build === 'src') return { startHub, startHubCluster, SqliteLinkStore };
  const dist = (path: string) => import(new URL(`../dist/src/${path}`, import.meta.url).href);
  const [hub, hubCluster, store] = await Promise.all([dist('server/hub.js'), dist('cluster/cluster.js'), dist('identity/sqlite-store.js')]);
  return { startHub: hub.startHub, startHubCluster: hubCluster.startHubCluster, SqliteLinkStore: store.SqliteLinkStore };
}

async function start(message: Extract<ParentMessage, { type: 'start' }>): Promise<() => Promise<void>> {
  const { config } = message;
  if (config.linkStore.kind !== 'sqlite') throw new Error('the benchmark shares a SQLite link table between processes');
  if (message.server === 'mesh') {
    const peer = await startPeer(config);
    send({ type: 'ready', url: peer.url });
    return () => peer.close();
  }
  const isHub = message.server === 'rosetta' || message.server === 'cached';
  const code = await hubModules(isHub ? (message.build ?? 'src') : 'src');
  if (isHub && (message.workers ?? 1) > 1) {
    // Each worker opens the link table itself; this process is the cluster's primary.
    const hub = await code.startHubCluster(config, { workers: message.workers! });
    cluster = hub;
    send({ type: 'ready', url: hub.url });
    return () => hub.close();
  }
  const store = new code.SqliteLinkStore(config.linkStore.path);
  if (isHub) {
    const hub = await code.startHub(config, { store });
    send({ type: 'ready', url: hub.url });
    return () => hub.close();
  }
  if (message.server === 'reference') {
    const reference = await startReferenceHub(config, store);
    send({ type: 'ready', url: reference.url });
    return async () => {
      await reference.close();
      await store.close();
    };
  }
  const baseline = await startNaiveBaseline(config, store);
  send({ type: 'ready', url: baseline.url });
  return async () => {
    await baseline.close();
    await store.close();
  };
}

if (!process.send) {
  console.error('bench/server-process.ts is started by bench/run.ts over IPC, not by hand');
  process.exit(2);
}

let stop: (() => Promise<void>) | undefined;
/** Set when the hub runs as a cluster: its CPU and memory are this process's plus every worker's. */
let cluster: RunningCluster | undefined;

async function usage(collectGarbage: boolean): Promise<ProcessUsage> {
  if (collectGarbage) (globalThis as { gc?: () => void }).gc?.();
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  const total: ProcessUsage = { cpuUserMicros: cpu.user, cpuSystemMicros: cpu.system, rssBytes: memory.rss, heapUsedBytes: memory.heapUsed };
  // Workers' heaps are read without a full GC first (only this process can be asked for one): an upper bound.
  for (const worker of cluster ? await cluster.usage() : []) {
    total.cpuUserMicros += worker.cpuUserMicros;
    total.cpuSystemMicros += worker.cpuSystemMicros;
    total.rssBytes += worker.rssBytes;
    total.heapUsedBytes += worker.heapUsedBytes;
  }
  return total;
}
let profiler: Session | undefined;

async function profile(message: Extract<ParentMessage, { type: 'profile' }>): Promise<string | null> {
  if (message.action === 'start') {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    // 200 µs: fine enough for a query costing about a millisecond, coarse enough not to cost the process much.
    await profiler.post('Profiler.setSamplingInterval', { interval: 200 });
    await profiler.post('Profiler.start');
    return null;
  }
  if (!profiler) return null;
  const { profile: result } = await profiler.post('Profiler.stop');
  profiler.disconnect();
  profiler = undefined;
  writeFileSync(message.file, JSON.stringify(result));
  return message.file;
}

process.on('message', (message: ParentMessage) => {
  switch (message.type) {
    case 'start':
      start(message).then(
        (close) => (stop = close),
        (error: unknown) => send({ type: 'failed', message: String(error instanceof Error ? (error.stack ?? error.message) : error) }),
      );
      return;
    case 'usage':
      usage(message.collectGarbage === true).then(
        (reading) => send({ type: 'usage', ...reading }),
        (error: unknown) => send({ type: 'failed', message: String(error) }),
      );
      return;
    case 'profile':
      profile(message).then(
        (file) => send({ type: 'profile', file }),
        (error: unknown) => send({ type: 'failed', message: String(error) }),
      );
      return;
    case 'stop':
      // A normal exit, not a kill, so `--cpu-prof` gets to write its profile.
      (stop ?? (async () => {}))().finally(() => {
        send({ type: 'stopped' });
        process.disconnect();
        process.exitCode = 0;
      });
      return;
  }
});
